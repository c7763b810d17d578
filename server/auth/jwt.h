/* JSON Web Tokens as azkmd issues and accepts them (RFC 7519, compact JWS, RFC 7515): the access tokens of its
 * OAuth2 token endpoint. Only RS256 and ES256, each with a key of its own type: no "none", no HMAC, so neither an
 * unsigned token nor a public key used as an HMAC secret is ever accepted. */
#ifndef AZKMD_JWT_H
#define AZKMD_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/types.h>

#include "azkm/keystore.h"

#define AZKMD_JWT_MAX 8192 /* longer Authorization values are refused before any decoding */
#define AZKMD_JWT_SKEW 60  /* seconds of clock skew allowed on exp and nbf */
#define AZKMD_JWT_KID_MAX 64

/* A token split and decoded, its signature not yet checked. */
typedef struct {
    char alg[8];                     /* "RS256" or "ES256" */
    char kid[AZKMD_JWT_KID_MAX + 1]; /* the signing key's version */
    json_t *claims;                  /* the payload object (owned) */
    size_t signed_len;               /* header.payload: the first signed_len bytes of the token */
    unsigned char *sig;              /* azkm_free */
    size_t sig_len;
} azkmd_jwt;

/* What the verifier requires of the claims. */
typedef struct {
    const char *issuer;
    const char *audience;
    int64_t now; /* epoch seconds */
} azkmd_jwt_expect;

/* Splits token (header.payload.signature, base64url), decodes header and payload, and checks the header: alg one
 * of RS256/ES256, a kid. AZKM_E_AUTH with a message saying what is wrong (never quoting the token). */
azkm_rc azkmd_jwt_parse(const char *token, azkmd_jwt *out);
/* Checks the signature of the parsed token with pub (whose type must be alg's: RSA for RS256, EC P-256 for
 * ES256), then iss, aud (a string or an array holding it), exp and nbf (AZKMD_JWT_SKEW), and sub = "sp:"appid.
 * On AZKM_OK principal holds "sp:<appid>". AZKM_E_AUTH naming the failed check otherwise. */
azkm_rc azkmd_jwt_verify(const azkmd_jwt *t, const char *token, EVP_PKEY *pub, const azkmd_jwt_expect *e,
                         char *principal, size_t cap);
void azkmd_jwt_clear(azkmd_jwt *t);

/* base64url(header) "." base64url(claims): the bytes a token's signature covers. *out: free(). */
azkm_rc azkmd_jwt_signing_input(const char *alg, const char *kid, const json_t *claims, char **out);
/* An appId as azkm makes them: a lowercase GUID. */
int azkmd_app_id_valid(const char *s);

#endif
