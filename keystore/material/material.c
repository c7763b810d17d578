/* Key material in and out of libcrypto form: parsing imports (PEM, DER, PKCS#8, PKCS#12), PKCS#8 encoding,
 * public keys as SubjectPublicKeyInfo DER. Every libcrypto fetch uses the keystore's library context. */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "material/material.h"
#include "base/secmem.h"

void azkm_material_clear(azkm_material *m)
{
    if (m == NULL)
        return;
    if (m->der != NULL)
        OPENSSL_clear_free((void *)m->der, m->der_len);
    memset(m, 0, sizeof(*m));
}

azkm_rc azkm_pkey_describe(const EVP_PKEY *pkey, azkm_kty *kty, unsigned *size, azkm_curve *curve)
{
    *curve = AZKM_CURVE_NONE;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        int bits = EVP_PKEY_get_bits(pkey);

        *kty = AZKM_KTY_RSA;
        *size = (unsigned)bits;
        if (bits != 2048 && bits != 3072 && bits != 4096)
            return azkm_fail(AZKM_E_UNSUPPORTED, "RSA key size %d is not supported (2048, 3072 or 4096)", bits);
        return AZKM_OK;
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64] = "";
        size_t glen = 0;

        *kty = AZKM_KTY_EC;
        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen))
            return azkm_fail(AZKM_E_UNSUPPORTED,
                             "EC key has no named curve (explicit parameters are not supported)");
        if (azkm_curve_parse(group, curve) != AZKM_OK)
            return azkm_fail(AZKM_E_UNSUPPORTED, "EC curve %s is not supported (P-256, P-384, P-521)", group);
        *size = (unsigned)azkm_curve_bits(*curve);
        return AZKM_OK;
    }
    if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448")) {
        *kty = AZKM_KTY_OKP;
        *curve = EVP_PKEY_is_a(pkey, "ED25519") ? AZKM_CURVE_ED25519 : AZKM_CURVE_ED448;
        *size = (unsigned)azkm_curve_bits(*curve);
        return AZKM_OK;
    }
    return azkm_fail(AZKM_E_UNSUPPORTED, "key type %s is not supported (RSA, EC, Ed25519 or Ed448)",
                     EVP_PKEY_get0_type_name(pkey));
}

azkm_rc azkm_pkey_to_pkcs8(const EVP_PKEY *pkey, unsigned char **der, size_t *len)
{
    OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
    azkm_rc rc = AZKM_OK;

    *der = NULL;
    *len = 0;
    if (ectx == NULL || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0 || !OSSL_ENCODER_to_data(ectx, der, len))
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "cannot encode the private key as PKCS#8");
    OSSL_ENCODER_CTX_free(ectx);
    return rc;
}

azkm_rc azkm_pkey_public_der(const EVP_PKEY *pkey, unsigned char **der, size_t *len)
{
    unsigned char *buf = NULL;
    int n = i2d_PUBKEY(pkey, &buf);

    if (n <= 0)
        return azkm_fail_ossl(AZKM_E_CRYPTO, "cannot encode the public key");
    *der = buf;
    *len = (size_t)n;
    return AZKM_OK;
}

azkm_rc azkm_pkey_from_public_der(OSSL_LIB_CTX *libctx, const char *propq, const unsigned char *der, size_t len,
                                  EVP_PKEY **out)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey = d2i_PUBKEY_ex(NULL, &p, (long)len, libctx, propq);

    if (pkey == NULL || p != der + len) {
        EVP_PKEY_free(pkey);
        return azkm_fail_ossl(AZKM_E_INTEGRITY, "stored public key is damaged");
    }
    *out = pkey;
    return AZKM_OK;
}

/* Zeroes the contents of every string in a decoded SEQUENCE before freeing it: they may be key material. */
static void seq_clear_free(STACK_OF(ASN1_TYPE) * seq)
{
    for (int i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
        ASN1_TYPE *t = sk_ASN1_TYPE_value(seq, i);

        if (t->type != V_ASN1_BOOLEAN && t->type != V_ASN1_NULL && t->type != V_ASN1_OBJECT &&
            t->value.asn1_string != NULL)
            OPENSSL_cleanse((void *)ASN1_STRING_get0_data(t->value.asn1_string),
                            (size_t)ASN1_STRING_length(t->value.asn1_string));
    }
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
}

/* The publicKey [1] of an ECPrivateKey, kept by ASN1_ANY as its whole encoding: the point's octets, or NULL. */
static const unsigned char *ec_public_point(const ASN1_TYPE *t, ASN1_BIT_STRING **bits)
{
    const unsigned char *p;
    long len;
    int tag, xclass;

    if (t->type != V_ASN1_OTHER || t->value.asn1_string == NULL)
        return NULL;
    p = ASN1_STRING_get0_data(t->value.asn1_string);
    if ((ASN1_get_object(&p, &len, &tag, &xclass, ASN1_STRING_length(t->value.asn1_string)) & 0x80) != 0 ||
        xclass != V_ASN1_CONTEXT_SPECIFIC || tag != 1)
        return NULL;
    *bits = d2i_ASN1_BIT_STRING(NULL, &p, len);
    return *bits != NULL && ASN1_STRING_length(*bits) > 0 ? ASN1_STRING_get0_data(*bits) : NULL;
}

/* An EC key from its PKCS#8 form, rebuilt from its numbers instead of through OpenSSL's DER decoder: the decoder
 * frees its copy of the input without clearing it (der2key_decode in OpenSSL 3.0), which would leave the private
 * scalar in the ordinary heap. Here every copy made on the way is cleared, and the scalar ends up where
 * EC_KEY_set_private_key puts it: a secure BIGNUM, in the secure heap when there is one. NULL for a form this
 * does not expect (explicit parameters, no public key), which the decoder then handles. */
static EVP_PKEY *ec_from_pkcs8(OSSL_LIB_CTX *libctx, const char *propq, const unsigned char *der, size_t len)
{
    const unsigned char *p = der, *pk = NULL, *point = NULL;
    int pklen = 0, ptype = 0;
    const void *pval = NULL;
    const ASN1_OBJECT *alg_oid = NULL;
    const X509_ALGOR *alg = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    STACK_OF(ASN1_TYPE) *seq = NULL;
    ASN1_BIT_STRING *bits = NULL;
    BIGNUM *priv = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    const char *curve;

    if (p8 == NULL || p != der + len || !PKCS8_pkey_get0(&alg_oid, &pk, &pklen, &alg, p8) ||
        OBJ_obj2nid(alg_oid) != NID_X9_62_id_ecPublicKey)
        goto end;
    X509_ALGOR_get0(NULL, &ptype, &pval, alg);
    if (ptype != V_ASN1_OBJECT || (curve = OBJ_nid2sn(OBJ_obj2nid(pval))) == NULL)
        goto end;
    /* ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] parameters OPTIONAL, [1] publicKey } */
    p = pk;
    seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, pklen);
    if (seq == NULL || p != pk + pklen || sk_ASN1_TYPE_num(seq) < 3 ||
        sk_ASN1_TYPE_value(seq, 0)->type != V_ASN1_INTEGER ||
        ASN1_INTEGER_get(sk_ASN1_TYPE_value(seq, 0)->value.integer) != 1 ||
        sk_ASN1_TYPE_value(seq, 1)->type != V_ASN1_OCTET_STRING)
        goto end;
    for (int i = 2; point == NULL && i < sk_ASN1_TYPE_num(seq); i++)
        point = ec_public_point(sk_ASN1_TYPE_value(seq, i), &bits);
    if (point == NULL)
        goto end;
    priv = BN_secure_new();
    if (priv == NULL || BN_bin2bn(ASN1_STRING_get0_data(sk_ASN1_TYPE_value(seq, 1)->value.octet_string),
                                  ASN1_STRING_length(sk_ASN1_TYPE_value(seq, 1)->value.octet_string), priv) == NULL)
        goto end;
    /* A secure BIGNUM puts the parameter block holding it in the secure heap too (freed cleared). */
    if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, (size_t)ASN1_STRING_length(bits)) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto end;
    ctx = EVP_PKEY_CTX_new_from_name(libctx, "EC", propq);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
end:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(priv);
    ASN1_BIT_STRING_free(bits);
    seq_clear_free(seq);
    PKCS8_PRIV_KEY_INFO_free(p8); /* clears the private key octets itself */
    return pkey;
}

/* An Ed25519 or Ed448 key from its PKCS#8 form (RFC 8410: the privateKey octets wrap CurvePrivateKey, an OCTET
 * STRING of the raw key), for the same reason as ec_from_pkcs8: the raw key goes where
 * EVP_PKEY_new_raw_private_key puts it (the secure heap), and every copy on the way is cleared. NULL for anything
 * else. */
static EVP_PKEY *okp_from_pkcs8(OSSL_LIB_CTX *libctx, const char *propq, const unsigned char *der, size_t len)
{
    const unsigned char *p = der, *pk = NULL;
    int pklen = 0, nid;
    const ASN1_OBJECT *alg_oid = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    ASN1_OCTET_STRING *raw = NULL;
    EVP_PKEY *pkey = NULL;

    if (p8 == NULL || p != der + len || !PKCS8_pkey_get0(&alg_oid, &pk, &pklen, NULL, p8))
        goto end;
    nid = OBJ_obj2nid(alg_oid);
    if (nid != NID_ED25519 && nid != NID_ED448)
        goto end;
    p = pk;
    raw = d2i_ASN1_OCTET_STRING(NULL, &p, pklen);
    if (raw == NULL || p != pk + pklen || ASN1_STRING_length(raw) != (nid == NID_ED25519 ? 32 : 57))
        goto end;
    pkey = EVP_PKEY_new_raw_private_key_ex(libctx, nid == NID_ED25519 ? "ED25519" : "ED448", propq,
                                           ASN1_STRING_get0_data(raw), (size_t)ASN1_STRING_length(raw));
end:
    ASN1_STRING_clear_free(raw);
    PKCS8_PRIV_KEY_INFO_free(p8);
    return pkey;
}

azkm_rc azkm_pkey_from_material(OSSL_LIB_CTX *libctx, const char *propq, azkm_kty kty, const unsigned char *der,
                                size_t len, EVP_PKEY **out)
{
    OSSL_DECODER_CTX *dctx;
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = der;
    size_t left = len;
    azkm_rc rc = AZKM_OK;

    if (kty == AZKM_KTY_OKP) {
        ERR_set_mark();
        pkey = okp_from_pkcs8(libctx, propq, der, len);
        ERR_pop_to_mark();
        azkm_stack_scrub();
        *out = pkey;
        return pkey != NULL ? AZKM_OK : azkm_fail(AZKM_E_CORRUPT, "key material is not a valid OKP PKCS#8 key");
    }
    if (kty == AZKM_KTY_EC) {
        ERR_set_mark();
        pkey = ec_from_pkcs8(libctx, propq, der, len);
        ERR_pop_to_mark();
        if (pkey != NULL) {
            *out = pkey;
            azkm_stack_scrub();
            return AZKM_OK;
        }
    }
    /* RSA goes through the decoder: its private numbers are decoded straight into secure BIGNUMs (CBIGNUM), which
     * no other public route in OpenSSL 3.0 gives (EVP_PKEY_fromdata copies them into ordinary ones). The price
     * is the decoder's uncleared copy of the DER, freed into the heap (docs/security.md, "Secrets in memory: core
     * dumps"). */
    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "PrivateKeyInfo", kty == AZKM_KTY_RSA ? "RSA" : "EC",
                                         EVP_PKEY_KEYPAIR, libctx, propq);
    if (dctx == NULL || !OSSL_DECODER_from_data(dctx, &p, &left) || pkey == NULL || left != 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
        rc = azkm_fail_ossl(AZKM_E_CORRUPT, "key material is not a valid %s PKCS#8 key",
                            kty == AZKM_KTY_RSA ? "RSA" : "EC");
    }
    OSSL_DECODER_CTX_free(dctx);
    *out = pkey;
    azkm_stack_scrub();
    return rc;
}

static int looks_like_pkcs12(const unsigned char *in, size_t len)
{
    /* SEQUENCE { INTEGER 3, ContentInfo ... }: the version sits right after the outer header. */
    size_t hdr;

    if (len < 8 || in[0] != 0x30)
        return 0;
    if (in[1] < 0x80)
        hdr = 2;
    else
        hdr = 2 + (in[1] & 0x7f);
    return hdr + 3 <= len && in[hdr] == 0x02 && in[hdr + 1] == 0x01 && in[hdr + 2] == 0x03;
}

/* Header plus content length of the DER object at in (definite lengths only), 0 if the header is unreadable. */
static size_t der_object_len(const unsigned char *in, size_t len)
{
    size_t n, hdr, content = 0;

    if (len < 2)
        return 0;
    if (in[1] < 0x80)
        return 2 + (size_t)in[1];
    n = in[1] & 0x7f;
    hdr = 2 + n;
    if (n == 0 || n > sizeof(size_t) - 1 || hdr > len)
        return 0;
    for (size_t i = 0; i < n; i++)
        content = content << 8 | in[2 + i];
    return hdr + content;
}

static azkm_rc parse_pkcs12(const unsigned char *in, size_t len, const char *pass, EVP_PKEY **pkey)
{
    const unsigned char *p = in;
    PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
    size_t want = der_object_len(in, len);
    azkm_rc rc = AZKM_OK;

    /* OpenSSL's reason for a cut file is ASN.1's "too long" (the header promises more than there is): say what
     * it means instead. */
    if (p12 == NULL && want > len)
        return azkm_fail(AZKM_E_INVALID,
                         "import: truncated or not a PKCS#12 file (%zu of the %zu bytes it declares)", len, want);
    if (p12 == NULL)
        return azkm_fail(AZKM_E_INVALID, "import: truncated or not a PKCS#12 file");
    if (p != in + len) {
        PKCS12_free(p12);
        return azkm_fail(AZKM_E_INVALID, "import: %zu trailing bytes after the PKCS#12 file",
                         (size_t)(in + len - p));
    }
    if (!PKCS12_verify_mac(p12, pass ? pass : "", -1) && !PKCS12_verify_mac(p12, NULL, 0))
        rc = azkm_fail(AZKM_E_AUTH,
                       pass ? "import: wrong passphrase for the PKCS#12 file (MAC check failed)"
                            : "import: the PKCS#12 file is protected by a passphrase and none was given");
    else if (!PKCS12_parse(p12, pass ? pass : "", pkey, NULL, NULL) || *pkey == NULL)
        rc = azkm_fail_ossl(AZKM_E_INVALID, "import: the PKCS#12 file holds no usable private key");
    PKCS12_free(p12);
    return rc;
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    const char *pass = u;
    size_t n;

    (void)rwflag;
    if (pass == NULL)
        return -1;
    n = strlen(pass);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, pass, n);
    return (int)n;
}

azkm_rc azkm_material_parse(OSSL_LIB_CTX *libctx, const unsigned char *in, size_t len, const char *passphrase,
                            azkm_material *out)
{
    EVP_PKEY *pkey = NULL;
    azkm_rc rc;
    unsigned size;
    azkm_curve curve;
    unsigned char *der = NULL;
    size_t der_len = 0;

    memset(out, 0, sizeof(*out));
    if (in == NULL || len == 0)
        return azkm_fail(AZKM_E_INVALID, "import: the key file is empty");
    ERR_set_mark();
    if (looks_like_pkcs12(in, len)) {
        rc = parse_pkcs12(in, len, passphrase, &pkey);
    } else {
        OSSL_DECODER_CTX *dctx =
            OSSL_DECODER_CTX_new_for_pkey(&pkey, NULL, NULL, NULL, EVP_PKEY_KEYPAIR, libctx, NULL);
        const unsigned char *p = in;
        size_t left = len;

        rc = AZKM_OK;
        if (dctx == NULL) {
            rc = azkm_fail_ossl(AZKM_E_CRYPTO, "import: cannot set up key decoders");
        } else {
            OSSL_DECODER_CTX_set_pem_password_cb(dctx, pass_cb, (void *)passphrase);
            if (!OSSL_DECODER_from_data(dctx, &p, &left) || pkey == NULL) {
                rc = azkm_material_why_not(in, len, passphrase);
            } else if (left != 0 && in[0] == 0x30) {
                /* A PEM file may go on with a certificate; a DER key is one object, and bytes after it mean that
                 * the file is not what the user takes it for. */
                rc = azkm_fail(AZKM_E_INVALID, "import: %zu trailing bytes after the DER key", left);
            }
        }
        OSSL_DECODER_CTX_free(dctx);
    }
    ERR_pop_to_mark();
    if (rc == AZKM_OK)
        rc = azkm_pkey_describe(pkey, &out->kty, &size, &curve);
    if (rc == AZKM_OK)
        rc = azkm_pkey_to_pkcs8(pkey, &der, &der_len);
    EVP_PKEY_free(pkey);
    if (rc != AZKM_OK)
        return rc;
    out->der = der;
    out->der_len = der_len;
    return AZKM_OK;
}

azkm_rc azkm_ec_pkey_from_point(OSSL_LIB_CTX *libctx, const char *propq, azkm_curve curve,
                                const unsigned char *point, size_t plen, EVP_PKEY **out)
{
    OSSL_PARAM params[4];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(libctx, "EC", propq);
    azkm_rc rc = AZKM_OK;

    *out = NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)azkm_curve_name(curve), 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, plen);
    params[2] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                                 (char *)OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED, 0);
    params[3] = OSSL_PARAM_construct_end();
    /* A single 00 octet decodes as the point at infinity: no ECDH peer. Decoding checks that any other point is
     * on the curve. */
    ERR_set_mark();
    if (ctx == NULL || plen < 2 || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        rc = AZKM_E_INVALID;
    ERR_pop_to_mark();
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }, with
 * id-ecPublicKey and a named curve. */
static int spki_parts(const unsigned char *der, size_t len, azkm_curve *curve, const ASN1_BIT_STRING **bits,
                      STACK_OF(ASN1_TYPE) * *seq, X509_ALGOR **alg)
{
    const unsigned char *p = der, *q;
    const ASN1_OBJECT *oid = NULL;
    const void *pval = NULL;
    ASN1_TYPE *a, *b;
    int ptype = 0;

    if ((*seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)len)) == NULL || p != der + len ||
        sk_ASN1_TYPE_num(*seq) != 2)
        return 0;
    a = sk_ASN1_TYPE_value(*seq, 0);
    b = sk_ASN1_TYPE_value(*seq, 1);
    if (a->type != V_ASN1_SEQUENCE || b->type != V_ASN1_BIT_STRING)
        return 0;
    q = ASN1_STRING_get0_data(a->value.sequence);
    if ((*alg = d2i_X509_ALGOR(NULL, &q, ASN1_STRING_length(a->value.sequence))) == NULL)
        return 0;
    X509_ALGOR_get0(&oid, &ptype, &pval, *alg);
    if (OBJ_obj2nid(oid) != NID_X9_62_id_ecPublicKey || ptype != V_ASN1_OBJECT ||
        azkm_curve_parse(OBJ_nid2sn(OBJ_obj2nid(pval)), curve) != AZKM_OK || azkm_curve_kty(*curve) != AZKM_KTY_EC)
        return 0;
    *bits = b->value.bit_string;
    return ((*bits)->flags & 0x07) == 0; /* no unused bits */
}

azkm_rc azkm_ec_spki_point(OSSL_LIB_CTX *libctx, const char *propq, const unsigned char *der, size_t len,
                           azkm_curve *curve, unsigned char *point, size_t *plen)
{
    STACK_OF(ASN1_TYPE) *seq = NULL;
    X509_ALGOR *alg = NULL;
    const ASN1_BIT_STRING *bits = NULL;
    EVP_PKEY *pkey = NULL;
    azkm_rc rc = AZKM_E_INVALID;

    azkm_clear_error();
    ERR_set_mark();
    if (der != NULL && spki_parts(der, len, curve, &bits, &seq, &alg) &&
        azkm_ec_pkey_from_point(libctx, propq, *curve, ASN1_STRING_get0_data(bits),
                                (size_t)ASN1_STRING_length(bits), &pkey) == AZKM_OK &&
        EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, AZKM_EC_POINT_MAX, plen))
        rc = AZKM_OK;
    ERR_pop_to_mark();
    EVP_PKEY_free(pkey);
    X509_ALGOR_free(alg);
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    return rc;
}
