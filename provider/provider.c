/* The azkm OpenSSL provider entry point: configuration from openssl.cnf and the environment, the provider
 * context with its private library context, and the static table of every algorithm it offers. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/provider.h>

#include "provider.h"

OSSL_provider_init_fn OSSL_provider_init;
static OSSL_FUNC_provider_teardown_fn azkm_teardown;
static OSSL_FUNC_provider_gettable_params_fn azkm_gettable_params;
static OSSL_FUNC_provider_get_params_fn azkm_get_params;
static OSSL_FUNC_provider_query_operation_fn azkm_query_operation;
static OSSL_FUNC_provider_get_reason_strings_fn azkm_get_reason_strings;

/* All algorithms are registered here, up front: libssl queries signature algorithms at SSL_CTX_new time,
 * before any key is loaded, and caches the answer. Only the keystore is opened lazily. */
static const OSSL_ALGORITHM keymgmt_algs[] = {
    {AZKM_NAMES_RSA, AZKM_PROPS, azkm_rsa_keymgmt_functions, "azkm RSA key"},
    {AZKM_NAMES_RSA_PSS, AZKM_PROPS, azkm_rsapss_keymgmt_functions, "azkm RSA-PSS key"},
    {AZKM_NAMES_EC, AZKM_PROPS, azkm_ec_keymgmt_functions, "azkm EC key"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM signature_algs[] = {
    {AZKM_NAMES_RSA, AZKM_PROPS, azkm_rsa_signature_functions, "azkm RSA signature (PKCS#1 v1.5, PSS)"},
    {AZKM_NAMES_ECDSA, AZKM_PROPS, azkm_ecdsa_signature_functions, "azkm ECDSA signature"},
    {AZKM_OP_NAME_RSA, AZKM_PROPS, azkm_rsa_signature_functions, "azkm RSA signature, for azkm keys"},
    {AZKM_OP_NAME_ECDSA, AZKM_PROPS, azkm_ecdsa_signature_functions, "azkm ECDSA signature, for azkm keys"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM asym_cipher_algs[] = {
    {AZKM_NAMES_RSA, AZKM_PROPS, azkm_rsa_asym_cipher_functions, "azkm RSA decryption (PKCS#1 v1.5, OAEP)"},
    {AZKM_OP_NAME_RSA, AZKM_PROPS, azkm_rsa_asym_cipher_functions, "azkm RSA decryption, for azkm keys"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM store_algs[] = {
    {"azkm", AZKM_PROPS, azkm_store_functions, "azkm:// key URIs"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM decoder_algs[] = {
    {"DER", AZKM_PROPS ",input=pem", azkm_pem2der_decoder_functions, "azkm key reference PEM"},
    {AZKM_NAMES_RSA, AZKM_PROPS ",input=der,structure=" AZKM_REF_STRUCTURE, azkm_ref2rsa_decoder_functions,
     "azkm RSA key reference"},
    {AZKM_NAMES_EC, AZKM_PROPS ",input=der,structure=" AZKM_REF_STRUCTURE, azkm_ref2ec_decoder_functions,
     "azkm EC key reference"},
    {NULL, NULL, NULL, NULL},
};

/* A private key in PEM PrivateKeyInfo form is written as a key reference file; every other private encoding is
 * refused with a clear error. Public encodings go to the default provider through public export. These encoders
 * have no import_object, so OpenSSL uses them for azkm keys only. */
#define PROPS_OUT(o, s) AZKM_PROPS ",output=" o ",structure=" s

static const OSSL_ALGORITHM encoder_algs[] = {
    {AZKM_NAMES_RSA, PROPS_OUT("pem", "PrivateKeyInfo"), azkm_ref_pem_encoder_functions, "azkm key reference PEM"},
    {AZKM_NAMES_EC, PROPS_OUT("pem", "PrivateKeyInfo"), azkm_ref_pem_encoder_functions, "azkm key reference PEM"},
    {AZKM_NAMES_RSA_PSS, PROPS_OUT("pem", "PrivateKeyInfo"), azkm_ref_pem_encoder_functions,
     "azkm key reference PEM"},
    {AZKM_NAMES_RSA, AZKM_PROPS ",output=text", azkm_text_encoder_functions, "azkm key as text"},
    {AZKM_NAMES_RSA_PSS, AZKM_PROPS ",output=text", azkm_text_encoder_functions, "azkm key as text"},
    {AZKM_NAMES_EC, AZKM_PROPS ",output=text", azkm_text_encoder_functions, "azkm key as text"},
    {AZKM_NAMES_RSA, PROPS_OUT("der", "PrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_RSA_PSS, PROPS_OUT("der", "PrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_EC, PROPS_OUT("der", "PrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_RSA, PROPS_OUT("der", "EncryptedPrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_EC, PROPS_OUT("der", "EncryptedPrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_RSA, PROPS_OUT("pem", "EncryptedPrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_EC, PROPS_OUT("pem", "EncryptedPrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_RSA, PROPS_OUT("der", "type-specific"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_EC, PROPS_OUT("der", "type-specific"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_RSA, PROPS_OUT("pem", "type-specific"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_EC, PROPS_OUT("pem", "type-specific"), azkm_refuse_encoder_functions, NULL},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *azkm_query_operation(void *provctx, int operation_id, int *no_cache)
{
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return keymgmt_algs;
    case OSSL_OP_SIGNATURE:
        return signature_algs;
    case OSSL_OP_ASYM_CIPHER:
        return asym_cipher_algs;
    case OSSL_OP_STORE:
        return store_algs;
    case OSSL_OP_DECODER:
        return decoder_algs;
    case OSSL_OP_ENCODER:
        return encoder_algs;
    default:
        return NULL;
    }
}

static const OSSL_PARAM *azkm_gettable_params(void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

static int azkm_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "azkm key management provider"))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, AZKM_VERSION_STRING))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "azkm " AZKM_VERSION_STRING " built with " OPENSSL_VERSION_TEXT))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}

static const OSSL_ITEM *azkm_get_reason_strings(void *provctx)
{
    return azkm_reason_strings();
}

static void azkm_teardown(void *provctx)
{
    AZKM_PROVCTX *pctx = provctx;

    if (pctx == NULL)
        return;
    /* An application that exits without freeing its keys (a daemon's launcher process, say) still holds key
     * objects that point into the keystore and our library context: leave those to the process exit. */
    if (__atomic_load_n(&pctx->live_keys, __ATOMIC_ACQUIRE) > 0)
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

EVP_MD *azkm_prov_md_fetch(AZKM_PROVCTX *pctx, const char *name)
{
    EVP_MD *md, *seen = NULL;
    int slot = -1;

    if (name == NULL)
        return NULL;
    for (int i = 0; i < AZKM_MD_CACHED && slot < 0; i++)
        for (int j = 0; j < 3 && cached_mds[i].names[j] != NULL; j++)
            if (strcasecmp(name, cached_mds[i].names[j]) == 0)
                slot = i;
    if (slot < 0)
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

/* A setting: the environment overrides the provider's openssl.cnf section. */
static char *setting(const char *env, const char *conf)
{
    const char *v = getenv(env);

    if (v == NULL || v[0] == '\0')
        v = conf;
    return (v != NULL && v[0] != '\0') ? strdup(v) : NULL;
}

static const OSSL_DISPATCH provider_functions[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))azkm_teardown},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))azkm_gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))azkm_get_params},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))azkm_query_operation},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))azkm_get_reason_strings},
    {0, NULL},
};

__attribute__((visibility("default"))) int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
                                                              const OSSL_DISPATCH *in, const OSSL_DISPATCH **out,
                                                              void **provctx)
{
    OSSL_FUNC_core_get_params_fn *core_get_params = NULL;
    AZKM_PROVCTX *pctx;
    const char *conf_dir = NULL, *conf_file = NULL, *conf_log = NULL;
    char *log;

    pctx = calloc(1, sizeof(*pctx));
    if (pctx == NULL)
        return 0;
    pctx->handle = handle;
    pthread_mutex_init(&pctx->ks_lock, NULL);
    for (; in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_GET_PARAMS:
            core_get_params = OSSL_FUNC_core_get_params(in);
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
    if (core_get_params != NULL) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_utf8_ptr("keystore_dir", (char **)&conf_dir, 0),
            OSSL_PARAM_utf8_ptr("config_file", (char **)&conf_file, 0),
            OSSL_PARAM_utf8_ptr("error_log", (char **)&conf_log, 0),
            OSSL_PARAM_END,
        };
        if (!core_get_params(handle, params)) {
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

    /* Our own library context holding only the default provider: the keystore's libcrypto calls and our public
     * key work never come back into azkm. */
    pctx->libctx = OSSL_LIB_CTX_new();
    if (pctx->libctx == NULL)
        goto err;
    pctx->deflt = OSSL_PROVIDER_load(pctx->libctx, "default");
    if (pctx->deflt == NULL)
        goto err;

    *out = provider_functions;
    *provctx = pctx;
    return 1;
err:
    azkm_teardown(pctx);
    return 0;
}
