/* The software halves of the HSM tier's raw RSA paths, for PSS and OAEP parameters that a token's own mechanisms
 * refuse (SoftHSM 2.6: OAEP with SHA-1 and no label only, PSS only with MGF1 over the message digest and no SHA-3):
 * EMSA-PSS encoding before the token's CKM_RSA_X_509 signs, checked against the public key afterwards, and EME-OAEP
 * decoding, in constant time, of what the token's CKM_RSA_X_509 decrypted. No key material is involved here: the
 * private exponent stays on the token. docs/security.md says why this is safe. */

/* RSA_padding_check_PKCS1_OAEP_mgf1 is deprecated in OpenSSL 3.0 together with the RSA type, but it is the
 * library's own constant-time OAEP decoder and OpenSSL 3 offers no other way to decode a raw RSA result: this file
 * uses it rather than a decoder of our own, whose timing nobody has reviewed. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "tiers/pkcs11/p11_tier.h"

/* MGF1 (RFC 8017 B.2.1): out ^= the mask of seed. */
static int mgf1_xor(const EVP_MD *md, const unsigned char *seed, size_t seed_len, unsigned char *out, size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char block[EVP_MAX_MD_SIZE];
    unsigned int blen = 0;
    int ok = ctx != NULL;

    for (unsigned long counter = 0, done = 0; ok && done < len; counter++) {
        unsigned char c[4] = {(unsigned char)(counter >> 24), (unsigned char)(counter >> 16),
                              (unsigned char)(counter >> 8), (unsigned char)counter};

        ok = EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, seed, seed_len) &&
             EVP_DigestUpdate(ctx, c, 4) && EVP_DigestFinal_ex(ctx, block, &blen);
        for (unsigned i = 0; ok && i < blen && done < len; i++)
            out[done++] ^= block[i];
    }
    EVP_MD_CTX_free(ctx);
    return ok;
}

azkm_rc p11_pss_encode(const p11_digest *md, const p11_digest *mgf1, size_t salt_len, unsigned key_bits,
                       const unsigned char *mhash, unsigned char *em, size_t em_len)
{
    static const unsigned char zeros[8] = {0};
    size_t em_bits = key_bits - 1, need = (em_bits + 7) / 8, hlen = md->len, db_len;
    EVP_MD *h = EVP_MD_fetch(NULL, md->evp_name, NULL), *g = EVP_MD_fetch(NULL, mgf1->evp_name, NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char salt[512], H[EVP_MAX_MD_SIZE];
    unsigned int Hlen = 0;
    azkm_rc rc = AZKM_OK;

    /* em is the modulus length; the encoding fills its last ceil((bits - 1) / 8) bytes */
    if (need > em_len || need < hlen + salt_len + 2 || salt_len > sizeof(salt))
        rc = azkm_fail(AZKM_E_INVALID, "PSS: a %zu-byte salt does not fit a %u-bit key with %s", salt_len, key_bits,
                       md->evp_name);
    else if (h == NULL || g == NULL || ctx == NULL || RAND_bytes(salt, (int)salt_len) != 1)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "PSS: %s or %s is not available", md->evp_name, mgf1->evp_name);
    if (rc == AZKM_OK) {
        unsigned char *out = em + (em_len - need);

        memset(em, 0, em_len);
        db_len = need - hlen - 1;
        /* H = Hash(0x00 x 8 || mHash || salt); DB = PS || 0x01 || salt; EM = (DB ^ MGF1(H)) || H || 0xbc */
        if (!EVP_DigestInit_ex(ctx, h, NULL) || !EVP_DigestUpdate(ctx, zeros, 8) ||
            !EVP_DigestUpdate(ctx, mhash, hlen) || !EVP_DigestUpdate(ctx, salt, salt_len) ||
            !EVP_DigestFinal_ex(ctx, H, &Hlen) || Hlen != hlen)
            rc = azkm_fail_ossl(AZKM_E_CRYPTO, "PSS: hashing failed");
        if (rc == AZKM_OK) {
            out[db_len - salt_len - 1] = 0x01;
            memcpy(out + db_len - salt_len, salt, salt_len);
            if (!mgf1_xor(g, H, hlen, out, db_len))
                rc = azkm_fail_ossl(AZKM_E_CRYPTO, "PSS: MGF1 failed");
            out[0] &= (unsigned char)(0xff >> (8 * need - em_bits));
            memcpy(out + db_len, H, hlen);
            out[need - 1] = 0xbc;
        }
    }
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(h);
    EVP_MD_free(g);
    return rc;
}

azkm_rc p11_oaep_decode(const p11_digest *md, const p11_digest *mgf1, const unsigned char *label, size_t label_len,
                        const unsigned char *em, size_t em_len, unsigned char *out, size_t *outlen)
{
    EVP_MD *h = EVP_MD_fetch(NULL, md->evp_name, NULL), *g = EVP_MD_fetch(NULL, mgf1->evp_name, NULL);
    int n = -1;

    if (h != NULL && g != NULL && em_len <= 1024)
        n = RSA_padding_check_PKCS1_OAEP_mgf1(out, (int)em_len, em, (int)em_len, (int)em_len, label, (int)label_len,
                                              h, g);
    EVP_MD_free(h);
    EVP_MD_free(g);
    /* One answer for every way the padding can be wrong: what OpenSSL queued says no more than that either. */
    ERR_clear_error();
    if (n < 0)
        return azkm_fail(AZKM_E_INTEGRITY, "RSA-OAEP decryption failed (wrong key, label or digest, or a damaged "
                                           "ciphertext)");
    *outlen = (size_t)n;
    return AZKM_OK;
}

int p11_pss_verify(EVP_PKEY *pub, const p11_digest *md, const p11_digest *mgf1, int salt_len,
                   const unsigned char *mhash, const unsigned char *sig, size_t siglen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    OSSL_PARAM params[5];
    int pad = RSA_PKCS1_PSS_PADDING, ok;

    params[0] = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &pad);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, (char *)md->evp_name, 0);
    params[2] = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, (char *)mgf1->evp_name, 0);
    params[3] = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &salt_len);
    params[4] = OSSL_PARAM_construct_end();
    ok = ctx != NULL && EVP_PKEY_verify_init_ex(ctx, params) == 1 &&
         EVP_PKEY_verify(ctx, sig, siglen, mhash, md->len) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}
