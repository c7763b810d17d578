/* The software tier (Azure's "Standard"): key material sealed with the vault's AES-256-GCM key in the catalog,
 * opened into process memory only when a key is loaded, and used through the keystore's library context. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "tiers/tier.h"
#include "base/secmem.h"
#include "tiers/software/software.h"

/* The tier's own state: the vault's sealing key (owned by the vault, which outlives its tiers). */
typedef struct {
    const unsigned char *seal_key;
} sw_tier;

/* A signing context for one set of signature parameters, initialised once (EVP_PKEY_CTX_new_from_pkey and
 * EVP_PKEY_sign_init_ex cost OpenSSL 3.0 about 23k instructions, a tenth of a P-256 signature) and from then on
 * only duplicated. EVP_PKEY_CTX_dup takes a const context, so threads share a template without a lock. */
#define SIGN_TEMPLATES 8

typedef struct {
    azkm_sig_scheme scheme;
    int saltlen;
    char digest[24];
    char mgf1_digest[24];
    EVP_PKEY_CTX *ctx;
} sign_template;

struct azkm_tier_key {
    azkm_kty kty;
    EVP_PKEY *pkey;        /* RSA, EC and OKP */
    unsigned char *secret; /* oct */
    size_t secret_len;
    OSSL_LIB_CTX *libctx;
    const char *propq;
    /* Filled in order, each slot once (compare-and-swap), read without a lock, freed with the key. */
    sign_template *templates[SIGN_TEMPLATES];
};

/* Seals plaintext material and fills the public part of out. */
static azkm_rc seal_output(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *plain, size_t plain_len,
                           const EVP_PKEY *pkey, azkm_tier_output *out)
{
    azkm_rc rc = azkm_seal(t->libctx, ((const sw_tier *)t->impl)->seal_key, ref->aad, ref->aad_len, plain,
                           plain_len, &out->material, &out->material_len);

    if (rc == AZKM_OK && pkey != NULL) {
        azkm_kty kty;

        rc = azkm_pkey_public_der(pkey, &out->public_der, &out->public_der_len);
        if (rc == AZKM_OK)
            rc = azkm_pkey_describe(pkey, &kty, &out->size, &out->curve);
    }
    if (rc != AZKM_OK)
        azkm_tier_output_clear(out);
    return rc;
}

/* The libcrypto key type that generates a key of spec. */
static const char *keygen_type(const azkm_keyspec *spec)
{
    switch (spec->kty) {
    case AZKM_KTY_RSA:
        return "RSA";
    case AZKM_KTY_OKP:
        return spec->curve == AZKM_CURVE_ED448 ? "ED448" : "ED25519";
    default:
        return "EC";
    }
}

static azkm_rc sw_generate(azkm_tier *t, const azkm_tier_ref *ref, const azkm_keyspec *spec, azkm_tier_output *out)
{
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    azkm_rc rc = AZKM_OK;

    memset(out, 0, sizeof(*out));
    if (spec->kty == AZKM_KTY_OCT) {
        plain_len = spec->size / 8;
        plain = azkm_secret_zalloc(plain_len);
        if (plain == NULL || RAND_priv_bytes_ex(t->libctx, plain, plain_len, 0) != 1)
            rc = azkm_fail_ossl(AZKM_E_CRYPTO, "key %s/%s: cannot generate an AES key", ref->vault, ref->name);
        if (rc == AZKM_OK)
            rc = seal_output(t, ref, plain, plain_len, NULL, out);
        out->size = spec->size;
        azkm_secret_free(plain, plain_len);
        return rc;
    }
    ctx = EVP_PKEY_CTX_new_from_name(t->libctx, keygen_type(spec), t->propq);
    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "key %s/%s: key generation is not available", ref->vault, ref->name);
    else if (spec->kty == AZKM_KTY_RSA && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)spec->size) <= 0)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "key %s/%s: cannot set RSA size %u", ref->vault, ref->name, spec->size);
    else if (spec->kty == AZKM_KTY_EC) {
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                             (char *)(spec->curve == AZKM_CURVE_P256   ? "P-256"
                                                      : spec->curve == AZKM_CURVE_P384 ? "P-384"
                                                                                       : "P-521"),
                                             0),
            OSSL_PARAM_construct_end()};

        if (EVP_PKEY_CTX_set_params(ctx, params) <= 0)
            rc = azkm_fail_ossl(AZKM_E_CRYPTO, "key %s/%s: cannot set the curve", ref->vault, ref->name);
    }
    if (rc == AZKM_OK && EVP_PKEY_generate(ctx, &pkey) <= 0)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "key %s/%s: key generation failed", ref->vault, ref->name);
    if (rc == AZKM_OK)
        rc = azkm_pkey_to_pkcs8(pkey, &plain, &plain_len);
    if (rc == AZKM_OK)
        rc = seal_output(t, ref, plain, plain_len, pkey, out);
    OPENSSL_clear_free(plain, plain_len);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

static azkm_rc sw_import(azkm_tier *t, const azkm_tier_ref *ref, const azkm_material *m, azkm_tier_output *out)
{
    EVP_PKEY *pkey = NULL;
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    azkm_rc rc;

    memset(out, 0, sizeof(*out));
    if (m->kty == AZKM_KTY_OCT) {
        if (m->der_len != 16 && m->der_len != 24 && m->der_len != 32)
            return azkm_fail(AZKM_E_INVALID, "key %s/%s: an oct key is 16, 24 or 32 bytes, not %zu", ref->vault,
                             ref->name, m->der_len);
        rc = seal_output(t, ref, m->der, m->der_len, NULL, out);
        out->size = (unsigned)m->der_len * 8;
        return rc;
    }
    rc = azkm_pkey_from_material(t->libctx, t->propq, m->kty, m->der, m->der_len, &pkey);
    if (rc == AZKM_OK) {
        azkm_kty kty;
        unsigned size;
        azkm_curve curve;

        rc = azkm_pkey_describe(pkey, &kty, &size, &curve);
    }
    /* Re-encoding stores one canonical PKCS#8 form whatever the input looked like. */
    if (rc == AZKM_OK)
        rc = azkm_pkey_to_pkcs8(pkey, &plain, &plain_len);
    if (rc == AZKM_OK)
        rc = seal_output(t, ref, plain, plain_len, pkey, out);
    OPENSSL_clear_free(plain, plain_len);
    EVP_PKEY_free(pkey);
    return rc;
}

static void sign_template_free(sign_template *t)
{
    if (t == NULL)
        return;
    EVP_PKEY_CTX_free(t->ctx);
    OPENSSL_free(t);
}

static void sw_key_free(azkm_tier_key *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < SIGN_TEMPLATES; i++)
        sign_template_free(k->templates[i]);
    EVP_PKEY_free(k->pkey);
    azkm_secret_free(k->secret, k->secret_len);
    OPENSSL_free(k);
}

static azkm_rc sw_load(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len,
                       azkm_tier_key **out)
{
    azkm_tier_key *k = OPENSSL_zalloc(sizeof(*k));
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    azkm_rc rc;

    if (k == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    k->kty = ref->kty;
    k->libctx = t->libctx;
    k->propq = t->propq;
    rc = azkm_unseal_secret(t->libctx, ((const sw_tier *)t->impl)->seal_key, ref->aad, ref->aad_len, material, len,
                            &plain, &plain_len);
    if (rc == AZKM_E_INTEGRITY)
        rc = azkm_fail(AZKM_E_INTEGRITY,
                       "vault %s: integrity check failed for key %s version %s: its key material was altered, "
                       "or the record was moved from another key or vault",
                       ref->vault, ref->name, ref->version);
    if (rc == AZKM_OK) {
        if (ref->kty == AZKM_KTY_OCT) {
            k->secret = plain;
            k->secret_len = plain_len;
            plain = NULL;
        } else {
            rc = azkm_pkey_from_material(t->libctx, t->propq, ref->kty, plain, plain_len, &k->pkey);
        }
    }
    azkm_secret_free(plain, plain_len);
    if (rc != AZKM_OK) {
        sw_key_free(k);
        return rc;
    }
    *out = k;
    return AZKM_OK;
}

/* A new context initialised for signing with p. */
static azkm_rc sign_init(azkm_tier_key *k, const azkm_sign_params *p, EVP_PKEY_CTX **out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(k->libctx, k->pkey, k->propq);
    OSSL_PARAM params[5], *q = params;
    int pad = p->scheme == AZKM_SIG_RSA_PSS ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    int saltlen = p->pss_saltlen;

    if (p->scheme != AZKM_SIG_ECDSA) {
        *q++ = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &pad);
        if (p->scheme == AZKM_SIG_RSA_PSS) {
            *q++ = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &saltlen);
            if (p->mgf1_digest != NULL)
                *q++ =
                    OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, (char *)p->mgf1_digest, 0);
        }
    }
    if (p->digest != NULL)
        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, (char *)p->digest, 0);
    *q = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_PKEY_sign_init_ex(ctx, params) <= 0) {
        EVP_PKEY_CTX_free(ctx);
        return azkm_fail_ossl(AZKM_E_INVALID, "signature parameters rejected");
    }
    *out = ctx;
    return AZKM_OK;
}

static int copy_name(char *dst, size_t size, const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    if (n >= size)
        return 0;
    memcpy(dst, name != NULL ? name : "", n + 1);
    return 1;
}

static int template_matches(const sign_template *t, const azkm_sign_params *p)
{
    return t->scheme == p->scheme && t->saltlen == p->pss_saltlen &&
           strcmp(t->digest, p->digest != NULL ? p->digest : "") == 0 &&
           strcmp(t->mgf1_digest, p->mgf1_digest != NULL ? p->mgf1_digest : "") == 0;
}

static azkm_rc dup_template(const sign_template *t, EVP_PKEY_CTX **out)
{
    *out = EVP_PKEY_CTX_dup(t->ctx);
    return *out != NULL ? AZKM_OK : azkm_fail_ossl(AZKM_E_NOMEM, "cannot copy the signing context");
}

/* A context ready for one signature with p, the caller's to free: a copy of the key's template for p, made on
 * first use. Only when all slots hold other parameters does a signature get a context of its own. */
static azkm_rc sign_ctx_for(azkm_tier_key *k, const azkm_sign_params *p, EVP_PKEY_CTX **out)
{
    sign_template *t = NULL, *mine;
    EVP_PKEY_CTX *ctx = NULL;
    size_t i;
    azkm_rc rc;

    for (i = 0; i < SIGN_TEMPLATES; i++) {
        t = __atomic_load_n(&k->templates[i], __ATOMIC_ACQUIRE);
        if (t == NULL)
            break;
        if (template_matches(t, p))
            return dup_template(t, out);
    }
    if ((rc = sign_init(k, p, &ctx)) != AZKM_OK)
        return rc;
    mine = i < SIGN_TEMPLATES ? OPENSSL_zalloc(sizeof(*mine)) : NULL;
    if (mine == NULL || !copy_name(mine->digest, sizeof(mine->digest), p->digest) ||
        !copy_name(mine->mgf1_digest, sizeof(mine->mgf1_digest), p->mgf1_digest)) {
        OPENSSL_free(mine);
        *out = ctx;
        return AZKM_OK;
    }
    mine->scheme = p->scheme;
    mine->saltlen = p->pss_saltlen;
    mine->ctx = ctx;
    for (; i < SIGN_TEMPLATES; i++) {
        t = NULL;
        if (__atomic_compare_exchange_n(&k->templates[i], &t, mine, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return dup_template(mine, out);
        if (template_matches(t, p)) { /* another thread published the same parameters first */
            sign_template_free(mine);
            return dup_template(t, out);
        }
    }
    *out = mine->ctx;
    mine->ctx = NULL;
    sign_template_free(mine);
    return AZKM_OK;
}

/* Pure EdDSA over the message: one-shot EVP_DigestSign, the only way OpenSSL 3.0 signs with Ed25519/Ed448. */
static azkm_rc eddsa_sign(azkm_tier_key *k, const unsigned char *in, size_t inlen, unsigned char *sig,
                          size_t *siglen)
{
    EVP_MD_CTX *mdctx = EVP_MD_CTX_new();
    size_t len = (size_t)EVP_PKEY_get_size(k->pkey);
    azkm_rc rc = AZKM_OK;

    if (mdctx == NULL || EVP_DigestSignInit_ex(mdctx, NULL, NULL, k->libctx, k->propq, k->pkey, NULL) != 1 ||
        EVP_DigestSign(mdctx, sig, &len, in, inlen) != 1)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "EdDSA signing failed");
    else
        *siglen = len;
    EVP_MD_CTX_free(mdctx);
    return rc;
}

static azkm_rc sw_sign(azkm_tier_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                       unsigned char *sig, size_t *siglen)
{
    EVP_PKEY_CTX *ctx = NULL;
    size_t len = EVP_PKEY_get_size(k->pkey);
    azkm_rc rc;

    if (p->scheme == AZKM_SIG_EDDSA)
        return eddsa_sign(k, in, inlen, sig, siglen);
    if ((rc = sign_ctx_for(k, p, &ctx)) != AZKM_OK)
        return rc;
    if (EVP_PKEY_sign(ctx, sig, &len, in, inlen) <= 0)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "signing failed");
    else
        *siglen = len;
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* TLS padding mode: OpenSSL answers a wrong padding or version with a random premaster in constant time; what it
 * still refuses depends on the ciphertext alone (longer than the modulus, or not below it), and gets a random one
 * too, so that every ciphertext yields 48 bytes, as on the HSM tier. */
static azkm_rc tls_random_premaster(unsigned char *out, size_t *outlen)
{
    ERR_clear_error();
    if (RAND_bytes(out, 48) != 1)
        return azkm_fail_ossl(AZKM_E_CRYPTO, "no randomness for a TLS premaster secret");
    *outlen = 48;
    return AZKM_OK;
}

static azkm_rc rsa_decrypt(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                           unsigned char *out, size_t *outlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(k->libctx, k->pkey, k->propq);
    OSSL_PARAM params[6], *q = params;
    int pad;
    unsigned cv = p->tls_client_version, av = p->tls_alt_version;
    size_t len = EVP_PKEY_get_size(k->pkey);
    azkm_rc rc = AZKM_OK;

    switch (p->scheme) {
    case AZKM_ENC_RSA_PKCS1:
        pad = RSA_PKCS1_PADDING;
        break;
    case AZKM_ENC_RSA_OAEP:
        pad = RSA_PKCS1_OAEP_PADDING;
        break;
    case AZKM_ENC_RSA_TLS:
        pad = RSA_PKCS1_WITH_TLS_PADDING;
        break;
    default:
        EVP_PKEY_CTX_free(ctx);
        return azkm_fail(AZKM_E_INVALID, "this algorithm does not apply to an RSA key");
    }
    *q++ = OSSL_PARAM_construct_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, &pad);
    if (p->scheme == AZKM_ENC_RSA_OAEP) {
        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST,
                                                (char *)(p->oaep_digest ? p->oaep_digest : "SHA1"), 0);
        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST,
                                                (char *)(p->mgf1_digest   ? p->mgf1_digest
                                                         : p->oaep_digest ? p->oaep_digest
                                                                          : "SHA1"),
                                                0);
        if (p->label_len > 0)
            *q++ = OSSL_PARAM_construct_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, (void *)p->label,
                                                     p->label_len);
    }
    if (p->scheme == AZKM_ENC_RSA_TLS) {
        *q++ = OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, &cv);
        *q++ = OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, &av);
    }
    *q = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_PKEY_decrypt_init_ex(ctx, params) <= 0)
        rc = azkm_fail_ossl(AZKM_E_INVALID, "decryption parameters rejected");
    else if (EVP_PKEY_decrypt(ctx, out, &len, in, inlen) > 0)
        *outlen = len;
    else if (p->scheme == AZKM_ENC_RSA_TLS)
        rc = tls_random_premaster(out, outlen);
    else
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "decryption failed");
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

static azkm_rc aes(azkm_tier_key *k, int enc, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                   unsigned char *out, size_t *outlen)
{
    char name[32];
    const char *mode;
    EVP_CIPHER *cipher;
    EVP_CIPHER_CTX *ctx;
    unsigned char iv[12];
    const unsigned char *ivp = NULL;
    int len = 0, fin = 0, ok;
    azkm_rc rc = AZKM_OK;

    if (p->key_bits != 0 && p->key_bits != k->secret_len * 8)
        return azkm_fail(AZKM_E_INVALID, "the algorithm needs a %u-bit key, this key has %zu bits", p->key_bits,
                         k->secret_len * 8);
    switch (p->scheme) {
    case AZKM_ENC_AES_GCM:
        mode = "GCM";
        break;
    case AZKM_ENC_AES_KW:
        mode = "WRAP";
        if (inlen < (enc ? 16u : 24u) || inlen % 8 != 0)
            return azkm_fail(AZKM_E_INVALID, "AES key wrap (RFC 3394) needs a multiple of 8 bytes, at least %d",
                             enc ? 16 : 24);
        break;
    case AZKM_ENC_AES_KWP:
        mode = "WRAP-PAD";
        if (inlen == 0 || (!enc && (inlen < 16 || inlen % 8 != 0)))
            return azkm_fail(AZKM_E_INVALID, "AES key wrap with padding (RFC 5649): input length %zu is invalid",
                             inlen);
        break;
    default:
        return azkm_fail(AZKM_E_INVALID, "this algorithm does not apply to an oct key");
    }
    if (p->scheme == AZKM_ENC_AES_GCM) {
        if (p->iv != NULL) {
            if (p->iv_len != 12)
                return azkm_fail(AZKM_E_INVALID, "AES-GCM needs a 12-byte IV, not %zu bytes", p->iv_len);
            ivp = p->iv;
        } else if (enc) {
            if (RAND_bytes_ex(k->libctx, iv, sizeof(iv), 0) != 1)
                return azkm_fail_ossl(AZKM_E_CRYPTO, "cannot generate an IV");
            ivp = iv;
        } else {
            return azkm_fail(AZKM_E_INVALID, "AES-GCM decryption needs the IV");
        }
        if (p->tag == NULL)
            return azkm_fail(AZKM_E_INVALID, "AES-GCM needs a buffer for the 16-byte tag");
    }
    snprintf(name, sizeof(name), "AES-%zu-%s", k->secret_len * 8, mode);
    cipher = EVP_CIPHER_fetch(k->libctx, name, k->propq);
    ctx = EVP_CIPHER_CTX_new();
    ok = cipher != NULL && ctx != NULL && EVP_CipherInit_ex2(ctx, cipher, k->secret, ivp, enc, NULL) == 1;
    if (ok && p->scheme == AZKM_ENC_AES_GCM && p->aad_len > 0)
        ok = EVP_CipherUpdate(ctx, NULL, &len, p->aad, (int)p->aad_len) == 1;
    if (ok && p->scheme == AZKM_ENC_AES_GCM && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, p->tag) == 1;
    if (ok)
        ok = EVP_CipherUpdate(ctx, out, &len, in, (int)inlen) == 1;
    if (ok)
        ok = EVP_CipherFinal_ex(ctx, out + len, &fin) == 1;
    if (!ok)
        rc = azkm_fail_ossl(enc ? AZKM_E_CRYPTO : AZKM_E_INTEGRITY,
                            enc ? "AES %s encryption failed"
                                : "AES %s decryption failed: wrong key, or the data "
                                  "or its tag was altered",
                            mode);
    else if (p->scheme == AZKM_ENC_AES_GCM && enc &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, p->tag) != 1)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "AES-GCM: cannot get the tag");
    if (rc == AZKM_OK) {
        *outlen = (size_t)(len + fin);
        if (enc && p->scheme == AZKM_ENC_AES_GCM && p->iv == NULL && p->iv_out != NULL)
            memcpy(p->iv_out, iv, sizeof(iv));
    }
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    return rc;
}

static azkm_rc sw_decrypt(azkm_tier_key *k, unsigned op, const azkm_cipher_params *p, const unsigned char *in,
                          size_t inlen, unsigned char *out, size_t *outlen)
{
    (void)op; /* one way to run both in process memory */
    if (k->kty == AZKM_KTY_OCT)
        return aes(k, 0, p, in, inlen, out, outlen);
    if (k->kty == AZKM_KTY_RSA)
        return rsa_decrypt(k, p, in, inlen, out, outlen);
    return azkm_fail(AZKM_E_UNSUPPORTED, "EC keys do not decrypt");
}

static azkm_rc sw_encrypt(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                          unsigned char *out, size_t *outlen)
{
    if (k->kty != AZKM_KTY_OCT)
        return azkm_fail(AZKM_E_UNSUPPORTED, "the software tier encrypts only with oct keys");
    return aes(k, 1, p, in, inlen, out, outlen);
}

static azkm_rc sw_derive(azkm_tier_key *k, const unsigned char *point, size_t point_len, unsigned char *out,
                         size_t *outlen)
{
    EVP_PKEY *peer = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    azkm_kty kty;
    unsigned size;
    azkm_curve curve = AZKM_CURVE_NONE;
    size_t len = 0;
    azkm_rc rc = AZKM_OK;

    if (k->kty != AZKM_KTY_EC || azkm_pkey_describe(k->pkey, &kty, &size, &curve) != AZKM_OK)
        return azkm_fail(AZKM_E_UNSUPPORTED, "only EC keys derive a shared secret");
    if (azkm_ec_pkey_from_point(k->libctx, k->propq, curve, point, point_len, &peer) != AZKM_OK)
        return azkm_fail(AZKM_E_INVALID, "the peer's point is not on the key's curve");
    /* The caller checked the point to be on the curve, and the NIST curves have cofactor 1: OpenSSL's full public
     * key check (a scalar multiplication by the order) would add nothing but half the cost of the derivation. */
    ctx = EVP_PKEY_CTX_new_from_pkey(k->libctx, k->pkey, k->propq);
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) <= 0 ||
        EVP_PKEY_derive(ctx, NULL, &len) <= 0 || len > 66 || EVP_PKEY_derive(ctx, out, &len) <= 0)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "ECDH derivation failed");
    else
        *outlen = len;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    return rc;
}

static azkm_rc sw_destroy(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len)
{
    /* The sealed material lives only in the catalog row, which the caller deletes. */
    return AZKM_OK;
}

static void sw_tier_free(azkm_tier *t)
{
    OPENSSL_free(t->impl);
    OPENSSL_free(t);
}

static const azkm_tier_ops software_ops = {
    .name = "software",
    .generate = sw_generate,
    .import = sw_import,
    .load = sw_load,
    .sign = sw_sign,
    .decrypt = sw_decrypt,
    .encrypt = sw_encrypt,
    .destroy = sw_destroy,
    .key_free = sw_key_free,
    .tier_free = sw_tier_free,
    .derive = sw_derive,
};

azkm_rc azkm_tier_software_new(OSSL_LIB_CTX *libctx, const char *propq, const void *settings, azkm_tier **out)
{
    const azkm_tier_software_settings *cfg = settings;
    azkm_tier *t = OPENSSL_zalloc(sizeof(*t));
    sw_tier *st = OPENSSL_zalloc(sizeof(*st));

    if (t == NULL || st == NULL) {
        OPENSSL_free(t);
        OPENSSL_free(st);
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    }
    st->seal_key = cfg->seal_key;
    t->ops = &software_ops;
    t->libctx = libctx;
    t->propq = propq;
    t->impl = st;
    *out = t;
    return AZKM_OK;
}
