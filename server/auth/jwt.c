/* Compact JWS tokens: splitting and decoding (jansson for JSON, the keystore's base64url), signature checks with
 * OpenSSL's EVP (ECDSA's r||s turned into DER first) and the claim checks of an access token. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "azkm/base64.h"
#include "auth/jwt.h"
#include "json/body.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

int azkmd_app_id_valid(const char *s)
{
    static const int dashes[] = {8, 13, 18, 23};
    size_t d = 0;

    if (s == NULL || strlen(s) != AZKM_GUID_LEN)
        return 0;
    for (size_t i = 0; i < AZKM_GUID_LEN; i++) {
        if (d < 4 && (int)i == dashes[d]) {
            if (s[i] != '-')
                return 0;
            d++;
        } else if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

static azkm_rc refuse(const char *why)
{
    return azkm_set_error(AZKM_E_AUTH, "the bearer token is not valid: %s", why);
}

/* One base64url part (no padding, nothing else) as a JSON object. */
static azkm_rc part_json(const char *p, size_t len, const char *what, json_t **out)
{
    char *text = strndup(p, len);
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    char why[64];

    *out = NULL;
    if (text != NULL && azkm_b64_decode(text, &raw, &rawlen) == AZKM_OK)
        *out = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    azkm_free(raw);
    if (*out != NULL && json_is_object(*out))
        return AZKM_OK;
    json_decref(*out);
    *out = NULL;
    snprintf(why, sizeof(why), "its %s is not a base64url JSON object", what);
    return refuse(why);
}

static azkm_rc parse_header(const char *p, size_t len, azkmd_jwt *out)
{
    json_t *h = NULL;
    const char *alg, *kid, *typ;
    azkm_rc rc = part_json(p, len, "header", &h);

    if (rc != AZKM_OK)
        return rc;
    alg = json_string_value(json_object_get(h, "alg"));
    kid = json_string_value(json_object_get(h, "kid"));
    typ = json_string_value(json_object_get(h, "typ"));
    if (alg == NULL || (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0))
        rc = refuse("its algorithm is not RS256 or ES256");
    else if (json_object_get(h, "crit") != NULL || (typ != NULL && strcmp(typ, "JWT") != 0))
        rc = refuse("its header has an unsupported typ or crit");
    else if (kid == NULL || *kid == '\0' || strlen(kid) > AZKMD_JWT_KID_MAX)
        rc = refuse("its header names no key (kid)");
    if (rc == AZKM_OK) {
        snprintf(out->alg, sizeof(out->alg), "%s", alg);
        snprintf(out->kid, sizeof(out->kid), "%s", kid);
    }
    json_decref(h);
    return rc;
}

azkm_rc azkmd_jwt_parse(const char *token, azkmd_jwt *out)
{
    const char *d1, *d2;
    azkm_rc rc;

    memset(out, 0, sizeof(*out));
    if (token == NULL || strlen(token) > AZKMD_JWT_MAX)
        return refuse("it is missing or too long");
    if ((d1 = strchr(token, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL)
        return refuse("it is not three base64url parts separated by dots");
    if (strspn(token, B64URL ".") != strlen(token) || d1 == token || d2 == d1 + 1 || d2[1] == '\0')
        return refuse("a part is empty or not base64url");
    if ((rc = parse_header(token, (size_t)(d1 - token), out)) != AZKM_OK ||
        (rc = part_json(d1 + 1, (size_t)(d2 - d1 - 1), "payload", &out->claims)) != AZKM_OK)
        return rc;
    out->signed_len = (size_t)(d2 - token);
    if (azkm_b64_decode(d2 + 1, &out->sig, &out->sig_len) != AZKM_OK) {
        azkmd_jwt_clear(out);
        return refuse("its signature is not base64url");
    }
    return AZKM_OK;
}

void azkmd_jwt_clear(azkmd_jwt *t)
{
    json_decref(t->claims);
    azkm_free(t->sig);
    memset(t, 0, sizeof(*t));
}

/* The key must be of the algorithm's own type: an RSA key never checks an ES256 token, nor an EC key an RS256
 * one, so the header cannot choose how the key is used. */
static int key_fits(const char *alg, EVP_PKEY *pub)
{
    char group[32] = "";
    size_t glen = 0;

    if (strcmp(alg, "RS256") == 0)
        return EVP_PKEY_is_a(pub, "RSA");
    return EVP_PKEY_is_a(pub, "EC") &&
           EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof(group), &glen) == 1 &&
           strcmp(group, "prime256v1") == 0;
}

static int signature_ok(const azkmd_jwt *t, const char *token, EVP_PKEY *pub)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    const unsigned char *sig = t->sig;
    size_t siglen = t->sig_len;
    int ok = 0;

    if (strcmp(t->alg, "ES256") == 0) {
        /* JWS carries ECDSA as r||s, 32 bytes each for P-256 (RFC 7518 section 3.4). */
        if (siglen != 64 || azkmd_ecdsa_raw_to_der(t->sig, siglen, &der, &siglen) != AZKM_OK)
            siglen = 0;
        sig = der;
    }
    if (ctx != NULL && siglen > 0 && EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pub, NULL) == 1)
        ok = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)token, t->signed_len) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
}

static int audience_ok(const json_t *aud, const char *want)
{
    size_t i;
    json_t *v;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    json_array_foreach(aud, i, v) if (json_is_string(v) && strcmp(json_string_value(v), want) == 0) return 1;
    return 0;
}

static azkm_rc times_ok(const json_t *c, int64_t now)
{
    json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");

    if (!json_is_integer(exp))
        return refuse("it has no expiry (exp)");
    if (json_integer_value(exp) <= now - AZKMD_JWT_SKEW) /* no arithmetic on the token's numbers: no overflow */
        return refuse("it has expired");
    if (nbf != NULL && !json_is_integer(nbf))
        return refuse("its nbf is not a number");
    if (nbf != NULL && json_integer_value(nbf) > now + AZKMD_JWT_SKEW)
        return refuse("it is not valid yet (nbf)");
    return AZKM_OK;
}

static azkm_rc claims_ok(const json_t *c, const azkmd_jwt_expect *e, char *principal, size_t cap)
{
    const char *iss = json_string_value(json_object_get(c, "iss"));
    const char *sub = json_string_value(json_object_get(c, "sub"));
    const char *appid = json_string_value(json_object_get(c, "appid"));
    azkm_rc rc;

    if (iss == NULL || strcmp(iss, e->issuer) != 0)
        return refuse("it was not issued by this server (iss)");
    if (!audience_ok(json_object_get(c, "aud"), e->audience))
        return refuse("its audience (aud) is not this service");
    if ((rc = times_ok(c, e->now)) != AZKM_OK)
        return rc;
    if (!azkmd_app_id_valid(appid) || sub == NULL || strncmp(sub, "sp:", 3) != 0 || strcmp(sub + 3, appid) != 0)
        return refuse("its sub and appid do not name a service principal");
    snprintf(principal, cap, "sp:%s", appid);
    return AZKM_OK;
}

azkm_rc azkmd_jwt_verify(const azkmd_jwt *t, const char *token, EVP_PKEY *pub, const azkmd_jwt_expect *e,
                         char *principal, size_t cap)
{
    if (!key_fits(t->alg, pub))
        return refuse("its algorithm does not match the signing key");
    if (!signature_ok(t, token, pub))
        return refuse("its signature does not verify");
    return claims_ok(t->claims, e, principal, cap);
}

static char *part_text(const json_t *v)
{
    char *json = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *b64 = json != NULL ? azkm_b64url_encode((const unsigned char *)json, strlen(json)) : NULL;

    free(json);
    return b64;
}

azkm_rc azkmd_jwt_signing_input(const char *alg, const char *kid, const json_t *claims, char **out)
{
    json_t *h = json_pack("{s:s,s:s,s:s}", "typ", "JWT", "alg", alg, "kid", kid);
    char *hb = h != NULL ? part_text(h) : NULL, *cb = part_text(claims);
    size_t len = (hb != NULL ? strlen(hb) : 0) + (cb != NULL ? strlen(cb) : 0) + 2;

    *out = hb != NULL && cb != NULL ? malloc(len) : NULL;
    if (*out != NULL)
        snprintf(*out, len, "%s.%s", hb, cb);
    json_decref(h);
    azkm_free(hb);
    azkm_free(cb);
    return *out != NULL ? AZKM_OK : azkm_set_error(AZKM_E_NOMEM, "out of memory building a token");
}
