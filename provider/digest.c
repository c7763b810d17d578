/* Digests for the operations: fetched by name and property query from the provider's library context, SHA-1 and
 * SHA-2 under their usual names (without a query) from the provider context's cache; their keystore names. */
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>

#include "digest.h"
#include "errors.h"

/* The spellings applications and libssl use: EVP_MD_get0_name() gives "SHA2-256", people write "SHA256". */
static const struct {
    const char *names[3];
} cached_mds[AZKM_MD_CACHED] = {
    [AZKM_MD_SHA1] = {{"SHA1", "SHA-1", NULL}},
    [AZKM_MD_SHA224] = {{"SHA2-224", "SHA224", "SHA-224"}},
    [AZKM_MD_SHA256] = {{"SHA2-256", "SHA256", "SHA-256"}},
    [AZKM_MD_SHA384] = {{"SHA2-384", "SHA384", "SHA-384"}},
    [AZKM_MD_SHA512] = {{"SHA2-512", "SHA512", "SHA-512"}},
};

static int cache_slot(const char *name)
{
    for (int i = 0; i < AZKM_MD_CACHED; i++)
        for (int j = 0; j < 3 && cached_mds[i].names[j] != NULL; j++)
            if (strcasecmp(name, cached_mds[i].names[j]) == 0)
                return i;
    return -1;
}

EVP_MD *azkm_md_fetch(AZKM_PROVCTX *pctx, const char *name, const char *props)
{
    EVP_MD *md, *seen = NULL;
    int slot;

    if (name == NULL)
        return NULL;
    /* A property query picks an implementation the cache may not hold: fetch it as asked. */
    if (props != NULL && props[0] != '\0')
        return EVP_MD_fetch(pctx->libctx, name, props);
    if ((slot = cache_slot(name)) < 0)
        return EVP_MD_fetch(pctx->libctx, name, NULL);
    md = __atomic_load_n(&pctx->md_cache[slot], __ATOMIC_ACQUIRE);
    if (md == NULL) {
        md = EVP_MD_fetch(pctx->libctx, cached_mds[slot].names[0], NULL);
        if (md == NULL)
            return NULL;
        /* The cache keeps the fetched reference; another thread may have stored its own first. */
        if (!__atomic_compare_exchange_n(&pctx->md_cache[slot], &seen, md, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            EVP_MD_free(md);
            md = seen;
        }
    }
    return EVP_MD_up_ref(md) ? md : NULL;
}

int azkm_md_choose(AZKM_PROVCTX *pctx, EVP_MD **slot, const char *name, const char *props)
{
    EVP_MD *md = azkm_md_fetch(pctx, name, props);

    if (md == NULL) {
        if (props != NULL && props[0] != '\0')
            AZKM_RAISE(pctx, AZKM_R_UNSUPPORTED, "digest %s with properties \"%s\" is not available", name, props);
        else
            AZKM_RAISE(pctx, AZKM_R_UNSUPPORTED, "digest %s is not available", name != NULL ? name : "(none)");
        return 0;
    }
    EVP_MD_free(*slot);
    *slot = md;
    return 1;
}

/* The keystore names digests as "SHA256"; OpenSSL's short names are exactly that. */
const char *azkm_md_keystore_name(const EVP_MD *md)
{
    return md != NULL ? OBJ_nid2sn(EVP_MD_get_type(md)) : NULL;
}
