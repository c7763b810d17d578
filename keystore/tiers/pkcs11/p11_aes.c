/* AES (oct-HSM) keys on the HSM tier: key wrap (RFC 3394) and with padding (RFC 5649) through C_WrapKey and
 * C_UnwrapKey, and AES-GCM through C_Encrypt and C_Decrypt. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tiers/pkcs11/p11_tier.h"

typedef struct {
    CK_MECHANISM mech;
    const unsigned char *in;
    size_t inlen;
    unsigned char *out;
    CK_ULONG outcap;
    CK_ULONG outlen;
    int unwrap;
} wrap_args;

/* The bytes travel as a short-lived session secret object. It holds only what the caller passed in or gets back,
 * so it is neither sensitive nor unextractable. Returns the token's answer; *data_step when it came from
 * C_WrapKey / C_UnwrapKey or later. */
static CK_RV wrap_on_token(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, wrap_args *a,
                           int *data_step)
{
    p11_template tmpl;
    CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
    CK_RV rv;

    p11_tmpl_init(&tmpl);
    p11_tmpl_add_class(&tmpl, CKO_SECRET_KEY, CKK_GENERIC_SECRET);
    p11_tmpl_add_bool(&tmpl, CKA_TOKEN, 0);
    p11_tmpl_add_bool(&tmpl, CKA_SENSITIVE, 0);
    p11_tmpl_add_bool(&tmpl, CKA_EXTRACTABLE, 1);
    if (!a->unwrap)
        p11_tmpl_add_bytes(&tmpl, CKA_VALUE, a->in, a->inlen);
    if (tmpl.overflow) /* six attributes always fit */
        return CKR_TEMPLATE_INCOMPLETE;
    a->outlen = a->outcap;
    if (!a->unwrap) {
        rv = fn->C_CreateObject(s, tmpl.attr, tmpl.n, &obj);
        *data_step = rv == CKR_OK;
        if (rv == CKR_OK)
            rv = fn->C_WrapKey(s, &a->mech, key, obj, a->out, &a->outlen);
    } else {
        CK_ATTRIBUTE val = {CKA_VALUE, a->out, a->outcap};

        *data_step = 1;
        rv = fn->C_UnwrapKey(s, &a->mech, key, (CK_BYTE *)a->in, a->inlen, tmpl.attr, tmpl.n, &obj);
        if (rv == CKR_OK)
            rv = fn->C_GetAttributeValue(s, obj, &val, 1);
        if (rv == CKR_OK)
            a->outlen = val.ulValueLen;
    }
    if (obj != CK_INVALID_HANDLE)
        fn->C_DestroyObject(s, obj);
    return rv;
}

static azkm_rc wrap_op(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    p11_key_call *call = arg;
    wrap_args *a = call->arg;
    int data_step = 0;
    CK_RV rv = wrap_on_token(azkm_p11_functions(t), s, call->h, a, &data_step);

    if (rv == CKR_OK)
        return AZKM_OK;
    res->rv = rv;
    /* an unwrap the token refused may say something about the ciphertext: not tried again */
    res->final = a->unwrap && data_step;
    return azkm_p11_fail(t, rv, a->unwrap ? "unwrapping (C_UnwrapKey)" : "wrapping (C_WrapKey)");
}

/* AES key wrap (RFC 3394) and with padding (RFC 5649). */
static azkm_rc aes_key_wrap(azkm_tier_key *k, int enc, const azkm_cipher_params *p, const unsigned char *in,
                            size_t inlen, unsigned char *out, size_t *outlen)
{
    wrap_args a;
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
    memset(&a, 0, sizeof(a));
    a.mech.mechanism = p->scheme == AZKM_ENC_AES_KW ? CKM_AES_KEY_WRAP : CKM_AES_KEY_WRAP_PAD;
    a.in = in;
    a.inlen = inlen;
    a.out = out;
    a.outcap = enc ? inlen + 16 : inlen;
    a.unwrap = !enc;
    rc = p11_key_run_op(k, wrap_op, &a);
    if (rc == AZKM_OK)
        *outlen = a.outlen;
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
