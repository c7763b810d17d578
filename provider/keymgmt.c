/* Key management for azkm keys (RSA, RSA-PSS, EC, Ed25519, Ed448): key objects by reference from the store and
 * decoders, public values through the public EVP_PKEY in our own library context, public-only export and import.
 * Generation into a vault is keygen.c's; the private key never leaves the keystore. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "algorithms.h"
#include "errors.h"
#include "key_object.h"
#include "keygen.h"
#include "params.h"

static OSSL_FUNC_keymgmt_new_fn rsa_new, rsapss_new, ec_new, ed25519_new, ed448_new;
static OSSL_FUNC_keymgmt_set_params_fn ec_set_params;
static OSSL_FUNC_keymgmt_settable_params_fn ec_settable_params;
static OSSL_FUNC_keymgmt_gettable_params_fn ed_gettable_params;
static OSSL_FUNC_keymgmt_export_types_fn ed_types;
static OSSL_FUNC_keymgmt_import_types_fn ed_import_types;
static OSSL_FUNC_keymgmt_query_operation_name_fn ed_query_operation_name;
static OSSL_FUNC_keymgmt_free_fn km_free;
static OSSL_FUNC_keymgmt_load_fn km_load;
static OSSL_FUNC_keymgmt_has_fn km_has;
static OSSL_FUNC_keymgmt_match_fn km_match;
static OSSL_FUNC_keymgmt_get_params_fn km_get_params;
static OSSL_FUNC_keymgmt_gettable_params_fn rsa_gettable_params, ec_gettable_params;
static OSSL_FUNC_keymgmt_export_fn km_export;
static OSSL_FUNC_keymgmt_export_types_fn rsa_types, ec_types;
static OSSL_FUNC_keymgmt_import_fn km_import;
static OSSL_FUNC_keymgmt_import_types_fn rsa_import_types, ec_import_types;
static OSSL_FUNC_keymgmt_query_operation_name_fn rsa_query_operation_name, ec_query_operation_name;
static OSSL_FUNC_keymgmt_dup_fn km_dup;

/* ---- new / free / load / dup --------------------------------------------------------------------------- */

static void *rsa_new(void *provctx)
{
    return azkm_pkey_new(provctx, AZKM_TYPE_RSA);
}

static void *rsapss_new(void *provctx)
{
    return azkm_pkey_new(provctx, AZKM_TYPE_RSA_PSS);
}

static void *ec_new(void *provctx)
{
    return azkm_pkey_new(provctx, AZKM_TYPE_EC);
}

static void *ed25519_new(void *provctx)
{
    return azkm_pkey_new(provctx, AZKM_TYPE_ED25519);
}

static void *ed448_new(void *provctx)
{
    return azkm_pkey_new(provctx, AZKM_TYPE_ED448);
}

static void km_free(void *keydata)
{
    azkm_pkey_free(keydata);
}

/* The reference is a pointer to a key object made by our store or decoder; it keeps its own reference. */
static void *km_load(const void *reference, size_t reference_sz)
{
    AZKM_PKEY *pk = azkm_pkey_from_reference(reference, reference_sz);

    if (pk == NULL)
        return NULL;
    azkm_pkey_up_ref(pk);
    return pk;
}

/* A new object with the public values of pk that selection asks for: its public key (shared: an EVP_PKEY held by
 * a key object is never changed), or only its domain parameters. Never the vault key. */
static AZKM_PKEY *public_copy(const AZKM_PKEY *pk, int selection)
{
    AZKM_PKEY *copy = azkm_pkey_new(pk->provctx, pk->type);
    EVP_PKEY *pub = NULL;

    if (copy == NULL)
        return NULL;
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 && EVP_PKEY_up_ref(pk->pub))
        pub = pk->pub;
    else if ((pub = EVP_PKEY_new()) != NULL && !EVP_PKEY_copy_parameters(pub, pk->pub)) {
        EVP_PKEY_free(pub);
        pub = NULL;
    }
    if (pub == NULL) {
        azkm_pkey_free(copy);
        return NULL;
    }
    copy->pub = pub;
    copy->bits = pk->bits;
    copy->security_bits = pk->security_bits;
    copy->max_size = pk->max_size;
    return copy;
}

/* Key objects are immutable once filled, so a duplicate with the private half shares the object. One without it
 * (EVP_PKEY_copy_parameters asks for the domain parameters only) is a new object: CMS then sets the originator's
 * point on it (ec_set_params), which must never reach the vault key. */
static void *km_dup(const void *keydata_from, int selection)
{
    AZKM_PKEY *pk = (AZKM_PKEY *)keydata_from;

    if (pk == NULL)
        return NULL;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0 && pk->pub != NULL &&
        ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 || pk->type == AZKM_TYPE_EC))
        return public_copy(pk, selection);
    azkm_pkey_up_ref(pk);
    return pk;
}

/* ---- has / match --------------------------------------------------------------------------------------- */

static int km_has(const void *keydata, int selection)
{
    const AZKM_PKEY *pk = keydata;
    int ok = 1;

    if (pk == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0)
        ok = ok && pk->key != NULL;
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0)
        ok = ok && pk->pub != NULL;
    if (pk->type == AZKM_TYPE_EC && (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0)
        ok = ok && pk->pub != NULL;
    return ok;
}

/* Matching is on public values only: a vault key matches its certificate's public key. */
static int km_match(const void *keydata1, const void *keydata2, int selection)
{
    const AZKM_PKEY *a = keydata1, *b = keydata2;

    if (a == NULL || b == NULL || a->pub == NULL || b->pub == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0)
        return EVP_PKEY_eq(a->pub, b->pub) == 1;
    if ((selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) != 0)
        return EVP_PKEY_parameters_eq(a->pub, b->pub) == 1;
    return 1;
}

/* ---- params -------------------------------------------------------------------------------------------- */

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
    AZKM_PKEY *pk = keydata;
    OSSL_PARAM *p;

    /* An empty key object (made by new, not yet imported) has no values: OpenSSL tolerates this quietly when it
     * caches a key's sizes, so no error is raised. */
    if (pk == NULL || pk->pub == NULL)
        return 0;
    /* The default provider answers for the public half (n, e, group, encoded point, default digest, ...) and
     * raises its own errors. */
    if (!EVP_PKEY_get_params(pk->pub, params))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) != NULL &&
        !azkm_param_set_int(pk->provctx, p, pk->bits))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) != NULL &&
        !azkm_param_set_int(pk->provctx, p, pk->security_bits))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) != NULL &&
        !azkm_param_set_int(pk->provctx, p, pk->max_size))
        return 0;
    return 1;
}

static const OSSL_PARAM *rsa_gettable_params(void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

static const OSSL_PARAM *ec_gettable_params(void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_X, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_Y, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

/* 1 when pk is an EC object with domain parameters and no key: asking the default provider for a point it does
 * not have leaves an error on the queue, taken off again here. */
static int ec_parameters_only(const AZKM_PKEY *pk, char *group, size_t size)
{
    size_t len = 0;
    int has_point;

    if (pk == NULL || pk->key != NULL || pk->pub == NULL || pk->type != AZKM_TYPE_EC)
        return 0;
    ERR_set_mark();
    has_point = EVP_PKEY_get_octet_string_param(pk->pub, OSSL_PKEY_PARAM_PUB_KEY, NULL, 0, &len);
    ERR_pop_to_mark();
    return !has_point && EVP_PKEY_get_utf8_string_param(pk->pub, OSSL_PKEY_PARAM_GROUP_NAME, group, size, NULL);
}

/* EVP_PKEY_set1_encoded_public_key: only an EC object that holds domain parameters and no key yet (km_dup's
 * parameter copy, or an import of parameters) takes a point; a vault key or a filled public key is immutable. CMS
 * decryption makes the originator's key this way, from a copy of the recipient key's parameters. */
static int ec_set_params(void *keydata, const OSSL_PARAM params[])
{
    AZKM_PKEY *pk = keydata;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
    char group[64];
    OSSL_PARAM fromdata[3];
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pub = NULL;
    int ok = 0;

    if (p == NULL)
        return 1;
    if (p->data_type != OSSL_PARAM_OCTET_STRING || !ec_parameters_only(pk, group, sizeof(group))) {
        AZKM_RAISE(pk != NULL ? pk->provctx : NULL, AZKM_R_BAD_PARAMETER,
                   "an azkm key's public key cannot be changed; only a copy of its parameters takes a point");
        return 0;
    }
    fromdata[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    fromdata[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, p->data, p->data_size);
    fromdata[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(pk->provctx->libctx, "EC", NULL);
    if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) > 0 &&
        EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, fromdata) > 0)
        ok = azkm_pkey_set_pub(pk, pub);
    else
        EVP_PKEY_free(pub);
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static const OSSL_PARAM *ec_settable_params(void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

static const OSSL_PARAM *ed_gettable_params(void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

/* ---- export / import: public parts only ----------------------------------------------------------------- */

/* OpenSSL 3.0 tries to export the key to the default provider on every operation init; refusing the private
 * half must be quick and quiet (no error on the queue), so the operation falls back to azkm. */
static int km_export(void *keydata, int selection, OSSL_CALLBACK *param_cb, void *cbarg)
{
    AZKM_PKEY *pk = keydata;

    if (pk == NULL || pk->pub == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && pk->key != NULL)
        return 0;
    return EVP_PKEY_export(pk->pub, selection & ~OSSL_KEYMGMT_SELECT_PRIVATE_KEY, param_cb, cbarg);
}

static int has_private_params(const OSSL_PARAM params[])
{
    static const char *const priv[] = {
        OSSL_PKEY_PARAM_RSA_D,
        OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_PRIV_KEY,
        NULL,
    };

    for (int i = 0; priv[i] != NULL; i++)
        if (OSSL_PARAM_locate_const(params, priv[i]) != NULL)
            return 1;
    return 0;
}

/* Imports public values only. A private key from another provider is refused, so that keys of the default
 * provider keep using the default provider's operations. */
static int km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    AZKM_PKEY *pk = keydata;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pub = NULL;
    int ok = 0;

    if (pk == NULL || pk->pub != NULL || pk->key != NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && has_private_params(params))
        return 0;
    ctx = EVP_PKEY_CTX_new_from_name(pk->provctx->libctx, azkm_pkey_type_name(pk->type), NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0)
        goto end;
    if (EVP_PKEY_fromdata(ctx, &pub,
                          (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 ? EVP_PKEY_PUBLIC_KEY
                                                                            : EVP_PKEY_KEY_PARAMETERS,
                          (OSSL_PARAM *)params) <= 0)
        goto end;
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0) {
        /* Domain parameters only (EC group): keep them, without a public key. */
        pk->pub = pub;
        pub = NULL;
        ok = 1;
        goto end;
    }
    ok = azkm_pkey_set_pub(pk, pub);
    pub = NULL;
end:
    EVP_PKEY_free(pub);
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static const OSSL_PARAM *rsa_types(int selection)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        OSSL_PARAM_END,
    };
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 ? params : NULL;
}

static const OSSL_PARAM *ec_types(int selection)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

static const OSSL_PARAM *ed_types(int selection)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_END,
    };
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 ? params : NULL;
}

static const OSSL_PARAM *ed_import_types(int selection)
{
    return ed_types(selection);
}

static const OSSL_PARAM *rsa_import_types(int selection)
{
    return rsa_types(selection);
}

static const OSSL_PARAM *ec_import_types(int selection)
{
    return ec_types(selection);
}

static const char *rsa_query_operation_name(int operation_id)
{
    return AZKM_OP_NAME_RSA;
}

static const char *ec_query_operation_name(int operation_id)
{
    switch (operation_id) {
    case OSSL_OP_SIGNATURE:
        return AZKM_OP_NAME_ECDSA;
    case OSSL_OP_KEYEXCH:
        return AZKM_OP_NAME_ECDH;
    default:
        return "EC";
    }
}

static const char *ed_query_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? AZKM_OP_NAME_EDDSA : NULL;
}

/* ---- dispatch ------------------------------------------------------------------------------------------ */

const OSSL_DISPATCH azkm_rsa_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))rsa_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))rsa_gettable_params},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))rsa_types},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))rsa_import_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))rsa_query_operation_name},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))azkm_keygen_rsa_init},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))azkm_keygen_rsa_settable_params},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))azkm_keygen_set_params},
    {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))azkm_keygen},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))azkm_keygen_cleanup},
    {0, NULL},
};

const OSSL_DISPATCH azkm_rsapss_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))rsapss_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))rsa_gettable_params},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))rsa_types},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))rsa_import_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))rsa_query_operation_name},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))azkm_keygen_rsapss_init},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))azkm_keygen_rsapss_settable_params},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))azkm_keygen_set_params},
    {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))azkm_keygen},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))azkm_keygen_cleanup},
    {0, NULL},
};

const OSSL_DISPATCH azkm_ec_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))ec_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))ec_gettable_params},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))ec_types},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))ec_import_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))ec_query_operation_name},
    {OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))ec_set_params},
    {OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))ec_settable_params},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))azkm_keygen_ec_init},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))azkm_keygen_ec_settable_params},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))azkm_keygen_set_params},
    {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))azkm_keygen},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))azkm_keygen_cleanup},
    {0, NULL},
};

/* Ed25519 and Ed448: vault keys made by azkm key create, import, or genpkey into a vault (-propquery
 * '?provider=azkm' with azkm-uri). Registered after the default provider's (register_last.c), so that a generation
 * that does not ask for azkm gets the default provider's keys. */
const OSSL_DISPATCH azkm_ed25519_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))ed25519_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))ed_gettable_params},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))ed_types},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))ed_import_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))ed_query_operation_name},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))azkm_keygen_ed25519_init},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))azkm_keygen_ed_settable_params},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))azkm_keygen_set_params},
    {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))azkm_keygen},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))azkm_keygen_cleanup},
    {0, NULL},
};

const OSSL_DISPATCH azkm_ed448_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))ed448_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))ed_gettable_params},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))ed_types},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))ed_import_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))ed_query_operation_name},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))azkm_keygen_ed448_init},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))azkm_keygen_ed_settable_params},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))azkm_keygen_set_params},
    {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))azkm_keygen},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))azkm_keygen_cleanup},
    {0, NULL},
};
