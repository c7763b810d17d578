/* Key reference files: a PEM block holding the azkm: URI of a vault key and no secret, which any OpenSSL 3
 * application loads as a private key once the azkm provider is active. Depends on libcrypto only, so the CLI
 * links it too. */
#ifndef AZKM_KEYREF_H
#define AZKM_KEYREF_H

#include <stddef.h>

#include <openssl/bio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AZKM_KEYREF_PEM_LABEL "AZKM KEY REFERENCE"
#define AZKM_KEYREF_VERSION 1
#define AZKM_KEYREF_URI_MAX 1024

typedef enum {
    AZKM_KEYREF_OK = 0,
    AZKM_KEYREF_E_NOMEM,
    AZKM_KEYREF_E_SYNTAX,  /* not DER of the expected SEQUENCE, or trailing bytes */
    AZKM_KEYREF_E_VERSION, /* a version this build does not know */
    AZKM_KEYREF_E_URI,     /* empty, too long, or not a UTF-8 azkm:// string */
    AZKM_KEYREF_E_LABEL,   /* PEM without the AZKM KEY REFERENCE label */
    AZKM_KEYREF_E_IO,
} azkm_keyref_rc;

/* DER body: SEQUENCE { version INTEGER (1), uri UTF8String }. *der is freed with azkm_free. */
azkm_keyref_rc azkm_keyref_encode_der(const char *uri, unsigned char **der, size_t *der_len);
/* Strict: exact version, no trailing bytes, uri starting "azkm://". *uri is freed with azkm_free. */
azkm_keyref_rc azkm_keyref_decode_der(const unsigned char *der, size_t der_len, char **uri);
/* Writes the PEM block for uri. */
azkm_keyref_rc azkm_keyref_write_pem(BIO *out, const char *uri);
/* Reads the first PEM block; AZKM_KEYREF_E_LABEL if it is not a key reference. */
azkm_keyref_rc azkm_keyref_read_pem(BIO *in, char **uri);
/* Human text for a result code. */
const char *azkm_keyref_strerror(azkm_keyref_rc rc);

#ifdef __cplusplus
}
#endif

#endif
