/* The routes of Key Vault's keys data plane that azkmd serves, with their data actions (Azure's exact strings, the
 * vocabulary of role definitions), and the path matcher. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "api/routes.h"

#define DA "Microsoft.KeyVault/vaults/keys/"
#define RP "Microsoft.KeyVault/vaults/keyrotationpolicies/"

/* Order matters where patterns overlap: keys/{name}/versions and keys/{name}/rotationpolicy before
 * keys/{name}/{version}. Data actions as Azure's role definitions name them (docs/server.md). */
static const azkmd_route routes[] = {
    {EVHTTP_REQ_GET, "keys", "KeyList", DA "read", azkmd_key_list},
    {EVHTTP_REQ_POST, "keys/restore", "KeyRestore", DA "restore/action", azkmd_key_restore},
    {EVHTTP_REQ_GET, "keys/{name}/versions", "KeyListVersions", DA "read", azkmd_key_list_versions},
    {EVHTTP_REQ_GET, "keys/{name}/rotationpolicy", "KeyRotationPolicyGet", RP "read", azkmd_rotation_policy_get},
    {EVHTTP_REQ_PUT, "keys/{name}/rotationpolicy", "KeyRotationPolicyUpdate", RP "write",
     azkmd_rotation_policy_set},
    {EVHTTP_REQ_GET, "keys/{name}", "KeyGet", DA "read", azkmd_key_get},
    {EVHTTP_REQ_GET, "keys/{name}/{version}", "KeyGet", DA "read", azkmd_key_get},
    {EVHTTP_REQ_PATCH, "keys/{name}", "KeyUpdate", DA "update/action", azkmd_key_update},
    {EVHTTP_REQ_PATCH, "keys/{name}/{version}", "KeyUpdate", DA "update/action", azkmd_key_update},
    {EVHTTP_REQ_DELETE, "keys/{name}", "KeyDelete", DA "delete", azkmd_key_delete},
    {EVHTTP_REQ_PUT, "keys/{name}", "KeyImport", DA "import/action", azkmd_key_import},
    {EVHTTP_REQ_POST, "keys/{name}/create", "KeyCreate", DA "create/action", azkmd_key_create},
    {EVHTTP_REQ_POST, "keys/{name}/rotate", "KeyRotate", DA "rotate/action", azkmd_key_rotate},
    {EVHTTP_REQ_POST, "keys/{name}/backup", "KeyBackup", DA "backup/action", azkmd_key_backup},
    {EVHTTP_REQ_POST, "keys/{name}/{version}/sign", "KeySign", DA "sign/action", azkmd_key_sign},
    {EVHTTP_REQ_POST, "keys/{name}/{version}/verify", "KeyVerify", DA "verify/action", azkmd_key_verify},
    {EVHTTP_REQ_POST, "keys/{name}/{version}/encrypt", "KeyEncrypt", DA "encrypt/action", azkmd_key_encrypt},
    {EVHTTP_REQ_POST, "keys/{name}/{version}/decrypt", "KeyDecrypt", DA "decrypt/action", azkmd_key_decrypt},
    {EVHTTP_REQ_POST, "keys/{name}/{version}/wrapkey", "KeyWrap", DA "wrap/action", azkmd_key_wrap},
    {EVHTTP_REQ_POST, "keys/{name}/{version}/unwrapkey", "KeyUnwrap", DA "unwrap/action", azkmd_key_unwrap},
    /* Deleted keys are read with keys/read, as Key Vault's access policy "list" maps to it. */
    {EVHTTP_REQ_GET, "deletedkeys", "KeyListDeleted", DA "read", azkmd_deleted_key_list},
    {EVHTTP_REQ_GET, "deletedkeys/{name}", "KeyGetDeleted", DA "read", azkmd_deleted_key_get},
    {EVHTTP_REQ_POST, "deletedkeys/{name}/recover", "KeyRecover", DA "recover/action", azkmd_key_recover},
    {EVHTTP_REQ_DELETE, "deletedkeys/{name}", "KeyPurge", DA "purge/action", azkmd_key_purge},
    {EVHTTP_REQ_POST, "rng", "GetRandomBytes", "Microsoft.KeyVault/managedHsm/rng/action", azkmd_random_bytes},
};

#define MAX_SEGMENTS 8

typedef struct {
    const char *p[MAX_SEGMENTS];
    size_t len[MAX_SEGMENTS];
    size_t n;
} segments;

/* "/keys/k//sign" -> "keys", "k", "", "sign". 0 when there are too many segments. */
static int split(const char *path, segments *s)
{
    const char *p = path + (*path == '/'), *slash;

    s->n = 0;
    for (;;) {
        if (s->n == MAX_SEGMENTS)
            return 0;
        slash = strchr(p, '/');
        s->p[s->n] = p;
        s->len[s->n] = slash != NULL ? (size_t)(slash - p) : strlen(p);
        s->n++;
        if (slash == NULL)
            return 1;
        p = slash + 1;
    }
}

/* 1 when the path's segments fit the pattern's ({version} may be empty, {name} may not). */
static int matches(const char *pattern, const segments *s)
{
    segments pat;

    if (!split(pattern, &pat) || pat.n != s->n)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        if (strncmp(pat.p[i], "{version}", pat.len[i]) == 0 && pat.len[i] == 9)
            continue;
        if (strncmp(pat.p[i], "{name}", pat.len[i]) == 0 && pat.len[i] == 6) {
            if (s->len[i] == 0)
                return 0;
            continue;
        }
        if (pat.len[i] != s->len[i] || strncasecmp(pat.p[i], s->p[i], s->len[i]) != 0)
            return 0;
    }
    return 1;
}

/* Copies {name} and {version} out of the path, checking them as the keystore names them. */
static int take_names(azkmd_request *r, const char *pattern, const segments *s)
{
    segments pat;

    split(pattern, &pat);
    for (size_t i = 0; i < s->n; i++) {
        int is_name = pat.len[i] == 6 && strncmp(pat.p[i], "{name}", 6) == 0;
        int is_version = pat.len[i] == 9 && strncmp(pat.p[i], "{version}", 9) == 0;
        char *dst = is_name ? r->name : r->version;
        size_t cap = is_name ? sizeof(r->name) : sizeof(r->version);

        if (!is_name && !is_version)
            continue;
        if (s->len[i] >= cap) {
            azkmd_reply_error(r, 400, "BadParameter", "the key %s in the path is too long",
                              is_name ? "name" : "version");
            return 0;
        }
        snprintf(dst, cap, "%.*s", (int)s->len[i], s->p[i]);
        if (is_name ? !azkm_key_name_valid(dst) : (*dst != '\0' && !azkm_version_valid(dst))) {
            azkmd_reply_error(r, 400, "BadParameter",
                              is_name ? "key name '%s' is invalid: 1-127 characters of 0-9, a-z, A-Z and -"
                                      : "key version '%s' is invalid: 32 hexadecimal characters",
                              dst);
            return 0;
        }
    }
    return 1;
}

const azkmd_route *azkmd_route_find(azkmd_request *r, int method, const char *path)
{
    segments s;
    int path_known = 0;

    if (split(path, &s))
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
            if (!matches(routes[i].pattern, &s))
                continue;
            path_known = 1;
            if (routes[i].method != method)
                continue;
            r->operation = routes[i].operation;
            r->data_action = routes[i].data_action;
            return take_names(r, routes[i].pattern, &s) ? &routes[i] : NULL;
        }
    if (path_known)
        azkmd_reply_error(r, 405, "MethodNotAllowed", "the method is not allowed on %s", path);
    else
        azkmd_reply_error(r, 404, "NotFound", "no operation at %.200s", path);
    return NULL;
}
