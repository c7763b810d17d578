/* Base64 and base64url (RFC 4648) for CLI input and output, on top of OpenSSL's EVP_EncodeBlock. */
#ifndef AZKM_CLI_BASE64_H
#define AZKM_CLI_BASE64_H

#include <stddef.h>

/* Standard alphabet with padding. Returns a malloc'd string, or NULL. */
char *b64_encode(const unsigned char *in, size_t len);
/* URL-safe alphabet without padding (JOSE / JWK). */
char *b64url_encode(const unsigned char *in, size_t len);
/* Accepts either alphabet, with or without padding, and ignores whitespace. Returns 0 on success with a
 * malloc'd buffer (free with OPENSSL_clear_free), -1 on malformed input. */
int b64_decode(const char *text, unsigned char **out, size_t *outlen);

#endif
