/* The HSM tier (Azure's Premium / Managed HSM): private and secret keys live in a PKCS#11 token and every
 * operation runs there with the token's own mechanism: one C_*Init + one C_* call per operation, on a pooled,
 * logged-in session, with the object handle found once and re-found only after re-initialisation (fork). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tiers/pkcs11/p11_tier.h"
#include "tiers/pkcs11/pkcs11.h"

struct azkm_tier_key {
    p11_tier *pt;
    azkm_kty kty;
    p11_ref ref;
    CK_OBJECT_HANDLE handle; /* the session copy when the token allowed one, else the token object */
    int is_copy;
    unsigned long generation;
    size_t modulus_len; /* RSA */
    size_t field_len;   /* EC */
    unsigned key_bits;  /* RSA modulus bits */
    char name[AZKM_URI_MAX];
};

/* di: the DER DigestInfo header that precedes the digest in a PKCS#1 v1.5 signature (RFC 8017 section 9.2,
 * note 1), fixed for each digest. */
#define DI(bytes) (const unsigned char *)(bytes), sizeof(bytes) - 1

static const struct {
    const char *name;
    CK_MECHANISM_TYPE hash;
    CK_RSA_PKCS_MGF_TYPE mgf;
    size_t len;
    const unsigned char *di;
    size_t di_len;
} digests[] = {
    {"SHA1", CKM_SHA_1, CKG_MGF1_SHA1, 20, DI("\x30\x21\x30\x09\x06\x05\x2b\x0e\x03\x02\x1a\x05\x00\x04\x14")},
    {"SHA224", CKM_SHA224, CKG_MGF1_SHA224, 28,
     DI("\x30\x2d\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x04\x05\x00\x04\x1c")},
    {"SHA256", CKM_SHA256, CKG_MGF1_SHA256, 32,
     DI("\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20")},
    {"SHA384", CKM_SHA384, CKG_MGF1_SHA384, 48,
     DI("\x30\x41\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x02\x05\x00\x04\x30")},
    {"SHA512", CKM_SHA512, CKG_MGF1_SHA512, 64,
     DI("\x30\x51\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x03\x05\x00\x04\x40")},
};

static int digest_index(const char *name)
{
    char canon[16];
    size_t j = 0;

    if (name == NULL)
        return -1;
    /* accept "SHA256", "SHA2-256", "sha-256" */
    for (size_t i = 0; name[i] && j + 1 < sizeof(canon); i++) {
        char c = name[i];

        if (c == '-')
            continue;
        canon[j++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    canon[j] = '\0';
    if (strncmp(canon, "SHA2", 4) == 0 && strlen(canon) == 7)
        memmove(canon + 3, canon + 4, 4);
    for (int i = 0; i < (int)(sizeof(digests) / sizeof(digests[0])); i++)
        if (strcmp(canon, digests[i].name) == 0)
            return i;
    return -1;
}

/* Finds the key object and, when the token allows it, makes a session copy of it: operations on a session
 * object skip the token object store (about 60% faster ECDSA on SoftHSM). The copy keeps CKA_SENSITIVE and
 * CKA_EXTRACTABLE, lives in the token's owner session, and is destroyed with the key. */
static azkm_rc find_handle(azkm_tier_key *k, CK_SESSION_HANDLE s)
{
    CK_FUNCTION_LIST *fn = azkm_p11_functions(k->pt->tok);
    CK_OBJECT_HANDLE h, copy = CK_INVALID_HANDLE;
    CK_SESSION_HANDLE owner;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE tmpl = {CKA_TOKEN, &no, sizeof(no)};
    azkm_rc rc = azkm_p11_find(k->pt->tok, s, k->kty == AZKM_KTY_OCT ? CKO_SECRET_KEY : CKO_PRIVATE_KEY, k->ref.id,
                               k->ref.idlen, k->ref.label[0] ? k->ref.label : NULL, &h);

    if (rc != AZKM_OK)
        return rc;
    k->handle = h;
    k->is_copy = 0;
    k->generation = azkm_p11_generation(k->pt->tok);
    if (azkm_p11_owner_session(k->pt->tok, &owner) == AZKM_OK &&
        fn->C_CopyObject(owner, h, &tmpl, 1, &copy) == CKR_OK) {
        k->handle = copy;
        k->is_copy = 1;
    }
    azkm_clear_error();
    return AZKM_OK;
}

/* Runs one operation with a borrowed session; re-finds the handle after a re-initialisation. */
typedef CK_RV (*p11_op)(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, azkm_tier_key *k, void *arg);

static azkm_rc with_session(azkm_tier_key *k, p11_op op, void *arg, const char *action)
{
    CK_SESSION_HANDLE s;
    CK_FUNCTION_LIST *fn = azkm_p11_functions(k->pt->tok);
    azkm_rc rc = azkm_p11_session_get(k->pt->tok, &s);
    CK_RV rv;

    if (rc != AZKM_OK)
        return rc; /* the caller names the key */
    if (k->generation != azkm_p11_generation(k->pt->tok) || k->handle == CK_INVALID_HANDLE) {
        rc = find_handle(k, s);
        if (rc != AZKM_OK) {
            azkm_p11_session_put(k->pt->tok, s, 0);
            return rc;
        }
    }
    rv = op(fn, s, k, arg);
    azkm_p11_session_put(k->pt->tok, s, azkm_p11_session_broken(rv));
    if (rv != CKR_OK)
        return azkm_p11_fail(k->pt->tok, rv, action); /* the caller names the key */
    return AZKM_OK;
}

typedef struct {
    CK_MECHANISM mech;
    const unsigned char *in;
    size_t inlen;
    unsigned char *out;
    CK_ULONG outlen;
    int decrypt;
} crypt_args;

static CK_RV do_sign(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, azkm_tier_key *k, void *arg)
{
    crypt_args *a = arg;
    CK_RV rv = fn->C_SignInit(s, &a->mech, k->handle);

    if (rv == CKR_OK)
        rv = fn->C_Sign(s, (CK_BYTE *)a->in, a->inlen, a->out, &a->outlen);
    return rv;
}

static CK_RV do_crypt(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, azkm_tier_key *k, void *arg)
{
    crypt_args *a = arg;
    CK_RV rv;

    if (a->decrypt) {
        rv = fn->C_DecryptInit(s, &a->mech, k->handle);
        if (rv == CKR_OK)
            rv = fn->C_Decrypt(s, (CK_BYTE *)a->in, a->inlen, a->out, &a->outlen);
    } else {
        rv = fn->C_EncryptInit(s, &a->mech, k->handle);
        if (rv == CKR_OK)
            rv = fn->C_Encrypt(s, (CK_BYTE *)a->in, a->inlen, a->out, &a->outlen);
    }
    return rv;
}

/* Appends a DER INTEGER holding the unsigned big-endian v; returns its length. At most 2 + 1 + len bytes. */
static size_t der_uint(unsigned char *out, const unsigned char *v, size_t len)
{
    size_t pad, n = 0;

    while (len > 1 && v[0] == 0) {
        v++;
        len--;
    }
    pad = (v[0] & 0x80) != 0;
    out[n++] = 0x02;
    out[n++] = (unsigned char)(len + pad);
    if (pad)
        out[n++] = 0;
    memcpy(out + n, v, len);
    return n + len;
}

/* The token gives r || s; OpenSSL and X.509 want DER, SEQUENCE { INTEGER r, INTEGER s }. Encoded directly, as
 * ECDSA_SIG and two BIGNUMs would cost five allocations per signature. half is at most 66 (P-521), so each
 * INTEGER is under 128 bytes and the SEQUENCE under 256. */
static size_t ecdsa_der(const unsigned char *raw, size_t half, unsigned char *out)
{
    unsigned char body[2 * (3 + 66)];
    size_t len = der_uint(body, raw, half), n = 0;

    len += der_uint(body + len, raw + half, half);
    out[n++] = 0x30;
    if (len >= 128)
        out[n++] = 0x81;
    out[n++] = (unsigned char)len;
    memcpy(out + n, body, len);
    return n + len;
}

static azkm_rc p11_sign(azkm_tier_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                        unsigned char *sig, size_t *siglen)
{
    crypt_args a;
    int di = digest_index(p->digest);
    unsigned char encoded[19 + 64], raw[132];
    CK_RSA_PKCS_PSS_PARAMS pss;
    azkm_rc rc;

    memset(&a, 0, sizeof(a));
    if (p->digest != NULL && di < 0)
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: digest %s is not supported on the HSM tier", k->name,
                         p->digest);
    if (di >= 0 && inlen != digests[di].len)
        return azkm_fail(AZKM_E_INVALID, "key %s: a %s digest is %zu bytes, not %zu", k->name, p->digest,
                         digests[di].len, inlen);
    a.in = in;
    a.inlen = inlen;
    a.out = sig;
    a.outlen = (CK_ULONG)k->modulus_len;
    switch (p->scheme) {
    case AZKM_SIG_RSA_PKCS1:
        a.mech.mechanism = CKM_RSA_PKCS;
        if (di >= 0) {
            memcpy(encoded, digests[di].di, digests[di].di_len);
            memcpy(encoded + digests[di].di_len, in, inlen);
            a.in = encoded;
            a.inlen = digests[di].di_len + inlen;
        }
        break;
    case AZKM_SIG_RSA_PSS: {
        int mi = p->mgf1_digest ? digest_index(p->mgf1_digest) : di;
        size_t em_len = (k->key_bits - 1 + 7) / 8, max_salt = em_len - digests[di].len - 2;

        if (mi < 0)
            return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: MGF1 digest %s is not supported", k->name,
                             p->mgf1_digest);
        pss.hashAlg = digests[di].hash;
        pss.mgf = digests[mi].mgf;
        if (p->pss_saltlen == AZKM_PSS_SALT_DIGEST)
            pss.sLen = digests[di].len;
        else if (p->pss_saltlen == AZKM_PSS_SALT_MAX || p->pss_saltlen == AZKM_PSS_SALT_AUTO)
            pss.sLen = max_salt;
        else if (p->pss_saltlen >= 0 && (size_t)p->pss_saltlen <= max_salt)
            pss.sLen = (CK_ULONG)p->pss_saltlen;
        else
            return azkm_fail(AZKM_E_INVALID, "key %s: PSS salt length %d is out of range (0-%zu)", k->name,
                             p->pss_saltlen, max_salt);
        a.mech.mechanism = CKM_RSA_PKCS_PSS;
        a.mech.pParameter = &pss;
        a.mech.ulParameterLen = sizeof(pss);
        break;
    }
    case AZKM_SIG_ECDSA:
    case AZKM_SIG_EDDSA: /* pure Ed25519 / Ed448: CKM_EDDSA without parameters, over the message */
        a.mech.mechanism = p->scheme == AZKM_SIG_ECDSA ? CKM_ECDSA : CKM_EDDSA;
        a.out = raw;
        a.outlen = sizeof(raw);
        break;
    }
    rc = with_session(k, do_sign, &a, "signing");
    if (rc != AZKM_OK)
        return rc;
    if (p->scheme == AZKM_SIG_EDDSA) {
        if (a.outlen != 64 && a.outlen != 114)
            return azkm_fail(AZKM_E_CRYPTO, "key %s: the token returned a malformed EdDSA signature", k->name);
        memcpy(sig, raw, a.outlen);
        *siglen = a.outlen;
        return AZKM_OK;
    }
    if (p->scheme == AZKM_SIG_ECDSA) {
        if (a.outlen == 0 || a.outlen % 2 != 0 || a.outlen > sizeof(raw))
            return azkm_fail(AZKM_E_CRYPTO, "key %s: the token returned a malformed ECDSA signature", k->name);
        *siglen = ecdsa_der(raw, a.outlen / 2, sig);
        return AZKM_OK;
    }
    *siglen = a.outlen;
    return AZKM_OK;
}

/* TLS RSA key exchange: a failed or malformed decryption yields a random premaster secret, chosen without a
 * branch on the outcome, so that the handshake fails later in the same way either way (RFC 5246 7.4.7.1). */
static azkm_rc tls_premaster(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                             unsigned char *out, size_t *outlen)
{
    unsigned char buf[1024], rnd[48];
    crypt_args a;
    azkm_rc rc;
    unsigned good;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return azkm_fail(AZKM_E_CRYPTO, "key %s: no randomness", k->name);
    memset(&a, 0, sizeof(a));
    a.mech.mechanism = CKM_RSA_PKCS;
    a.in = in;
    a.inlen = inlen;
    a.out = buf;
    a.outlen = sizeof(buf);
    a.decrypt = 1;
    rc = with_session(k, do_crypt, &a, "decrypting");
    good = CRYPTO_memcmp(&rc, &(azkm_rc){AZKM_OK}, sizeof(rc)) == 0;
    good &= a.outlen == 48;
    good &= buf[0] == (unsigned char)(p->tls_client_version >> 8);
    good &= buf[1] == (unsigned char)(p->tls_client_version & 0xff);
    for (size_t i = 0; i < 48; i++) {
        unsigned char mask = (unsigned char)(0 - good);

        out[i] = (unsigned char)((buf[i] & mask) | (rnd[i] & (unsigned char)~mask));
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    azkm_clear_error();
    *outlen = 48;
    return AZKM_OK;
}

static azkm_rc rsa_decrypt(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                           unsigned char *out, size_t *outlen)
{
    crypt_args a;
    CK_RSA_PKCS_OAEP_PARAMS oaep;
    unsigned char buf[1024];
    azkm_rc rc;

    if (p->scheme == AZKM_ENC_RSA_TLS)
        return tls_premaster(k, p, in, inlen, out, outlen);
    memset(&a, 0, sizeof(a));
    a.in = in;
    a.inlen = inlen;
    a.out = buf;
    a.outlen = sizeof(buf);
    a.decrypt = 1;
    if (p->scheme == AZKM_ENC_RSA_PKCS1) {
        a.mech.mechanism = CKM_RSA_PKCS;
    } else if (p->scheme == AZKM_ENC_RSA_OAEP) {
        int di = digest_index(p->oaep_digest ? p->oaep_digest : "SHA1");
        int mi = digest_index(p->mgf1_digest ? p->mgf1_digest : p->oaep_digest ? p->oaep_digest : "SHA1");

        if (di < 0 || mi < 0)
            return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: OAEP digest not supported on the HSM tier", k->name);
        oaep.hashAlg = digests[di].hash;
        oaep.mgf = digests[mi].mgf;
        oaep.source = CKZ_DATA_SPECIFIED;
        oaep.pSourceData = (void *)p->label;
        oaep.ulSourceDataLen = p->label_len;
        a.mech.mechanism = CKM_RSA_PKCS_OAEP;
        a.mech.pParameter = &oaep;
        a.mech.ulParameterLen = sizeof(oaep);
    } else {
        return azkm_fail(AZKM_E_INVALID, "key %s: this algorithm does not apply to an RSA key", k->name);
    }
    rc = with_session(k, do_crypt, &a, "decrypting");
    if (rc != AZKM_OK && a.mech.mechanism == CKM_RSA_PKCS_OAEP && oaep.hashAlg != CKM_SHA_1 &&
        strstr(azkm_last_error(), "CKR_ARGUMENTS_BAD") != NULL)
        /* SoftHSM 2.6 accepts only SHA-1 for OAEP and says so this way */
        rc = azkm_fail(AZKM_E_UNSUPPORTED, "token %s does not support RSA-OAEP with %s (%s)",
                       azkm_p11_token_label(k->pt->tok), p->oaep_digest, azkm_last_error());
    if (rc == AZKM_OK) {
        memcpy(out, buf, a.outlen);
        *outlen = a.outlen;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

typedef struct {
    CK_MECHANISM mech;
    const unsigned char *in;
    size_t inlen;
    unsigned char *out;
    CK_ULONG outlen;
    int unwrap;
} wrap_args;

/* AES key wrap through C_WrapKey / C_UnwrapKey: the bytes travel as a short-lived session secret object. It holds
 * only what the caller passed in or gets back, so it is neither sensitive nor unextractable. */
static CK_RV do_wrap(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, azkm_tier_key *k, void *arg)
{
    wrap_args *a = arg;
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
    if (tmpl.overflow) /* an operation reports a CK_RV; six attributes always fit */
        return CKR_TEMPLATE_INCOMPLETE;
    if (!a->unwrap) {
        rv = fn->C_CreateObject(s, tmpl.attr, tmpl.n, &obj);
        if (rv == CKR_OK)
            rv = fn->C_WrapKey(s, &a->mech, k->handle, obj, a->out, &a->outlen);
    } else {
        CK_ATTRIBUTE val = {CKA_VALUE, a->out, a->outlen};

        rv = fn->C_UnwrapKey(s, &a->mech, k->handle, (CK_BYTE *)a->in, a->inlen, tmpl.attr, tmpl.n, &obj);
        if (rv == CKR_OK)
            rv = fn->C_GetAttributeValue(s, obj, &val, 1);
        if (rv == CKR_OK)
            a->outlen = val.ulValueLen;
    }
    if (obj != CK_INVALID_HANDLE)
        fn->C_DestroyObject(s, obj);
    return rv;
}

/* AES key wrap (RFC 3394) and with padding (RFC 5649) through C_WrapKey / C_UnwrapKey. */
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
    a.outlen = enc ? inlen + 16 : inlen;
    a.unwrap = !enc;
    rc = with_session(k, do_wrap, &a, enc ? "wrapping (C_WrapKey)" : "unwrapping (C_UnwrapKey)");
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
    crypt_args a;
    unsigned char *joined = NULL;
    azkm_rc rc;

    memset(&gcm, 0, sizeof(gcm));
    gcm.pIv = iv;
    gcm.ulIvLen = 12;
    gcm.ulIvBits = 96;
    gcm.pAAD = (CK_BYTE *)p->aad;
    gcm.ulAADLen = p->aad_len;
    gcm.ulTagBits = 128;
    memset(&a, 0, sizeof(a));
    a.mech.mechanism = CKM_AES_GCM;
    a.mech.pParameter = &gcm;
    a.mech.ulParameterLen = sizeof(gcm);
    a.decrypt = !enc;
    a.out = buf;
    a.outlen = inlen + 16;
    a.in = in;
    a.inlen = inlen;
    if (!enc) {
        /* the token takes ciphertext || tag */
        if ((joined = OPENSSL_malloc(inlen + 16)) == NULL)
            return azkm_fail(AZKM_E_NOMEM, "out of memory");
        memcpy(joined, in, inlen);
        memcpy(joined + inlen, p->tag, 16);
        a.in = joined;
        a.inlen = inlen + 16;
    }
    rc = with_session(k, do_crypt, &a, enc ? "AES-GCM encryption" : "AES-GCM decryption");
    if (rc != AZKM_OK && !enc && strstr(azkm_last_error(), "AES-GCM decryption failed: CKR_") != NULL)
        /* tokens answer a bad tag with various codes (SoftHSM: CKR_GENERAL_ERROR) */
        rc = azkm_fail(AZKM_E_INTEGRITY,
                       "AES-GCM decryption failed: wrong key, or the data, AAD or tag was altered (%s)",
                       azkm_last_error());
    OPENSSL_free(joined);
    *buflen = a.outlen;
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

static azkm_rc aes(azkm_tier_key *k, int enc, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
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

static azkm_rc p11_decrypt(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                           unsigned char *out, size_t *outlen)
{
    if (k->kty == AZKM_KTY_RSA)
        return rsa_decrypt(k, p, in, inlen, out, outlen);
    if (k->kty == AZKM_KTY_OCT)
        return aes(k, 0, p, in, inlen, out, outlen);
    return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: EC keys do not decrypt", k->name);
}

static azkm_rc p11_encrypt(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                           unsigned char *out, size_t *outlen)
{
    if (k->kty != AZKM_KTY_OCT)
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: the HSM tier encrypts only with oct keys", k->name);
    return aes(k, 1, p, in, inlen, out, outlen);
}

typedef struct {
    CK_ECDH1_DERIVE_PARAMS params;
    CK_MECHANISM mech;
    unsigned char *out;
    CK_ULONG outlen;
    CK_RV rv;
} derive_args;

/* ECDH into a session secret (p11_tmpl_session_secret) whose value is read, then the object destroyed: the private
 * key itself stays sensitive and unextractable. */
static CK_RV do_derive(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, azkm_tier_key *k, void *arg)
{
    derive_args *a = arg;
    p11_template tmpl;
    CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
    CK_ATTRIBUTE val = {CKA_VALUE, a->out, a->outlen};

    p11_tmpl_init(&tmpl);
    p11_tmpl_session_secret(&tmpl, a->outlen);
    if (tmpl.overflow) /* an operation reports a CK_RV; five attributes always fit */
        return a->rv = CKR_TEMPLATE_INCOMPLETE;
    a->rv = fn->C_DeriveKey(s, &a->mech, k->handle, tmpl.attr, tmpl.n, &obj);
    if (a->rv == CKR_OK)
        a->rv = fn->C_GetAttributeValue(s, obj, &val, 1);
    if (a->rv == CKR_OK)
        a->outlen = val.ulValueLen;
    if (obj != CK_INVALID_HANDLE)
        fn->C_DestroyObject(s, obj);
    return a->rv;
}

/* The peer's point goes to the token as it is: uncompressed, the form PKCS#11 asks tokens to take. */
static azkm_rc p11_derive(azkm_tier_key *k, const unsigned char *point, size_t point_len, unsigned char *out,
                          size_t *outlen)
{
    derive_args a;
    azkm_rc rc;

    if (k->kty != AZKM_KTY_EC)
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: only EC keys derive a shared secret", k->name);
    if (point_len < 3 || point_len % 2 != 1 || point[0] != 0x04)
        return azkm_fail(AZKM_E_INVALID, "key %s: the peer's point is not uncompressed", k->name);
    memset(&a, 0, sizeof(a));
    a.params = (CK_ECDH1_DERIVE_PARAMS){CKD_NULL, 0, NULL, (CK_ULONG)point_len, (CK_BYTE *)point};
    a.mech = (CK_MECHANISM){CKM_ECDH1_DERIVE, &a.params, sizeof(a.params)};
    a.out = out;
    a.outlen = (CK_ULONG)(point_len - 1) / 2; /* Z is the x-coordinate: as long as the field */
    rc = with_session(k, do_derive, &a, "ECDH (C_DeriveKey)");
    if (rc != AZKM_OK && a.rv == CKR_KEY_FUNCTION_NOT_PERMITTED)
        return azkm_fail(AZKM_E_FORBIDDEN,
                         "token %s: the key's token object does not allow derivation (CKA_DERIVE is false: made "
                         "before azkm offered ECDH, or adopted so); rotate the key to get one that does",
                         azkm_p11_token_label(k->pt->tok));
    if (rc == AZKM_OK)
        *outlen = a.outlen;
    return rc;
}

static void p11_key_free(azkm_tier_key *k)
{
    CK_SESSION_HANDLE owner;

    /* A copy made by this process (not inherited through fork) goes with the key. */
    if (k != NULL && k->is_copy && k->generation == azkm_p11_generation(k->pt->tok) &&
        azkm_p11_owner_session(k->pt->tok, &owner) == AZKM_OK)
        azkm_p11_functions(k->pt->tok)->C_DestroyObject(owner, k->handle);
    OPENSSL_free(k);
}

static azkm_rc p11_load(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len,
                        azkm_tier_key **out)
{
    azkm_tier_key *k = OPENSSL_zalloc(sizeof(*k));
    CK_SESSION_HANDLE s;
    azkm_rc rc;

    if (k == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    k->pt = t->impl;
    k->kty = ref->kty;
    k->handle = CK_INVALID_HANDLE;
    snprintf(k->name, sizeof(k->name), "azkm://%s/keys/%s/%s", ref->vault, ref->name, ref->version);
    rc = p11_parse_material(material, len, &k->ref);
    if (rc == AZKM_OK && !k->ref.adopted) {
        /* The catalog record names its token object by id and label: both must be this version's, so that a
         * reference copied from another key's record is refused. */
        char label[256];
        unsigned char id[16];

        p11_object_label(ref, label, sizeof(label));
        p11_version_id(ref->version, id);
        if (k->ref.idlen != sizeof(id) || memcmp(k->ref.id, id, sizeof(id)) != 0 ||
            strcmp(k->ref.label, label) != 0)
            rc = azkm_fail(AZKM_E_INTEGRITY,
                           "vault %s: integrity check failed for key %s version %s: its token reference names "
                           "another key's object",
                           ref->vault, ref->name, ref->version);
    }
    /* Find the object now, so that a missing token, PIN or object is reported at load time. */
    if (rc == AZKM_OK && (rc = azkm_p11_session_get(k->pt->tok, &s)) == AZKM_OK) {
        CK_OBJECT_HANDLE h;

        rc = find_handle(k, s);
        h = k->handle;
        if (rc == AZKM_OK && k->kty != AZKM_KTY_OCT) {
            CK_ULONG bits = 0;
            CK_ATTRIBUTE a = {k->kty == AZKM_KTY_RSA ? CKA_MODULUS : CKA_EC_PARAMS, NULL, 0};

            if (azkm_p11_functions(k->pt->tok)->C_GetAttributeValue(s, h, &a, 1) == CKR_OK &&
                k->kty == AZKM_KTY_RSA)
                bits = a.ulValueLen * 8;
            k->key_bits = (unsigned)bits;
            k->modulus_len = a.ulValueLen;
        } else if (rc == AZKM_OK) {
            CK_ULONG vlen = 0;
            CK_ATTRIBUTE a = {CKA_VALUE_LEN, &vlen, sizeof(vlen)};

            azkm_p11_functions(k->pt->tok)->C_GetAttributeValue(s, h, &a, 1);
            k->key_bits = (unsigned)(vlen * 8);
        }
        azkm_p11_session_put(k->pt->tok, s, 0);
    }
    if (rc != AZKM_OK) {
        azkm_rc keep = rc;

        rc = azkm_fail(keep, "key %s: %s", k->name, azkm_last_error());
        OPENSSL_free(k);
        return rc;
    }
    *out = k;
    return AZKM_OK;
}

static void p11_tier_free(azkm_tier *t)
{
    /* Tokens stay set up for the life of the process: other vaults and forked children may use them. */
    OPENSSL_free(t->impl);
    OPENSSL_free(t);
}

static azkm_rc p11_check(azkm_tier *t)
{
    p11_tier *pt = t->impl;
    CK_SESSION_HANDLE s;
    azkm_rc rc = azkm_p11_session_get(pt->tok, &s);

    if (rc == AZKM_OK)
        azkm_p11_session_put(pt->tok, s, 0);
    return rc;
}

static const azkm_tier_ops pkcs11_ops = {
    .name = "pkcs11",
    .generate = p11_generate,
    .import = p11_import,
    .load = p11_load,
    .sign = p11_sign,
    .decrypt = p11_decrypt,
    .encrypt = p11_encrypt,
    .destroy = p11_destroy,
    .key_free = p11_key_free,
    .tier_free = p11_tier_free,
    .check = p11_check,
    .adopt = azkm_tier_pkcs11_adopt,
    .unwrap_import = azkm_tier_pkcs11_unwrap_import,
    .derive = p11_derive,
};

azkm_rc azkm_tier_pkcs11_new(OSSL_LIB_CTX *libctx, const char *propq, const void *settings, azkm_tier **out)
{
    const azkm_tier_pkcs11_settings *cfg = settings;
    azkm_tier *t = OPENSSL_zalloc(sizeof(*t));
    p11_tier *pt = OPENSSL_zalloc(sizeof(*pt));
    azkm_rc rc;

    if (t == NULL || pt == NULL) {
        OPENSSL_free(t);
        OPENSSL_free(pt);
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    }
    rc = azkm_p11_token_get(cfg->module, cfg->token, cfg->pin_source, cfg->pin_cb, cfg->pin_arg, &pt->tok);
    if (rc != AZKM_OK) {
        OPENSSL_free(t);
        OPENSSL_free(pt);
        return rc;
    }
    pt->libctx = libctx;
    pt->propq = propq;
    t->ops = &pkcs11_ops;
    t->libctx = libctx;
    t->propq = propq;
    t->impl = pt;
    *out = t;
    return AZKM_OK;
}
