/* The azkm OpenSSL provider entry point: OSSL_provider_init, the provider's own parameters, and the static tables
 * of every algorithm it offers, which point at the operation files' dispatch tables. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "algorithms.h"
#include "dispatch.h"
#include "errors.h"
#include "params.h"
#include "provctx.h"
#include "register_last.h"

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
    {AZKM_NAMES_ED25519, AZKM_PROPS, azkm_ed25519_keymgmt_functions, "azkm Ed25519 key"},
    {AZKM_NAMES_ED448, AZKM_PROPS, azkm_ed448_keymgmt_functions, "azkm Ed448 key"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM signature_algs[] = {
    {AZKM_NAMES_RSA, AZKM_PROPS, azkm_rsa_signature_functions, "azkm RSA signature (PKCS#1 v1.5, PSS)"},
    {AZKM_NAMES_ECDSA, AZKM_PROPS, azkm_ecdsa_signature_functions, "azkm ECDSA signature"},
    {AZKM_OP_NAME_RSA, AZKM_PROPS, azkm_rsa_signature_functions, "azkm RSA signature, for azkm keys"},
    {AZKM_OP_NAME_ECDSA, AZKM_PROPS, azkm_ecdsa_signature_functions, "azkm ECDSA signature, for azkm keys"},
    {AZKM_NAMES_EDDSA, AZKM_PROPS, azkm_eddsa_signature_functions, "azkm EdDSA (Ed25519, Ed448), for azkm keys"},
    {NULL, NULL, NULL, NULL},
};

/* ECDH under azkm's name only: the default provider's keys never fetch it (keyexch.c). */
static const OSSL_ALGORITHM keyexch_algs[] = {
    {AZKM_OP_NAME_ECDH, AZKM_PROPS, azkm_ecdh_keyexch_functions, "azkm ECDH, for azkm EC keys"},
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
    {AZKM_NAMES_ED25519, AZKM_PROPS ",input=der,structure=" AZKM_REF_STRUCTURE, azkm_ref2ed25519_decoder_functions,
     "azkm Ed25519 key reference"},
    {AZKM_NAMES_ED448, AZKM_PROPS ",input=der,structure=" AZKM_REF_STRUCTURE, azkm_ref2ed448_decoder_functions,
     "azkm Ed448 key reference"},
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
    /* Ed25519 and Ed448 keys have no type-specific private encoding */
    {AZKM_NAMES_ED25519, PROPS_OUT("pem", "PrivateKeyInfo"), azkm_ref_pem_encoder_functions,
     "azkm key reference PEM"},
    {AZKM_NAMES_ED448, PROPS_OUT("pem", "PrivateKeyInfo"), azkm_ref_pem_encoder_functions,
     "azkm key reference PEM"},
    {AZKM_NAMES_ED25519, AZKM_PROPS ",output=text", azkm_text_encoder_functions, "azkm key as text"},
    {AZKM_NAMES_ED448, AZKM_PROPS ",output=text", azkm_text_encoder_functions, "azkm key as text"},
    {AZKM_NAMES_ED25519, PROPS_OUT("der", "PrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_ED448, PROPS_OUT("der", "PrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_ED25519, PROPS_OUT("der", "EncryptedPrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_ED448, PROPS_OUT("der", "EncryptedPrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_ED25519, PROPS_OUT("pem", "EncryptedPrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {AZKM_NAMES_ED448, PROPS_OUT("pem", "EncryptedPrivateKeyInfo"), azkm_refuse_encoder_functions, NULL},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *azkm_query_operation(void *provctx, int operation_id, int *no_cache)
{
    *no_cache = 0;
    if (!azkm_register_last(provctx, operation_id, no_cache))
        return NULL;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return keymgmt_algs;
    case OSSL_OP_SIGNATURE:
        return signature_algs;
    case OSSL_OP_ASYM_CIPHER:
        return asym_cipher_algs;
    case OSSL_OP_KEYEXCH:
        return keyexch_algs;
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
    if (p != NULL && !azkm_param_set_utf8_ptr(provctx, p, "azkm key management provider"))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !azkm_param_set_utf8_ptr(provctx, p, AZKM_VERSION_STRING))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL &&
        !azkm_param_set_utf8_ptr(provctx, p, "azkm " AZKM_VERSION_STRING " built with " OPENSSL_VERSION_TEXT))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !azkm_param_set_int(provctx, p, 1))
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
    azkm_provctx_free(pctx);
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
    AZKM_PROVCTX *pctx = azkm_provctx_new(handle, in);

    if (pctx == NULL)
        return 0;
    *out = provider_functions;
    *provctx = pctx;
    return 1;
}
