/* The provider context: what OSSL_provider_init learns from the core, openssl.cnf and the environment, the
 * private library context, the keystore (opened on first use) and the digest cache that digest.c fills. */
#ifndef AZKM_PROV_PROVCTX_H
#define AZKM_PROV_PROVCTX_H

#include <pthread.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include <azkm/keystore.h>

/* Digests fetched once per provider context: an EVP_MD_fetch costs about 2k instructions, and the signature code
 * needs one at every digest-sign init. Indexes into azkm_provctx.md_cache. */
enum { AZKM_MD_SHA1, AZKM_MD_SHA224, AZKM_MD_SHA256, AZKM_MD_SHA384, AZKM_MD_SHA512, AZKM_MD_CACHED };

/* Operation ids (OSSL_OP_*) whose registration order register_last.c tracks. */
#define AZKM_OPS_TRACKED 32

typedef struct azkm_provctx {
    const OSSL_CORE_HANDLE *handle;
    /* The application's library context that loaded us (NULL: its default context), for register_last.c;
     * has_core_libctx says whether the core told us. */
    OSSL_LIB_CTX *core_libctx;
    int has_core_libctx;
    OSSL_LIB_CTX *libctx; /* our own library context with only the default provider: no recursion into azkm */
    OSSL_PROVIDER *deflt;
    char *keystore_dir;      /* from openssl.cnf or AZKM_KEYSTORE_DIR; NULL: the keystore's own default */
    char *config_file;       /* from openssl.cnf or AZKM_CONF */
    int log_stderr;          /* error_log = stderr (openssl.cnf) or AZKM_ERROR_LOG=stderr: errors also on stderr */
    pthread_mutex_t ks_lock; /* guards the lazy keystore open */
    int live_keys;           /* key objects alive; teardown leaves shared state alone while any remain */
    azkm_keystore *ks;
    /* Filled on first use, each slot once (compare-and-swap); freed with the context. */
    EVP_MD *md_cache[AZKM_MD_CACHED];
    /* register_last.c: operations for which the other providers have registered first (0/1), and its lock */
    int registered[AZKM_OPS_TRACKED];
    pthread_mutex_t register_lock;
    /* core upcalls */
    OSSL_FUNC_core_new_error_fn *core_new_error;
    OSSL_FUNC_core_set_error_debug_fn *core_set_error_debug;
    OSSL_FUNC_core_vset_error_fn *core_vset_error;
    OSSL_FUNC_BIO_read_ex_fn *core_bio_read_ex;
    OSSL_FUNC_BIO_write_ex_fn *core_bio_write_ex;
} AZKM_PROVCTX;

/* A new context from the core's dispatch table and the provider's openssl.cnf section (the environment
 * overrides it), with its library context loaded; NULL when that fails. */
AZKM_PROVCTX *azkm_provctx_new(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in);
void azkm_provctx_free(AZKM_PROVCTX *pctx);
/* The keystore, opened on first use; NULL (with an error raised) when it cannot be opened. */
azkm_keystore *azkm_prov_keystore(AZKM_PROVCTX *pctx);

#endif
