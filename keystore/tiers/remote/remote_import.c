/* Import into a remote vault: PUT keys/{name} with the private key as a JWK (RFC 7518 section 6: RSA n, e, d, p,
 * q, dp, dq, qi; EC crv, x, y, d), as the Key Vault SDKs send it. Every private member is cleared before the JSON
 * is freed, as is the request text (remote_client.c). */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "azkm/base64.h"
#include "tiers/remote/remote_admin.h"
#include "tiers/remote/remote_calls.h"

static const char *entry_name(azkm_tier *t)
{
    const char *entry;

    azkm_remote_tier_client(t, &entry);
    return entry;
}

/* bytes as a base64url member of jwk, the text cleared once copied. */
static int set_text(json_t *jwk, const char *member, const unsigned char *bytes, size_t len)
{
    char *text = azkm_b64url_encode(bytes, len);
    int ok = text != NULL && json_object_set_new(jwk, member, json_string(text)) == 0;

    if (text != NULL)
        OPENSSL_cleanse(text, strlen(text));
    azkm_free(text);
    return ok;
}

/* The same, with bytes cleared here. */
static int set_b64(json_t *jwk, const char *member, unsigned char *bytes, size_t len)
{
    int ok = set_text(jwk, member, bytes, len);

    OPENSSL_cleanse(bytes, len);
    return ok;
}

/* A BIGNUM parameter as a JWK member, big-endian in pad bytes (0: its own length). */
static int set_bn(json_t *jwk, const EVP_PKEY *pkey, const char *param, const char *member, int pad)
{
    unsigned char buf[1024];
    BIGNUM *bn = NULL;
    int n = -1, ok = 0;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) == 1 && BN_num_bytes(bn) <= (int)sizeof(buf))
        n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    if (n > 0)
        ok = set_b64(jwk, member, buf, (size_t)n);
    OPENSSL_cleanse(buf, sizeof(buf));
    BN_clear_free(bn);
    return ok;
}

static int rsa_members(json_t *jwk, const EVP_PKEY *pkey)
{
    static const char *const params[] = {OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
                                         OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                                         OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                                         OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    static const char *const members[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
    int ok = 1;

    for (size_t i = 0; ok && i < 8; i++)
        ok = set_bn(jwk, pkey, params[i], members[i], 0);
    return ok;
}

static int ec_members(json_t *jwk, const EVP_PKEY *pkey, azkm_curve curve)
{
    int half = (azkm_curve_bits(curve) + 7) / 8;
    unsigned char pt[1 + 2 * 66];
    size_t len = 0;

    if (json_object_set_new(jwk, "crv", json_string(azkm_curve_name(curve))) != 0 ||
        EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &len) != 1 ||
        len != 1 + 2 * (size_t)half || pt[0] != 0x04)
        return 0;
    return set_b64(jwk, "x", pt + 1, (size_t)half) && set_b64(jwk, "y", pt + 1 + half, (size_t)half) &&
           set_bn(jwk, pkey, OSSL_PKEY_PARAM_PRIV_KEY, "d", half);
}

static azkm_rc private_jwk(azkm_tier *t, const char *name, const azkm_material *m, azkm_protection protection,
                           json_t *jwk)
{
    const char *entry;
    EVP_PKEY *pkey = NULL;
    azkm_kty kty;
    azkm_curve curve = AZKM_CURVE_NONE;
    unsigned size;
    int ok;
    azkm_rc rc;

    azkm_remote_tier_client(t, &entry);
    if (m->kty == AZKM_KTY_OCT) /* the raw key as "k" */
        return json_object_set_new(jwk, "kty", json_string(azkm_kty_name(m->kty, protection))) == 0 &&
                       set_text(jwk, "k", m->der, m->der_len)
                   ? AZKM_OK
                   : azkm_fail(AZKM_E_NOMEM, "key %s/%s: cannot write the key as a JWK", entry, name);
    if (m->kty != AZKM_KTY_RSA && m->kty != AZKM_KTY_EC)
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "vault %s is remote: key %s: azkmd does not import %s keys (its JWK import takes RSA, EC "
                         "and oct keys): create the key through the remote vault instead",
                         entry, name, azkm_kty_name(m->kty, protection));
    if ((rc = azkm_pkey_from_material(t->libctx, t->propq, m->kty, m->der, m->der_len, &pkey)) != AZKM_OK ||
        (rc = azkm_pkey_describe(pkey, &kty, &size, &curve)) != AZKM_OK) {
        EVP_PKEY_free(pkey);
        return rc;
    }
    if (m->kty == AZKM_KTY_RSA && !EVP_PKEY_is_a(pkey, "RSA")) {
        EVP_PKEY_free(pkey);
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "vault %s is remote: key %s: an RSA-PSS key cannot be imported through "
                         "azkmd (a JWK has no RSA-PSS restrictions)",
                         entry, name);
    }
    ok = json_object_set_new(jwk, "kty", json_string(azkm_kty_name(m->kty, protection))) == 0 &&
         (m->kty == AZKM_KTY_RSA ? rsa_members(jwk, pkey) : ec_members(jwk, pkey, curve));
    EVP_PKEY_free(pkey);
    return ok ? AZKM_OK : azkm_fail(AZKM_E_NOMEM, "key %s/%s: cannot write the key as a JWK", entry, name);
}

/* The request body around jwk (taken): its key_ops inside it, the other attributes and tags beside it. */
static azkm_rc import_body(json_t *jwk, unsigned fields, const azkm_attributes *attrs, int hsm, json_t **out)
{
    json_t *body = json_object();
    azkm_rc rc = body != NULL ? AZKM_OK : azkm_fail(AZKM_E_NOMEM, "out of memory");

    if (rc == AZKM_OK && (fields & AZKM_ATTR_KEY_OPS)) /* key_ops belong to the JWK in an import */
        rc = azkm_remote_attrs_json(jwk, AZKM_ATTR_KEY_OPS, attrs);
    if (rc == AZKM_OK)
        rc = azkm_remote_attrs_json(body, fields & ~(unsigned)AZKM_ATTR_KEY_OPS, attrs);
    if (rc == AZKM_OK &&
        (json_object_set(body, "key", jwk) != 0 || (hsm && json_object_set_new(body, "Hsm", json_true()) != 0)))
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (rc != AZKM_OK) {
        json_decref(body);
        body = NULL;
    }
    *out = body;
    return rc;
}

/* BYOK: the transfer blob as key.key_hsm, unwrapped by azkmd inside its vault's token (docs/server.md). */
azkm_rc azkm_remote_key_import_byok(azkm_tier *t, const char *name, azkm_kty kty, const unsigned char *blob,
                                    size_t len, unsigned fields, const azkm_attributes *attrs, azkm_key_info *out)
{
    char path[AZKM_NAME_MAX + 32], *text = azkm_b64url_encode(blob, len);
    json_t *jwk = text != NULL
                      ? json_pack("{s:s,s:s}", "kty", azkm_kty_name(kty, AZKM_PROTECTION_HSM), "key_hsm", text)
                      : NULL;
    json_t *body = NULL;
    azkm_rc rc = jwk != NULL ? azkm_remote_key_path(name, "/keys/", "", path, sizeof(path))
                             : azkm_fail(AZKM_E_NOMEM, "out of memory");

    azkm_free(text);
    if (rc == AZKM_OK && kty != AZKM_KTY_RSA && kty != AZKM_KTY_EC && kty != AZKM_KTY_OCT)
        rc = azkm_fail(AZKM_E_UNSUPPORTED,
                       "vault %s is remote: key %s: azkmd imports RSA-HSM, EC-HSM and oct-HSM transfer blobs, not "
                       "%s",
                       entry_name(t), name, azkm_kty_name(kty, AZKM_PROTECTION_HSM));
    if (rc == AZKM_OK)
        rc = import_body(jwk, fields, attrs, 1, &body);
    json_decref(jwk);
    if (rc != AZKM_OK)
        return rc;
    return azkm_remote_bundle_call(t, "PUT", path, body, 1, out);
}

azkm_rc azkm_remote_key_import(azkm_tier *t, const char *name, const azkm_material *m, azkm_protection protection,
                               unsigned fields, const azkm_attributes *attrs, azkm_key_info *out)
{
    char path[AZKM_NAME_MAX + 32];
    json_t *jwk = json_object(), *body = NULL;
    azkm_rc rc = jwk != NULL ? azkm_remote_key_path(name, "/keys/", "", path, sizeof(path))
                             : azkm_fail(AZKM_E_NOMEM, "out of memory");

    if (rc == AZKM_OK)
        rc = private_jwk(t, name, m, protection, jwk);
    if (rc == AZKM_OK)
        rc = import_body(jwk, fields, attrs, protection == AZKM_PROTECTION_HSM, &body);
    if (rc == AZKM_OK) {
        json_incref(body); /* kept until the JWK is cleared */
        rc = azkm_remote_bundle_call(t, "PUT", path, body, 1, out);
    }
    azkm_remote_json_clear_free(jwk); /* the private parts among its members */
    json_decref(body);
    return rc;
}
