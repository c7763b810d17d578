/* Base64 (RFC 4648 section 4) and base64url (section 5, no padding) on OpenSSL's EVP_EncodeBlock /
 * EVP_DecodeBlock with the alphabet translated: the keystore's JSON formats (backup blobs, BYOK blobs, envelope
 * headers) and the CLI's base64 flags and output. */
#ifndef AZKM_BASE64_H
#define AZKM_BASE64_H

#include <stddef.h>

/* Standard alphabet with padding. Returns an OPENSSL_malloc'd NUL-terminated string, or NULL. */
char *azkm_b64_encode(const unsigned char *in, size_t len);
/* URL-safe alphabet without padding (JOSE / JWK). Returns an OPENSSL_malloc'd NUL-terminated string, or NULL. */
char *azkm_b64url_encode(const unsigned char *in, size_t len);
/* Accepts either alphabet, padded or not, and ignores whitespace (wrapped base64 from files and pipes). Returns 0
 * and an OPENSSL_malloc'd buffer (free with OPENSSL_clear_free(*out, *outlen)), or -1 on malformed input. */
int azkm_b64_decode(const char *text, unsigned char **out, size_t *outlen);

#endif
