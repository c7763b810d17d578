/* Key objects on a PKCS#11 token: generation (sensitive, non-extractable, private), adoption of an existing object
 * by RFC 7512 URI, destruction, the catalog's reference to them, and public keys read back as SubjectPublicKeyInfo.
 * Import of clear material is in p11_import.c. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <p11-kit/uri.h>

#include "tiers/pkcs11/p11_tier.h"

/* DER OIDs as CKA_EC_PARAMS */
static const unsigned char oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const unsigned char oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
/* RFC 8410 id-Ed25519 and id-Ed448, the form SoftHSM 2.6 takes; PKCS#11 3.0 also allows the curve's name as a
 * PrintableString, which other tokens may answer with. */
static const unsigned char oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const unsigned char oid_ed448[] = {0x06, 0x03, 0x2b, 0x65, 0x71};
static const unsigned char name_ed25519[] = "\x13\x0c"
                                            "edwards25519";
static const unsigned char name_ed448[] = "\x13\x0a"
                                          "edwards448";

static const struct {
    azkm_curve curve;
    const unsigned char *der;
    size_t len;
} curve_params[] = {
    {AZKM_CURVE_P256, oid_p256, sizeof(oid_p256)},
    {AZKM_CURVE_P384, oid_p384, sizeof(oid_p384)},
    {AZKM_CURVE_P521, oid_p521, sizeof(oid_p521)},
    {AZKM_CURVE_ED25519, oid_ed25519, sizeof(oid_ed25519)},
    {AZKM_CURVE_ED448, oid_ed448, sizeof(oid_ed448)},
    {AZKM_CURVE_ED25519, name_ed25519, sizeof(name_ed25519) - 1},
    {AZKM_CURVE_ED448, name_ed448, sizeof(name_ed448) - 1},
};

void p11_curve_oid(azkm_curve c, const unsigned char **oid, size_t *len)
{
    *oid = oid_p256;
    *len = sizeof(oid_p256);
    for (size_t i = 0; i < sizeof(curve_params) / sizeof(curve_params[0]); i++) {
        if (curve_params[i].curve == c) {
            *oid = curve_params[i].der;
            *len = curve_params[i].len;
            return;
        }
    }
}

static azkm_curve curve_of_oid(const unsigned char *oid, size_t len)
{
    for (size_t i = 0; i < sizeof(curve_params) / sizeof(curve_params[0]); i++)
        if (len == curve_params[i].len && memcmp(oid, curve_params[i].der, len) == 0)
            return curve_params[i].curve;
    return AZKM_CURVE_NONE;
}

/* Reads one attribute into a fresh buffer. */
static azkm_rc get_attr(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
                        unsigned char **val, size_t *len)
{
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    CK_ATTRIBUTE a = {type, NULL, 0};
    CK_RV rv = fn->C_GetAttributeValue(s, h, &a, 1);

    if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return azkm_p11_fail(pt->tok, rv == CKR_OK ? CKR_ATTRIBUTE_TYPE_INVALID : rv, "reading a key attribute");
    a.pValue = OPENSSL_malloc(a.ulValueLen + 1);
    if (a.pValue == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    rv = fn->C_GetAttributeValue(s, h, &a, 1);
    if (rv != CKR_OK) {
        OPENSSL_free(a.pValue);
        return azkm_p11_fail(pt->tok, rv, "reading a key attribute");
    }
    *val = a.pValue;
    *len = a.ulValueLen;
    return AZKM_OK;
}

/* The public parameters of an RSA key object: modulus and public exponent. */
static azkm_rc rsa_public_params(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, OSSL_PARAM **params)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    BIGNUM *n = NULL, *e = NULL;
    azkm_rc rc;

    if (bld == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    rc = get_attr(pt, s, h, CKA_MODULUS, &a, &alen);
    if (rc == AZKM_OK)
        rc = get_attr(pt, s, h, CKA_PUBLIC_EXPONENT, &b, &blen);
    if (rc == AZKM_OK) {
        n = BN_bin2bn(a, (int)alen, NULL);
        e = BN_bin2bn(b, (int)blen, NULL);
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
        *params = OSSL_PARAM_BLD_to_param(bld);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    OPENSSL_free(a);
    OPENSSL_free(b);
    return rc;
}

/* The curve (CKA_EC_PARAMS) and public point (CKA_EC_POINT) of an EC or EdDSA key object; *point is a pointer into
 * *buf, which the caller frees. CKA_EC_POINT is a DER OCTET STRING; some tokens give the raw point. */
static azkm_rc curve_point(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, azkm_kty kty, azkm_curve *curve,
                           unsigned char **buf, const unsigned char **point, size_t *plen)
{
    unsigned char *a = NULL;
    size_t alen = 0, blen = 0;
    azkm_rc rc = get_attr(pt, s, h, CKA_EC_PARAMS, &a, &alen);

    if (rc == AZKM_OK)
        rc = get_attr(pt, s, h, CKA_EC_POINT, buf, &blen);
    if (rc == AZKM_OK) {
        const unsigned char *p = *buf;
        ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)blen);
        int der = os != NULL && p == *buf + blen;

        *curve = curve_of_oid(a, alen);
        /* A raw EdDSA point has a known length, which tells it from a DER one whose first bytes look like a header
         */
        if ((*curve == AZKM_CURVE_ED25519 && blen == 32) || (*curve == AZKM_CURVE_ED448 && blen == 57))
            der = 0;
        *point = der ? *buf + (blen - (size_t)os->length) : *buf;
        *plen = der ? (size_t)os->length : blen;
        ASN1_OCTET_STRING_free(os);
        if (*curve == AZKM_CURVE_NONE || azkm_curve_kty(*curve) != kty)
            rc = azkm_fail(AZKM_E_UNSUPPORTED, "token %s: the key's curve is not %s", azkm_p11_token_label(pt->tok),
                           kty == AZKM_KTY_EC ? "P-256, P-384 or P-521" : "Ed25519 or Ed448");
    }
    OPENSSL_free(a);
    return rc;
}

/* The public parameters of an EC key object: its curve and point. */
static azkm_rc ec_public_params(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, OSSL_PARAM **params)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    unsigned char *b = NULL;
    const unsigned char *point = NULL;
    size_t plen = 0;
    azkm_curve c = AZKM_CURVE_NONE;
    azkm_rc rc;

    if (bld == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    rc = curve_point(pt, s, h, AZKM_KTY_EC, &c, &b, &point, &plen);
    if (rc == AZKM_OK) {
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, azkm_curve_name(c), 0);
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, plen);
        *params = OSSL_PARAM_BLD_to_param(bld);
    }
    OSSL_PARAM_BLD_free(bld);
    OPENSSL_free(b);
    return rc;
}

/* The public key of an EdDSA key object: the raw point (32 or 57 bytes) of its curve. */
static azkm_rc okp_public_key(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, EVP_PKEY **pkey)
{
    unsigned char *b = NULL;
    const unsigned char *point = NULL;
    size_t plen = 0;
    azkm_curve c = AZKM_CURVE_NONE;
    azkm_rc rc = curve_point(pt, s, h, AZKM_KTY_OKP, &c, &b, &point, &plen);

    if (rc == AZKM_OK &&
        (*pkey = EVP_PKEY_new_raw_public_key_ex(pt->libctx, c == AZKM_CURVE_ED25519 ? "ED25519" : "ED448",
                                                pt->propq, point, plen)) == NULL)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "token %s: the EdDSA public key read from the token is not valid",
                            azkm_p11_token_label(pt->tok));
    OPENSSL_free(b);
    return rc;
}

/* The public key of an RSA or EC key object, from its public parameters. */
static azkm_rc params_public_key(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, azkm_kty kty,
                                 EVP_PKEY **pkey)
{
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    azkm_rc rc = kty == AZKM_KTY_RSA ? rsa_public_params(pt, s, h, &params) : ec_public_params(pt, s, h, &params);

    *pkey = NULL;
    if (rc == AZKM_OK) {
        ctx = EVP_PKEY_CTX_new_from_name(pt->libctx, kty == AZKM_KTY_RSA ? "RSA" : "EC", pt->propq);
        if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
            EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
            rc = azkm_fail_ossl(AZKM_E_CRYPTO, "token %s: the public key read from the token is not valid",
                                azkm_p11_token_label(pt->tok));
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rc;
}

azkm_rc p11_public_pkey(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, azkm_kty kty, EVP_PKEY **out)
{
    *out = NULL;
    return kty == AZKM_KTY_OKP ? okp_public_key(pt, s, h, out) : params_public_key(pt, s, h, kty, out);
}

/* Builds the public key from the token's public attributes (of a public key object, or an RSA private key). */
azkm_rc p11_public_from_token(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, azkm_kty kty,
                              azkm_tier_output *out)
{
    EVP_PKEY *pkey = NULL;
    azkm_rc rc = p11_public_pkey(pt, s, h, kty, &pkey);

    if (rc == AZKM_OK)
        rc = azkm_pkey_public_der(pkey, &out->public_der, &out->public_der_len);
    if (rc == AZKM_OK) {
        azkm_kty k;

        rc = azkm_pkey_describe(pkey, &k, &out->size, &out->curve);
    }
    EVP_PKEY_free(pkey);
    return rc;
}

void p11_version_id(const char *version, unsigned char id[16])
{
    for (size_t i = 0; i < 16; i++) {
        unsigned v = 0;

        sscanf(version + 2 * i, "%2x", &v);
        id[i] = (unsigned char)v;
    }
}

azkm_rc p11_make_material(const unsigned char *id, size_t idlen, const char *label, int adopted,
                          azkm_tier_output *out)
{
    size_t llen = strlen(label);

    out->material_len = 4 + idlen + llen;
    out->material = OPENSSL_malloc(out->material_len);
    if (out->material == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    out->material[0] = P11_MATERIAL_VERSION;
    out->material[1] = (unsigned char)adopted;
    out->material[2] = (unsigned char)idlen;
    memcpy(out->material + 3, id, idlen);
    out->material[3 + idlen] = (unsigned char)llen;
    memcpy(out->material + 4 + idlen, label, llen);
    return AZKM_OK;
}

azkm_rc p11_parse_material(const unsigned char *m, size_t len, p11_ref *ref)
{
    size_t idlen, llen;

    memset(ref, 0, sizeof(*ref));
    if (len < 4 || m[0] != P11_MATERIAL_VERSION)
        return azkm_fail(AZKM_E_CORRUPT, "HSM key reference has an unknown format");
    idlen = m[2];
    if (idlen > sizeof(ref->id) || 4 + idlen > len)
        return azkm_fail(AZKM_E_CORRUPT, "HSM key reference is damaged");
    llen = m[3 + idlen];
    if (4 + idlen + llen != len || llen >= sizeof(ref->label))
        return azkm_fail(AZKM_E_CORRUPT, "HSM key reference is damaged");
    ref->adopted = m[1];
    ref->idlen = idlen;
    memcpy(ref->id, m + 3, idlen);
    memcpy(ref->label, m + 4 + idlen, llen);
    ref->label[llen] = '\0';
    return AZKM_OK;
}

void p11_object_label(const azkm_tier_ref *ref, char *buf, size_t len)
{
    snprintf(buf, len, "azkm:%s/%s/%s", ref->vault, ref->name, ref->version);
}

/* The template of a generated AES key. */
static azkm_rc aes_gen_template(p11_template *t, const azkm_keyspec *spec, unsigned key_ops,
                                const unsigned char id[16], const char *label)
{
    p11_tmpl_init(t);
    p11_tmpl_add_class(t, CKO_SECRET_KEY, CKK_AES);
    p11_tmpl_key_policy(t, P11_TOKEN_OBJECT, CKO_SECRET_KEY, key_ops);
    p11_tmpl_add_ulong(t, CKA_VALUE_LEN, spec->size / 8);
    p11_tmpl_add_ref(t, id, 16, label);
    return p11_tmpl_check(t);
}

/* The PKCS#11 key type of an azkm key pair type. */
static CK_KEY_TYPE pair_key_type(azkm_kty kty)
{
    return kty == AZKM_KTY_RSA ? CKK_RSA : kty == AZKM_KTY_OKP ? CKK_EC_EDWARDS : CKK_EC;
}

/* The templates of a generated RSA, EC or EdDSA key pair. Each half states all the usage flags a half of a pair
 * can have, true only where the key_ops need it. */
static azkm_rc pair_gen_templates(p11_template *pub, p11_template *priv, const azkm_keyspec *spec, unsigned key_ops,
                                  const unsigned char id[16], const char *label)
{
    static const CK_BYTE exponent[] = {1, 0, 1};
    CK_KEY_TYPE kt = pair_key_type(spec->kty);
    azkm_rc rc;

    p11_tmpl_init(pub);
    p11_tmpl_public_policy(pub, key_ops);
    p11_tmpl_add_ref(pub, id, 16, label);
    if (kt == CKK_RSA) {
        p11_tmpl_add_ulong(pub, CKA_MODULUS_BITS, spec->size);
        p11_tmpl_add_bytes(pub, CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent));
    } else {
        const unsigned char *oid;
        size_t oidlen;

        p11_curve_oid(spec->curve, &oid, &oidlen);
        p11_tmpl_add_bytes(pub, CKA_EC_PARAMS, oid, oidlen);
    }
    p11_tmpl_init(priv);
    p11_tmpl_key_policy(priv, P11_TOKEN_OBJECT, CKO_PRIVATE_KEY, key_ops);
    p11_tmpl_add_ref(priv, id, 16, label);
    if ((rc = p11_tmpl_check(pub)) != AZKM_OK)
        return rc;
    return p11_tmpl_check(priv);
}

CK_RV p11_destroy_by_ref(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, const unsigned char *id, size_t idlen,
                         const char *label)
{
    p11_template tmpl;
    CK_OBJECT_HANDLE found[8];
    CK_ULONG n = 0;
    CK_RV rv;

    p11_tmpl_init(&tmpl);
    p11_tmpl_add_ref(&tmpl, id, idlen, label);
    if (tmpl.overflow)
        return CKR_TEMPLATE_INCOMPLETE;
    rv = fn->C_FindObjectsInit(s, tmpl.attr, tmpl.n);
    if (rv == CKR_OK) {
        rv = fn->C_FindObjects(s, found, 8, &n);
        fn->C_FindObjectsFinal(s);
    }
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++)
        rv = fn->C_DestroyObject(s, found[i]);
    return rv;
}

/* A new key on the token, as one piece of work for azkm_p11_run. */
typedef struct {
    p11_tier *pt;
    const azkm_keyspec *spec;
    p11_template pub_tmpl, priv_tmpl;
    unsigned char id[16];
    char label[256];
    azkm_tier_output *out;
} generate_job;

static azkm_rc generate_op(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    generate_job *j = arg;
    CK_FUNCTION_LIST *fn = azkm_p11_functions(t);
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
    CK_RV rv;
    azkm_rc rc;

    /* The mechanism list is known once the token is initialised, here. */
    if (j->spec->kty == AZKM_KTY_OKP && !azkm_p11_has_mechanism(t, CKM_EC_EDWARDS_KEY_PAIR_GEN))
        return azkm_fail(AZKM_E_UNSUPPORTED, "token %s does not offer EdDSA keys (no %s)", azkm_p11_token_label(t),
                         "CKM_EC_EDWARDS_KEY_PAIR_GEN");
    /* A failed earlier try may have left objects of this version behind. */
    rv = p11_destroy_by_ref(fn, s, j->id, sizeof(j->id), j->label);
    if (rv == CKR_OK && j->spec->kty == AZKM_KTY_OCT) {
        CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};

        rv = fn->C_GenerateKey(s, &mech, j->priv_tmpl.attr, j->priv_tmpl.n, &priv);
        j->out->size = j->spec->size;
    } else if (rv == CKR_OK) {
        CK_MECHANISM mech = {j->spec->kty == AZKM_KTY_RSA   ? CKM_RSA_PKCS_KEY_PAIR_GEN
                             : j->spec->kty == AZKM_KTY_OKP ? CKM_EC_EDWARDS_KEY_PAIR_GEN
                                                            : CKM_EC_KEY_PAIR_GEN,
                             NULL, 0};

        rv = fn->C_GenerateKeyPair(s, &mech, j->pub_tmpl.attr, j->pub_tmpl.n, j->priv_tmpl.attr, j->priv_tmpl.n,
                                   &pub, &priv);
    }
    if (rv != CKR_OK) {
        res->rv = rv;
        return azkm_p11_fail(t, rv, j->spec->kty == AZKM_KTY_OCT ? "AES key generation" : "key pair generation");
    }
    if (j->spec->kty != AZKM_KTY_OCT &&
        (rc = p11_public_from_token(j->pt, s, pub, j->spec->kty, j->out)) != AZKM_OK) {
        fn->C_DestroyObject(s, pub);
        fn->C_DestroyObject(s, priv);
        azkm_tier_output_clear(j->out);
        return rc;
    }
    return AZKM_OK;
}

azkm_rc p11_generate(azkm_tier *t, const azkm_tier_ref *ref, const azkm_keyspec *spec, azkm_tier_output *out)
{
    generate_job j;
    azkm_rc rc;

    memset(out, 0, sizeof(*out));
    memset(&j, 0, sizeof(j));
    j.pt = t->impl;
    j.spec = spec;
    j.out = out;
    p11_version_id(ref->version, j.id);
    p11_object_label(ref, j.label, sizeof(j.label));
    rc = spec->kty == AZKM_KTY_OCT
             ? aes_gen_template(&j.priv_tmpl, spec, ref->key_ops, j.id, j.label)
             : pair_gen_templates(&j.pub_tmpl, &j.priv_tmpl, spec, ref->key_ops, j.id, j.label);
    if (rc == AZKM_OK)
        rc = azkm_p11_run(j.pt->tok, generate_op, &j);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "key %s/%s: %s", ref->vault, ref->name, azkm_last_error());
    rc = p11_make_material(j.id, sizeof(j.id), j.label, 0, out);
    if (rc != AZKM_OK)
        azkm_tier_output_clear(out);
    return rc;
}

/* The CKA_ID and CKA_LABEL an RFC 7512 object URI names. An id or label too long for azkm's reference is left
 * out; the id is required. */
static azkm_rc parse_object_uri(const char *uri_text, unsigned char id[64], size_t *idlen, char label[128])
{
    P11KitUri *uri = p11_kit_uri_new();
    CK_ATTRIBUTE *id_attr, *label_attr;

    *idlen = 0;
    label[0] = '\0';
    if (p11_kit_uri_parse(uri_text, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, uri) != P11_KIT_URI_OK) {
        p11_kit_uri_free(uri);
        return azkm_fail(AZKM_E_INVALID, "'%s' is not a valid RFC 7512 pkcs11: object URI", uri_text);
    }
    id_attr = p11_kit_uri_get_attribute(uri, CKA_ID);
    label_attr = p11_kit_uri_get_attribute(uri, CKA_LABEL);
    if (id_attr != NULL && id_attr->ulValueLen <= 64) {
        memcpy(id, id_attr->pValue, id_attr->ulValueLen);
        *idlen = id_attr->ulValueLen;
    }
    if (label_attr != NULL && label_attr->ulValueLen < 128) {
        memcpy(label, label_attr->pValue, label_attr->ulValueLen);
        label[label_attr->ulValueLen] = '\0';
    }
    p11_kit_uri_free(uri);
    if (*idlen == 0)
        return azkm_fail(AZKM_E_INVALID,
                         "pkcs11 URI '%s' must name the object's id (id=%%..), which azkm keeps to "
                         "find it again",
                         uri_text);
    return AZKM_OK;
}

/* The type of an adopted key object, as azkm names it. */
static azkm_rc adopted_kty(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const char *uri_text,
                           azkm_kty *kty)
{
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    CK_KEY_TYPE kt = 0;
    CK_ATTRIBUTE kt_attr = {CKA_KEY_TYPE, &kt, sizeof(kt)};

    if (fn->C_GetAttributeValue(s, h, &kt_attr, 1) != CKR_OK)
        return azkm_fail(AZKM_E_INVALID, "token %s: cannot read the key type of '%s'",
                         azkm_p11_token_label(pt->tok), uri_text);
    *kty = kt == CKK_RSA          ? AZKM_KTY_RSA
           : kt == CKK_EC         ? AZKM_KTY_EC
           : kt == CKK_EC_EDWARDS ? AZKM_KTY_OKP
           : kt == CKK_AES        ? AZKM_KTY_OCT
                                  : 0;
    if (*kty == 0)
        return azkm_fail(AZKM_E_UNSUPPORTED, "token %s: '%s' is not an RSA, EC, EdDSA or AES key",
                         azkm_p11_token_label(pt->tok), uri_text);
    return AZKM_OK;
}

/* What the catalog keeps of an adopted key besides its reference: an AES key's size, or the public key (from the
 * public key object with the same id, or for RSA from the private key's public parts). */
static azkm_rc adopted_public(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, azkm_kty kty,
                              const unsigned char *id, size_t idlen, const char *uri_text, azkm_tier_output *out)
{
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;

    if (kty == AZKM_KTY_OCT) {
        unsigned char *len = NULL;
        size_t n = 0;
        azkm_rc rc = get_attr(pt, s, priv, CKA_VALUE_LEN, &len, &n);

        if (rc == AZKM_OK && n == sizeof(CK_ULONG))
            out->size = (unsigned)(*(CK_ULONG *)len * 8);
        OPENSSL_free(len);
        return rc;
    }
    if (azkm_p11_find(pt->tok, s, CKO_PUBLIC_KEY, id, idlen, NULL, &pub, NULL) != AZKM_OK) {
        azkm_clear_error();
        pub = kty == AZKM_KTY_RSA ? priv : CK_INVALID_HANDLE;
    }
    if (pub == CK_INVALID_HANDLE)
        return azkm_fail(AZKM_E_NOT_FOUND, "token %s: the %s key '%s' has no public key object with its id",
                         azkm_p11_token_label(pt->tok), kty == AZKM_KTY_OKP ? "EdDSA" : "EC", uri_text);
    return p11_public_from_token(pt, s, pub, kty, out);
}

/* Adopting a key object, as one piece of work for azkm_p11_run (it only reads). */
typedef struct {
    p11_tier *pt;
    const char *uri_text;
    unsigned char id[64];
    size_t idlen;
    char label[128];
    azkm_kty *kty;
    azkm_tier_output *out;
} adopt_job;

static azkm_rc adopt_op(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    adopt_job *j = arg;
    const char *want_label = j->label[0] ? j->label : NULL;
    CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
    azkm_rc rc = azkm_p11_find(t, s, CKO_PRIVATE_KEY, j->id, j->idlen, want_label, &priv, res);

    if (rc == AZKM_E_NOT_FOUND)
        rc = azkm_p11_find(t, s, CKO_SECRET_KEY, j->id, j->idlen, want_label, &priv, res);
    if (rc == AZKM_OK)
        rc = adopted_kty(j->pt, s, priv, j->uri_text, j->kty);
    if (rc == AZKM_OK)
        rc = adopted_public(j->pt, s, priv, *j->kty, j->id, j->idlen, j->uri_text, j->out);
    if (rc != AZKM_OK)
        azkm_tier_output_clear(j->out);
    return rc;
}

azkm_rc azkm_tier_pkcs11_adopt(azkm_tier *t, const azkm_tier_ref *ref, const char *uri_text, azkm_kty *kty,
                               azkm_tier_output *out)
{
    adopt_job j;
    azkm_rc rc;

    memset(out, 0, sizeof(*out));
    memset(&j, 0, sizeof(j));
    j.pt = t->impl;
    j.uri_text = uri_text;
    j.kty = kty;
    j.out = out;
    if ((rc = parse_object_uri(uri_text, j.id, &j.idlen, j.label)) != AZKM_OK)
        return rc;
    rc = azkm_p11_run(j.pt->tok, adopt_op, &j);
    if (rc == AZKM_OK)
        rc = p11_make_material(j.id, j.idlen, j.label, 1, out);
    if (rc != AZKM_OK)
        azkm_tier_output_clear(out);
    (void)ref;
    return rc;
}

typedef struct {
    const p11_ref *r;
} destroy_job;

static azkm_rc destroy_op(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    destroy_job *j = arg;
    CK_RV rv = p11_destroy_by_ref(azkm_p11_functions(t), s, j->r->id, j->r->idlen, j->r->label);

    if (rv == CKR_OK)
        return AZKM_OK;
    res->rv = rv;
    return azkm_p11_fail(t, rv, "destroying the key objects");
}

azkm_rc p11_destroy(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len)
{
    p11_tier *pt = t->impl;
    p11_ref r;
    destroy_job j = {&r};
    azkm_rc rc = p11_parse_material(material, len, &r);

    if (rc != AZKM_OK)
        return rc;
    if (r.adopted)
        return AZKM_OK; /* adopted objects belong to whoever created them */
    (void)ref;
    return azkm_p11_run(pt->tok, destroy_op, &j);
}
