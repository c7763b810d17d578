/* Import of clear key material into a PKCS#11 token: an AES key, or an RSA, EC or EdDSA key pair, becomes token
 * objects with azkm's key policy (private, sensitive, not extractable); the buffers that held its secret parts are
 * cleared. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tiers/pkcs11/p11_tier.h"

/* One import under way: the objects made so far, destroyed by p11_import if a later step fails. */
typedef struct {
    CK_FUNCTION_LIST *fn;
    CK_SESSION_HANDLE s;
    const azkm_tier_ref *ref;
    unsigned char id[16];
    char label[256];
    CK_OBJECT_HANDLE priv, pub;
    CK_RV rv; /* the token's answer to the last C_CreateObject */
} import_job;

/* Copies a BIGNUM key parameter into a fresh buffer for a template. */
static unsigned char *bn_param(const EVP_PKEY *pkey, const char *name, CK_ULONG *len)
{
    BIGNUM *bn = NULL;
    unsigned char *buf = NULL;

    if (EVP_PKEY_get_bn_param(pkey, name, &bn) && bn != NULL) {
        *len = (CK_ULONG)BN_num_bytes(bn);
        buf = OPENSSL_malloc(*len ? *len : 1);
        if (buf != NULL)
            BN_bn2bin(bn, buf);
    }
    BN_clear_free(bn);
    return buf;
}

/* What every imported object's template starts with: class and key type, azkm's policy for its class, id and
 * label. The key's own attributes follow. */
static void start_template(p11_template *t, const import_job *j, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
    p11_tmpl_init(t);
    p11_tmpl_add_class(t, cls, kt);
    if (cls == CKO_PUBLIC_KEY)
        p11_tmpl_public_policy(t, j->ref->key_ops);
    else
        p11_tmpl_key_policy(t, P11_TOKEN_OBJECT, cls, j->ref->key_ops);
    p11_tmpl_add_ref(t, j->id, sizeof(j->id), j->label);
}

/* Makes the private or secret key object, then the public key object when there is one. A refusal by the token is
 * left in j->rv for p11_import to report. */
static azkm_rc create_objects(import_job *j, p11_template *priv, p11_template *pub)
{
    azkm_rc rc = p11_tmpl_check(priv);

    if (rc == AZKM_OK && pub != NULL)
        rc = p11_tmpl_check(pub);
    if (rc != AZKM_OK)
        return rc;
    j->rv = j->fn->C_CreateObject(j->s, priv->attr, priv->n, &j->priv);
    if (j->rv == CKR_OK && pub != NULL)
        j->rv = j->fn->C_CreateObject(j->s, pub->attr, pub->n, &j->pub);
    return AZKM_OK;
}

static azkm_rc import_aes(import_job *j, const azkm_material *m)
{
    p11_template t;

    start_template(&t, j, CKO_SECRET_KEY, CKK_AES);
    p11_tmpl_add_bytes(&t, CKA_VALUE, m->der, m->der_len);
    return create_objects(j, &t, NULL);
}

static azkm_rc import_rsa(import_job *j, const EVP_PKEY *pkey)
{
    /* the public key object gets the first two: modulus and public exponent */
    static const struct {
        const char *param;
        CK_ATTRIBUTE_TYPE type;
    } parts[8] = {
        {OSSL_PKEY_PARAM_RSA_N, CKA_MODULUS},
        {OSSL_PKEY_PARAM_RSA_E, CKA_PUBLIC_EXPONENT},
        {OSSL_PKEY_PARAM_RSA_D, CKA_PRIVATE_EXPONENT},
        {OSSL_PKEY_PARAM_RSA_FACTOR1, CKA_PRIME_1},
        {OSSL_PKEY_PARAM_RSA_FACTOR2, CKA_PRIME_2},
        {OSSL_PKEY_PARAM_RSA_EXPONENT1, CKA_EXPONENT_1},
        {OSSL_PKEY_PARAM_RSA_EXPONENT2, CKA_EXPONENT_2},
        {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, CKA_COEFFICIENT},
    };
    unsigned char *vals[8] = {0};
    CK_ULONG lens[8] = {0};
    p11_template priv, pub;
    azkm_rc rc = AZKM_OK;

    for (int i = 0; i < 8; i++)
        if ((vals[i] = bn_param(pkey, parts[i].param, &lens[i])) == NULL)
            rc = azkm_fail(AZKM_E_INVALID, "key %s/%s: the RSA key lacks CRT parameters", j->ref->vault,
                           j->ref->name);
    if (rc == AZKM_OK) {
        start_template(&priv, j, CKO_PRIVATE_KEY, CKK_RSA);
        start_template(&pub, j, CKO_PUBLIC_KEY, CKK_RSA);
        for (int i = 0; i < 8; i++)
            p11_tmpl_add_bytes(&priv, parts[i].type, vals[i], lens[i]);
        for (int i = 0; i < 2; i++)
            p11_tmpl_add_bytes(&pub, parts[i].type, vals[i], lens[i]);
        rc = create_objects(j, &priv, &pub);
    }
    for (int i = 0; i < 8; i++)
        if (vals[i] != NULL)
            OPENSSL_clear_free(vals[i], lens[i]);
    return rc;
}

/* The public point as CKA_EC_POINT wants it: a DER OCTET STRING. Returns its length, 0 on failure. */
static int der_point(const unsigned char *point, size_t plen, unsigned char **der)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    int dlen = 0;

    if (os != NULL && ASN1_OCTET_STRING_set(os, point, (int)plen))
        dlen = i2d_ASN1_OCTET_STRING(os, der);
    ASN1_OCTET_STRING_free(os);
    return dlen > 0 ? dlen : 0;
}

static azkm_rc import_ec(import_job *j, const EVP_PKEY *pkey)
{
    azkm_kty k;
    unsigned size;
    azkm_curve curve;
    const unsigned char *oid = NULL;
    size_t oidlen = 0, plen = 0;
    unsigned char point[160], *der = NULL, *value = NULL;
    CK_ULONG value_len = 0;
    int dlen = 0;
    p11_template priv, pub;
    azkm_rc rc = azkm_pkey_describe(pkey, &k, &size, &curve);

    if (rc == AZKM_OK) {
        p11_curve_oid(curve, &oid, &oidlen);
        value = bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &value_len);
        if (value == NULL ||
            !EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &plen))
            rc = azkm_fail(AZKM_E_INVALID, "key %s/%s: the EC key is incomplete", j->ref->vault, j->ref->name);
    }
    if (rc == AZKM_OK && (dlen = der_point(point, plen, &der)) == 0)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (rc == AZKM_OK) {
        start_template(&priv, j, CKO_PRIVATE_KEY, CKK_EC);
        p11_tmpl_add_bytes(&priv, CKA_EC_PARAMS, oid, oidlen);
        p11_tmpl_add_bytes(&priv, CKA_VALUE, value, value_len);
        start_template(&pub, j, CKO_PUBLIC_KEY, CKK_EC);
        p11_tmpl_add_bytes(&pub, CKA_EC_PARAMS, oid, oidlen);
        p11_tmpl_add_bytes(&pub, CKA_EC_POINT, der, (size_t)dlen);
        rc = create_objects(j, &priv, &pub);
    }
    OPENSSL_free(der);
    if (value != NULL)
        OPENSSL_clear_free(value, value_len);
    return rc;
}

/* An Ed25519 or Ed448 key: CKK_EC_EDWARDS objects with the curve's CKA_EC_PARAMS, the raw private key as
 * CKA_VALUE and the raw point, DER-wrapped, as CKA_EC_POINT (PKCS#11 3.0). */
static azkm_rc import_okp(import_job *j, const EVP_PKEY *pkey)
{
    azkm_kty k;
    unsigned size;
    azkm_curve curve;
    const unsigned char *oid = NULL;
    unsigned char value[57], point[57], *der = NULL;
    size_t oidlen = 0, vlen = sizeof(value), plen = sizeof(point);
    int dlen = 0;
    p11_template priv, pub;
    azkm_rc rc = azkm_pkey_describe(pkey, &k, &size, &curve);

    if (rc == AZKM_OK) {
        p11_curve_oid(curve, &oid, &oidlen);
        if (!EVP_PKEY_get_raw_private_key(pkey, value, &vlen) || !EVP_PKEY_get_raw_public_key(pkey, point, &plen))
            rc = azkm_fail(AZKM_E_INVALID, "key %s/%s: the EdDSA key is incomplete", j->ref->vault, j->ref->name);
    }
    if (rc == AZKM_OK && (dlen = der_point(point, plen, &der)) == 0)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (rc == AZKM_OK) {
        start_template(&priv, j, CKO_PRIVATE_KEY, CKK_EC_EDWARDS);
        p11_tmpl_add_bytes(&priv, CKA_EC_PARAMS, oid, oidlen);
        p11_tmpl_add_bytes(&priv, CKA_VALUE, value, vlen);
        start_template(&pub, j, CKO_PUBLIC_KEY, CKK_EC_EDWARDS);
        p11_tmpl_add_bytes(&pub, CKA_EC_PARAMS, oid, oidlen);
        p11_tmpl_add_bytes(&pub, CKA_EC_POINT, der, (size_t)dlen);
        rc = create_objects(j, &priv, &pub);
    }
    OPENSSL_free(der);
    OPENSSL_cleanse(value, sizeof(value));
    return rc;
}

/* The import as one piece of work for azkm_p11_run. */
typedef struct {
    import_job j;
    p11_tier *pt;
    const azkm_material *m;
    const EVP_PKEY *pkey;
    azkm_tier_output *out;
} import_run;

static azkm_rc import_op(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    import_run *ir = arg;
    import_job *j = &ir->j;
    azkm_rc rc;

    j->s = s;
    j->priv = j->pub = CK_INVALID_HANDLE;
    /* A failed earlier try may have left objects of this version behind. */
    j->rv = p11_destroy_by_ref(j->fn, s, j->id, sizeof(j->id), j->label);
    if (j->rv == CKR_OK)
        rc = ir->m->kty == AZKM_KTY_OCT   ? import_aes(j, ir->m)
             : ir->m->kty == AZKM_KTY_RSA ? import_rsa(j, ir->pkey)
             : ir->m->kty == AZKM_KTY_OKP ? import_okp(j, ir->pkey)
                                          : import_ec(j, ir->pkey);
    else
        rc = AZKM_OK;
    if (rc == AZKM_OK && j->rv != CKR_OK) {
        res->rv = j->rv;
        rc = azkm_p11_fail(t, j->rv, "importing the key (C_CreateObject)");
    }
    if (rc == AZKM_OK && ir->m->kty != AZKM_KTY_OCT)
        rc = p11_public_from_token(ir->pt, s, j->pub, ir->m->kty, ir->out);
    if (rc != AZKM_OK && j->priv != CK_INVALID_HANDLE)
        j->fn->C_DestroyObject(s, j->priv);
    if (rc != AZKM_OK && j->pub != CK_INVALID_HANDLE)
        j->fn->C_DestroyObject(s, j->pub);
    if (rc != AZKM_OK)
        azkm_tier_output_clear(ir->out);
    return rc;
}

azkm_rc p11_import(azkm_tier *t, const azkm_tier_ref *ref, const azkm_material *m, azkm_tier_output *out)
{
    p11_tier *pt = t->impl;
    import_run ir = {{azkm_p11_functions(pt->tok), 0, ref, {0}, "", CK_INVALID_HANDLE, CK_INVALID_HANDLE, CKR_OK},
                     pt,
                     m,
                     NULL,
                     out};
    EVP_PKEY *pkey = NULL;
    azkm_rc rc;

    memset(out, 0, sizeof(*out));
    p11_version_id(ref->version, ir.j.id);
    p11_object_label(ref, ir.j.label, sizeof(ir.j.label));
    if (m->kty != AZKM_KTY_OCT) {
        rc = azkm_pkey_from_material(t->libctx, t->propq, m->kty, m->der, m->der_len, &pkey);
        if (rc != AZKM_OK)
            return rc;
    } else if (m->der_len != 16 && m->der_len != 24 && m->der_len != 32) {
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: an oct key is 16, 24 or 32 bytes", ref->vault, ref->name);
    }
    ir.pkey = pkey;
    rc = azkm_p11_run(pt->tok, import_op, &ir);
    EVP_PKEY_free(pkey);
    if (rc == AZKM_OK && m->kty == AZKM_KTY_OCT)
        out->size = (unsigned)m->der_len * 8;
    if (rc == AZKM_OK)
        rc = p11_make_material(ir.j.id, sizeof(ir.j.id), ir.j.label, 0, out);
    if (rc != AZKM_OK)
        azkm_tier_output_clear(out);
    return rc;
}
