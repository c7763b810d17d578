/* A JWK with private parts (Key Vault's import body) turned into the keystore's import material: PKCS#8 DER for RSA
 * and EC, raw bytes for oct. */
#ifndef AZKMD_JWK_IMPORT_H
#define AZKMD_JWK_IMPORT_H

#include <jansson.h>

#include "azkm/keystore.h"

/* *der (OPENSSL_clear_free with *len) holds the private key; *kty and *protection from the JWK's kty. */
azkm_rc azkmd_jwk_private(const json_t *jwk, azkm_kty *kty, azkm_protection *protection, unsigned char **der,
                          size_t *len);

#endif
