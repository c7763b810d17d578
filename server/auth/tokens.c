/* Issuing and checking azkmd's access tokens with the signing key in its vault: the keystore signs (the private key
 * never leaves its tier), OpenSSL's EVP verifies with the version's public key (auth/token_keys.h caches it). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "azkm/base64.h"
#include "auth/jwt.h"
#include "auth/token_keys.h"
#include "auth/tokens.h"
#include "json/body.h"
#include "json/key_bundle.h"

void azkmd_token_authority(const azkmd_config *cfg, char *buf, size_t cap)
{
    if (cfg->authority[0] != '\0')
        snprintf(buf, cap, "%s", cfg->authority);
    else
        snprintf(buf, cap, "https://%s", cfg->domain);
}

void azkmd_token_issuer(const azkmd_config *cfg, char *buf, size_t cap)
{
    char authority[300];

    azkmd_token_authority(cfg, authority, sizeof(authority));
    snprintf(buf, cap, "%s/%s/v2.0", authority, cfg->tenant);
}

void azkmd_token_audience(const azkmd_config *cfg, char *buf, size_t cap)
{
    snprintf(buf, cap, "https://%s", cfg->domain);
}

static azkm_rc key_alg(const azkm_key *k, const char **alg)
{
    const azkm_key_info *info = azkm_key_get_info(k);

    if (info->kty == AZKM_KTY_RSA && !info->pss.enabled)
        *alg = "RS256";
    else if (info->kty == AZKM_KTY_EC && info->curve == AZKM_CURVE_P256)
        *alg = "ES256";
    else
        return azkm_set_error(AZKM_E_UNSUPPORTED, "token signing key %s/%s must be RSA (RS256) or EC P-256 (ES256)",
                              info->vault, info->name);
    return AZKM_OK;
}

azkm_rc azkmd_token_key_check(azkm_vault *v, const azkmd_config *cfg)
{
    azkm_key *k = NULL;
    const char *alg;
    azkm_rc rc = azkm_key_load(v, cfg->token_key, NULL, &k);

    if (rc == AZKM_OK)
        rc = key_alg(k, &alg);
    azkm_key_free(k);
    return rc;
}

static json_t *claims(const azkmd_config *cfg, const char *app_id, int64_t now)
{
    char iss[600], aud[300], sub[48];
    unsigned char id[16];
    char *jti;
    json_t *c;

    azkmd_token_issuer(cfg, iss, sizeof(iss));
    azkmd_token_audience(cfg, aud, sizeof(aud));
    snprintf(sub, sizeof(sub), "sp:%s", app_id);
    if (RAND_bytes(id, sizeof(id)) != 1)
        return NULL;
    jti = azkm_b64url_encode(id, sizeof(id));
    c = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:s,s:s?}", "aud", aud, "iss", iss, "iat", (json_int_t)now, "nbf",
                  (json_int_t)now, "exp", (json_int_t)(now + cfg->token_lifetime), "sub", sub, "tid", cfg->tenant,
                  "appid", app_id, "jti", jti);
    azkm_free(jti);
    return c;
}

/* The signature over input, as JWS carries it (ECDSA: r||s). */
static azkm_rc sign_input(azkm_key *k, const char *alg, const char *input, unsigned char *sig, size_t *siglen)
{
    azkm_sign_params p;
    unsigned char digest[32], der[AZKM_PUBLIC_DER_MAX];
    size_t derlen = 0;
    azkm_rc rc;

    if (EVP_Digest(input, strlen(input), digest, NULL, EVP_sha256(), NULL) != 1)
        return azkm_set_error(AZKM_E_CRYPTO, "SHA-256 of a token failed");
    if ((rc = azkm_sign_params_from_alg(alg, &p)) != AZKM_OK)
        return rc;
    if (strcmp(alg, "ES256") != 0)
        return azkm_key_sign(k, &p, digest, sizeof(digest), sig, siglen);
    if ((rc = azkm_key_sign(k, &p, digest, sizeof(digest), der, &derlen)) != AZKM_OK)
        return rc;
    return azkmd_ecdsa_der_to_raw(der, derlen, 32, sig, siglen);
}

static azkm_rc assemble(azkm_key *k, const char *alg, const json_t *c, char **token)
{
    unsigned char sig[1024];
    size_t siglen = 0, len;
    char *input = NULL, *b64 = NULL;
    azkm_rc rc = azkm_key_max_output(k) <= sizeof(sig)
                     ? AZKM_OK
                     : azkm_set_error(AZKM_E_UNSUPPORTED, "signing key too large");

    if (rc == AZKM_OK)
        rc = azkmd_jwt_signing_input(alg, azkm_key_get_info(k)->version, c, &input);
    if (rc == AZKM_OK)
        rc = sign_input(k, alg, input, sig, &siglen);
    if (rc == AZKM_OK && (b64 = azkm_b64url_encode(sig, siglen)) == NULL)
        rc = azkm_set_error(AZKM_E_NOMEM, "out of memory building a token");
    if (rc == AZKM_OK) {
        len = strlen(input) + strlen(b64) + 2;
        if ((*token = malloc(len)) != NULL)
            snprintf(*token, len, "%s.%s", input, b64);
        else
            rc = azkm_set_error(AZKM_E_NOMEM, "out of memory building a token");
    }
    free(input);
    azkm_free(b64);
    return rc;
}

azkm_rc azkmd_token_issue(azkm_vault *v, const azkmd_config *cfg, const char *app_id, int64_t now, char **token)
{
    azkm_key *k = NULL;
    const char *alg = NULL;
    json_t *c = NULL;
    azkm_rc rc = azkm_key_load(v, cfg->token_key, NULL, &k);

    *token = NULL;
    if (rc == AZKM_OK)
        rc = key_alg(k, &alg);
    if (rc == AZKM_OK && (c = claims(cfg, app_id, now)) == NULL)
        rc = azkm_set_error(AZKM_E_NOMEM, "out of memory building a token");
    if (rc == AZKM_OK)
        rc = assemble(k, alg, c, token);
    json_decref(c);
    azkm_key_free(k);
    return rc;
}

azkm_rc azkmd_token_check(azkm_vault *v, const azkmd_config *cfg, const char *token, int64_t now, char *principal,
                          size_t cap)
{
    char iss[600], aud[300];
    azkmd_jwt_expect e = {iss, aud, now};
    azkmd_jwt t;
    EVP_PKEY *pub = NULL;
    struct timespec mono;
    azkm_rc rc = azkmd_jwt_parse(token, &t);

    if (rc != AZKM_OK)
        return rc;
    azkmd_token_issuer(cfg, iss, sizeof(iss));
    azkmd_token_audience(cfg, aud, sizeof(aud));
    clock_gettime(CLOCK_MONOTONIC, &mono);
    if ((rc = azkmd_token_key_get(v, cfg->token_vault, cfg->token_key, t.kid, now, (int64_t)mono.tv_sec, &pub)) ==
        AZKM_OK)
        rc = azkmd_jwt_verify(&t, token, pub, &e, principal, cap);
    EVP_PKEY_free(pub);
    azkmd_jwt_clear(&t);
    return rc;
}

azkm_rc azkmd_token_jwks(azkm_vault *v, const azkmd_config *cfg, json_t **out)
{
    static const char *const fields[] = {"n", "e", "crv", "x", "y"};
    azkm_key *k = NULL;
    const char *alg = NULL;
    json_t *bundle = NULL, *jwk, *src;
    azkm_rc rc = azkm_key_load(v, cfg->token_key, NULL, &k);

    if (rc == AZKM_OK && (rc = key_alg(k, &alg)) == AZKM_OK &&
        (bundle = azkmd_key_bundle(azkm_key_get_info(k), "")) == NULL)
        rc = azkm_set_error(AZKM_E_NOMEM, "out of memory building the JWKS");
    if (rc == AZKM_OK) {
        src = json_object_get(bundle, "key");
        jwk = json_pack("{s:s,s:s,s:s,s:s}", "kty", strcmp(alg, "RS256") == 0 ? "RSA" : "EC", "use", "sig", "alg",
                        alg, "kid", azkm_key_get_info(k)->version);
        for (size_t i = 0; jwk != NULL && i < sizeof(fields) / sizeof(fields[0]); i++)
            if (json_object_get(src, fields[i]) != NULL)
                json_object_set(jwk, fields[i], json_object_get(src, fields[i]));
        *out = json_pack("{s:[o]}", "keys", jwk);
        rc = *out != NULL ? AZKM_OK : azkm_set_error(AZKM_E_NOMEM, "out of memory building the JWKS");
    }
    json_decref(bundle);
    azkm_key_free(k);
    return rc;
}
