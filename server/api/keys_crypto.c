/* The data plane: sign, verify, encrypt, decrypt, wrapkey, unwrapkey with a key version (empty version: the current
 * one). Inputs and outputs are base64url; ECDSA signatures are r||s on the wire. Plaintexts are cleared after use.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/routes.h"
#include "azkm/base64.h"
#include "json/body.h"
#include "json/key_bundle.h"

#define AZKMD_TLS_PREMASTER "azkm_tls_premaster"

/* The key of the request, from the worker's cache of loaded keys (api/vaults.c): borrowed, never freed here. */
static azkm_key *load(azkmd_request *r)
{
    azkm_key *k = NULL;
    azkm_rc rc = azkmd_vaults_key(r->site->vaults, r->vault, r->name, r->version, &k);

    if (rc != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return NULL;
    }
    /* Key ids carry the name as it was created, whatever case the path used. */
    snprintf(r->name, sizeof(r->name), "%s", azkm_key_get_info(k)->name);
    snprintf(r->version, sizeof(r->version), "%s", azkm_key_get_info(k)->version);
    return k;
}

/* {"kid": <versioned id>, "value": <base64url>} */
static json_t *result(azkmd_request *r, const unsigned char *value, size_t len)
{
    char kid[AZKM_URI_MAX + 128];
    char *b64 = azkm_b64url_encode(value, len);
    json_t *out = NULL;

    if (b64 != NULL && azkmd_kid(r->origin, r->name, r->version, kid, sizeof(kid)) == 0)
        out = json_pack("{s:s,s:s}", "kid", kid, "value", b64);
    if (b64 != NULL) {
        OPENSSL_cleanse(b64, strlen(b64));
        azkm_free(b64);
    }
    return out;
}

static size_t ec_half(const azkm_key *k)
{
    return (size_t)(azkm_curve_bits(azkm_key_get_info(k)->curve) + 7) / 8;
}

static azkm_rc sign_with(azkmd_request *r, azkm_key *k, unsigned char *sig, size_t *siglen)
{
    azkm_sign_params p;
    const char *alg;
    unsigned char *digest = NULL, der[AZKM_PUBLIC_DER_MAX];
    size_t dlen = 0, derlen = 0;
    azkm_rc rc;

    if ((rc = azkmd_body_string(r->body, "alg", 1, &alg)) != AZKM_OK ||
        (rc = azkm_sign_params_from_alg(alg, &p)) != AZKM_OK ||
        (rc = azkmd_body_bytes(r->body, "value", 1, &digest, &dlen)) != AZKM_OK)
        return rc;
    if (p.scheme != AZKM_SIG_ECDSA) {
        rc = azkm_key_sign(k, &p, digest, dlen, sig, siglen);
    } else if ((rc = azkm_key_sign(k, &p, digest, dlen, der, &derlen)) == AZKM_OK) {
        rc = azkmd_ecdsa_der_to_raw(der, derlen, ec_half(k), sig, siglen);
    }
    azkm_free(digest);
    return rc;
}

void azkmd_key_sign(azkmd_request *r)
{
    azkm_key *k = load(r);
    unsigned char sig[1024];
    size_t siglen = 0;
    azkm_rc rc;

    if (k == NULL)
        return;
    if (azkm_key_max_output(k) > sizeof(sig))
        rc = azkm_set_error(AZKM_E_UNSUPPORTED, "signatures of key %s are too large", r->name);
    else
        rc = sign_with(r, k, sig, &siglen);
    if (rc == AZKM_OK)
        azkmd_reply_json(r, 200, result(r, sig, siglen));
    else
        azkmd_reply_rc(r, rc);
    azkmd_vaults_key_failed(r->site->vaults, k, rc);
}

static azkm_rc verify_with(azkmd_request *r, azkm_key *k, int *valid)
{
    azkm_sign_params p;
    const char *alg;
    unsigned char *digest = NULL, *sig = NULL, *der = NULL;
    size_t dlen = 0, siglen = 0, derlen = 0;
    azkm_rc rc;

    if ((rc = azkmd_body_string(r->body, "alg", 1, &alg)) == AZKM_OK &&
        (rc = azkm_sign_params_from_alg(alg, &p)) == AZKM_OK &&
        (rc = azkmd_body_bytes(r->body, "digest", 1, &digest, &dlen)) == AZKM_OK &&
        (rc = azkmd_body_bytes(r->body, "value", 1, &sig, &siglen)) == AZKM_OK) {
        if (p.scheme != AZKM_SIG_ECDSA)
            rc = azkm_key_verify(k, &p, digest, dlen, sig, siglen, valid);
        else if (siglen != 2 * ec_half(k))
            *valid = 0; /* not r||s of this curve: not a valid signature of this key */
        else if ((rc = azkmd_ecdsa_raw_to_der(sig, siglen, &der, &derlen)) == AZKM_OK)
            rc = azkm_key_verify(k, &p, digest, dlen, der, derlen, valid);
    }
    azkm_free(digest);
    azkm_free(sig);
    OPENSSL_free(der);
    return rc;
}

void azkmd_key_verify(azkmd_request *r)
{
    azkm_key *k = load(r);
    int valid = 0;
    azkm_rc rc;

    if (k == NULL)
        return;
    if ((rc = verify_with(r, k, &valid)) == AZKM_OK)
        azkmd_reply_json(r, 200, json_pack("{s:b}", "value", valid));
    else
        azkmd_reply_rc(r, rc);
    azkmd_vaults_key_failed(r->site->vaults, k, rc);
}

typedef azkm_rc (*cipher_fn)(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                             unsigned char *out, size_t *outlen);

/* The inputs of a cipher operation: value, and AES-GCM's iv, tag and aad (Key Vault's field names). */
typedef struct {
    unsigned char *value, *iv, *tag, *aad;
    size_t value_len, iv_len, tag_len, aad_len;
    unsigned char iv_out[12], tag_out[16];
} cipher_io;

static void cipher_io_clear(cipher_io *io)
{
    if (io->value != NULL)
        OPENSSL_cleanse(io->value, io->value_len);
    azkm_free(io->value);
    azkm_free(io->iv);
    azkm_free(io->tag);
    azkm_free(io->aad);
}

/* azkm's extension of decrypt, absent from Key Vault's API (its SDKs never send it): with alg RSA1_5,
 * "azkm_tls_premaster": {"client_version": 771, "negotiated_version": 0} decrypts the premaster secret of a TLS 1.2
 * RSA key exchange as OpenSSL's TLS padding mode does. A wrong padding or version yields a random premaster, chosen
 * in constant time by the tier, answered exactly as a good one: 200 with 48 bytes, the same path, audit record and
 * log. A decrypt without it keeps Key Vault's semantics (a bad padding is a 400), which is a padding oracle for
 * whoever may call decrypt on the key (docs/security.md). */
static azkm_rc read_tls_premaster(azkmd_request *r, int decrypt, azkm_cipher_params *p)
{
    json_t *tls;
    json_int_t cv = 0, nv = 0;
    int has_cv = 0, has_nv = 0;
    azkm_rc rc = azkmd_body_object(r->body, AZKMD_TLS_PREMASTER, &tls);

    if (rc != AZKM_OK || tls == NULL)
        return rc;
    if (!decrypt || p->scheme != AZKM_ENC_RSA_PKCS1)
        return azkm_set_error(AZKM_E_INVALID, "'%s' is for decrypt with alg RSA1_5 only", AZKMD_TLS_PREMASTER);
    if ((rc = azkmd_body_int(tls, "client_version", &cv, &has_cv)) != AZKM_OK ||
        (rc = azkmd_body_int(tls, "negotiated_version", &nv, &has_nv)) != AZKM_OK)
        return rc;
    if (!has_cv || cv < 1 || cv > 0xffff || nv < 0 || nv > 0xffff)
        return azkm_set_error(AZKM_E_INVALID,
                              "'%s' needs client_version (1-65535: the ClientHello's, 771 for TLS 1.2) and takes "
                              "negotiated_version (0-65535, 0 for none)",
                              AZKMD_TLS_PREMASTER);
    p->scheme = AZKM_ENC_RSA_TLS;
    p->tls_client_version = (unsigned)cv;
    p->tls_alt_version = (unsigned)nv;
    return AZKM_OK;
}

static azkm_rc read_cipher(azkmd_request *r, int forward, int decrypt, azkm_cipher_params *p, cipher_io *io)
{
    const char *alg;
    azkm_rc rc;

    if ((rc = azkmd_body_string(r->body, "alg", 1, &alg)) != AZKM_OK ||
        (rc = azkm_cipher_params_from_alg(alg, p)) != AZKM_OK ||
        (rc = read_tls_premaster(r, decrypt, p)) != AZKM_OK ||
        (rc = azkmd_body_bytes(r->body, "value", 1, &io->value, &io->value_len)) != AZKM_OK ||
        (rc = azkmd_body_bytes(r->body, "iv", 0, &io->iv, &io->iv_len)) != AZKM_OK ||
        (rc = azkmd_body_bytes(r->body, "tag", 0, &io->tag, &io->tag_len)) != AZKM_OK ||
        (rc = azkmd_body_bytes(r->body, "aad", 0, &io->aad, &io->aad_len)) != AZKM_OK)
        return rc;
    if (p->scheme != AZKM_ENC_AES_GCM) {
        if (io->iv != NULL || io->tag != NULL || io->aad != NULL)
            return azkm_set_error(AZKM_E_INVALID,
                                  "iv, tag and aad are for AES-GCM algorithms (A128GCM..A256GCM) only");
        return AZKM_OK;
    }
    if ((io->iv != NULL && io->iv_len != sizeof(io->iv_out)) || (!forward && io->iv == NULL))
        return azkm_set_error(AZKM_E_INVALID, "'iv' must be 12 bytes");
    if (!forward && (io->tag == NULL || io->tag_len != sizeof(io->tag_out)))
        return azkm_set_error(AZKM_E_INVALID, "'tag' must be 16 bytes");
    p->iv = io->iv;
    p->iv_len = io->iv_len;
    p->iv_out = io->iv_out;
    p->aad = io->aad;
    p->aad_len = io->aad_len;
    p->tag = forward ? io->tag_out : io->tag;
    return AZKM_OK;
}

/* AES-GCM encryption also returns the IV it used, the tag and the aad. */
static void add_gcm(json_t *out, const azkm_cipher_params *p, const cipher_io *io)
{
    char *iv = azkm_b64url_encode(p->iv != NULL ? p->iv : io->iv_out, 12),
         *tag = azkm_b64url_encode(io->tag_out, 16);

    json_object_set_new(out, "iv", json_string(iv));
    json_object_set_new(out, "tag", json_string(tag));
    if (io->aad != NULL) {
        char *aad = azkm_b64url_encode(io->aad, io->aad_len);

        json_object_set_new(out, "aad", json_string(aad));
        azkm_free(aad);
    }
    azkm_free(iv);
    azkm_free(tag);
}

static void cipher(azkmd_request *r, cipher_fn fn, int forward)
{
    azkm_key *k = load(r);
    azkm_cipher_params p;
    cipher_io io;
    unsigned char *out = NULL;
    size_t cap = 0, outlen = 0;
    azkm_rc rc;
    json_t *res = NULL;

    memset(&io, 0, sizeof(io));
    memset(&p, 0, sizeof(p));
    if (k == NULL)
        return;
    if ((rc = read_cipher(r, forward, fn == azkm_key_decrypt, &p, &io)) == AZKM_OK) {
        cap = azkm_key_max_output(k) + io.value_len + 16;
        if ((out = OPENSSL_zalloc(cap)) == NULL)
            rc = azkm_set_error(AZKM_E_NOMEM, "out of memory");
        else
            rc = fn(k, &p, io.value, io.value_len, out, &outlen);
    }
    if (rc == AZKM_OK && (res = result(r, out, outlen)) != NULL && forward && p.scheme == AZKM_ENC_AES_GCM)
        add_gcm(res, &p, &io);
    /* Tells the client that this azkmd knew the extension: one that ignored it would answer a bad padding with a
     * 400, and the client (keystore/tiers/remote) refuses an answer without this. */
    if (res != NULL && p.scheme == AZKM_ENC_RSA_TLS)
        json_object_set_new(res, AZKMD_TLS_PREMASTER, json_true());
    if (rc == AZKM_OK)
        azkmd_reply_json(r, 200, res);
    else if ((rc == AZKM_E_CRYPTO || rc == AZKM_E_INTEGRITY) && !forward)
        /* A ciphertext that does not decrypt (an AES-GCM tag or a key wrap's check that fails: AZKM_E_INTEGRITY) is
         * the caller's input, not the service's failure. */
        azkmd_reply_error(r, 400, "BadParameter", "%s", azkm_last_error());
    else
        azkmd_reply_rc(r, rc);
    azkmd_vaults_key_failed(r->site->vaults, k, rc);
    OPENSSL_clear_free(out, cap);
    cipher_io_clear(&io);
}

void azkmd_key_encrypt(azkmd_request *r)
{
    cipher(r, azkm_key_encrypt, 1);
}

void azkmd_key_decrypt(azkmd_request *r)
{
    cipher(r, azkm_key_decrypt, 0);
}

void azkmd_key_wrap(azkmd_request *r)
{
    cipher(r, azkm_key_wrap, 1);
}

void azkmd_key_unwrap(azkmd_request *r)
{
    cipher(r, azkm_key_unwrap, 0);
}
