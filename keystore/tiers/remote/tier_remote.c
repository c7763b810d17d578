/* The remote tier: private-key operations of a vault served by azkmd, as Key Vault API calls (sign with a digest
 * computed here, decrypt), and the reads keys/ makes through it (a key version, the list of keys). The vault's
 * keys are made and administered on the server: this tier generates, imports and destroys nothing. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "azkm/base64.h"
#include "tiers/remote/remote_cipher.h"
#include "tiers/remote/remote_token.h"

typedef struct {
    char *entry;
    azkm_remote_client *client;
    azkm_remote_token *token; /* NULL: no bearer tokens (peer credentials, a client certificate) */
    long refresh_s;
    unsigned char scope[32]; /* the process's cache of key versions (remote_cache.c) keeps this vault's apart */
} remote_tier;

struct azkm_tier_key {
    remote_tier *rt; /* the tier outlives its keys: the vault holds it, and each loaded key holds the vault */
    azkm_kty kty;
    size_t bytes; /* the modulus (RSA) or field element (EC) in bytes: what azkmd's answers are bounded by */
    char path[AZKM_NAME_MAX + AZKM_VERSION_LEN + 16]; /* /keys/<name>/<version> */
};

static azkm_rc refuse(azkm_tier *t, const char *what)
{
    return azkm_fail(AZKM_E_UNSUPPORTED, "vault %s is remote: %s through azkmd is not supported yet",
                     ((remote_tier *)t->impl)->entry, what);
}

static azkm_rc rt_generate(azkm_tier *t, const azkm_tier_ref *ref, const azkm_keyspec *spec, azkm_tier_output *out)
{
    (void)ref, (void)spec, (void)out;
    return refuse(t, "key create");
}

static azkm_rc rt_import(azkm_tier *t, const azkm_tier_ref *ref, const azkm_material *m, azkm_tier_output *out)
{
    (void)ref, (void)m, (void)out;
    return refuse(t, "key import");
}

static azkm_rc rt_destroy(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len)
{
    (void)ref, (void)material, (void)len;
    return refuse(t, "key purge");
}

/* A version as loaded: nothing of the key itself is here, only where to send its operations. */
static azkm_rc rt_load(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len,
                       azkm_tier_key **out)
{
    azkm_tier_key *k = OPENSSL_zalloc(sizeof(*k));

    (void)material, (void)len;
    if (k == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    k->rt = t->impl;
    k->kty = ref->kty;
    k->bytes = (ref->size + 7) / 8;
    snprintf(k->path, sizeof(k->path), "/keys/%s/%s", ref->name, ref->version);
    *out = k;
    return AZKM_OK;
}

static void rt_key_free(azkm_tier_key *k)
{
    OPENSSL_free(k);
}

/* The answer's "value" (a decrypt's plaintext, base64url) cleared before the JSON is freed. */
static void clear_value(json_t *resp)
{
    const char *text = json_string_value(json_object_get(resp, "value"));

    if (text != NULL)
        OPENSSL_cleanse((char *)text, strlen(text));
}

/* azkmd's extension of decrypt for TLS 1.2 RSA key exchange (server/api/keys_crypto.c): sent with the versions, and
 * echoed as true by an azkmd that knew it. One that ignored it would decrypt plain RSA1_5 and answer a bad padding
 * with an error: its answers are refused, good or bad, so that it fails every handshake alike. */
#define TLS_PREMASTER "azkm_tls_premaster"

/* POST <key>/<op> {"alg": alg, "value": base64url(in)[, TLS_PREMASTER: tls]}; *value receives the answer's value
 * (azkm_free). tls (taken) is NULL but for a TLS premaster. */
static azkm_rc post_value(azkm_tier_key *k, const char *op, const char *alg, json_t *tls, const unsigned char *in,
                          size_t inlen, unsigned char **value, size_t *vlen)
{
    char path[sizeof(k->path) + 16], *b64 = azkm_b64url_encode(in, inlen);
    json_t *body = json_object(), *resp = NULL;
    azkm_rc rc;

    if (b64 == NULL || body == NULL) {
        azkm_free(b64);
        json_decref(body);
        json_decref(tls);
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    }
    snprintf(path, sizeof(path), "%s/%s", k->path, op);
    json_object_set_new(body, "alg", json_string(alg));
    json_object_set_new(body, "value", json_string(b64));
    azkm_free(b64);
    if (tls != NULL)
        json_object_set_new(body, TLS_PREMASTER, tls);
    rc = azkm_remote_call(k->rt->client, "POST", path, body, &resp);
    json_decref(body);
    if (rc == AZKM_OK && tls != NULL && !json_is_true(json_object_get(resp, TLS_PREMASTER)))
        rc = azkm_fail(AZKM_E_CORRUPT,
                       "remote vault %s: azkmd did not decrypt in TLS premaster mode (an azkmd "
                       "without it would be a padding oracle): upgrade azkmd, or use ECDHE or TLS 1.3",
                       k->rt->entry);
    if (rc == AZKM_OK)
        rc = azkm_remote_b64_member(k->rt->entry, resp, "value", value, vlen);
    clear_value(resp);
    json_decref(resp);
    return rc;
}

/* Key Vault's name of a signature: RS/PS/ES and the digest's size (PS* salts are as long as the digest), or EdDSA
 * (RFC 8037, over the message itself). */
static azkm_rc sign_alg(const azkm_sign_params *p, char alg[8])
{
    size_t dlen = p->digest != NULL ? azkm_digest_size(p->digest) : 0;
    const char *family = p->scheme == AZKM_SIG_RSA_PKCS1 ? "RS" : p->scheme == AZKM_SIG_RSA_PSS ? "PS" : "ES";

    if (p->scheme == AZKM_SIG_EDDSA) {
        snprintf(alg, 8, "EdDSA");
        return AZKM_OK;
    }
    if (dlen != 32 && dlen != 48 && dlen != 64)
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "azkmd signs SHA-256, SHA-384 or SHA-512 digests with RS*, PS* or ES*, not %s",
                         p->digest != NULL ? p->digest : "a prehashed DigestInfo");
    if (p->scheme == AZKM_SIG_RSA_PSS && ((p->pss_saltlen != AZKM_PSS_SALT_DIGEST && p->pss_saltlen != (int)dlen) ||
                                          (p->mgf1_digest != NULL && azkm_digest_size(p->mgf1_digest) != dlen)))
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "azkmd's PS%zu uses MGF1 with the same digest and a salt as long as the digest "
                         "(%zu bytes)",
                         dlen * 8, dlen);
    snprintf(alg, 8, "%s%zu", family, dlen == 64 ? (size_t)512 : dlen * 8);
    return AZKM_OK;
}

/* Key Vault's ECDSA signature is r || s; OpenSSL's callers expect X9.62 DER, as the software tier returns. */
static azkm_rc ecdsa_der(const unsigned char *raw, size_t len, unsigned char *sig, size_t *siglen)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL), *sv = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
    unsigned char *p = sig;
    int n = -1;

    if (s != NULL && r != NULL && sv != NULL && len % 2 == 0 && ECDSA_SIG_set0(s, r, sv) == 1) {
        r = sv = NULL;
        n = i2d_ECDSA_SIG(s, &p);
    }
    ECDSA_SIG_free(s);
    BN_free(r);
    BN_free(sv);
    if (n <= 0)
        return azkm_fail(AZKM_E_CORRUPT, "azkmd's ECDSA signature (%zu bytes) is not r || s", len);
    *siglen = (size_t)n;
    return AZKM_OK;
}

static azkm_rc rt_sign(azkm_tier_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                       unsigned char *sig, size_t *siglen)
{
    unsigned char *value = NULL;
    /* ECDSA r || s, EdDSA R || S: twice the field element (Ed25519 64 bytes, Ed448 114); RSA the modulus */
    size_t vlen = 0, expect = p->scheme == AZKM_SIG_ECDSA || p->scheme == AZKM_SIG_EDDSA ? 2 * k->bytes : k->bytes;
    char alg[8];
    azkm_rc rc = sign_alg(p, alg);

    if (rc == AZKM_OK)
        rc = post_value(k, "sign", alg, NULL, in, inlen, &value, &vlen);
    /* The caller's buffer holds what a signature of this key can be: a longer answer never reaches it. */
    if (rc == AZKM_OK && (vlen != expect || expect == 0))
        rc = azkm_fail(AZKM_E_CORRUPT, "azkmd's signature is %zu bytes, not the key's %zu", vlen, expect);
    if (rc == AZKM_OK && p->scheme == AZKM_SIG_ECDSA)
        rc = ecdsa_der(value, vlen, sig, siglen);
    else if (rc == AZKM_OK) {
        memcpy(sig, value, vlen);
        *siglen = vlen;
    }
    azkm_free(value);
    return rc;
}

/* RSA-OAEP (SHA-1), RSA-OAEP-256 and RSA1_5, as Key Vault names them; OAEP with the label empty and MGF1's digest
 * the OAEP digest. */
static azkm_rc decrypt_alg(const azkm_cipher_params *p, const char **alg)
{
    const char *md = p->oaep_digest != NULL ? p->oaep_digest : "SHA1";
    size_t dlen = azkm_digest_size(md);

    *alg = NULL;
    if (p->scheme == AZKM_ENC_RSA_PKCS1 || p->scheme == AZKM_ENC_RSA_TLS)
        *alg = "RSA1_5";
    else if (p->scheme == AZKM_ENC_RSA_OAEP && p->label_len == 0 &&
             (p->mgf1_digest == NULL || azkm_digest_size(p->mgf1_digest) == dlen))
        *alg = dlen == 20 ? "RSA-OAEP" : dlen == 32 ? "RSA-OAEP-256" : NULL;
    if (*alg != NULL)
        return AZKM_OK;
    return azkm_fail(AZKM_E_UNSUPPORTED,
                     "azkmd decrypts RSA-OAEP (SHA-1), RSA-OAEP-256 and RSA1_5 only, with no OAEP label");
}

static azkm_rc rt_decrypt(azkm_tier_key *k, unsigned op, const azkm_cipher_params *p, const unsigned char *in,
                          size_t inlen, unsigned char *out, size_t *outlen)
{
    unsigned char *value = NULL;
    size_t vlen = 0;
    const char *alg;
    json_t *tls = NULL;
    int premaster = p->scheme == AZKM_ENC_RSA_TLS;
    azkm_rc rc;

    if (k->kty == AZKM_KTY_OCT)
        return azkm_remote_aes(k->rt->client, k->rt->entry, k->path, op, p, (unsigned)k->bytes * 8, in, inlen, out,
                               outlen);
    if ((rc = decrypt_alg(p, &alg)) == AZKM_OK && premaster)
        tls = json_pack("{s:I,s:I}", "client_version", (json_int_t)p->tls_client_version, "negotiated_version",
                        (json_int_t)p->tls_alt_version);
    /* RSA unwrapKey is decrypt with its own data action (and audit record) in azkmd, as in Key Vault */
    if (rc == AZKM_OK)
        rc = post_value(k, op == AZKM_OP_UNWRAP ? "unwrapkey" : "decrypt", alg, tls, in, inlen, &value, &vlen);
    if (rc == AZKM_OK && (vlen > inlen || vlen > k->bytes || (premaster && vlen != 48)))
        rc = azkm_fail(AZKM_E_CORRUPT, "azkmd's plaintext (%zu bytes) is longer than the ciphertext%s", vlen,
                       premaster ? ", or not a 48-byte TLS premaster" : "");
    if (rc == AZKM_OK) {
        memcpy(out, value, vlen);
        *outlen = vlen;
    }
    if (value != NULL)
        OPENSSL_cleanse(value, vlen);
    azkm_free(value);
    return rc;
}

/* oct keys only (RSA encrypts with its public key above the tier): AES-GCM encrypts, AES key wrap wraps. */
static azkm_rc rt_encrypt(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                          unsigned char *out, size_t *outlen)
{
    unsigned op = p->scheme == AZKM_ENC_AES_GCM ? AZKM_OP_ENCRYPT : AZKM_OP_WRAP;

    return azkm_remote_aes(k->rt->client, k->rt->entry, k->path, op, p, (unsigned)k->bytes * 8, in, inlen, out,
                           outlen);
}

static void rt_free(azkm_tier *t)
{
    remote_tier *rt = t->impl;

    azkm_remote_client_free(rt->client);
    azkm_remote_token_free(rt->token);
    OPENSSL_free(rt->entry);
    OPENSSL_free(rt);
    OPENSSL_free(t);
}

static const azkm_tier_ops remote_ops = {
    .name = "remote",
    .generate = rt_generate,
    .import = rt_import,
    .load = rt_load,
    .sign = rt_sign,
    .decrypt = rt_decrypt,
    .encrypt = rt_encrypt,
    .destroy = rt_destroy,
    .key_free = rt_key_free,
    .tier_free = rt_free,
};

/* Entries that name the same remote vault at the same first URL with the same credentials share cached versions:
 * what one may read, so may the other. */
static int scope_of(const char *entry, const azkm_remote_conf *c, unsigned char scope[32])
{
    const char *const parts[] = {entry, c->vault, c->domain, c->urls[0], c->client_cert};
    unsigned char
        buf[AZKM_VAULT_NAME_MAX + AZKM_REMOTE_DOMAIN_MAX + AZKM_REMOTE_URL_MAX + AZKM_REMOTE_PATH_MAX + 512];
    size_t len = 0;

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t n = strlen(parts[i]) + 1;

        if (len + n <= sizeof(buf))
            memcpy(buf + len, parts[i], n);
        len += n <= sizeof(buf) - len ? n : 0;
    }
    return EVP_Digest(buf, len, scope, NULL, EVP_sha256(), NULL) == 1;
}

azkm_rc azkm_tier_remote_new(OSSL_LIB_CTX *libctx, const char *propq, const void *settings, azkm_tier **out)
{
    const azkm_tier_remote_settings *s = settings;
    azkm_tier *t = OPENSSL_zalloc(sizeof(*t));
    remote_tier *rt = OPENSSL_zalloc(sizeof(*rt));
    const azkm_remote_conf *conf = s->conf;
    azkm_rc rc = t != NULL && rt != NULL && (rt->entry = OPENSSL_strdup(s->entry)) != NULL &&
                         scope_of(s->entry, conf, rt->scope)
                     ? azkm_remote_client_new(s->entry, conf, &rt->client)
                     : azkm_fail(AZKM_E_NOMEM, "out of memory");

    if (rc == AZKM_OK && (conf->auth == AZKM_REMOTE_AUTH_SECRET || conf->auth == AZKM_REMOTE_AUTH_ASSERTION) &&
        (rc = azkm_remote_token_new(s->entry, conf, rt->client, libctx, propq, &rt->token)) == AZKM_OK)
        azkm_remote_client_set_auth(rt->client, azkm_remote_token_authorize, rt->token);
    if (rc != AZKM_OK) {
        if (rt != NULL) {
            azkm_remote_client_free(rt->client);
            OPENSSL_free(rt->entry);
        }
        OPENSSL_free(rt);
        OPENSSL_free(t);
        return rc;
    }
    rt->refresh_s = ((const azkm_remote_conf *)s->conf)->refresh_s;
    t->ops = &remote_ops;
    t->libctx = libctx;
    t->propq = propq;
    t->impl = rt;
    *out = t;
    return AZKM_OK;
}

/* ---- reads for keys/ ------------------------------------------------------------------------------------- */

azkm_remote_client *azkm_remote_tier_client(azkm_tier *t, const char **entry)
{
    *entry = ((remote_tier *)t->impl)->entry;
    return ((remote_tier *)t->impl)->client;
}

azkm_rc azkm_remote_key_get(azkm_tier *t, const char *name, const char *version, azkm_key_info *info)
{
    remote_tier *rt = t->impl;
    int current = version == NULL || *version == '\0';
    char path[AZKM_NAME_MAX + AZKM_VERSION_LEN + 16];
    json_t *resp = NULL;
    azkm_rc rc;

    if (!azkm_key_name_valid(name))
        return azkm_fail(AZKM_E_INVALID, "key name '%.64s' is invalid: 1-127 characters of a-z, A-Z, 0-9 and '-'",
                         name != NULL ? name : "");
    if (!current && !azkm_version_valid(version))
        return azkm_fail(AZKM_E_INVALID, "version '%.40s' is invalid: a version is 32 hexadecimal characters",
                         version);
    snprintf(path, sizeof(path), "/keys/%s/%s", name, current ? "" : version);
    rc = azkm_remote_call(rt->client, "GET", path, NULL, &resp);
    if (rc == AZKM_OK)
        rc = azkm_remote_bundle_info(t->libctx, t->propq, rt->entry, resp, info);
    if (rc == AZKM_OK) {
        info->current = current;
        azkm_remote_cache_put(rt->scope, info, current);
    }
    json_decref(resp);
    return rc;
}

azkm_rc azkm_remote_key_cached(azkm_tier *t, const char *name, const char *version, azkm_key_info *info)
{
    remote_tier *rt = t->impl;
    int current = version == NULL || *version == '\0';

    if (name != NULL &&
        azkm_remote_cache_get(rt->scope, name, current ? NULL : version, (int64_t)rt->refresh_s * 1000, info)) {
        info->current = current;
        return AZKM_OK;
    }
    return azkm_remote_key_get(t, name, version, info);
}

long azkm_remote_refresh_s(const azkm_tier *t)
{
    return ((const remote_tier *)t->impl)->refresh_s;
}

azkm_rc azkm_remote_key_list(azkm_tier *t, azkm_key_info **out, size_t *n)
{
    remote_tier *rt = t->impl;
    json_t *kids = json_array(), *kid;
    azkm_key_info *arr = NULL;
    azkm_rc rc = kids != NULL ? azkm_remote_list_kids(rt->client, rt->entry, "/keys?maxresults=25", kids)
                              : azkm_fail(AZKM_E_NOMEM, "out of memory");
    size_t i;

    *out = NULL;
    *n = 0;
    if (rc == AZKM_OK && json_array_size(kids) > 0 &&
        (arr = OPENSSL_zalloc(json_array_size(kids) * sizeof(*arr))) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory listing keys");
    json_array_foreach(kids, i, kid)
    {
        if (rc == AZKM_OK)
            rc = azkm_remote_key_get(t, azkm_remote_kid_tail(json_string_value(kid)), NULL, &arr[i]);
    }
    if (rc == AZKM_OK) {
        *out = arr;
        *n = json_array_size(kids);
    } else {
        azkm_free(arr);
    }
    json_decref(kids);
    return rc;
}
