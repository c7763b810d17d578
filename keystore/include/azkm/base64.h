/* Base64 (RFC 4648 section 4) and base64url (section 5, no padding) on OpenSSL's EVP_EncodeBlock /
 * EVP_DecodeBlock with the alphabet translated: the keystore's JSON formats (backup blobs, BYOK blobs, envelope
 * headers) and the CLI's base64 flags and output. */
#ifndef AZKM_BASE64_H
#define AZKM_BASE64_H

#include <stddef.h>

#include "azkm/error.h"

/* Standard alphabet with padding. Returns a NUL-terminated string (azkm_free), or NULL when out of memory. */
char *azkm_b64_encode(const unsigned char *in, size_t len);
/* URL-safe alphabet without padding (JOSE / JWK). Returns a NUL-terminated string (azkm_free), or NULL when out of
 * memory. */
char *azkm_b64url_encode(const unsigned char *in, size_t len);
/* Accepts either alphabet, padded or not, and ignores whitespace (wrapped base64 from files and pipes). *out is a
 * buffer (azkm_free; clear it first if it held a secret). AZKM_E_INVALID on malformed input, with a message that
 * says so; the caller's own message names what was being decoded. */
azkm_rc azkm_b64_decode(const char *text, unsigned char **out, size_t *outlen);

#endif
