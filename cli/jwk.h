/* Public keys as JSON Web Keys (RFC 7517/7518): what `key show` puts under "key" and `key download --encoding
 * JWK` writes. Built from the SubjectPublicKeyInfo DER that the keystore returns. */
#ifndef AZKM_CLI_JWK_H
#define AZKM_CLI_JWK_H

#include <jansson.h>

#include <azkm/keystore.h>

/* The key's canonical URI (kid) into buf; returns 0 or -1. */
int jwk_kid(const azkm_key_info *info, char *buf, size_t len);
/* {"kid","kty","key_ops", n/e (RSA), crv/x/y (EC) or crv/x (OKP, RFC 8037)}. plain_kty drops "-HSM" from kty for
 * interop. NULL on failure. */
json_t *jwk_from_info(const azkm_key_info *info, int plain_kty);

#endif
