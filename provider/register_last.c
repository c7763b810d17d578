/* azkm's algorithms enter the application's method store after every other provider's, so that a fetch that does
 * not ask for azkm (no property query, or one like stunnel's "provider!=fips") never lands in azkm. */
#include <pthread.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "register_last.h"

/* OpenSSL 3 gives a fetch that several providers can answer equally well to the implementation registered first,
 * and it registers providers' algorithms in the order of its provider list, which it sorts by name: "azkm" comes
 * before "default" whatever the load order or the configuration says. Registered first, azkm's EC key manager
 * was fetched for TLS ephemeral keys (which it cannot make), and libssl dropped P-256/P-384/P-521 from its groups
 * because the key manager it fetched for "EC" was not the default provider's that advertised them.
 *
 * So, the first time the core asks azkm for the algorithms of an operation with several candidates, azkm first
 * has every other activated provider register theirs (a do_all over the operation, during which azkm answers
 * nothing and asks the core not to remember that), then answers. Fetches without a preference then find the
 * other provider's implementation first; fetches that ask for azkm (provider=azkm, ?provider=azkm) and OpenSSL's
 * fallback to the key's own provider still find azkm's. */

static __thread int registering_others;

/* What the do_all calls for each method: nothing, constructing them (in the other providers) is the point. */
static void keymgmt_seen(EVP_KEYMGMT *m, void *arg) {}

static void signature_seen(EVP_SIGNATURE *m, void *arg) {}

static void asym_cipher_seen(EVP_ASYM_CIPHER *m, void *arg) {}

static void keyexch_seen(EVP_KEYEXCH *m, void *arg) {}

static void register_others(AZKM_PROVCTX *pctx, int operation_id)
{
    OSSL_LIB_CTX *core = pctx->core_libctx;

    ERR_set_mark();
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        EVP_KEYMGMT_do_all_provided(core, keymgmt_seen, NULL);
        break;
    case OSSL_OP_SIGNATURE:
        EVP_SIGNATURE_do_all_provided(core, signature_seen, NULL);
        break;
    case OSSL_OP_ASYM_CIPHER:
        EVP_ASYM_CIPHER_do_all_provided(core, asym_cipher_seen, NULL);
        break;
    case OSSL_OP_KEYEXCH:
        EVP_KEYEXCH_do_all_provided(core, keyexch_seen, NULL);
        break;
    default:
        break;
    }
    ERR_pop_to_mark();
}

int azkm_register_last(AZKM_PROVCTX *pctx, int operation_id, int *no_cache)
{
    int *state;

    if (operation_id < 0 || operation_id >= AZKM_OPS_TRACKED || !pctx->has_core_libctx)
        return 1;
    if (registering_others) {
        /* Our own do_all is asking: answer nothing, and let the core ask again later. */
        *no_cache = 1;
        return 0;
    }
    state = &pctx->registered[operation_id];
    if (__atomic_load_n(state, __ATOMIC_ACQUIRE))
        return 1;
    pthread_mutex_lock(&pctx->register_lock);
    if (!*state) {
        registering_others = 1;
        register_others(pctx, operation_id);
        registering_others = 0;
        __atomic_store_n(state, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&pctx->register_lock);
    return 1;
}
