/* Sealing of key material and blobs with AES-256-GCM, and the associated data that binds a record to its place. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "material/material.h"
#include "base/secmem.h"

#define NONCE_LEN 12
#define TAG_LEN 16

static azkm_rc gcm(OSSL_LIB_CTX *libctx, int enc, const unsigned char *key, const unsigned char *nonce,
                   const unsigned char *aad, size_t aadlen, const unsigned char *in, size_t inlen,
                   unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(libctx, "AES-256-GCM", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok;
    azkm_rc rc = AZKM_OK;

    ok = cipher != NULL && ctx != NULL && EVP_CipherInit_ex2(ctx, cipher, key, nonce, enc, NULL) == 1 &&
         (aadlen == 0 || EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aadlen) == 1) &&
         (inlen == 0 || EVP_CipherUpdate(ctx, out, &len, in, (int)inlen) == 1);
    if (!ok) {
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "AES-256-GCM failed");
    } else if (enc) {
        if (EVP_CipherFinal_ex(ctx, out + len, &len) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) != 1)
            rc = azkm_fail_ossl(AZKM_E_CRYPTO, "AES-256-GCM failed");
    } else {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) != 1 ||
            EVP_CipherFinal_ex(ctx, out + len, &len) != 1) {
            OPENSSL_cleanse(out, inlen);
            rc = AZKM_E_INTEGRITY;
        }
    }
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    return rc;
}

azkm_rc azkm_seal(OSSL_LIB_CTX *libctx, const unsigned char key[32], const unsigned char *aad, size_t aadlen,
                  const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen)
{
    unsigned char *buf = OPENSSL_malloc(inlen + AZKM_SEAL_OVERHEAD);
    azkm_rc rc;

    if (buf == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory sealing a record");
    if (RAND_bytes_ex(libctx, buf, NONCE_LEN, 0) != 1) {
        OPENSSL_free(buf);
        return azkm_fail_ossl(AZKM_E_CRYPTO, "cannot generate a nonce");
    }
    rc = gcm(libctx, 1, key, buf, aad, aadlen, in, inlen, buf + NONCE_LEN, buf + NONCE_LEN + inlen);
    if (rc != AZKM_OK) {
        OPENSSL_free(buf);
        return rc;
    }
    *out = buf;
    *outlen = inlen + AZKM_SEAL_OVERHEAD;
    return AZKM_OK;
}

static azkm_rc unseal(OSSL_LIB_CTX *libctx, const unsigned char key[32], const unsigned char *aad, size_t aadlen,
                      const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen, int secret)
{
    size_t n;
    unsigned char *buf, tag[TAG_LEN];
    azkm_rc rc;

    if (inlen < AZKM_SEAL_OVERHEAD)
        return AZKM_E_INTEGRITY;
    n = inlen - AZKM_SEAL_OVERHEAD;
    buf = secret ? azkm_secret_zalloc(n + 1) : OPENSSL_malloc(n + 1);
    if (buf == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory opening a record");
    memcpy(tag, in + NONCE_LEN + n, TAG_LEN);
    rc = gcm(libctx, 0, key, in, aad, aadlen, in + NONCE_LEN, n, buf, tag);
    if (rc != AZKM_OK) {
        if (secret)
            azkm_secret_free(buf, n + 1);
        else
            OPENSSL_clear_free(buf, n + 1);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    azkm_stack_scrub();
    return AZKM_OK;
}

azkm_rc azkm_unseal(OSSL_LIB_CTX *libctx, const unsigned char key[32], const unsigned char *aad, size_t aadlen,
                    const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen)
{
    return unseal(libctx, key, aad, aadlen, in, inlen, out, outlen, 0);
}

azkm_rc azkm_unseal_secret(OSSL_LIB_CTX *libctx, const unsigned char key[32], const unsigned char *aad,
                           size_t aadlen, const unsigned char *in, size_t inlen, unsigned char **out,
                           size_t *outlen)
{
    return unseal(libctx, key, aad, aadlen, in, inlen, out, outlen, 1);
}

void azkm_hmac(const unsigned char key[32], const unsigned char *data, size_t len, unsigned char mac[32])
{
    unsigned int maclen = 32;

    HMAC(EVP_sha256(), key, 32, data, len, mac, &maclen);
}
