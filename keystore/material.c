/* Key material in and out of libcrypto form: parsing imports (PEM, DER, PKCS#8, PKCS#12), PKCS#8 encoding,
 * public keys as SubjectPublicKeyInfo DER. Every libcrypto fetch uses the keystore's library context. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "internal.h"

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
    return azkm_fail(AZKM_E_UNSUPPORTED, "key type %s is not supported (RSA or EC)", EVP_PKEY_get0_type_name(pkey));
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

azkm_rc azkm_pkey_from_material(OSSL_LIB_CTX *libctx, const char *propq, azkm_kty kty, const unsigned char *der,
                                size_t len, EVP_PKEY **out)
{
    OSSL_DECODER_CTX *dctx;
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = der;
    size_t left = len;
    azkm_rc rc = AZKM_OK;

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

static azkm_rc parse_pkcs12(const unsigned char *in, size_t len, const char *pass, EVP_PKEY **pkey)
{
    const unsigned char *p = in;
    PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
    azkm_rc rc = AZKM_OK;

    if (p12 == NULL)
        return azkm_fail_ossl(AZKM_E_INVALID, "import: input is not a valid PKCS#12 file");
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
        int encrypted = memmem(in, len, "ENCRYPTED", 9) != NULL;

        rc = AZKM_OK;
        if (dctx == NULL) {
            rc = azkm_fail_ossl(AZKM_E_CRYPTO, "import: cannot set up key decoders");
        } else {
            OSSL_DECODER_CTX_set_pem_password_cb(dctx, pass_cb, (void *)passphrase);
            if (!OSSL_DECODER_from_data(dctx, &p, &left) || pkey == NULL) {
                if (encrypted && passphrase == NULL)
                    rc = azkm_fail(AZKM_E_AUTH, "import: the key file is encrypted and no passphrase was given");
                else if (encrypted)
                    rc = azkm_fail(AZKM_E_AUTH, "import: wrong passphrase for the encrypted key file");
                else
                    rc = azkm_fail(AZKM_E_INVALID,
                                   "import: no private key found (expected PEM or DER: PKCS#8, encrypted PKCS#8, "
                                   "traditional RSA or EC, or PKCS#12)");
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
