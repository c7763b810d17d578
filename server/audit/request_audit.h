/* One audit record per request, in the keystore's audit log: who, from where, what, on which key, with what result
 * and how long it took. Never key material, plaintexts or credentials. */
#ifndef AZKMD_REQUEST_AUDIT_H
#define AZKMD_REQUEST_AUDIT_H

#include "azkm/keystore.h"
#include "auth/identity.h"

typedef struct {
    const char *request_id;
    const char *client_request_id; /* "" if none */
    const azkmd_identity *id;
    const char *method;
    const char *path;
    const char *operation; /* Key Vault's operation name (KeySign, ...), or NULL when no route matched */
    const char *vault;     /* "" when unknown */
    const char *key;       /* "" when none */
    const char *version;   /* "" when none */
    int status;
    const char *error_code; /* NULL on success */
    const char *message;    /* the error message, NULL on success */
    double duration_ms;
} azkmd_audit_fields;

void azkmd_audit_request(azkm_keystore *ks, const azkmd_audit_fields *f);

#endif
