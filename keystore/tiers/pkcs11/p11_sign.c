/* Signatures on the HSM tier: RSA PKCS#1 v1.5 (DigestInfo + CKM_RSA_PKCS, any digest of p11_digests, SHA-3
 * included), RSA-PSS with the token's CKM_RSA_PKCS_PSS when it takes the parameters and otherwise EMSA-PSS in
 * software around the token's raw RSA (each such signature checked against the public key before it is returned),
 * ECDSA (CKM_ECDSA over the digest, DER-encoded here) and pure EdDSA (CKM_EDDSA over the message, no
 * parameters). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tiers/pkcs11/p11_tier.h"

/* Bit of native_refused for PSS whose MGF1 digest is not the message digest (one bit for all such pairs). */
#define P11_REFUSED_PSS_MGF (1u << 15)

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

static azkm_rc ecdsa_sign(azkm_tier_key *k, const unsigned char *in, size_t inlen, unsigned char *sig,
                          size_t *siglen)
{
    unsigned char raw[132];
    p11_crypt c = {.k = k, .dir = P11_SIGN, .mech = {CKM_ECDSA, NULL, 0}, .in = in, .inlen = inlen, .out = raw};
    azkm_rc rc;

    c.outcap = sizeof(raw);
    c.action = "signing";
    rc = p11_key_run(&c);
    if (rc != AZKM_OK)
        return rc;
    if (c.outlen == 0 || c.outlen % 2 != 0 || c.outlen > sizeof(raw))
        return azkm_fail(AZKM_E_CRYPTO, "key %s: the token returned a malformed ECDSA signature", k->name);
    *siglen = ecdsa_der(raw, c.outlen / 2, sig);
    return AZKM_OK;
}

/* Pure Ed25519 / Ed448: the token signs the message itself; its r || S is the signature as RFC 8032 gives it. */
static azkm_rc eddsa_sign(azkm_tier_key *k, const unsigned char *in, size_t inlen, unsigned char *sig,
                          size_t *siglen)
{
    unsigned char raw[114];
    p11_crypt c = {.k = k, .dir = P11_SIGN, .mech = {CKM_EDDSA, NULL, 0}, .in = in, .inlen = inlen, .out = raw};
    azkm_rc rc;

    c.outcap = sizeof(raw);
    c.action = "signing (CKM_EDDSA)";
    rc = p11_key_run(&c);
    if (rc != AZKM_OK)
        return rc;
    if (c.outlen != 64 && c.outlen != 114)
        return azkm_fail(AZKM_E_CRYPTO, "key %s: the token returned a malformed EdDSA signature", k->name);
    memcpy(sig, raw, c.outlen);
    *siglen = c.outlen;
    return AZKM_OK;
}

static azkm_rc pkcs1_sign(azkm_tier_key *k, int di, const unsigned char *in, size_t inlen, unsigned char *sig,
                          size_t *siglen)
{
    unsigned char encoded[19 + 64];
    p11_crypt c = {.k = k, .dir = P11_SIGN, .mech = {CKM_RSA_PKCS, NULL, 0}, .in = in, .inlen = inlen, .out = sig};
    azkm_rc rc;

    if (di >= 0) {
        memcpy(encoded, p11_digests[di].di, p11_digests[di].di_len);
        memcpy(encoded + p11_digests[di].di_len, in, inlen);
        c.in = encoded;
        c.inlen = p11_digests[di].di_len + inlen;
    }
    c.outcap = (CK_ULONG)k->modulus_len;
    c.action = "signing";
    rc = p11_key_run(&c);
    if (rc == AZKM_OK)
        *siglen = c.outlen;
    return rc;
}

/* The salt length in bytes for the key and digest, or -1 when out of range. */
static long pss_salt(const azkm_sign_params *p, size_t hlen, unsigned key_bits)
{
    size_t em_len = (key_bits - 1 + 7) / 8, max_salt = em_len > hlen + 2 ? em_len - hlen - 2 : 0;

    if (p->pss_saltlen == AZKM_PSS_SALT_DIGEST)
        return hlen <= max_salt ? (long)hlen : -1;
    if (p->pss_saltlen == AZKM_PSS_SALT_MAX || p->pss_saltlen == AZKM_PSS_SALT_AUTO)
        return (long)max_salt;
    if (p->pss_saltlen >= 0 && (size_t)p->pss_saltlen <= max_salt)
        return p->pss_saltlen;
    return -1;
}

/* PSS as raw RSA: the encoding made here, m^d on the token (C_Sign with CKM_RSA_X_509, under the key's CKA_SIGN
 * like the token's own PSS), and the result checked with the public key, so that a faulty result never leaves. */
static azkm_rc pss_raw(azkm_tier_key *k, int di, int mi, long salt, const unsigned char *in, unsigned char *sig,
                       size_t *siglen)
{
    EVP_PKEY *pub = p11_key_public(k);
    unsigned char em[1024];
    p11_crypt c = {.k = k, .dir = P11_SIGN, .mech = {CKM_RSA_X_509, NULL, 0}, .in = em, .out = sig};
    azkm_rc rc;

    if (!azkm_p11_has_mechanism(k->pt->tok, CKM_RSA_X_509))
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "token %s cannot sign RSA-PSS with %s and MGF1-%s: its CKM_RSA_PKCS_PSS refuses these "
                         "parameters and it offers no raw RSA (CKM_RSA_X_509) to pad in software",
                         azkm_p11_token_label(k->pt->tok), p11_digests[di].evp_name, p11_digests[mi].evp_name);
    if (pub == NULL)
        return AZKM_E_CRYPTO;
    if (k->modulus_len == 0 || k->modulus_len > sizeof(em))
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: RSA modulus of %zu bytes", k->name, k->modulus_len);
    rc = p11_pss_encode(&p11_digests[di], &p11_digests[mi], (size_t)salt, (unsigned)EVP_PKEY_get_bits(pub), in, em,
                        k->modulus_len);
    c.inlen = k->modulus_len;
    c.outcap = (CK_ULONG)k->modulus_len;
    c.action = "signing (raw RSA for PSS)";
    if (rc == AZKM_OK)
        rc = p11_key_run(&c);
    OPENSSL_cleanse(em, sizeof(em));
    if (rc != AZKM_OK)
        return rc;
    if (!p11_pss_verify(pub, &p11_digests[di], &p11_digests[mi], (int)salt, in, sig, c.outlen)) {
        OPENSSL_cleanse(sig, c.outlen);
        return azkm_fail(AZKM_E_CRYPTO, "key %s: the token's RSA result does not verify: not returned", k->name);
    }
    *siglen = c.outlen;
    return AZKM_OK;
}

static azkm_rc pss_sign(azkm_tier_key *k, const azkm_sign_params *p, int di, const unsigned char *in,
                        unsigned char *sig, size_t *siglen)
{
    int mi = p->mgf1_digest ? p11_digest_index(p->mgf1_digest) : di;
    unsigned bit = mi == di ? P11_REFUSED_PSS(di) : P11_REFUSED_PSS_MGF;
    long salt = pss_salt(p, p11_digests[di].len, k->key_bits);
    CK_RSA_PKCS_PSS_PARAMS pss;
    p11_crypt c = {.k = k, .dir = P11_SIGN, .in = in, .inlen = p11_digests[di].len, .out = sig};
    azkm_rc rc;

    if (mi < 0)
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: MGF1 digest %s is not supported", k->name, p->mgf1_digest);
    if (salt < 0)
        return azkm_fail(AZKM_E_INVALID, "key %s: PSS salt length %d is out of range for this key and digest",
                         k->name, p->pss_saltlen);
    if (__atomic_load_n(&k->native_refused, __ATOMIC_RELAXED) & bit)
        return pss_raw(k, di, mi, salt, in, sig, siglen);
    pss.hashAlg = p11_digests[di].hash;
    pss.mgf = p11_digests[mi].mgf;
    pss.sLen = (CK_ULONG)salt;
    c.mech = (CK_MECHANISM){CKM_RSA_PKCS_PSS, &pss, sizeof(pss)};
    c.outcap = (CK_ULONG)k->modulus_len;
    c.action = "signing";
    rc = p11_key_run(&c);
    if (rc == AZKM_OK) {
        *siglen = c.outlen;
        return AZKM_OK;
    }
    if (!c.init_refused)
        return rc;
    /* The token's PSS refused these parameters before any data (SoftHSM 2.6: SHA-3, or an MGF1 digest other than
     * the message digest): remember it for this key, and pad in software. */
    __atomic_fetch_or(&k->native_refused, bit, __ATOMIC_RELAXED);
    azkm_clear_error();
    return pss_raw(k, di, mi, salt, in, sig, siglen);
}

azkm_rc p11_sign(azkm_tier_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                 unsigned char *sig, size_t *siglen)
{
    int di = p11_digest_index(p->digest);

    if (p->digest != NULL && di < 0)
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: digest %s is not supported on the HSM tier", k->name,
                         p->digest);
    if (di >= 0 && inlen != p11_digests[di].len)
        return azkm_fail(AZKM_E_INVALID, "key %s: a %s digest is %zu bytes, not %zu", k->name, p->digest,
                         p11_digests[di].len, inlen);
    switch (p->scheme) {
    case AZKM_SIG_RSA_PKCS1:
        return pkcs1_sign(k, di, in, inlen, sig, siglen);
    case AZKM_SIG_RSA_PSS:
        if (di < 0)
            return azkm_fail(AZKM_E_INVALID, "key %s: RSA-PSS needs a digest algorithm", k->name);
        return pss_sign(k, p, di, in, sig, siglen);
    case AZKM_SIG_ECDSA:
        return ecdsa_sign(k, in, inlen, sig, siglen);
    case AZKM_SIG_EDDSA:
        return eddsa_sign(k, in, inlen, sig, siglen);
    }
    return azkm_fail(AZKM_E_INVALID, "key %s: unknown signature scheme", k->name);
}
