/* AES (oct-HSM) keys on the HSM tier: key wrap (RFC 3394) and with padding (RFC 5649) through C_WrapKey and
 * C_UnwrapKey, and AES-GCM through C_Encrypt and C_Decrypt. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tiers/pkcs11/p11_tier.h"

/* AES key wrap (RFC 3394) and with padding (RFC 5649). */
static azkm_rc aes_key_wrap(azkm_tier_key *k, int enc, const azkm_cipher_params *p, const unsigned char *in,
                            size_t inlen, unsigned char *out, size_t *outlen)
{
    p11_crypt c = {.k = k, .dir = enc ? P11_WRAP : P11_UNWRAP, .in = in, .inlen = inlen, .out = out};
    azkm_rc rc;

    if (p->scheme == AZKM_ENC_AES_KW && (inlen < (enc ? 16u : 24u) || inlen % 8 != 0))
        return azkm_fail(AZKM_E_INVALID, "AES key wrap (RFC 3394) needs a multiple of 8 bytes, at least %d",
                         enc ? 16 : 24);
    /* SoftHSM 2.6 zero-pads before CKM_AES_KEY_WRAP_PAD instead of following RFC 5649: its output for such
     * lengths would not unwrap anywhere else. Refuse rather than return wrong data. */
    if (p->scheme == AZKM_ENC_AES_KWP && enc && inlen % 8 != 0)
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "token %s: AES key wrap with padding of %zu bytes (not a multiple of 8) is not supported "
                         "on the HSM tier: the token does not pad as RFC 5649 requires",
                         azkm_p11_token_label(k->pt->tok), inlen);
    c.mech.mechanism = p->scheme == AZKM_ENC_AES_KW ? CKM_AES_KEY_WRAP : CKM_AES_KEY_WRAP_PAD;
    c.outcap = enc ? inlen + 16 : inlen;
    c.action = enc ? "wrapping (C_WrapKey)" : "unwrapping (C_UnwrapKey)";
    rc = p11_key_run(&c);
    if (rc == AZKM_OK)
        *outlen = c.outlen;
    return rc;
}

/* The IV of an AES-GCM operation: the caller's, or a fresh one on encryption. */
static azkm_rc gcm_iv(int enc, const azkm_cipher_params *p, unsigned char iv[12])
{
    if (p->tag == NULL)
        return azkm_fail(AZKM_E_INVALID, "AES-GCM needs a buffer for the 16-byte tag");
    if (p->iv != NULL && p->iv_len != 12)
        return azkm_fail(AZKM_E_INVALID, "AES-GCM needs a 12-byte IV, not %zu bytes", p->iv_len);
    if (p->iv == NULL && !enc)
        return azkm_fail(AZKM_E_INVALID, "AES-GCM decryption needs the IV");
    if (p->iv != NULL)
        memcpy(iv, p->iv, 12);
    else if (RAND_bytes(iv, 12) != 1)
        return azkm_fail(AZKM_E_CRYPTO, "cannot generate an IV");
    return AZKM_OK;
}

/* Runs C_Encrypt / C_Decrypt with CKM_AES_GCM into buf (inlen + 16 bytes: ciphertext || tag on encryption). */
static azkm_rc gcm_run(azkm_tier_key *k, int enc, const azkm_cipher_params *p, unsigned char iv[12],
                       const unsigned char *in, size_t inlen, unsigned char *buf, size_t *buflen)
{
    CK_GCM_PARAMS gcm;
    p11_crypt c = {.k = k, .dir = enc ? P11_ENCRYPT : P11_DECRYPT, .in = in, .inlen = inlen, .out = buf};
    unsigned char *joined = NULL;
    azkm_rc rc;

    memset(&gcm, 0, sizeof(gcm));
    gcm.pIv = iv;
    gcm.ulIvLen = 12;
    gcm.ulIvBits = 96;
    gcm.pAAD = (CK_BYTE *)p->aad;
    gcm.ulAADLen = p->aad_len;
    gcm.ulTagBits = 128;
    c.mech = (CK_MECHANISM){CKM_AES_GCM, &gcm, sizeof(gcm)};
    c.outcap = inlen + 16;
    c.action = enc ? "AES-GCM encryption" : "AES-GCM decryption";
    if (!enc) {
        /* the token takes ciphertext || tag */
        if ((joined = OPENSSL_malloc(inlen + 16)) == NULL)
            return azkm_fail(AZKM_E_NOMEM, "out of memory");
        memcpy(joined, in, inlen);
        memcpy(joined + inlen, p->tag, 16);
        c.in = joined;
        c.inlen = inlen + 16;
    }
    rc = p11_key_run(&c);
    if (rc != AZKM_OK && !enc && c.data_failed)
        /* tokens answer a bad tag with various codes (SoftHSM: CKR_GENERAL_ERROR) */
        rc = azkm_fail(AZKM_E_INTEGRITY,
                       "AES-GCM decryption failed: wrong key, or the data, AAD or tag was altered (%s)",
                       azkm_last_error());
    OPENSSL_free(joined);
    *buflen = c.outlen;
    return rc;
}

static azkm_rc aes_gcm(azkm_tier_key *k, int enc, const azkm_cipher_params *p, const unsigned char *in,
                       size_t inlen, unsigned char *out, size_t *outlen)
{
    unsigned char iv[12], *buf;
    size_t buflen = 0;
    azkm_rc rc = gcm_iv(enc, p, iv);

    if (rc != AZKM_OK)
        return rc;
    if ((buf = OPENSSL_malloc(inlen + 16)) == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    rc = gcm_run(k, enc, p, iv, in, inlen, buf, &buflen);
    if (rc == AZKM_OK && enc) {
        memcpy(out, buf, inlen);
        memcpy(p->tag, buf + inlen, 16);
        if (p->iv == NULL && p->iv_out != NULL)
            memcpy(p->iv_out, iv, 12);
        *outlen = inlen;
    } else if (rc == AZKM_OK) {
        memcpy(out, buf, buflen);
        *outlen = buflen;
    }
    OPENSSL_clear_free(buf, inlen + 16);
    return rc;
}

azkm_rc p11_aes(azkm_tier_key *k, int enc, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                unsigned char *out, size_t *outlen)
{
    /* key_bits 0: the token does not say (SoftHSM 2.6 leaves CKA_VALUE_LEN 0 on keys made by C_UnwrapKey) */
    if (p->key_bits != 0 && k->key_bits != 0 && p->key_bits != k->key_bits)
        return azkm_fail(AZKM_E_INVALID, "key %s: the algorithm needs a %u-bit key, this key has %u bits", k->name,
                         p->key_bits, k->key_bits);
    if (p->scheme == AZKM_ENC_AES_KW || p->scheme == AZKM_ENC_AES_KWP)
        return aes_key_wrap(k, enc, p, in, inlen, out, outlen);
    if (p->scheme == AZKM_ENC_AES_GCM)
        return aes_gcm(k, enc, p, in, inlen, out, outlen);
    return azkm_fail(AZKM_E_INVALID, "key %s: this algorithm does not apply to an oct key", k->name);
}
