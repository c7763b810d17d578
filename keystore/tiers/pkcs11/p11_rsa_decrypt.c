/* RSA decryption on the HSM tier: PKCS#1 v1.5, the TLS 1.2 premaster secret (depadded in constant time, a random
 * one on failure), and RSA-OAEP with the token's CKM_RSA_PKCS_OAEP when it takes the parameters, else the token's
 * raw RSA with the OAEP decoding in software (p11_rsa_pad.c): any digest and MGF1 digest of p11_digests, labels.
 * decrypt runs C_Decrypt (CKA_DECRYPT); unwrapKey runs C_UnwrapKey (CKA_UNWRAP) into a short-lived session object
 * whose value is read back, so that a key whose key_ops have only one of them needs only its flag. Raw RSA is a
 * C_Decrypt: an unwrapKey whose parameters the token's C_UnwrapKey refuses takes it only when the key's object
 * allows decryption too, and otherwise says so. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tiers/pkcs11/p11_tier.h"

/* Bit of native_refused for OAEP whose MGF1 digest is not the OAEP digest (one bit for all such pairs). */
#define P11_REFUSED_OAEP_MGF (1u << 31)

/* 0xff when a == b (both below 2^31), 0 otherwise, without a branch. */
static unsigned char ct_eq(unsigned a, unsigned b)
{
    return (unsigned char)(0u - (((a ^ b) - 1u) >> 31));
}

/* 0xff when m (48 bytes) starts with the client version, or with the negotiated one when it is given (OpenSSL's
 * SSL_OP_TLS_ROLLBACK_BUG workaround), as OpenSSL's TLS padding mode checks it. */
static unsigned char tls_version_good(const unsigned char *m, const azkm_cipher_params *p)
{
    unsigned cv = p->tls_client_version, av = p->tls_alt_version;
    unsigned char good = ct_eq(m[0], (cv >> 8) & 0xff) & ct_eq(m[1], cv & 0xff);

    good |= (unsigned char)~ct_eq(av, 0) & ct_eq(m[0], (av >> 8) & 0xff) & ct_eq(m[1], av & 0xff);
    return good;
}

/* 0xff when em (the raw RSA result, n bytes, n >= 59) is a PKCS#1 v1.5 encryption block of 48 bytes: 00 02, n - 51
 * nonzero bytes, 00, the message. Every byte is looked at whatever the outcome. */
static unsigned char tls_block_good(const unsigned char *em, size_t n)
{
    unsigned char good = ct_eq(em[0], 0) & ct_eq(em[1], 2) & ct_eq(em[n - 49], 0);

    for (size_t i = 2; i < n - 49; i++)
        good &= (unsigned char)~ct_eq(em[i], 0);
    return good;
}

/* One decryption of the premaster: raw RSA (CKM_RSA_X_509) when the token offers it, the block checked here in
 * constant time, so that a bad padding takes the token's success path (SoftHSM logs a failed CKM_RSA_PKCS
 * decryption to syslog: a timing difference); else the token's CKM_RSA_PKCS. *m is the 48-byte candidate in em,
 * *good 0xff when it is the premaster. Branches only on what the ciphertext does not decide (the mechanism, a
 * refusal in C_DecryptInit, a failure of raw RSA: a ciphertext not below the modulus). */
static void tls_decrypt(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                        unsigned char em[1024], const unsigned char **m, unsigned char *good)
{
    unsigned char buf[1024] = {0}; /* read below even when the token wrote nothing: masked out then */
    size_t n = k->modulus_len;
    int raw = azkm_p11_has_mechanism(k->pt->tok, CKM_RSA_X_509) && n >= 59 && n <= sizeof(buf);
    p11_crypt c = {.k = k, .dir = P11_DECRYPT, .in = in, .inlen = inlen, .out = buf, .outcap = sizeof(buf)};
    azkm_rc rc;

    c.mech = (CK_MECHANISM){raw ? CKM_RSA_X_509 : CKM_RSA_PKCS, NULL, 0};
    c.action = "decrypting";
    rc = p11_key_run(&c);
    if (raw && rc != AZKM_OK && c.init_refused) { /* the key's object refuses raw RSA: the token's depadding */
        raw = 0;
        c.mech.mechanism = CKM_RSA_PKCS;
        rc = p11_key_run(&c);
    }
    *good = ct_eq(rc, AZKM_OK);
    if (raw && rc == AZKM_OK && c.outlen <= n) {
        /* the token may leave out leading zero bytes (SoftHSM does not): the block is exactly the modulus long */
        memcpy(em + (n - c.outlen), buf, c.outlen);
        *good &= tls_block_good(em, n);
        *m = em + n - 48;
    } else {
        *good &= ct_eq(raw ? 1 : (unsigned)c.outlen, 48);
        memcpy(em, buf, 48);
        *m = em;
    }
    *good &= tls_version_good(*m, p);
    OPENSSL_cleanse(buf, sizeof(buf));
}

/* TLS RSA key exchange: a failed or malformed decryption, or a wrong version, yields a random premaster secret,
 * chosen without a branch on the outcome, so that the handshake fails later in the same way either way (RFC 5246
 * 7.4.7.1), as OpenSSL's TLS padding mode does on the software tier. */
static azkm_rc tls_premaster(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                             unsigned char *out, size_t *outlen)
{
    unsigned char em[1024], rnd[48], good;
    const unsigned char *m;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return azkm_fail(AZKM_E_CRYPTO, "key %s: no randomness", k->name);
    memset(em, 0, sizeof(em));
    tls_decrypt(k, p, in, inlen, em, &m, &good);
    for (size_t i = 0; i < 48; i++)
        out[i] = (unsigned char)((m[i] & good) | (rnd[i] & (unsigned char)~good));
    OPENSSL_cleanse(em, sizeof(em));
    OPENSSL_cleanse(rnd, sizeof(rnd));
    azkm_clear_error();
    *outlen = 48;
    return AZKM_OK;
}

/* OAEP as raw RSA: m = c^d on the token (C_Decrypt with CKM_RSA_X_509, under the key's CKA_DECRYPT like the token's
 * own OAEP), decoded here in constant time; m itself is cleared and never returned, so a caller gets no more than
 * an OAEP decryption: no raw RSA, and so no signatures, from a key that may only decrypt. */
static azkm_rc oaep_raw(azkm_tier_key *k, int di, int mi, const azkm_cipher_params *p, const unsigned char *in,
                        size_t inlen, unsigned char *out, size_t *outlen, int *not_permitted)
{
    unsigned char buf[1024], em[1024];
    p11_crypt c = {
        .k = k, .dir = P11_DECRYPT, .mech = {CKM_RSA_X_509, NULL, 0}, .in = in, .inlen = inlen, .out = buf};
    size_t n = k->modulus_len;
    azkm_rc rc;

    if (!azkm_p11_has_mechanism(k->pt->tok, CKM_RSA_X_509))
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "token %s does not support RSA-OAEP with %s%s: its CKM_RSA_PKCS_OAEP refuses these "
                         "parameters and it offers no raw RSA (CKM_RSA_X_509) to decode OAEP in software",
                         azkm_p11_token_label(k->pt->tok), p11_digests[di].evp_name,
                         p->label_len > 0 ? " and a label" : "");
    if (n == 0 || n > sizeof(em))
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: RSA modulus of %zu bytes", k->name, n);
    c.outcap = (CK_ULONG)n;
    c.action = "decrypting (raw RSA for OAEP)";
    rc = p11_key_run(&c);
    *not_permitted = rc != AZKM_OK && c.init_refused && c.rv == CKR_KEY_FUNCTION_NOT_PERMITTED;
    if (rc == AZKM_OK && c.outlen > n)
        rc = azkm_fail(AZKM_E_CRYPTO, "key %s: the token returned more than the modulus", k->name);
    if (rc == AZKM_OK) {
        /* the token may leave out leading zero bytes: EM is exactly the modulus length */
        memset(em, 0, n - c.outlen);
        memcpy(em + (n - c.outlen), buf, c.outlen);
        rc = p11_oaep_decode(&p11_digests[di], &p11_digests[mi], p->label, p->label_len, em, n, out, outlen);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(em, sizeof(em));
    return rc;
}

/* The token's own OAEP. 1 in *refused when it turned the parameters down in C_DecryptInit, before any data. */
static azkm_rc oaep_native(azkm_tier_key *k, int di, int mi, const azkm_cipher_params *p, const unsigned char *in,
                           size_t inlen, unsigned char *out, size_t *outlen, int *refused)
{
    unsigned char buf[1024];
    CK_RSA_PKCS_OAEP_PARAMS oaep = {p11_digests[di].hash, p11_digests[mi].mgf, CKZ_DATA_SPECIFIED, (void *)p->label,
                                    p->label_len};
    p11_crypt c = {.k = k, .dir = P11_DECRYPT, .in = in, .inlen = inlen, .out = buf};
    azkm_rc rc;

    c.mech = (CK_MECHANISM){CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    c.outcap = sizeof(buf);
    c.action = "decrypting";
    rc = p11_key_run(&c);
    *refused = rc != AZKM_OK && c.init_refused;
    if (rc == AZKM_OK) {
        memcpy(out, buf, c.outlen);
        *outlen = c.outlen;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* Which OAEP: the token's own, unless it refused these parameters before (remembered per key) or now; with a
 * label, raw RSA whenever the token has it, since a token may accept a label in C_DecryptInit and then ignore it
 * (SoftHSM 2.6 does), which would fail every decryption as if the ciphertext were bad. */
static azkm_rc oaep(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                    unsigned char *out, size_t *outlen)
{
    const char *md = p->oaep_digest ? p->oaep_digest : "SHA1";
    int di = p11_digest_index(md), mi = p11_digest_index(p->mgf1_digest ? p->mgf1_digest : md), refused = 0;
    unsigned bit;
    int not_permitted;
    azkm_rc rc;

    if (di < 0 || mi < 0)
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: OAEP digest %s is not supported on the HSM tier", k->name,
                         di < 0 ? md : p->mgf1_digest);
    bit = mi == di ? P11_REFUSED_OAEP(di) : P11_REFUSED_OAEP_MGF;
    if ((p->label_len > 0 && azkm_p11_has_mechanism(k->pt->tok, CKM_RSA_X_509)) ||
        (__atomic_load_n(&k->native_refused, __ATOMIC_RELAXED) & bit))
        return oaep_raw(k, di, mi, p, in, inlen, out, outlen, &not_permitted);
    rc = oaep_native(k, di, mi, p, in, inlen, out, outlen, &refused);
    if (!refused)
        return rc;
    __atomic_fetch_or(&k->native_refused, bit, __ATOMIC_RELAXED);
    azkm_clear_error();
    return oaep_raw(k, di, mi, p, in, inlen, out, outlen, &not_permitted);
}

/* C_UnwrapKey of in with mech (CKM_RSA_PKCS or CKM_RSA_PKCS_OAEP); *rv is the token's answer. */
static azkm_rc unwrap_native(azkm_tier_key *k, CK_MECHANISM mech, const unsigned char *in, size_t inlen,
                             unsigned char *out, size_t *outlen, CK_RV *rv)
{
    unsigned char buf[1024];
    p11_crypt c = {.k = k, .dir = P11_UNWRAP, .mech = mech, .in = in, .inlen = inlen, .out = buf};
    azkm_rc rc;

    c.outcap = sizeof(buf);
    c.action = "unwrapping (C_UnwrapKey)";
    rc = p11_key_run(&c);
    *rv = c.rv;
    if (rc == AZKM_OK) {
        memcpy(out, buf, c.outlen);
        *outlen = c.outlen;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* RSA-OAEP unwrapKey: the token's own C_UnwrapKey; for parameters beyond SHA-1, MGF1-SHA-1 and no label that it
 * refuses (SoftHSM 2.6 answers CKR_ARGUMENTS_BAD, whatever the data), and for any label (a token may ignore it),
 * raw RSA with the decoding in software, which needs the object's CKA_DECRYPT. */
static azkm_rc oaep_unwrap(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                           unsigned char *out, size_t *outlen)
{
    const char *md = p->oaep_digest ? p->oaep_digest : "SHA1";
    int di = p11_digest_index(md), mi = p11_digest_index(p->mgf1_digest ? p->mgf1_digest : md), not_permitted = 0;
    CK_RV rv = CKR_OK;
    azkm_rc rc;

    if (di < 0 || mi < 0)
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: OAEP digest %s is not supported on the HSM tier", k->name,
                         di < 0 ? md : p->mgf1_digest);
    if (p->label_len == 0) {
        CK_RSA_PKCS_OAEP_PARAMS oaep = {p11_digests[di].hash, p11_digests[mi].mgf, CKZ_DATA_SPECIFIED, NULL, 0};
        int baseline = p11_digests[di].hash == CKM_SHA_1 && mi == di;

        rc = unwrap_native(k, (CK_MECHANISM){CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)}, in, inlen, out, outlen, &rv);
        if (rc == AZKM_OK || baseline ||
            (rv != CKR_ARGUMENTS_BAD && rv != CKR_MECHANISM_PARAM_INVALID && rv != CKR_MECHANISM_INVALID))
            return rc;
        azkm_clear_error();
    }
    rc = oaep_raw(k, di, mi, p, in, inlen, out, outlen, &not_permitted);
    if (not_permitted)
        return azkm_fail(
            AZKM_E_UNSUPPORTED,
            "token %s: its C_UnwrapKey %s RSA-OAEP with %s%s, and decoding OAEP in software needs the "
            "token's raw RSA decryption, which this key's object does not allow (CKA_DECRYPT is false: "
            "the key_ops do not include decrypt). Unwrap with RSA-OAEP (SHA-1, no label) or RSA1_5, or "
            "give the key decrypt too",
            azkm_p11_token_label(k->pt->tok), p->label_len > 0 ? "may ignore the label of" : "refuses",
            p11_digests[di].evp_name, p->label_len > 0 ? " and a label" : "");
    return rc;
}

azkm_rc p11_rsa_decrypt(azkm_tier_key *k, unsigned op, const azkm_cipher_params *p, const unsigned char *in,
                        size_t inlen, unsigned char *out, size_t *outlen)
{
    unsigned char buf[1024];
    p11_crypt c = {
        .k = k, .dir = P11_DECRYPT, .mech = {CKM_RSA_PKCS, NULL, 0}, .in = in, .inlen = inlen, .out = buf};
    CK_RV rv;
    azkm_rc rc;

    if (p->scheme == AZKM_ENC_RSA_TLS)
        return tls_premaster(k, p, in, inlen, out, outlen);
    if (p->scheme != AZKM_ENC_RSA_OAEP && p->scheme != AZKM_ENC_RSA_PKCS1)
        return azkm_fail(AZKM_E_INVALID, "key %s: this algorithm does not apply to an RSA key", k->name);
    if (op == AZKM_OP_UNWRAP)
        return p->scheme == AZKM_ENC_RSA_OAEP ? oaep_unwrap(k, p, in, inlen, out, outlen)
                                              : unwrap_native(k, c.mech, in, inlen, out, outlen, &rv);
    if (p->scheme == AZKM_ENC_RSA_OAEP)
        return oaep(k, p, in, inlen, out, outlen);
    c.outcap = sizeof(buf);
    c.action = "decrypting";
    rc = p11_key_run(&c);
    if (rc == AZKM_OK) {
        memcpy(out, buf, c.outlen);
        *outlen = c.outlen;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}
