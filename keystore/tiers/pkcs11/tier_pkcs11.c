/* The HSM tier (Azure's Premium / Managed HSM): private and secret keys live in a PKCS#11 token and every
 * operation runs there with the token's own mechanism, or for RSA parameters the token's mechanisms refuse, with
 * its raw RSA and the padding in software (docs/security.md). One file per concern: p11_key.c (loading a key,
 * running an operation with it), p11_sign.c, p11_rsa_decrypt.c, p11_aes.c, p11_derive.c, p11_objects.c /
 * p11_import.c / p11_unwrap.c (key objects), and below them p11_run.c (recovery from token failures) and
 * p11_module.c (modules, tokens, sessions). This file fills the tier's table. */
#include <string.h>

#include <openssl/crypto.h>

#include "tiers/pkcs11/p11_tier.h"
#include "tiers/pkcs11/pkcs11.h"

static azkm_rc p11_decrypt(azkm_tier_key *k, unsigned op, const azkm_cipher_params *p, const unsigned char *in,
                           size_t inlen, unsigned char *out, size_t *outlen)
{
    if (k->kty == AZKM_KTY_RSA)
        return p11_rsa_decrypt(k, op, p, in, inlen, out, outlen);
    if (k->kty == AZKM_KTY_OCT)
        return p11_aes(k, 0, p, in, inlen, out, outlen);
    return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: %s keys do not decrypt", k->name,
                     k->kty == AZKM_KTY_OKP ? "OKP" : "EC");
}

static azkm_rc p11_encrypt(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                           unsigned char *out, size_t *outlen)
{
    if (k->kty != AZKM_KTY_OCT)
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: the HSM tier encrypts only with oct keys", k->name);
    return p11_aes(k, 1, p, in, inlen, out, outlen);
}

static void p11_tier_free(azkm_tier *t)
{
    /* Tokens stay set up for the life of the process: other vaults and forked children may use them. */
    OPENSSL_free(t->impl);
    OPENSSL_free(t);
}

static azkm_rc nothing(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    (void)t;
    (void)s;
    (void)arg;
    (void)res;
    return AZKM_OK;
}

/* A logged-in session proves the binding: the module loads, the token is there and takes the PIN. */
static azkm_rc p11_check(azkm_tier *t)
{
    p11_tier *pt = t->impl;

    return azkm_p11_run(pt->tok, nothing, NULL);
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
    .set_usage = p11_set_usage,
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
