/* The bearer tokens' verified-key cache (see token_keys.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "auth/token_keys.h"

typedef struct {
    char id[AZKM_VAULT_NAME_MAX + AZKM_NAME_MAX + AZKM_VERSION_LEN + 3]; /* vault/key/version; "" when free */
    EVP_PKEY *pub;
    int enabled;
    int64_t not_before, expires; /* 0: unset */
    int64_t read_at;             /* monotonic seconds */
} token_key;

static token_key cache[AZKMD_TOKEN_KEY_CACHE];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static azkm_rc refuse(const char *why)
{
    return azkm_set_error(AZKM_E_AUTH, "the bearer token is not valid: its signing key %s", why);
}

/* Reads the version from the vault into e: its public key (e->pub, owned) and state. */
static azkm_rc read_version(azkm_vault *v, const char *key_name, const char *kid, token_key *e)
{
    azkm_key *k = NULL;
    const azkm_key_info *info;
    const unsigned char *p;

    /* Only a version of the configured key: kid is looked up there and nowhere else. */
    if (!azkm_version_valid(kid) || azkm_key_load(v, key_name, kid, &k) != AZKM_OK) {
        azkm_key_free(k);
        return refuse("(kid) is unknown");
    }
    info = azkm_key_get_info(k);
    p = info->public_der;
    e->pub = d2i_PUBKEY(NULL, &p, (long)info->public_der_len);
    e->enabled = info->attrs.enabled;
    e->not_before = info->attrs.not_before;
    e->expires = info->attrs.expires;
    azkm_key_free(k);
    return e->pub != NULL ? AZKM_OK : azkm_set_error(AZKM_E_CRYPTO, "token signing key: unreadable public key");
}

/* A version's state as read, at now. */
static azkm_rc usable(const token_key *e, int64_t now)
{
    if (!e->enabled)
        return refuse("version is disabled");
    if (e->not_before != 0 && now < e->not_before)
        return refuse("version is not valid yet");
    if (e->expires != 0 && now >= e->expires)
        return refuse("version has expired");
    return AZKM_OK;
}

static void entry_free(token_key *e)
{
    EVP_PKEY_free(e->pub);
    memset(e, 0, sizeof(*e));
}

/* The entry of id, or NULL. Called with the lock held. */
static token_key *find(const char *id)
{
    for (size_t i = 0; i < AZKMD_TOKEN_KEY_CACHE; i++)
        if (strcmp(cache[i].id, id) == 0)
            return &cache[i];
    return NULL;
}

/* Copies the entry of id into out (its key referenced) when it was read within the revalidation interval. */
static int cached_copy(const char *id, int64_t mono, token_key *out)
{
    token_key *e;
    int hit;

    pthread_mutex_lock(&lock);
    e = find(id);
    hit = e != NULL && mono >= e->read_at && mono - e->read_at < AZKMD_TOKEN_KEY_REVALIDATE &&
          EVP_PKEY_up_ref(e->pub) == 1;
    if (hit)
        *out = *e;
    pthread_mutex_unlock(&lock);
    return hit;
}

/* Stores a copy of e (its key referenced again) in the entry of its id, a free one, or the one read longest ago. */
static void store(const token_key *e)
{
    token_key *slot;

    pthread_mutex_lock(&lock);
    if ((slot = find(e->id)) == NULL) {
        slot = &cache[0];
        for (size_t i = 1; i < AZKMD_TOKEN_KEY_CACHE && slot->id[0] != '\0'; i++)
            if (cache[i].id[0] == '\0' || cache[i].read_at < slot->read_at)
                slot = &cache[i];
    }
    if (EVP_PKEY_up_ref(e->pub) == 1) {
        entry_free(slot);
        *slot = *e;
    }
    pthread_mutex_unlock(&lock);
}

azkm_rc azkmd_token_key_get(azkm_vault *v, const char *vault_name, const char *key_name, const char *kid,
                            int64_t now, int64_t mono, EVP_PKEY **pub)
{
    token_key e;
    azkm_rc rc;

    *pub = NULL;
    memset(&e, 0, sizeof(e));
    if (!azkm_version_valid(kid))
        return refuse("(kid) is unknown");
    snprintf(e.id, sizeof(e.id), "%s/%s/%s", vault_name, key_name, kid);
    /* The vault is read outside the lock: an unknown kid (never cached) costs its own thread a read, no other. */
    if (!cached_copy(e.id, mono, &e)) {
        if ((rc = read_version(v, key_name, kid, &e)) != AZKM_OK) {
            EVP_PKEY_free(e.pub);
            return rc;
        }
        e.read_at = mono;
        store(&e);
    }
    if ((rc = usable(&e, now)) == AZKM_OK)
        *pub = e.pub;
    else
        EVP_PKEY_free(e.pub);
    return rc;
}

void azkmd_token_key_cache_clear(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < AZKMD_TOKEN_KEY_CACHE; i++)
        entry_free(&cache[i]);
    pthread_mutex_unlock(&lock);
}
