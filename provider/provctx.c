/* The provider context: made at OSSL_provider_init from the core's dispatch table and the provider's openssl.cnf
 * section (the environment overrides it), with a private library context; the keystore, opened on first use. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/provider.h>

#include "errors.h"
#include "provctx.h"

/* The core's upcalls the provider uses; core_get_params is needed at init only. */
static void take_upcalls(AZKM_PROVCTX *pctx, const OSSL_DISPATCH *in, OSSL_FUNC_core_get_params_fn **get_params)
{
    for (; in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_GET_PARAMS:
            *get_params = OSSL_FUNC_core_get_params(in);
            break;
        case OSSL_FUNC_CORE_GET_LIBCTX:
            /* In-process, the core's context handle is the application's OSSL_LIB_CTX (register_last.c). */
            pctx->core_libctx = (OSSL_LIB_CTX *)OSSL_FUNC_core_get_libctx(in)(pctx->handle);
            pctx->has_core_libctx = 1;
            break;
        case OSSL_FUNC_CORE_NEW_ERROR:
            pctx->core_new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            pctx->core_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            pctx->core_vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        case OSSL_FUNC_BIO_READ_EX:
            pctx->core_bio_read_ex = OSSL_FUNC_BIO_read_ex(in);
            break;
        case OSSL_FUNC_BIO_WRITE_EX:
            pctx->core_bio_write_ex = OSSL_FUNC_BIO_write_ex(in);
            break;
        default:
            break;
        }
    }
}

/* A setting: the environment overrides the provider's openssl.cnf section. */
static char *setting(const char *env, const char *conf)
{
    const char *v = getenv(env);

    if (v == NULL || v[0] == '\0')
        v = conf;
    return (v != NULL && v[0] != '\0') ? strdup(v) : NULL;
}

/* keystore_dir, config_file and error_log from openssl.cnf, each overridden by its environment variable. */
static void take_settings(AZKM_PROVCTX *pctx, OSSL_FUNC_core_get_params_fn *core_get_params)
{
    const char *conf_dir = NULL, *conf_file = NULL, *conf_log = NULL;
    char *log;

    if (core_get_params != NULL) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_utf8_ptr("keystore_dir", (char **)&conf_dir, 0),
            OSSL_PARAM_utf8_ptr("config_file", (char **)&conf_file, 0),
            OSSL_PARAM_utf8_ptr("error_log", (char **)&conf_log, 0),
            OSSL_PARAM_END,
        };
        if (!core_get_params(pctx->handle, params)) {
            conf_dir = NULL;
            conf_file = NULL;
            conf_log = NULL;
        }
    }
    pctx->keystore_dir = setting("AZKM_KEYSTORE_DIR", conf_dir);
    pctx->config_file = setting("AZKM_CONF", conf_file);
    log = setting("AZKM_ERROR_LOG", conf_log);
    pctx->log_stderr = log != NULL && strcmp(log, "stderr") == 0;
    free(log);
}

AZKM_PROVCTX *azkm_provctx_new(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in)
{
    OSSL_FUNC_core_get_params_fn *core_get_params = NULL;
    AZKM_PROVCTX *pctx = calloc(1, sizeof(*pctx));

    if (pctx == NULL)
        return NULL;
    pctx->handle = handle;
    pthread_mutex_init(&pctx->ks_lock, NULL);
    pthread_mutex_init(&pctx->register_lock, NULL);
    take_upcalls(pctx, in, &core_get_params);
    take_settings(pctx, core_get_params);
    /* Our own library context holding only the default provider: the keystore's libcrypto calls and our public
     * key work never come back into azkm. */
    pctx->libctx = OSSL_LIB_CTX_new();
    if (pctx->libctx == NULL || (pctx->deflt = OSSL_PROVIDER_load(pctx->libctx, "default")) == NULL) {
        azkm_provctx_free(pctx);
        return NULL;
    }
    return pctx;
}

void azkm_provctx_free(AZKM_PROVCTX *pctx)
{
    if (pctx == NULL)
        return;
    azkm_keystore_free(pctx->ks);
    for (size_t i = 0; i < AZKM_MD_CACHED; i++)
        EVP_MD_free(pctx->md_cache[i]);
    if (pctx->deflt != NULL)
        OSSL_PROVIDER_unload(pctx->deflt);
    OSSL_LIB_CTX_free(pctx->libctx);
    free(pctx->keystore_dir);
    free(pctx->config_file);
    pthread_mutex_destroy(&pctx->ks_lock);
    pthread_mutex_destroy(&pctx->register_lock);
    free(pctx);
}

azkm_keystore *azkm_prov_keystore(AZKM_PROVCTX *pctx)
{
    azkm_keystore *ks;

    pthread_mutex_lock(&pctx->ks_lock);
    if (pctx->ks == NULL) {
        azkm_options opt;
        azkm_rc rc;

        memset(&opt, 0, sizeof(opt));
        opt.keystore_dir = pctx->keystore_dir;
        opt.config_file = pctx->config_file;
        opt.libctx = pctx->libctx;
        rc = azkm_keystore_open(&opt, &pctx->ks);
        if (rc != AZKM_OK) {
            pctx->ks = NULL;
            AZKM_RAISE(pctx, AZKM_R_KEYSTORE_OPEN, "%s", azkm_last_error());
        }
    }
    ks = pctx->ks;
    pthread_mutex_unlock(&pctx->ks_lock);
    return ks;
}
