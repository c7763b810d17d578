/* Key generation into a vault: `openssl genpkey -propquery '?provider=azkm' -pkeyopt azkm-uri:...` creates the key
 * in the keystore and returns it as a key object, so the PEM that genpkey writes is a key reference. */
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "errors.h"
#include "key_object.h"
#include "keygen.h"
#include "params.h"

/* Key generation parameters (genpkey -pkeyopt). */
#define GEN_PARAM_URI "azkm-uri"
#define GEN_PARAM_VAULT "azkm-vault"
#define GEN_PARAM_NAME "azkm-name"
#define GEN_PARAM_KEY_OPS "azkm-key-ops"
#define GEN_PARAM_HSM "azkm-hsm"

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
    azkm_rsa_pss pss; /* RSA-PSS: restricted when any of its parameters was given */
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
    /* RFC 4055's defaults, for the parameters of a restricted RSA-PSS key that are not given */
    strcpy(g->pss.digest, "SHA1");
    strcpy(g->pss.mgf1_digest, "SHA1");
    g->pss.min_salt_len = 20;
    if (!azkm_keygen_set_params(g, params)) {
        OPENSSL_free(g);
        return NULL;
    }
    return g;
}

void *azkm_keygen_rsa_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, AZKM_TYPE_RSA, params);
}

void *azkm_keygen_rsapss_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, AZKM_TYPE_RSA_PSS, params);
}

void *azkm_keygen_ec_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, AZKM_TYPE_EC, params);
}

void *azkm_keygen_ed25519_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, AZKM_TYPE_ED25519, params);
}

void *azkm_keygen_ed448_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, AZKM_TYPE_ED448, params);
}

/* ---- parameters ---------------------------------------------------------------------------------------- */

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

static int set_key_ops(GEN_CTX *g, const OSSL_PARAM *p)
{
    char ops[256];

    if (!azkm_param_copy_utf8(g->provctx, p, ops, sizeof(ops)))
        return 0;
    if (azkm_ops_parse(ops, &g->key_ops) != AZKM_OK) {
        AZKM_RAISE(g->provctx, AZKM_R_BAD_PARAMETER, "%s", azkm_last_error());
        return 0;
    }
    return 1;
}

static int set_rsa_bits(GEN_CTX *g, const OSSL_PARAM *p)
{
    size_t bits;

    if (!OSSL_PARAM_get_size_t(p, &bits) || (bits != 2048 && bits != 3072 && bits != 4096)) {
        AZKM_RAISE(g->provctx, AZKM_R_UNSUPPORTED, "RSA keys in a vault are 2048, 3072 or 4096 bits");
        return 0;
    }
    g->bits = (unsigned)bits;
    return 1;
}

static int set_group(GEN_CTX *g, const OSSL_PARAM *p)
{
    char group[64];

    if (!azkm_param_copy_utf8(g->provctx, p, group, sizeof(group)))
        return 0;
    if (!curve_from_group(group, &g->curve)) {
        AZKM_RAISE(g->provctx, AZKM_R_UNSUPPORTED, "curve %s: vault EC keys are P-256, P-384 or P-521", group);
        return 0;
    }
    return 1;
}

/* RSA-PSS restrictions, under OpenSSL's names (genpkey -pkeyopt rsa_pss_keygen_md, _mgf1_md, _saltlen). Once one
 * is given the key is restricted, and the others take RFC 4055's defaults, as the default provider does. */
static int set_pss_digest(GEN_CTX *g, const OSSL_PARAM *p, char *slot, size_t len)
{
    if (!azkm_param_copy_utf8(g->provctx, p, slot, len))
        return 0;
    g->pss.restricted = 1;
    return 1;
}

static int set_pss_params(GEN_CTX *g, const OSSL_PARAM params[])
{
    const OSSL_PARAM *p;
    const char *mgf = NULL;

    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_DIGEST)) != NULL &&
        !set_pss_digest(g, p, g->pss.digest, sizeof(g->pss.digest)))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_MGF1_DIGEST)) != NULL &&
        !set_pss_digest(g, p, g->pss.mgf1_digest, sizeof(g->pss.mgf1_digest)))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_MASKGENFUNC)) != NULL &&
        (!azkm_param_get_utf8(g->provctx, p, &mgf) || strcasecmp(mgf, "MGF1") != 0))
        return AZKM_PARAM_BAD(g->provctx, p->key, "RSA-PSS keys use MGF1");
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_PSS_SALTLEN)) != NULL) {
        if (!azkm_param_get_int(g->provctx, p, &g->pss.min_salt_len))
            return 0;
        if (g->pss.min_salt_len < 0)
            return AZKM_PARAM_BAD(g->provctx, p->key, "a minimum salt length in bytes");
        g->pss.restricted = 1;
    }
    return 1;
}

int azkm_keygen_set_params(void *genctx, const OSSL_PARAM params[])
{
    GEN_CTX *g = genctx;
    const OSSL_PARAM *p;

    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, GEN_PARAM_URI)) != NULL &&
        !azkm_param_copy_utf8(g->provctx, p, g->uri, sizeof(g->uri)))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, GEN_PARAM_VAULT)) != NULL &&
        !azkm_param_copy_utf8(g->provctx, p, g->vault, sizeof(g->vault)))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, GEN_PARAM_NAME)) != NULL &&
        !azkm_param_copy_utf8(g->provctx, p, g->name, sizeof(g->name)))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, GEN_PARAM_KEY_OPS)) != NULL && !set_key_ops(g, p))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, GEN_PARAM_HSM)) != NULL && !azkm_param_get_int(g->provctx, p, &g->hsm))
        return 0;
    /* Each type's settable table lists its own size parameter; the other is checked but has no effect. */
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_BITS)) != NULL && !set_rsa_bits(g, p))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME)) != NULL && !set_group(g, p))
        return 0;
    return g->type != AZKM_TYPE_RSA_PSS || set_pss_params(g, params);
}

const OSSL_PARAM *azkm_keygen_rsa_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(GEN_PARAM_URI, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_VAULT, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_NAME, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_KEY_OPS, NULL, 0),
        OSSL_PARAM_int(GEN_PARAM_HSM, NULL),
        OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_BITS, NULL),
        OSSL_PARAM_END,
    };
    return params;
}

const OSSL_PARAM *azkm_keygen_rsapss_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(GEN_PARAM_URI, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_VAULT, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_NAME, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_KEY_OPS, NULL, 0),
        OSSL_PARAM_int(GEN_PARAM_HSM, NULL),
        OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_BITS, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_RSA_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_RSA_DIGEST_PROPS, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_RSA_MASKGENFUNC, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_RSA_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_RSA_PSS_SALTLEN, NULL),
        OSSL_PARAM_END,
    };
    return params;
}

const OSSL_PARAM *azkm_keygen_ec_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(GEN_PARAM_URI, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_VAULT, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_NAME, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_KEY_OPS, NULL, 0),
        OSSL_PARAM_int(GEN_PARAM_HSM, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

/* Ed25519 and Ed448: the curve is the algorithm's; only where the key goes and what it may do are settable. */
const OSSL_PARAM *azkm_keygen_ed_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(GEN_PARAM_URI, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_VAULT, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_NAME, NULL, 0),
        OSSL_PARAM_utf8_string(GEN_PARAM_KEY_OPS, NULL, 0),
        OSSL_PARAM_int(GEN_PARAM_HSM, NULL),
        OSSL_PARAM_END,
    };
    return params;
}

/* ---- generation ---------------------------------------------------------------------------------------- */

/* The new key's vault and name, from azkm-uri or from azkm-vault and azkm-name. */
static int target_of(GEN_CTX *g, azkm_uri *u)
{
    memset(u, 0, sizeof(*u));
    if (g->uri[0] != '\0') {
        if (azkm_uri_parse(g->uri, u) != AZKM_OK) {
            AZKM_RAISE(g->provctx, AZKM_R_INVALID_URI, "%s", azkm_last_error());
            return 0;
        }
        if (u->version[0] != '\0') {
            AZKM_RAISE(g->provctx, AZKM_R_INVALID_URI, "%s: a new key has no version yet", g->uri);
            return 0;
        }
        return 1;
    }
    if (g->vault[0] != '\0' && g->name[0] != '\0') {
        strcpy(u->vault, g->vault);
        strcpy(u->name, g->name);
        return 1;
    }
    AZKM_RAISE(g->provctx, AZKM_R_BAD_PARAMETER,
               "name the new key with -pkeyopt " GEN_PARAM_URI ":azkm://<vault>/keys/<name> (or " GEN_PARAM_VAULT
               " and " GEN_PARAM_NAME ")");
    return 0;
}

static void spec_of(const GEN_CTX *g, azkm_keyspec *spec)
{
    int ed = g->type == AZKM_TYPE_ED25519 || g->type == AZKM_TYPE_ED448;

    memset(spec, 0, sizeof(*spec));
    spec->kty = g->type == AZKM_TYPE_EC ? AZKM_KTY_EC : ed ? AZKM_KTY_OKP : AZKM_KTY_RSA;
    spec->protection = g->hsm ? AZKM_PROTECTION_HSM : AZKM_PROTECTION_SOFTWARE;
    spec->size = g->type == AZKM_TYPE_EC || ed ? 0 : g->bits;
    spec->curve = g->type == AZKM_TYPE_EC        ? g->curve
                  : g->type == AZKM_TYPE_ED25519 ? AZKM_CURVE_ED25519
                  : g->type == AZKM_TYPE_ED448   ? AZKM_CURVE_ED448
                                                 : AZKM_CURVE_NONE;
    if (g->key_ops != 0) {
        spec->fields |= AZKM_ATTR_KEY_OPS;
        spec->attrs.key_ops = g->key_ops;
    }
    if (g->type == AZKM_TYPE_RSA_PSS) {
        spec->pss = g->pss;
        spec->pss.enabled = 1;
    }
}

void *azkm_keygen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
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
    if (!target_of(g, &u) || (ks = azkm_prov_keystore(g->provctx)) == NULL)
        return NULL;
    spec_of(g, &spec);
    rc = azkm_vault_open(ks, u.vault, &v);
    if (rc == AZKM_OK)
        rc = azkm_key_create(v, u.name, &spec, &info);
    if (rc != AZKM_OK) {
        AZKM_RAISE_RC(g->provctx, rc);
        goto end;
    }
    /* The reference genpkey writes names the key, not this version, so it follows rotations. */
    if (azkm_uri_format(&u, uri, sizeof(uri)) != AZKM_OK)
        goto end;
    pk = azkm_pkey_load_uri(g->provctx, uri);
end:
    azkm_vault_close(v);
    return pk;
}

void azkm_keygen_cleanup(void *genctx)
{
    OPENSSL_free(genctx);
}
