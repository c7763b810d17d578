/* azkmd's JWT verifier (server/auth/jwt.c) on tokens made here with OpenSSL: a good ES256 and RS256 token pass and
 * name sp:<appid>; a changed payload, another key, alg none, HS256 (the public key as an HMAC secret), an
 * algorithm that does not match the key, expired / not-yet-valid tokens (and the skew either side), a wrong issuer
 * or audience, sub not the appid and malformed shapes are each refused with a message naming the check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/jwt.h"
#include "azkm/base64.h"
#include "json/body.h"

#define ISS "https://vault.azkm.localhost/azkm/v2.0"
#define AUD "https://vault.azkm.localhost"
#define APP "0b1c2d3e-4f50-4617-8899-aabbccddeeff"
#define NOW 1800000000

static EVP_PKEY *ec_key, *ec_other, *rsa_key;

static int setup(void **state)
{
    (void)state;
    ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ec_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    return ec_key != NULL && ec_other != NULL && rsa_key != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(ec_other);
    EVP_PKEY_free(rsa_key);
    return 0;
}

static json_t *good_claims(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "iss", ISS, "aud", AUD, "sub", "sp:" APP, "appid", APP,
                     "tid", "azkm", "iat", (json_int_t)NOW, "nbf", (json_int_t)NOW, "exp", (json_int_t)NOW + 600);
}

/* header.payload.signature with key (ES256: r||s); claims consumed. */
static char *make(const char *alg, EVP_PKEY *key, json_t *claims)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[600], raw[600];
    size_t derlen = sizeof(der), rawlen = sizeof(raw);
    char *input = NULL, *b64, *out;

    assert_int_equal(azkmd_jwt_signing_input(alg, "0123456789abcdef0123456789abcdef", claims, &input), AZKM_OK);
    assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL), 1);
    assert_int_equal(EVP_DigestSign(ctx, der, &derlen, (unsigned char *)input, strlen(input)), 1);
    if (strcmp(alg, "ES256") == 0)
        assert_int_equal(azkmd_ecdsa_der_to_raw(der, derlen, 32, raw, &rawlen), AZKM_OK);
    else
        memcpy(raw, der, rawlen = derlen);
    b64 = azkm_b64url_encode(raw, rawlen);
    out = malloc(strlen(input) + strlen(b64) + 2);
    sprintf(out, "%s.%s", input, b64);
    EVP_MD_CTX_free(ctx);
    json_decref(claims);
    free(input);
    azkm_free(b64);
    return out;
}

/* Verifies token with key at time now: AZKM_OK, or the refusal's message must contain why. */
static void check(const char *token, EVP_PKEY *key, int64_t now, const char *why)
{
    azkmd_jwt t;
    azkmd_jwt_expect e = {ISS, AUD, now};
    char principal[64] = "";
    azkm_rc rc = azkmd_jwt_parse(token, &t);

    if (rc == AZKM_OK) {
        rc = azkmd_jwt_verify(&t, token, key, &e, principal, sizeof(principal));
        azkmd_jwt_clear(&t);
    }
    if (why == NULL) {
        if (rc != AZKM_OK)
            fail_msg("refused: %s", azkm_last_error());
        assert_string_equal(principal, "sp:" APP);
        return;
    }
    assert_int_equal(rc, AZKM_E_AUTH);
    if (strstr(azkm_last_error(), why) == NULL)
        fail_msg("'%s' does not say '%s'", azkm_last_error(), why);
}

static void test_good_tokens_name_the_service_principal(void **state)
{
    char *es = make("ES256", ec_key, good_claims()), *rs = make("RS256", rsa_key, good_claims());
    json_t *c = good_claims();

    (void)state;
    check(es, ec_key, NOW, NULL);
    check(rs, rsa_key, NOW, NULL);
    free(es);
    /* aud as an array holding this service. */
    json_object_set_new(c, "aud", json_pack("[s,s]", "https://elsewhere", AUD));
    es = make("ES256", ec_key, c);
    check(es, ec_key, NOW, NULL);
    free(es);
    free(rs);
}

static void test_signature_checks(void **state)
{
    char *es = make("ES256", ec_key, good_claims()), *rs = make("RS256", rsa_key, good_claims());
    char *dot = strrchr(es, '.');

    (void)state;
    check(es, ec_other, NOW, "signature does not verify");
    /* The algorithm must match the key: an RS256 token is never checked with an EC key, nor ES256 with RSA. */
    check(rs, ec_key, NOW, "does not match the signing key");
    check(es, rsa_key, NOW, "does not match the signing key");
    dot[-2] = dot[-2] == 'A' ? 'B' : 'A'; /* a payload byte changed */
    check(es, ec_key, NOW, "");
    free(es);
    free(rs);
}

/* A token with this header JSON, the good claims and signature bytes sig (base64url text). */
static char *with_header(const char *header, const char *sig)
{
    char *h = azkm_b64url_encode((const unsigned char *)header, strlen(header));
    json_t *c = good_claims();
    char *claims = json_dumps(c, JSON_COMPACT);
    char *p = azkm_b64url_encode((const unsigned char *)claims, strlen(claims));
    char *out = malloc(strlen(h) + strlen(p) + strlen(sig) + 3);

    sprintf(out, "%s.%s.%s", h, p, sig);
    azkm_free(h);
    azkm_free(p);
    free(claims);
    json_decref(c);
    return out;
}

static void test_algorithms_outside_the_allow_list(void **state)
{
    static const char *const headers[] = {
        "{\"alg\":\"none\",\"kid\":\"k\"}",    "{\"alg\":\"HS256\",\"kid\":\"k\"}",
        "{\"alg\":\"ES384\",\"kid\":\"k\"}",   "{\"alg\":\"PS256\",\"kid\":\"k\"}",
        "{\"alg\":\"es256\",\"kid\":\"k\"}",   "{\"kid\":\"k\"}",
        "{\"alg\":[\"ES256\"],\"kid\":\"k\"}",
    };
    char *t;

    (void)state;
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        t = with_header(headers[i], "AAAA");
        check(t, ec_key, NOW, "algorithm is not RS256 or ES256");
        free(t);
    }
    t = with_header("{\"alg\":\"ES256\"}", "AAAA");
    check(t, ec_key, NOW, "names no key");
    free(t);
    t = with_header("{\"alg\":\"ES256\",\"kid\":\"k\",\"crit\":[\"b64\"]}", "AAAA");
    check(t, ec_key, NOW, "crit");
    free(t);
    t = with_header("{\"alg\":\"ES256\",\"kid\":\"k\"}", "AAAA"); /* 3 bytes: not an r||s of P-256 */
    check(t, ec_key, NOW, "signature does not verify");
    free(t);
}

static char *claims_token(const char *field, json_t *value)
{
    json_t *c = good_claims();

    if (value == NULL)
        json_object_del(c, field);
    else
        json_object_set_new(c, field, value);
    return make("ES256", ec_key, c);
}

static void check_claim(const char *field, json_t *value, int64_t now, const char *why)
{
    char *t = claims_token(field, value);

    check(t, ec_key, now, why);
    free(t);
}

static void test_times_with_skew(void **state)
{
    char *t = make("ES256", ec_key, good_claims());

    (void)state;
    check(t, ec_key, NOW + 600 + AZKMD_JWT_SKEW - 1, NULL);
    check(t, ec_key, NOW + 600 + AZKMD_JWT_SKEW, "expired");
    check(t, ec_key, NOW - AZKMD_JWT_SKEW, NULL);
    check(t, ec_key, NOW - AZKMD_JWT_SKEW - 1, "not valid yet");
    free(t);
    check_claim("exp", NULL, NOW, "no expiry");
    check_claim("exp", json_string("1900000000"), NOW, "no expiry");
    check_claim("nbf", json_string("0"), NOW, "nbf is not a number");
}

static void test_issuer_audience_and_subject(void **state)
{
    (void)state;
    check_claim("iss", json_string("https://login.microsoftonline.com/azkm/v2.0"), NOW, "(iss)");
    check_claim("iss", NULL, NOW, "(iss)");
    check_claim("aud", json_string("https://other.vault.example"), NOW, "audience");
    check_claim("aud", json_pack("[s]", "https://x"), NOW, "audience");
    check_claim("aud", NULL, NOW, "audience");
    check_claim("sub", json_string("sp:00000000-0000-4000-8000-000000000000"), NOW, "service principal");
    check_claim("sub", json_string(APP), NOW, "service principal");
    check_claim("appid", json_string("0B1C2D3E-4F50-4617-8899-AABBCCDDEEFF"), NOW, "service principal");
    check_claim("appid", json_string("uid:0"), NOW, "service principal");
}

static void test_malformed_shapes(void **state)
{
    static const char *const bad[] = {"",     "abc",  "a.b",     "a.b.c.d", ".b.c",
                                      "a..c", "a.b.", "a b.c.d", "a.b.c=",  "e30.e30.AA"};
    char *huge = malloc(AZKMD_JWT_MAX + 2);

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check(bad[i], ec_key, NOW, "the bearer token is not valid");
    memset(huge, 'a', AZKMD_JWT_MAX + 1);
    huge[AZKMD_JWT_MAX + 1] = '\0';
    check(huge, ec_key, NOW, "too long");
    free(huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_tokens_name_the_service_principal),
        cmocka_unit_test(test_signature_checks),
        cmocka_unit_test(test_algorithms_outside_the_allow_list),
        cmocka_unit_test(test_times_with_skew),
        cmocka_unit_test(test_issuer_audience_and_subject),
        cmocka_unit_test(test_malformed_shapes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
