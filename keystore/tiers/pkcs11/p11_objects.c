/* Key objects on a PKCS#11 token: generation (sensitive, non-extractable, private), import of clear material,
 * adoption of an existing object by RFC 7512 URI, public keys read back as SubjectPublicKeyInfo. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <p11-kit/uri.h>

#include "tiers/pkcs11/p11_tier.h"

static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* DER OIDs as CKA_EC_PARAMS */
static const unsigned char oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const unsigned char oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};

static void curve_oid(azkm_curve c, const unsigned char **oid, size_t *len)
{
    switch (c) {
    case AZKM_CURVE_P384:
        *oid = oid_p384;
        *len = sizeof(oid_p384);
        break;
    case AZKM_CURVE_P521:
        *oid = oid_p521;
        *len = sizeof(oid_p521);
        break;
    default:
        *oid = oid_p256;
        *len = sizeof(oid_p256);
    }
}

static azkm_curve curve_of_oid(const unsigned char *oid, size_t len)
{
    if (len == sizeof(oid_p256) && memcmp(oid, oid_p256, len) == 0)
        return AZKM_CURVE_P256;
    if (len == sizeof(oid_p384) && memcmp(oid, oid_p384, len) == 0)
        return AZKM_CURVE_P384;
    if (len == sizeof(oid_p521) && memcmp(oid, oid_p521, len) == 0)
        return AZKM_CURVE_P521;
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

/* Builds the public key from the token's public attributes (of a public key object, or an RSA private key). */
azkm_rc p11_public_from_token(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, azkm_kty kty,
                              azkm_tier_output *out)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    BIGNUM *n = NULL, *e = NULL;
    azkm_rc rc;

    if (kty == AZKM_KTY_RSA) {
        rc = get_attr(pt, s, h, CKA_MODULUS, &a, &alen);
        if (rc == AZKM_OK)
            rc = get_attr(pt, s, h, CKA_PUBLIC_EXPONENT, &b, &blen);
        if (rc == AZKM_OK) {
            n = BN_bin2bn(a, (int)alen, NULL);
            e = BN_bin2bn(b, (int)blen, NULL);
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
        }
    } else {
        rc = get_attr(pt, s, h, CKA_EC_PARAMS, &a, &alen);
        if (rc == AZKM_OK)
            rc = get_attr(pt, s, h, CKA_EC_POINT, &b, &blen);
        if (rc == AZKM_OK) {
            azkm_curve c = curve_of_oid(a, alen);
            const unsigned char *p = b;
            ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)blen);

            if (c == AZKM_CURVE_NONE)
                rc = azkm_fail(AZKM_E_UNSUPPORTED, "token %s: the key's curve is not P-256, P-384 or P-521",
                               azkm_p11_token_label(pt->tok));
            else {
                OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, azkm_curve_name(c), 0);
                /* CKA_EC_POINT is a DER OCTET STRING; some tokens give the raw point */
                if (os != NULL && p == b + blen)
                    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, os->data, (size_t)os->length);
                else
                    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, b, blen);
                params = OSSL_PARAM_BLD_to_param(bld);
            }
            ASN1_OCTET_STRING_free(os);
        }
    }
    if (rc == AZKM_OK && params == NULL)
        params = OSSL_PARAM_BLD_to_param(bld);
    if (rc == AZKM_OK) {
        ctx = EVP_PKEY_CTX_new_from_name(pt->libctx, kty == AZKM_KTY_RSA ? "RSA" : "EC", pt->propq);
        if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
            rc = azkm_fail_ossl(AZKM_E_CRYPTO, "token %s: the public key read from the token is not valid",
                                azkm_p11_token_label(pt->tok));
    }
    if (rc == AZKM_OK)
        rc = azkm_pkey_public_der(pkey, &out->public_der, &out->public_der_len);
    if (rc == AZKM_OK) {
        azkm_kty k;

        rc = azkm_pkey_describe(pkey, &k, &out->size, &out->curve);
    }
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    OPENSSL_free(a);
    OPENSSL_free(b);
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

azkm_rc p11_generate(azkm_tier *t, const azkm_tier_ref *ref, const azkm_keyspec *spec, azkm_tier_output *out)
{
    p11_tier *pt = t->impl;
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
    unsigned char id[16];
    char label[256];
    CK_ULONG bits = spec->size, bytes = spec->size / 8;
    CK_BYTE exponent[] = {1, 0, 1};
    const unsigned char *oid;
    size_t oidlen;
    CK_RV rv;
    azkm_rc rc;

    memset(out, 0, sizeof(*out));
    p11_version_id(ref->version, id);
    p11_object_label(ref, label, sizeof(label));
    curve_oid(spec->curve, &oid, &oidlen);
    if ((rc = azkm_p11_session_get(pt->tok, &s)) != AZKM_OK)
        return rc;
    if (spec->kty == AZKM_KTY_OCT) {
        CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
        CK_KEY_TYPE kt = CKK_AES;
        CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
        CK_ATTRIBUTE tmpl[] = {
            {CKA_CLASS, &cls, sizeof(cls)},
            {CKA_KEY_TYPE, &kt, sizeof(kt)},
            {CKA_TOKEN, (void *)&yes, 1},
            {CKA_PRIVATE, (void *)&yes, 1},
            {CKA_SENSITIVE, (void *)&yes, 1},
            {CKA_EXTRACTABLE, (void *)&no, 1},
            {CKA_ENCRYPT, (void *)&yes, 1},
            {CKA_DECRYPT, (void *)&yes, 1},
            {CKA_WRAP, (void *)&yes, 1},
            {CKA_UNWRAP, (void *)&yes, 1},
            {CKA_VALUE_LEN, &bytes, sizeof(bytes)},
            {CKA_ID, id, sizeof(id)},
            {CKA_LABEL, label, strlen(label)},
        };

        rv = fn->C_GenerateKey(s, &mech, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &priv);
        out->size = spec->size;
    } else {
        CK_MECHANISM mech = {spec->kty == AZKM_KTY_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
        CK_BBOOL is_rsa = spec->kty == AZKM_KTY_RSA ? CK_TRUE : CK_FALSE;
        CK_ATTRIBUTE pub_tmpl[] = {
            {CKA_TOKEN, (void *)&yes, 1},
            {CKA_PRIVATE, (void *)&no, 1},
            {CKA_VERIFY, (void *)&yes, 1},
            {CKA_ID, id, sizeof(id)},
            {CKA_LABEL, label, strlen(label)},
            {CKA_ENCRYPT, &is_rsa, 1},
            {CKA_WRAP, &is_rsa, 1},
            /* the last two differ by type */
            {is_rsa ? CKA_MODULUS_BITS : CKA_EC_PARAMS, is_rsa ? (void *)&bits : (void *)oid,
             is_rsa ? sizeof(bits) : oidlen},
            {CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent)},
        };
        CK_ATTRIBUTE priv_tmpl[] = {
            {CKA_TOKEN, (void *)&yes, 1},      {CKA_PRIVATE, (void *)&yes, 1}, {CKA_SENSITIVE, (void *)&yes, 1},
            {CKA_EXTRACTABLE, (void *)&no, 1}, {CKA_SIGN, (void *)&yes, 1},    {CKA_ID, id, sizeof(id)},
            {CKA_LABEL, label, strlen(label)}, {CKA_DECRYPT, &is_rsa, 1},      {CKA_UNWRAP, &is_rsa, 1},
        };

        rv = fn->C_GenerateKeyPair(s, &mech, pub_tmpl, is_rsa ? 9 : 8, priv_tmpl, 9, &pub, &priv);
        if (rv == CKR_OK) {
            rc = p11_public_from_token(pt, s, pub, spec->kty, out);
            if (rc != AZKM_OK) {
                fn->C_DestroyObject(s, pub);
                fn->C_DestroyObject(s, priv);
                azkm_p11_session_put(pt->tok, s, 0);
                return rc;
            }
        }
    }
    if (rv != CKR_OK) {
        rc = azkm_p11_fail(pt->tok, rv, spec->kty == AZKM_KTY_OCT ? "AES key generation" : "key pair generation");
        azkm_p11_session_put(pt->tok, s, azkm_p11_session_broken(rv));
        return azkm_fail(rc, "key %s/%s: %s", ref->vault, ref->name, azkm_last_error());
    }
    azkm_p11_session_put(pt->tok, s, 0);
    rc = p11_make_material(id, sizeof(id), label, 0, out);
    if (rc != AZKM_OK)
        azkm_tier_output_clear(out);
    return rc;
}

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

azkm_rc p11_import(azkm_tier *t, const azkm_tier_ref *ref, const azkm_material *m, azkm_tier_output *out)
{
    p11_tier *pt = t->impl;
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    EVP_PKEY *pkey = NULL;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE;
    unsigned char id[16], *vals[8] = {0};
    CK_ULONG lens[8] = {0};
    char label[256];
    CK_OBJECT_CLASS priv_cls = CKO_PRIVATE_KEY, pub_cls = CKO_PUBLIC_KEY, sec_cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt;
    CK_RV rv = CKR_OK;
    azkm_rc rc = AZKM_OK;

    memset(out, 0, sizeof(*out));
    p11_version_id(ref->version, id);
    p11_object_label(ref, label, sizeof(label));
    if (m->kty != AZKM_KTY_OCT) {
        rc = azkm_pkey_from_material(t->libctx, t->propq, m->kty, m->der, m->der_len, &pkey);
        if (rc != AZKM_OK)
            return rc;
    } else if (m->der_len != 16 && m->der_len != 24 && m->der_len != 32) {
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: an oct key is 16, 24 or 32 bytes", ref->vault, ref->name);
    }
    if ((rc = azkm_p11_session_get(pt->tok, &s)) != AZKM_OK) {
        EVP_PKEY_free(pkey);
        return rc;
    }
    if (m->kty == AZKM_KTY_OCT) {
        CK_ATTRIBUTE tmpl[] = {
            {CKA_CLASS, &sec_cls, sizeof(sec_cls)},
            {CKA_KEY_TYPE, &kt, sizeof(kt)},
            {CKA_TOKEN, (void *)&yes, 1},
            {CKA_PRIVATE, (void *)&yes, 1},
            {CKA_SENSITIVE, (void *)&yes, 1},
            {CKA_EXTRACTABLE, (void *)&no, 1},
            {CKA_ENCRYPT, (void *)&yes, 1},
            {CKA_DECRYPT, (void *)&yes, 1},
            {CKA_WRAP, (void *)&yes, 1},
            {CKA_UNWRAP, (void *)&yes, 1},
            {CKA_ID, id, sizeof(id)},
            {CKA_LABEL, label, strlen(label)},
            {CKA_VALUE, (void *)m->der, m->der_len},
        };

        kt = CKK_AES;
        rv = fn->C_CreateObject(s, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &priv);
        out->size = (unsigned)m->der_len * 8;
    } else if (m->kty == AZKM_KTY_RSA) {
        static const char *const names[8] = {OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
                                             OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                                             OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                                             OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};

        kt = CKK_RSA;
        for (int i = 0; i < 8; i++)
            if ((vals[i] = bn_param(pkey, names[i], &lens[i])) == NULL)
                rc =
                    azkm_fail(AZKM_E_INVALID, "key %s/%s: the RSA key lacks CRT parameters", ref->vault, ref->name);
        if (rc == AZKM_OK) {
            CK_ATTRIBUTE priv_tmpl[] = {
                {CKA_CLASS, &priv_cls, sizeof(priv_cls)},
                {CKA_KEY_TYPE, &kt, sizeof(kt)},
                {CKA_TOKEN, (void *)&yes, 1},
                {CKA_PRIVATE, (void *)&yes, 1},
                {CKA_SENSITIVE, (void *)&yes, 1},
                {CKA_EXTRACTABLE, (void *)&no, 1},
                {CKA_SIGN, (void *)&yes, 1},
                {CKA_DECRYPT, (void *)&yes, 1},
                {CKA_UNWRAP, (void *)&yes, 1},
                {CKA_ID, id, sizeof(id)},
                {CKA_LABEL, label, strlen(label)},
                {CKA_MODULUS, vals[0], lens[0]},
                {CKA_PUBLIC_EXPONENT, vals[1], lens[1]},
                {CKA_PRIVATE_EXPONENT, vals[2], lens[2]},
                {CKA_PRIME_1, vals[3], lens[3]},
                {CKA_PRIME_2, vals[4], lens[4]},
                {CKA_EXPONENT_1, vals[5], lens[5]},
                {CKA_EXPONENT_2, vals[6], lens[6]},
                {CKA_COEFFICIENT, vals[7], lens[7]},
            };
            CK_ATTRIBUTE pub_tmpl[] = {
                {CKA_CLASS, &pub_cls, sizeof(pub_cls)},
                {CKA_KEY_TYPE, &kt, sizeof(kt)},
                {CKA_TOKEN, (void *)&yes, 1},
                {CKA_PRIVATE, (void *)&no, 1},
                {CKA_VERIFY, (void *)&yes, 1},
                {CKA_ENCRYPT, (void *)&yes, 1},
                {CKA_WRAP, (void *)&yes, 1},
                {CKA_ID, id, sizeof(id)},
                {CKA_LABEL, label, strlen(label)},
                {CKA_MODULUS, vals[0], lens[0]},
                {CKA_PUBLIC_EXPONENT, vals[1], lens[1]},
            };

            rv = fn->C_CreateObject(s, priv_tmpl, sizeof(priv_tmpl) / sizeof(priv_tmpl[0]), &priv);
            if (rv == CKR_OK)
                rv = fn->C_CreateObject(s, pub_tmpl, sizeof(pub_tmpl) / sizeof(pub_tmpl[0]), &pub);
        }
    } else {
        azkm_kty k;
        unsigned size;
        azkm_curve curve;
        const unsigned char *oid;
        size_t oidlen;
        unsigned char point[160], *der_point = NULL;
        size_t plen = 0;
        int dlen = 0;

        kt = CKK_EC;
        rc = azkm_pkey_describe(pkey, &k, &size, &curve);
        if (rc == AZKM_OK) {
            curve_oid(curve, &oid, &oidlen);
            vals[0] = bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &lens[0]);
            if (vals[0] == NULL ||
                !EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &plen))
                rc = azkm_fail(AZKM_E_INVALID, "key %s/%s: the EC key is incomplete", ref->vault, ref->name);
        }
        if (rc == AZKM_OK) {
            ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();

            ASN1_OCTET_STRING_set(os, point, (int)plen);
            dlen = i2d_ASN1_OCTET_STRING(os, &der_point);
            ASN1_OCTET_STRING_free(os);
        }
        if (rc == AZKM_OK && dlen > 0) {
            CK_ATTRIBUTE priv_tmpl[] = {
                {CKA_CLASS, &priv_cls, sizeof(priv_cls)},
                {CKA_KEY_TYPE, &kt, sizeof(kt)},
                {CKA_TOKEN, (void *)&yes, 1},
                {CKA_PRIVATE, (void *)&yes, 1},
                {CKA_SENSITIVE, (void *)&yes, 1},
                {CKA_EXTRACTABLE, (void *)&no, 1},
                {CKA_SIGN, (void *)&yes, 1},
                {CKA_ID, id, sizeof(id)},
                {CKA_LABEL, label, strlen(label)},
                {CKA_EC_PARAMS, (void *)oid, oidlen},
                {CKA_VALUE, vals[0], lens[0]},
            };
            CK_ATTRIBUTE pub_tmpl[] = {
                {CKA_CLASS, &pub_cls, sizeof(pub_cls)},
                {CKA_KEY_TYPE, &kt, sizeof(kt)},
                {CKA_TOKEN, (void *)&yes, 1},
                {CKA_PRIVATE, (void *)&no, 1},
                {CKA_VERIFY, (void *)&yes, 1},
                {CKA_ID, id, sizeof(id)},
                {CKA_LABEL, label, strlen(label)},
                {CKA_EC_PARAMS, (void *)oid, oidlen},
                {CKA_EC_POINT, der_point, (CK_ULONG)dlen},
            };

            rv = fn->C_CreateObject(s, priv_tmpl, sizeof(priv_tmpl) / sizeof(priv_tmpl[0]), &priv);
            if (rv == CKR_OK)
                rv = fn->C_CreateObject(s, pub_tmpl, sizeof(pub_tmpl) / sizeof(pub_tmpl[0]), &pub);
        }
        OPENSSL_free(der_point);
    }
    for (int i = 0; i < 8; i++)
        if (vals[i] != NULL)
            OPENSSL_clear_free(vals[i], lens[i]);
    if (rc == AZKM_OK && rv != CKR_OK)
        rc = azkm_p11_fail(pt->tok, rv, "importing the key (C_CreateObject)");
    if (rc == AZKM_OK && m->kty != AZKM_KTY_OCT)
        rc = p11_public_from_token(pt, s, pub, m->kty, out);
    if (rc != AZKM_OK) {
        if (priv != CK_INVALID_HANDLE)
            fn->C_DestroyObject(s, priv);
        if (pub != CK_INVALID_HANDLE)
            fn->C_DestroyObject(s, pub);
    }
    azkm_p11_session_put(pt->tok, s, azkm_p11_session_broken(rv));
    EVP_PKEY_free(pkey);
    if (rc == AZKM_OK)
        rc = p11_make_material(id, sizeof(id), label, 0, out);
    if (rc != AZKM_OK)
        azkm_tier_output_clear(out);
    return rc;
}

azkm_rc azkm_tier_pkcs11_adopt(azkm_tier *t, const azkm_tier_ref *ref, const char *uri_text, azkm_kty *kty,
                               azkm_tier_output *out)
{
    p11_tier *pt = t->impl;
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    P11KitUri *uri = p11_kit_uri_new();
    CK_ATTRIBUTE *id_attr, *label_attr;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE;
    unsigned char id[64];
    size_t idlen = 0;
    char label[128] = "";
    CK_KEY_TYPE kt = 0;
    CK_ATTRIBUTE kt_attr = {CKA_KEY_TYPE, &kt, sizeof(kt)};
    azkm_rc rc;

    memset(out, 0, sizeof(*out));
    if (p11_kit_uri_parse(uri_text, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, uri) != P11_KIT_URI_OK) {
        p11_kit_uri_free(uri);
        return azkm_fail(AZKM_E_INVALID, "'%s' is not a valid RFC 7512 pkcs11: object URI", uri_text);
    }
    id_attr = p11_kit_uri_get_attribute(uri, CKA_ID);
    label_attr = p11_kit_uri_get_attribute(uri, CKA_LABEL);
    if (id_attr != NULL && id_attr->ulValueLen <= sizeof(id)) {
        memcpy(id, id_attr->pValue, id_attr->ulValueLen);
        idlen = id_attr->ulValueLen;
    }
    if (label_attr != NULL && label_attr->ulValueLen < sizeof(label)) {
        memcpy(label, label_attr->pValue, label_attr->ulValueLen);
        label[label_attr->ulValueLen] = '\0';
    }
    p11_kit_uri_free(uri);
    if (idlen == 0)
        return azkm_fail(AZKM_E_INVALID,
                         "pkcs11 URI '%s' must name the object's id (id=%%..), which azkm keeps to "
                         "find it again",
                         uri_text);
    if ((rc = azkm_p11_session_get(pt->tok, &s)) != AZKM_OK)
        return rc;
    rc = azkm_p11_find(pt->tok, s, CKO_PRIVATE_KEY, id, idlen, label[0] ? label : NULL, &priv);
    if (rc == AZKM_E_NOT_FOUND)
        rc = azkm_p11_find(pt->tok, s, CKO_SECRET_KEY, id, idlen, label[0] ? label : NULL, &priv);
    if (rc == AZKM_OK && fn->C_GetAttributeValue(s, priv, &kt_attr, 1) != CKR_OK)
        rc = azkm_fail(AZKM_E_INVALID, "token %s: cannot read the key type of '%s'", azkm_p11_token_label(pt->tok),
                       uri_text);
    if (rc == AZKM_OK) {
        *kty = kt == CKK_RSA ? AZKM_KTY_RSA : kt == CKK_EC ? AZKM_KTY_EC : kt == CKK_AES ? AZKM_KTY_OCT : 0;
        if (*kty == 0)
            rc = azkm_fail(AZKM_E_UNSUPPORTED, "token %s: '%s' is not an RSA, EC or AES key",
                           azkm_p11_token_label(pt->tok), uri_text);
    }
    if (rc == AZKM_OK && *kty == AZKM_KTY_OCT) {
        unsigned char *len = NULL;
        size_t n = 0;

        rc = get_attr(pt, s, priv, CKA_VALUE_LEN, &len, &n);
        if (rc == AZKM_OK && n == sizeof(CK_ULONG))
            out->size = (unsigned)(*(CK_ULONG *)len * 8);
        OPENSSL_free(len);
    } else if (rc == AZKM_OK) {
        /* The public half: the public key object with the same id, or for RSA the private key's public parts. */
        if (azkm_p11_find(pt->tok, s, CKO_PUBLIC_KEY, id, idlen, NULL, &pub) != AZKM_OK) {
            azkm_clear_error();
            pub = *kty == AZKM_KTY_RSA ? priv : CK_INVALID_HANDLE;
        }
        if (pub == CK_INVALID_HANDLE)
            rc = azkm_fail(AZKM_E_NOT_FOUND, "token %s: the EC key '%s' has no public key object with its id",
                           azkm_p11_token_label(pt->tok), uri_text);
        else
            rc = p11_public_from_token(pt, s, pub, *kty, out);
    }
    azkm_p11_session_put(pt->tok, s, 0);
    if (rc == AZKM_OK)
        rc = p11_make_material(id, idlen, label, 1, out);
    if (rc != AZKM_OK)
        azkm_tier_output_clear(out);
    (void)ref;
    return rc;
}

azkm_rc p11_destroy(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len)
{
    p11_tier *pt = t->impl;
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    CK_SESSION_HANDLE s;
    p11_ref r;
    CK_ATTRIBUTE tmpl[2];
    CK_OBJECT_HANDLE found[8];
    CK_ULONG n = 0;
    azkm_rc rc = p11_parse_material(material, len, &r);
    CK_RV rv;

    if (rc != AZKM_OK)
        return rc;
    if (r.adopted)
        return AZKM_OK; /* adopted objects belong to whoever created them */
    if ((rc = azkm_p11_session_get(pt->tok, &s)) != AZKM_OK)
        return rc;
    tmpl[0].type = CKA_ID;
    tmpl[0].pValue = r.id;
    tmpl[0].ulValueLen = r.idlen;
    tmpl[1].type = CKA_LABEL;
    tmpl[1].pValue = r.label;
    tmpl[1].ulValueLen = strlen(r.label);
    rv = fn->C_FindObjectsInit(s, tmpl, 2);
    if (rv == CKR_OK) {
        rv = fn->C_FindObjects(s, found, 8, &n);
        fn->C_FindObjectsFinal(s);
    }
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++)
        rv = fn->C_DestroyObject(s, found[i]);
    azkm_p11_session_put(pt->tok, s, azkm_p11_session_broken(rv));
    if (rv != CKR_OK)
        return azkm_p11_fail(pt->tok, rv, "destroying the key objects");
    (void)ref;
    return AZKM_OK;
}
