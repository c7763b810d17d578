/* base64url (RFC 4648 section 5, no padding) for the keystore's JSON formats (BYOK blobs, envelope headers), on
 * OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock with the alphabet translated. */
#ifndef AZKM_B64URL_H
#define AZKM_B64URL_H

#include <stddef.h>

/* Returns an OPENSSL_malloc'd NUL-terminated string, or NULL. */
char *azkm_b64url_encode(const unsigned char *in, size_t len);
/* Accepts base64url or standard base64, padded or not. Returns 0 and an OPENSSL_malloc'd buffer (free with
 * OPENSSL_clear_free(*out, *outlen)), or -1 on malformed input. */
int azkm_b64url_decode(const char *text, unsigned char **out, size_t *outlen);

#endif
