/* Key management for azkm keys (RSA, RSA-PSS, EC): keys by reference from the store and decoders, public
 * values through a public EVP_PKEY in our own library context, public-only export and import, and key
 * generation into a vault. The private key never leaves the keystore. */
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "provider.h"

static OSSL_FUNC_keymgmt_new_fn rsa_new, rsapss_new, ec_new;
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
static OSSL_FUNC_keymgmt_gen_init_fn rsa_gen_init, rsapss_gen_init, ec_gen_init;
static OSSL_FUNC_keymgmt_gen_set_params_fn km_gen_set_params;
static OSSL_FUNC_keymgmt_gen_settable_params_fn rsa_gen_settable_params, ec_gen_settable_params;
static OSSL_FUNC_keymgmt_gen_fn km_gen;
static OSSL_FUNC_keymgmt_gen_cleanup_fn km_gen_cleanup;

/* ---- the key object ------------------------------------------------------------------------------------ */

AZKM_PKEY *azkm_pkey_new(AZKM_PROVCTX *pctx, azkm_pkey_type type)
{
    AZKM_PKEY *pk = OPENSSL_zalloc(sizeof(*pk));

    if (pk == NULL)
        return NULL;
    pk->refcnt = 1;
    pk->provctx = pctx;
    pk->type = type;
    __atomic_add_fetch(&pctx->live_keys, 1, __ATOMIC_RELAXED);
    return pk;
}

int azkm_pkey_up_ref(AZKM_PKEY *pk)
{
    __atomic_add_fetch(&pk->refcnt, 1, __ATOMIC_RELAXED);
    return 1;
}

void azkm_pkey_free(AZKM_PKEY *pk)
{
    if (pk == NULL || __atomic_sub_fetch(&pk->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    azkm_key_free(pk->key);
    EVP_PKEY_free(pk->pub);
    OPENSSL_free(pk->uri);
    OPENSSL_free(pk->ref_uri);
    __atomic_sub_fetch(&pk->provctx->live_keys, 1, __ATOMIC_RELAXED);
    OPENSSL_free(pk);
}

const char *azkm_pkey_type_name(azkm_pkey_type type)
{
    switch (type) {
    case AZKM_TYPE_RSA:
        return "RSA";
    case AZKM_TYPE_RSA_PSS:
        return "RSA-PSS";
    case AZKM_TYPE_EC:
        return "EC";
    }
    return "?";
}

int azkm_pkey_is_rsa(const AZKM_PKEY *pk)
{
    return pk->type == AZKM_TYPE_RSA || pk->type == AZKM_TYPE_RSA_PSS;
}

int azkm_pkey_set_pub(AZKM_PKEY *pk, EVP_PKEY *pub)
{
    EVP_PKEY_free(pk->pub);
    pk->pub = pub;
    pk->bits = EVP_PKEY_get_bits(pub);
    pk->security_bits = EVP_PKEY_get_security_bits(pub);
    pk->max_size = EVP_PKEY_get_size(pub);
    return pk->bits > 0 && pk->max_size > 0;
}

AZKM_PKEY *azkm_pkey_load_uri(AZKM_PROVCTX *pctx, const char *uri)
{
    azkm_keystore *ks = azkm_prov_keystore(pctx);
    const azkm_key_info *info;
    const unsigned char *p;
    AZKM_PKEY *pk = NULL;
    EVP_PKEY *pub;
    azkm_key *key = NULL;
    azkm_uri parsed;
    char canonical[AZKM_URI_MAX];
    azkm_rc rc;

    if (ks == NULL)
        return NULL;
    rc = azkm_key_load_uri(ks, uri, &key);
    if (rc != AZKM_OK) {
        if (rc == AZKM_E_INVALID)
            AZKM_RAISE(pctx, AZKM_R_INVALID_URI, "%s", azkm_last_error());
        else
            AZKM_RAISE_RC_LOADING(pctx, rc, uri);
        return NULL;
    }
    info = azkm_key_get_info(key);
    if (info->kty != AZKM_KTY_RSA && info->kty != AZKM_KTY_EC) {
        AZKM_RAISE(pctx, AZKM_R_UNSUPPORTED,
                   "key %s is of type %s: only RSA and EC keys are usable through OpenSSL", azkm_key_uri(key),
                   azkm_kty_name(info->kty, info->protection));
        goto err;
    }
    pk = azkm_pkey_new(pctx, info->kty == AZKM_KTY_RSA ? AZKM_TYPE_RSA : AZKM_TYPE_EC);
    if (pk == NULL)
        goto err;
    p = info->public_der;
    pub = p != NULL ? d2i_PUBKEY_ex(NULL, &p, (long)info->public_der_len, pctx->libctx, NULL) : NULL;
    if (pub == NULL || !azkm_pkey_set_pub(pk, pub)) {
        AZKM_RAISE(pctx, AZKM_R_CORRUPT, "key %s: cannot decode its public key", azkm_key_uri(key));
        goto err;
    }
    pk->uri = OPENSSL_strdup(azkm_key_uri(key));
    /* Names as stored, version only if the caller named one. */
    memset(&parsed, 0, sizeof(parsed));
    if (azkm_uri_parse(uri, &parsed) == AZKM_OK) {
        strcpy(parsed.vault, info->vault);
        strcpy(parsed.name, info->name);
    }
    if (parsed.vault[0] != '\0' && azkm_uri_format(&parsed, canonical, sizeof(canonical)) > 0)
        pk->ref_uri = OPENSSL_strdup(canonical);
    if (pk->uri == NULL || pk->ref_uri == NULL)
        goto err;
    pk->key = key;
    return pk;
err:
    azkm_key_free(key);
    azkm_pkey_free(pk);
    return NULL;
}

/* A server loads its private key once, at startup, and signs with it for days: a key that cannot work now
 * (disabled, not yet valid, expired, or with neither sign nor decrypt in key_ops) is refused at load, so that the
 * server refuses to start with the keystore's reason instead of failing its first handshake. The operations
 * check again, for keys that expire while loaded. */
int azkm_pkey_check_private_use(AZKM_PKEY *pk)
{
    const azkm_key_info *info;
    azkm_rc rc;

    if (pk->key == NULL)
        return 1;
    if (azkm_key_check(pk->key, AZKM_OP_SIGN) == AZKM_OK || azkm_key_check(pk->key, AZKM_OP_DECRYPT) == AZKM_OK)
        return 1;
    /* Run the sign check again so that its message (the first refusal it meets) is the one raised. */
    rc = azkm_key_check(pk->key, AZKM_OP_SIGN);
    info = azkm_key_get_info(pk->key);
    if ((info->attrs.key_ops & (AZKM_OP_SIGN | AZKM_OP_DECRYPT)) == 0 && rc == AZKM_E_FORBIDDEN &&
        strstr(azkm_last_error(), "does not permit") != NULL)
        AZKM_RAISE(pk->provctx, AZKM_R_FORBIDDEN, "%s: a private key needs sign or decrypt", azkm_last_error());
    else
        AZKM_RAISE_RC(pk->provctx, rc);
    return 0;
}

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

static void km_free(void *keydata)
{
    azkm_pkey_free(keydata);
}

/* The reference is a pointer to a key object made by our store or decoder; it keeps its own reference. */
static void *km_load(const void *reference, size_t reference_sz)
{
    AZKM_PKEY *pk;

    if (reference == NULL || reference_sz != sizeof(pk))
        return NULL;
    memcpy(&pk, reference, sizeof(pk));
    if (pk == NULL)
        return NULL;
    azkm_pkey_up_ref(pk);
    return pk;
}

/* Key objects are immutable once filled, so a duplicate can share the object. */
static void *km_dup(const void *keydata_from, int selection)
{
    AZKM_PKEY *pk = (AZKM_PKEY *)keydata_from;

    if (pk == NULL)
        return NULL;
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

    if (pk == NULL || pk->pub == NULL)
        return 0;
    /* The default provider answers for the public half (n, e, group, encoded point, default digest, ...). */
    if (!EVP_PKEY_get_params(pk->pub, params))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) != NULL && !OSSL_PARAM_set_int(p, pk->bits))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) != NULL &&
        !OSSL_PARAM_set_int(p, pk->security_bits))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) != NULL && !OSSL_PARAM_set_int(p, pk->max_size))
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
        return "ECDH";
    default:
        return "EC";
    }
}

/* ---- generation into a vault ---------------------------------------------------------------------------- */

typedef struct {
    AZKM_PROVCTX *provctx;
    azkm_pkey_type type;
    char uri[AZKM_URI_MAX];
    char vault[AZKM_VAULT_NAME_MAX + 1];
    char name[AZKM_NAME_MAX + 1];
    unsigned bits;
    azkm_curve curve;
    unsigned key_ops;
    int hsm;
} GEN_CTX;

static void *gen_init(void *provctx, azkm_pkey_type type, const OSSL_PARAM params[])
{
    GEN_CTX *g = OPENSSL_zalloc(sizeof(*g));

    if (g == NULL)
        return NULL;
    g->provctx = provctx;
    g->type = type;
    g->bits = 2048;
    g->curve = AZKM_CURVE_P256;
    if (!km_gen_set_params(g, params)) {
        OPENSSL_free(g);
        return NULL;
    }
    return g;
}

static void *rsa_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, AZKM_TYPE_RSA, params);
}

static void *rsapss_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, AZKM_TYPE_RSA_PSS, params);
}

static void *ec_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, AZKM_TYPE_EC, params);
}

static int copy_string_param(GEN_CTX *g, const OSSL_PARAM *p, char *buf, size_t len)
{
    char *s = buf;

    if (!OSSL_PARAM_get_utf8_string(p, &s, len)) {
        AZKM_RAISE(g->provctx, AZKM_R_BAD_PARAMETER, "parameter %s: a string of at most %zu characters", p->key,
                   len - 1);
        return 0;
    }
    return 1;
}

static int curve_from_group(const char *group, azkm_curve *curve)
{
    static const struct {
        const char *name;
        azkm_curve curve;
    } names[] = {
        {"P-256", AZKM_CURVE_P256},     {"prime256v1", AZKM_CURVE_P256}, {"secp256r1", AZKM_CURVE_P256},
        {"P-384", AZKM_CURVE_P384},     {"secp384r1", AZKM_CURVE_P384},  {"P-521", AZKM_CURVE_P521},
        {"secp521r1", AZKM_CURVE_P521},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(group, names[i].name) == 0) {
            *curve = names[i].curve;
            return 1;
        }
    }
    return 0;
}

static int km_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
    GEN_CTX *g = genctx;
    const OSSL_PARAM *p;

    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, AZKM_GEN_PARAM_URI)) != NULL &&
        !copy_string_param(g, p, g->uri, sizeof(g->uri)))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, AZKM_GEN_PARAM_VAULT)) != NULL &&
        !copy_string_param(g, p, g->vault, sizeof(g->vault)))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, AZKM_GEN_PARAM_NAME)) != NULL &&
        !copy_string_param(g, p, g->name, sizeof(g->name)))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, "azkm-key-ops")) != NULL) {
        char ops[256];

        if (!copy_string_param(g, p, ops, sizeof(ops)))
            return 0;
        if (azkm_ops_parse(ops, &g->key_ops) != AZKM_OK) {
            AZKM_RAISE(g->provctx, AZKM_R_BAD_PARAMETER, "%s", azkm_last_error());
            return 0;
        }
    }
    if ((p = OSSL_PARAM_locate_const(params, "azkm-hsm")) != NULL && !OSSL_PARAM_get_int(p, &g->hsm))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_BITS)) != NULL) {
        size_t bits;

        if (!OSSL_PARAM_get_size_t(p, &bits) || (bits != 2048 && bits != 3072 && bits != 4096)) {
            AZKM_RAISE(g->provctx, AZKM_R_UNSUPPORTED, "RSA keys in a vault are 2048, 3072 or 4096 bits");
            return 0;
        }
        g->bits = (unsigned)bits;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME)) != NULL) {
        char group[64];

        if (!copy_string_param(g, p, group, sizeof(group)))
            return 0;
        if (!curve_from_group(group, &g->curve)) {
            AZKM_RAISE(g->provctx, AZKM_R_UNSUPPORTED, "curve %s: vault EC keys are P-256, P-384 or P-521", group);
            return 0;
        }
    }
    return 1;
}

static const OSSL_PARAM *rsa_gen_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(AZKM_GEN_PARAM_URI, NULL, 0),
        OSSL_PARAM_utf8_string(AZKM_GEN_PARAM_VAULT, NULL, 0),
        OSSL_PARAM_utf8_string(AZKM_GEN_PARAM_NAME, NULL, 0),
        OSSL_PARAM_utf8_string("azkm-key-ops", NULL, 0),
        OSSL_PARAM_int("azkm-hsm", NULL),
        OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_BITS, NULL),
        OSSL_PARAM_END,
    };
    return params;
}

static const OSSL_PARAM *ec_gen_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(AZKM_GEN_PARAM_URI, NULL, 0),
        OSSL_PARAM_utf8_string(AZKM_GEN_PARAM_VAULT, NULL, 0),
        OSSL_PARAM_utf8_string(AZKM_GEN_PARAM_NAME, NULL, 0),
        OSSL_PARAM_utf8_string("azkm-key-ops", NULL, 0),
        OSSL_PARAM_int("azkm-hsm", NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

static void *km_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
    GEN_CTX *g = genctx;
    azkm_keystore *ks;
    azkm_vault *v = NULL;
    azkm_keyspec spec;
    azkm_key_info info;
    azkm_uri u;
    char uri[AZKM_URI_MAX];
    AZKM_PKEY *pk = NULL;
    azkm_rc rc;

    memset(&info, 0, sizeof(info));
    memset(&u, 0, sizeof(u));
    if (g->uri[0] != '\0') {
        if (azkm_uri_parse(g->uri, &u) != AZKM_OK) {
            AZKM_RAISE(g->provctx, AZKM_R_INVALID_URI, "%s", azkm_last_error());
            return NULL;
        }
        if (u.version[0] != '\0') {
            AZKM_RAISE(g->provctx, AZKM_R_INVALID_URI, "%s: a new key has no version yet", g->uri);
            return NULL;
        }
    } else if (g->vault[0] != '\0' && g->name[0] != '\0') {
        strcpy(u.vault, g->vault);
        strcpy(u.name, g->name);
    } else {
        AZKM_RAISE(g->provctx, AZKM_R_BAD_PARAMETER,
                   "name the new key with -pkeyopt " AZKM_GEN_PARAM_URI
                   ":azkm://<vault>/keys/<name> (or " AZKM_GEN_PARAM_VAULT " and " AZKM_GEN_PARAM_NAME ")");
        return NULL;
    }
    if ((ks = azkm_prov_keystore(g->provctx)) == NULL)
        return NULL;
    memset(&spec, 0, sizeof(spec));
    spec.kty = g->type == AZKM_TYPE_EC ? AZKM_KTY_EC : AZKM_KTY_RSA;
    spec.protection = g->hsm ? AZKM_PROTECTION_HSM : AZKM_PROTECTION_SOFTWARE;
    spec.size = g->type == AZKM_TYPE_EC ? 0 : g->bits;
    spec.curve = g->type == AZKM_TYPE_EC ? g->curve : AZKM_CURVE_NONE;
    if (g->key_ops != 0) {
        spec.fields |= AZKM_ATTR_KEY_OPS;
        spec.attrs.key_ops = g->key_ops;
    }
    rc = azkm_vault_open(ks, u.vault, &v);
    if (rc == AZKM_OK)
        rc = azkm_key_create(v, u.name, &spec, &info);
    if (rc != AZKM_OK) {
        AZKM_RAISE_RC(g->provctx, rc);
        goto end;
    }
    /* The reference genpkey writes names the key, not this version, so it follows rotations. */
    if (azkm_uri_format(&u, uri, sizeof(uri)) < 0)
        goto end;
    pk = azkm_pkey_load_uri(g->provctx, uri);
    if (pk != NULL)
        pk->type = g->type;
end:
    azkm_key_info_clear(&info);
    azkm_vault_close(v);
    return pk;
}

static void km_gen_cleanup(void *genctx)
{
    OPENSSL_free(genctx);
}

/* ---- dispatch ------------------------------------------------------------------------------------------ */

const OSSL_DISPATCH azkm_rsa_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))rsa_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))rsa_gettable_params},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))rsa_types},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))rsa_import_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))rsa_query_operation_name},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))rsa_gen_init},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))rsa_gen_settable_params},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))km_gen_set_params},
    {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))km_gen},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))km_gen_cleanup},
    {0, NULL},
};

const OSSL_DISPATCH azkm_rsapss_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))rsapss_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))rsa_gettable_params},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))rsa_types},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))rsa_import_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))rsa_query_operation_name},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))rsapss_gen_init},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))rsa_gen_settable_params},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))km_gen_set_params},
    {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))km_gen},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))km_gen_cleanup},
    {0, NULL},
};

const OSSL_DISPATCH azkm_ec_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))ec_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))ec_gettable_params},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))ec_types},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))ec_import_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))ec_query_operation_name},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))ec_gen_init},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))ec_gen_settable_params},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))km_gen_set_params},
    {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))km_gen},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))km_gen_cleanup},
    {0, NULL},
};
