/* RSA-PSS public keys (RFC 4055): an RSA key's SubjectPublicKeyInfo made into the id-RSASSA-PSS one with its
 * restrictions as parameters, and those restrictions read back. The restrictions of an azkm RSA-PSS key live in
 * its public key, where X.509 puts them, so that the vault's record (and the MAC over it), backups and
 * certificates all carry them. */
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "material/material.h"

/* The digests an azkm RSA-PSS key may be restricted to, by OpenSSL's short name. */
static const int pss_digests[] = {NID_sha1, NID_sha224, NID_sha256, NID_sha384, NID_sha512};

/* name (any of OpenSSL's names for it) as one of pss_digests' short names into buf; 0 if it is none of them. */
static int pss_digest_name(OSSL_LIB_CTX *libctx, const char *name, char *buf, size_t len)
{
    EVP_MD *md = EVP_MD_fetch(libctx, name, NULL);
    int nid = md != NULL ? EVP_MD_get_type(md) : NID_undef;

    EVP_MD_free(md);
    for (size_t i = 0; i < sizeof(pss_digests) / sizeof(pss_digests[0]); i++) {
        if (nid == pss_digests[i]) {
            snprintf(buf, len, "%s", OBJ_nid2sn(nid));
            return 1;
        }
    }
    return 0;
}

/* 1 when der's algorithm is id-RSASSA-PSS: read from the encoding, without decoding the key. */
static int spki_is_rsa_pss(const unsigned char *der, size_t len)
{
    static const unsigned char oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};
    const unsigned char *p = der;
    long l = 0, total = (long)len;
    int tag, xclass, ok = 0;

    /* A probe: what ASN1_get_object says of a malformed encoding is not an error of the caller's operation. */
    ERR_set_mark();
    /* SEQUENCE { SEQUENCE { OBJECT IDENTIFIER ... */
    for (int depth = 0; depth < 2; depth++) {
        if ((ASN1_get_object(&p, &l, &tag, &xclass, total - (p - der)) & 0x80) != 0 || tag != V_ASN1_SEQUENCE)
            goto done;
    }
    if ((ASN1_get_object(&p, &l, &tag, &xclass, total - (p - der)) & 0x80) != 0 || tag != V_ASN1_OBJECT)
        goto done;
    ok = l == (long)sizeof(oid) && memcmp(p, oid, sizeof(oid)) == 0;
done:
    ERR_pop_to_mark();
    return ok;
}

static azkm_rc read_restrictions(OSSL_LIB_CTX *libctx, const EVP_PKEY *pkey, azkm_rsa_pss *out)
{
    char name[64] = "";
    size_t n = 0;

    /* OpenSSL reports the parameters of a restricted key only; MGF1 only when it is not the default (SHA-1). */
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_RSA_DIGEST, name, sizeof(name), &n))
        return AZKM_OK;
    out->restricted = 1;
    if (!pss_digest_name(libctx, name, out->digest, sizeof(out->digest)))
        return azkm_fail(AZKM_E_UNSUPPORTED, "RSA-PSS public key restricted to digest %s, which azkm does not use",
                         name);
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_RSA_MGF1_DIGEST, name, sizeof(name), &n))
        snprintf(name, sizeof(name), "SHA1");
    if (!pss_digest_name(libctx, name, out->mgf1_digest, sizeof(out->mgf1_digest)))
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "RSA-PSS public key restricted to MGF1 with %s, which azkm does not use", name);
    if (!EVP_PKEY_get_int_param(pkey, OSSL_PKEY_PARAM_RSA_PSS_SALTLEN, &out->min_salt_len))
        out->min_salt_len = 20;
    return AZKM_OK;
}

azkm_rc azkm_spki_rsa_pss_read(OSSL_LIB_CTX *libctx, const unsigned char *der, size_t len, azkm_rsa_pss *out)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey;
    azkm_rc rc;

    memset(out, 0, sizeof(*out));
    if (der == NULL || len == 0 || !spki_is_rsa_pss(der, len))
        return AZKM_OK;
    pkey = d2i_PUBKEY_ex(NULL, &p, (long)len, libctx, NULL);
    if (pkey == NULL || !EVP_PKEY_is_a(pkey, "RSA-PSS")) {
        EVP_PKEY_free(pkey);
        return azkm_fail_ossl(AZKM_E_CORRUPT, "RSA-PSS public key is damaged");
    }
    out->enabled = 1;
    rc = read_restrictions(libctx, pkey, out);
    EVP_PKEY_free(pkey);
    return rc;
}

/* The largest salt a PSS signature with this key and digest can have: emLen - hLen - 2 (RFC 8017 9.1.1). */
static int max_salt(int bits, const char *digest)
{
    int emlen = (bits - 1 + 7) / 8;

    return emlen - (int)azkm_digest_size(digest) - 2;
}

/* Checks pss's names and salt against the key and canonicalises the names into *canon. */
static azkm_rc check_restrictions(OSSL_LIB_CTX *libctx, int bits, const azkm_rsa_pss *pss, azkm_rsa_pss *canon)
{
    *canon = *pss;
    if (!pss->restricted)
        return AZKM_OK;
    if (!pss_digest_name(libctx, pss->digest, canon->digest, sizeof(canon->digest)))
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "RSA-PSS digest '%.32s' is not supported (SHA1, SHA224, SHA256, "
                         "SHA384, SHA512)",
                         pss->digest);
    if (!pss_digest_name(libctx, pss->mgf1_digest, canon->mgf1_digest, sizeof(canon->mgf1_digest)))
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "RSA-PSS MGF1 digest '%.32s' is not supported (SHA1, SHA224, SHA256, "
                         "SHA384, SHA512)",
                         pss->mgf1_digest);
    if (pss->min_salt_len < 0 || pss->min_salt_len > max_salt(bits, canon->digest))
        return azkm_fail(AZKM_E_INVALID,
                         "RSA-PSS minimum salt length %d is out of range: 0 to %d for a %d-bit key with %s",
                         pss->min_salt_len, max_salt(bits, canon->digest), bits, canon->digest);
    return AZKM_OK;
}

static OSSL_PARAM *pss_key_params(const EVP_PKEY *rsa, const azkm_rsa_pss *pss)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM *params = NULL;

    if (bld != NULL && EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n) &&
        EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_E, &e) && OSSL_PARAM_BLD_push_BN(bld, "n", n) &&
        OSSL_PARAM_BLD_push_BN(bld, "e", e) &&
        (!pss->restricted ||
         (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_RSA_DIGEST, pss->digest, 0) &&
          OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_RSA_MGF1_DIGEST, pss->mgf1_digest, 0) &&
          OSSL_PARAM_BLD_push_int(bld, OSSL_PKEY_PARAM_RSA_PSS_SALTLEN, pss->min_salt_len))))
        params = OSSL_PARAM_BLD_to_param(bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return params;
}

azkm_rc azkm_spki_rsa_pss_make(OSSL_LIB_CTX *libctx, const unsigned char *der, size_t len, const azkm_rsa_pss *pss,
                               unsigned char **out, size_t *outlen)
{
    const unsigned char *p = der;
    EVP_PKEY *rsa = d2i_PUBKEY_ex(NULL, &p, (long)len, libctx, NULL), *made = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM *params = NULL;
    azkm_rsa_pss canon;
    azkm_rc rc;

    if (rsa == NULL || !EVP_PKEY_is_a(rsa, "RSA")) {
        EVP_PKEY_free(rsa);
        return azkm_fail_ossl(AZKM_E_CRYPTO, "an RSA-PSS key needs an RSA public key");
    }
    rc = check_restrictions(libctx, EVP_PKEY_get_bits(rsa), pss, &canon);
    if (rc == AZKM_OK) {
        params = pss_key_params(rsa, &canon);
        ctx = EVP_PKEY_CTX_new_from_name(libctx, "RSA-PSS", NULL);
        if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
            EVP_PKEY_fromdata(ctx, &made, EVP_PKEY_PUBLIC_KEY, params) <= 0)
            rc = azkm_fail_ossl(AZKM_E_CRYPTO, "cannot make the RSA-PSS public key");
    }
    if (rc == AZKM_OK)
        rc = azkm_pkey_public_der(made, out, outlen);
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(made);
    EVP_PKEY_free(rsa);
    return rc;
}
