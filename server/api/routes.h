/* The route table: method, path pattern, Key Vault's operation name and the exact Azure data action each route
 * needs, and its handler. Adding an operation is one row here and one handler. */
#ifndef AZKMD_ROUTES_H
#define AZKMD_ROUTES_H

#include "api/request.h"

typedef struct {
    int method; /* enum evhttp_cmd_type */
    /* Segments after the leading "/": literals, {name} (a key name) and {version} (empty allowed: the current
     * version, as the SDKs send "keys/k/" and "keys/k//sign"). */
    const char *pattern;
    const char *operation;
    const char *data_action;
    azkmd_handler handler;
} azkmd_route;

/* The route for method and path: *route set, name and version copied into r (validated). Otherwise an error reply
 * in r (404 no such path, 405 path without this method, 400 a malformed name or version) and NULL. */
const azkmd_route *azkmd_route_find(azkmd_request *r, int method, const char *path);

/* Handlers (api/keys_read.c, keys_write.c, keys_lifecycle.c, keys_backup.c, keys_crypto.c, rotation_policy.c,
 * random.c). */
void azkmd_key_get(azkmd_request *r);
void azkmd_key_list(azkmd_request *r);
void azkmd_key_list_versions(azkmd_request *r);
void azkmd_deleted_key_list(azkmd_request *r);
void azkmd_deleted_key_get(azkmd_request *r);
void azkmd_key_update(azkmd_request *r);
void azkmd_key_delete(azkmd_request *r);
void azkmd_key_recover(azkmd_request *r);
void azkmd_key_purge(azkmd_request *r);
void azkmd_key_backup(azkmd_request *r);
void azkmd_key_restore(azkmd_request *r);
void azkmd_rotation_policy_get(azkmd_request *r);
void azkmd_rotation_policy_set(azkmd_request *r);
void azkmd_random_bytes(azkmd_request *r);
void azkmd_key_create(azkmd_request *r);
void azkmd_key_rotate(azkmd_request *r);
void azkmd_key_import(azkmd_request *r);
void azkmd_key_sign(azkmd_request *r);
void azkmd_key_verify(azkmd_request *r);
void azkmd_key_encrypt(azkmd_request *r);
void azkmd_key_decrypt(azkmd_request *r);
void azkmd_key_wrap(azkmd_request *r);
void azkmd_key_unwrap(azkmd_request *r);

#endif
