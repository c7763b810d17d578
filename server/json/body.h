/* Reading request bodies: typed fields of a JSON object, base64url binary fields (padded or not), each mistake a
 * BadParameter naming the field. */
#ifndef AZKMD_BODY_H
#define AZKMD_BODY_H

#include <jansson.h>

#include "azkm/keystore.h"

/* *out is NULL when the field is absent and not required. */
azkm_rc azkmd_body_string(const json_t *body, const char *field, int required, const char **out);
/* *out (azkm_free; cleared first by the caller if secret) is NULL when absent and not required. */
azkm_rc azkmd_body_bytes(const json_t *body, const char *field, int required, unsigned char **out, size_t *len);
/* *present 0 when the field is absent (or null). */
azkm_rc azkmd_body_int(const json_t *body, const char *field, json_int_t *out, int *present);
azkm_rc azkmd_body_bool(const json_t *body, const char *field, int *out, int *present);
/* The field as an object (NULL when absent); BadParameter when it is something else. */
azkm_rc azkmd_body_object(const json_t *body, const char *field, json_t **out);
/* Clears every string inside v (request bodies hold plaintexts and private JWKs, responses decrypted data) before
 * it is freed: jansson frees without clearing. */
void azkmd_json_wipe(json_t *v);
/* ECDSA signatures travel as r||s (each the curve's size); the keystore speaks X9.62 DER. */
azkm_rc azkmd_ecdsa_der_to_raw(const unsigned char *der, size_t len, size_t half, unsigned char *out,
                               size_t *outlen);
/* *der: OPENSSL_free. */
azkm_rc azkmd_ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char **der, size_t *derlen);

#endif
