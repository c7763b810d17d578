/* A service principal's credentials: client secrets (generated here, 32 random bytes in base64url, kept only as a
 * salted scrypt hash and checked in constant time) and certificates (PEM or DER, kept as their SHA-256 fingerprint
 * and RFC 2253 issuer and subject, their SHA-1 thumbprint and public key for client assertions). */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "azkm/base64.h"
#include "rbac/rbac.h"

/* scrypt as for passphrase-protected master keys: 2^15, 8, 1 (32 MiB, tens of milliseconds per check). */
#define SECRET_KDF "scrypt:15:8:1"
#define SECRET_BYTES 32

static azkm_rc scrypt_hash(azkm_keystore *ks, const char *secret, const unsigned char salt[16],
                           unsigned char out[32])
{
    EVP_KDF *kdf = EVP_KDF_fetch(ks->libctx, "SCRYPT", ks->propq);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    uint64_t n = (uint64_t)1 << 15;
    uint32_t r = 8, p = 1;
    OSSL_PARAM params[6];
    azkm_rc rc = AZKM_OK;

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)secret, strlen(secret));
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, 16);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    params[5] = OSSL_PARAM_construct_end();
    if (kctx == NULL || EVP_KDF_derive(kctx, out, 32, params) != 1)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "scrypt hashing of a client secret failed");
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

azkm_rc azkm_sp_secret_new(azkm_keystore *ks, azkm_catalog_sp_row *row, char **secret)
{
    unsigned char raw[SECRET_BYTES];
    azkm_rc rc = AZKM_OK;

    *secret = NULL;
    if (RAND_priv_bytes_ex(ks->libctx, raw, sizeof(raw), 0) != 1 ||
        RAND_bytes_ex(ks->libctx, row->secret_salt, sizeof(row->secret_salt), 0) != 1)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "cannot generate a client secret");
    if (rc == AZKM_OK && (*secret = azkm_b64url_encode(raw, sizeof(raw))) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    OPENSSL_cleanse(raw, sizeof(raw));
    if (rc == AZKM_OK)
        rc = scrypt_hash(ks, *secret, row->secret_salt, row->secret_hash);
    if (rc != AZKM_OK && *secret != NULL) {
        OPENSSL_cleanse(*secret, strlen(*secret));
        azkm_free(*secret);
        *secret = NULL;
    }
    if (rc == AZKM_OK) {
        snprintf(row->secret_kdf, sizeof(row->secret_kdf), "%s", SECRET_KDF);
        row->secret_created = azkm_now(ks);
    }
    return rc;
}

azkm_rc azkm_sp_secret_check(azkm_keystore *ks, const azkm_catalog_sp_row *row, const char *secret)
{
    static const unsigned char dummy_salt[16];
    unsigned char h[32];
    int known = row != NULL && strcmp(row->secret_kdf, SECRET_KDF) == 0;
    azkm_rc rc;

    /* The same work whether or not there is a hash to compare with: the time taken does not tell. */
    rc = scrypt_hash(ks, secret != NULL ? secret : "", known ? row->secret_salt : dummy_salt, h);
    if (rc == AZKM_OK && (!known || secret == NULL || CRYPTO_memcmp(h, row->secret_hash, sizeof(h)) != 0))
        rc = AZKM_E_AUTH;
    OPENSSL_cleanse(h, sizeof(h));
    return rc;
}

/* The certificate in PEM (its first CERTIFICATE block) or DER (exactly one, nothing after it). */
static X509 *cert_parse(const unsigned char *in, size_t len)
{
    const unsigned char *p = in;
    BIO *b;
    X509 *x;

    if (len > 10 && memcmp(in, "-----BEGIN", 10) == 0) {
        if ((b = BIO_new_mem_buf(in, (int)len)) == NULL)
            return NULL;
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        return x;
    }
    x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != in + len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* An X509 name in RFC 2253 form into buf; 0 when it does not fit. */
static int name_text(const X509_NAME *name, char *buf, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;
    int ok;

    if (b == NULL)
        return 0;
    X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    n = BIO_get_mem_data(b, &data);
    ok = n >= 0 && (size_t)n < cap;
    if (ok) {
        memcpy(buf, data, (size_t)n);
        buf[n] = '\0';
    }
    BIO_free(b);
    return ok;
}

azkm_rc azkm_sp_cert_fingerprint(azkm_keystore *ks, const unsigned char *der, size_t len, unsigned char out[32])
{
    unsigned int n = 0;

    if (der == NULL || len == 0 || EVP_Digest(der, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return azkm_fail_ossl(AZKM_E_INVALID, "certificate: cannot compute its SHA-256 fingerprint");
    (void)ks;
    return AZKM_OK;
}

azkm_rc azkm_sp_cert_names(const unsigned char *der, size_t len, char issuer[AZKM_SP_DN_MAX + 1],
                           char subject[AZKM_SP_DN_MAX + 1])
{
    X509 *x = der == NULL || len == 0 || len > 65536 ? NULL : cert_parse(der, len);
    azkm_rc rc = AZKM_OK;

    if (x == NULL)
        return azkm_fail_ossl(AZKM_E_INVALID, "certificate: not an X.509 certificate in PEM or DER");
    if (!name_text(X509_get_issuer_name(x), issuer, AZKM_SP_DN_MAX + 1) ||
        !name_text(X509_get_subject_name(x), subject, AZKM_SP_DN_MAX + 1))
        rc = azkm_fail(AZKM_E_NOT_FOUND, "the certificate's issuer or subject is longer than %d characters",
                       AZKM_SP_DN_MAX);
    X509_free(x);
    return rc;
}

/* The certificate's SHA-1 thumbprint (JWS x5t) and public key (SPKI DER), to verify client assertions. */
static azkm_rc cert_key_set(X509 *x, const unsigned char *der, size_t len, azkm_catalog_sp_row *row)
{
    unsigned char *spki = NULL;
    unsigned int n = 0;
    int slen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    azkm_rc rc = AZKM_OK;

    row->cert_spki_len = 0;
    if (slen <= 0 || EVP_Digest(der, len, row->cert_sha1, &n, EVP_sha1(), NULL) != 1 || n != 20)
        rc = azkm_fail_ossl(AZKM_E_INVALID, "certificate: cannot read its public key");
    else if ((size_t)slen > sizeof(row->cert_spki))
        rc = azkm_fail(AZKM_E_INVALID, "certificate: its public key is over %d bytes", AZKM_SP_SPKI_MAX);
    if (rc == AZKM_OK) {
        memcpy(row->cert_spki, spki, (size_t)slen);
        row->cert_spki_len = (size_t)slen;
    }
    OPENSSL_free(spki);
    return rc;
}

azkm_rc azkm_sp_cert_set(azkm_keystore *ks, azkm_catalog_sp_row *row, const unsigned char *cert, size_t len)
{
    X509 *x = cert == NULL || len == 0 || len > 65536 ? NULL : cert_parse(cert, len);
    unsigned char *der = NULL;
    int dlen;
    azkm_rc rc = AZKM_OK;

    if (x == NULL)
        return azkm_fail_ossl(AZKM_E_INVALID, "certificate: not an X.509 certificate in PEM or DER");
    if ((dlen = i2d_X509(x, &der)) <= 0)
        rc = azkm_fail_ossl(AZKM_E_INVALID, "certificate: cannot encode it as DER");
    if (rc == AZKM_OK)
        rc = azkm_sp_cert_fingerprint(ks, der, (size_t)dlen, row->cert_sha256);
    if (rc == AZKM_OK && (!name_text(X509_get_issuer_name(x), row->cert_issuer, sizeof(row->cert_issuer)) ||
                          !name_text(X509_get_subject_name(x), row->cert_subject, sizeof(row->cert_subject))))
        rc = azkm_fail(AZKM_E_INVALID, "certificate: its issuer or subject is longer than %d characters",
                       AZKM_SP_DN_MAX);
    if (rc == AZKM_OK)
        rc = cert_key_set(x, der, (size_t)dlen, row);
    row->has_cert = rc == AZKM_OK;
    OPENSSL_free(der);
    X509_free(x);
    return rc;
}
