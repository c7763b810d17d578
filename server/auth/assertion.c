/* Client assertions at the token endpoint (see assertion.h): the JWT split and decoded, its claims checked, its
 * signature verified with the public key the identity store keeps for the certificate its thumbprint names, its jti
 * remembered. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "azkm/base64.h"
#include "auth/assertion.h"
#include "auth/jti_cache.h"
#include "auth/jwt.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define JTI_MAX 256

typedef struct {
    int pss;                      /* PS256, else RS256 */
    unsigned char thumbprint[32]; /* x5t (SHA-1, 20 bytes) or x5t#S256 (32) */
    size_t thumbprint_len;
    json_t *claims;
    size_t signed_len;
    unsigned char *sig;
    size_t sig_len;
} assertion;

static azkm_rc refuse(const char *why)
{
    return azkm_set_error(AZKM_E_AUTH, "the client assertion is not valid: %s", why);
}

static void assertion_clear(assertion *a)
{
    json_decref(a->claims);
    azkm_free(a->sig);
    memset(a, 0, sizeof(*a));
}

/* base64url text of len bytes at p, decoded. */
static int part_bytes(const char *p, size_t len, unsigned char **out, size_t *outlen)
{
    char *text = strndup(p, len);
    int ok = text != NULL && azkm_b64_decode(text, out, outlen) == AZKM_OK;

    free(text);
    return ok;
}

static json_t *part_json(const char *p, size_t len)
{
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    json_t *v = part_bytes(p, len, &raw, &rawlen)
                    ? json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL)
                    : NULL;

    azkm_free(raw);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

static azkm_rc header_read(const json_t *h, assertion *a)
{
    const char *alg = json_string_value(json_object_get(h, "alg"));
    const char *s256 = json_string_value(json_object_get(h, "x5t#S256"));
    const char *tp = s256 != NULL ? s256 : json_string_value(json_object_get(h, "x5t"));
    unsigned char *raw = NULL;
    size_t len = 0;

    if (alg == NULL || (strcmp(alg, "RS256") != 0 && strcmp(alg, "PS256") != 0))
        return refuse("its algorithm (alg) is not RS256 or PS256");
    if (json_object_get(h, "crit") != NULL)
        return refuse("its header has crit");
    if (tp == NULL || !part_bytes(tp, strlen(tp), &raw, &len) || len != (s256 != NULL ? 32u : 20u)) {
        azkm_free(raw);
        return refuse("its header has no certificate thumbprint (x5t or x5t#S256)");
    }
    a->pss = strcmp(alg, "PS256") == 0;
    memcpy(a->thumbprint, raw, len);
    a->thumbprint_len = len;
    azkm_free(raw);
    return AZKM_OK;
}

static azkm_rc split(const char *text, assertion *a)
{
    const char *d1, *d2;
    json_t *h = NULL;
    azkm_rc rc;

    memset(a, 0, sizeof(*a));
    if (text == NULL || strlen(text) > AZKMD_JWT_MAX)
        return refuse("it is missing or too long");
    if ((d1 = strchr(text, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL ||
        strspn(text, B64URL ".") != strlen(text) || d1 == text || d2 == d1 + 1 || d2[1] == '\0')
        return refuse("it is not three base64url parts separated by dots");
    if ((h = part_json(text, (size_t)(d1 - text))) == NULL)
        return refuse("its header is not a base64url JSON object");
    rc = header_read(h, a);
    json_decref(h);
    if (rc == AZKM_OK && (a->claims = part_json(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL)
        rc = refuse("its payload is not a base64url JSON object");
    if (rc == AZKM_OK && !part_bytes(d2 + 1, strlen(d2 + 1), &a->sig, &a->sig_len))
        rc = refuse("its signature is not base64url");
    a->signed_len = (size_t)(d2 - text);
    if (rc != AZKM_OK)
        assertion_clear(a);
    return rc;
}

static int audience_ok(const json_t *aud, const char *want)
{
    size_t i;
    json_t *v;

    if (json_is_string(aud))
        return strcasecmp(json_string_value(aud), want) == 0;
    json_array_foreach(aud, i, v) if (json_is_string(v) && strcasecmp(json_string_value(v), want) == 0) return 1;
    return 0;
}

static azkm_rc times_ok(const json_t *c, int64_t now)
{
    json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");

    if (!json_is_integer(exp))
        return refuse("it has no expiry (exp)");
    if (json_integer_value(exp) <= now - AZKMD_JWT_SKEW)
        return refuse("it has expired (exp)");
    if (json_integer_value(exp) > now + AZKMD_ASSERTION_MAX_LIFETIME + AZKMD_JWT_SKEW)
        return refuse("it expires more than an hour from now (exp)");
    if (nbf != NULL && (!json_is_integer(nbf) || json_integer_value(nbf) > now + AZKMD_JWT_SKEW))
        return refuse("it is not valid yet (nbf)");
    return AZKM_OK;
}

static azkm_rc claims_ok(const json_t *c, const char *app_id, const char *token_url, int64_t now)
{
    const char *iss = json_string_value(json_object_get(c, "iss"));
    const char *sub = json_string_value(json_object_get(c, "sub"));
    const char *jti = json_string_value(json_object_get(c, "jti"));

    if (iss == NULL || sub == NULL || strcasecmp(iss, app_id) != 0 || strcasecmp(sub, app_id) != 0)
        return refuse("its issuer and subject (iss, sub) are not the client_id");
    if (!audience_ok(json_object_get(c, "aud"), token_url))
        return refuse("its audience (aud) is not this token endpoint");
    if (jti == NULL || *jti == '\0' || strlen(jti) > JTI_MAX)
        return refuse("it has no identifier (jti)");
    return times_ok(c, now);
}

static int signature_ok(const assertion *a, const char *text, const unsigned char *spki, size_t spki_len)
{
    const unsigned char *p = spki;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)spki_len);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = 0;

    if (pub != NULL && ctx != NULL && EVP_PKEY_is_a(pub, "RSA") &&
        EVP_DigestVerifyInit_ex(ctx, &pctx, "SHA256", NULL, NULL, pub, NULL) == 1 &&
        (!a->pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1)))
        ok = EVP_DigestVerify(ctx, a->sig, a->sig_len, (const unsigned char *)text, a->signed_len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pub);
    return ok;
}

/* SHA-256 of appId NUL jti: the replay cache's key. */
static azkm_rc remember(const json_t *c, const char *app_id, int64_t now)
{
    const char *jti = json_string_value(json_object_get(c, "jti"));
    unsigned char id[32];
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, app_id, strlen(app_id) + 1) == 1 &&
             EVP_DigestUpdate(ctx, jti, strlen(jti)) == 1 && EVP_DigestFinal_ex(ctx, id, &n) == 1;

    EVP_MD_CTX_free(ctx);
    if (!ok)
        return azkm_set_error(AZKM_E_CRYPTO, "cannot hash a client assertion's jti");
    switch (azkmd_jti_remember(id, json_integer_value(json_object_get(c, "exp")) + AZKMD_JWT_SKEW, now)) {
    case AZKMD_JTI_NEW:
        return AZKM_OK;
    case AZKMD_JTI_REPLAY:
        return refuse("it was used before (its jti was seen): make a new assertion for each request");
    default:
        return azkm_set_error(AZKM_E_IO, "too many client assertions are live (%d): try again later",
                              AZKMD_JTI_CACHE_SIZE);
    }
}

azkm_rc azkmd_assertion_check(azkm_keystore *ks, const char *text, const char *app_id, const char *token_url,
                              int64_t now)
{
    assertion a;
    unsigned char *spki = NULL;
    size_t spki_len = 0;
    azkm_rc rc = split(text, &a);

    if (rc != AZKM_OK)
        return rc;
    if ((rc = claims_ok(a.claims, app_id, token_url, now)) == AZKM_OK) {
        rc = azkm_sp_certificate_key(ks, app_id, a.thumbprint, a.thumbprint_len, &spki, &spki_len);
        if (rc == AZKM_E_NOT_FOUND)
            rc = refuse("no certificate with its thumbprint (x5t) is registered to this client");
    }
    if (rc == AZKM_OK && !signature_ok(&a, text, spki, spki_len))
        rc = refuse("its signature does not verify with the registered certificate's key");
    if (rc == AZKM_OK)
        rc = remember(a.claims, app_id, now);
    azkm_free(spki);
    assertion_clear(&a);
    return rc;
}
