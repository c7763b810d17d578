/* One request as it goes through the pipeline (api/dispatch.c): who sent it, where to, which route, and the reply
 * the handler leaves. Handlers fill r->reply through api/reply.c and never write to the connection. */
#ifndef AZKMD_REQUEST_H
#define AZKMD_REQUEST_H

#include <time.h>

#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api/api.h"
#include "auth/identity.h"

typedef struct {
    int status;       /* HTTP status */
    json_t *body;     /* the response body (owned), NULL for none */
    const char *code; /* Key Vault's error code; NULL on success */
    const char *inner;
    char message[1024];
} azkmd_reply;

typedef struct azkmd_request {
    struct evhttp_request *req;
    const azkmd_site *site;
    azkmd_identity id;
    char request_id[37];
    char client_request_id[129];
    const char *api_version;
    char vault_name[AZKM_VAULT_NAME_MAX + 1];
    azkm_vault *vault;
    char origin[320]; /* scheme://<vault>.<domain>[:port]: the prefix of every key id returned */
    const char *operation;
    const char *data_action;
    char name[AZKM_NAME_MAX + 1];       /* the key named in the path, "" if none */
    char version[AZKM_VERSION_LEN + 1]; /* the version named in the path, or the one the operation used */
    struct evkeyvalq query;
    json_t *body;
    azkmd_reply reply;
    struct timespec start;
    int issuer; /* a token issuer endpoint (api/issuer.c): no Key Vault challenge on its 401 */
} azkmd_request;

typedef void (*azkmd_handler)(azkmd_request *r);

/* api/vaults.c */
azkm_keystore *azkmd_vaults_keystore(azkmd_vaults *vs);
azkm_rc azkmd_vaults_get(azkmd_vaults *vs, const char *name, azkm_vault **out);
/* A key version loaded for use (version NULL or "": the current one), from the worker's cache while the vault is
 * unchanged, else azkm_key_load. Borrowed: the caller does not free it; valid until the next call. */
azkm_rc azkmd_vaults_key(azkmd_vaults *vs, azkm_vault *v, const char *name, const char *version, azkm_key **out);
/* After an operation with a key from azkmd_vaults_key failed with rc: unless the failure was the caller's (invalid,
 * unsupported, forbidden), the key leaves the cache (and is freed: the caller must not use it again). */
void azkmd_vaults_key_failed(azkmd_vaults *vs, azkm_key *k, azkm_rc rc);

/* api/reply.c: the only place that turns results into statuses and Key Vault error bodies. */
void azkmd_reply_json(azkmd_request *r, int status, json_t *body);
/* Maps the keystore's error class (and azkm_last_error) to Key Vault's status and code. */
void azkmd_reply_rc(azkmd_request *r, azkm_rc rc);
void azkmd_reply_error(azkmd_request *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sends the reply with Key Vault's headers. */
void azkmd_reply_send(azkmd_request *r);
/* A query parameter, or NULL. */
const char *azkmd_query(azkmd_request *r, const char *name);

#endif
