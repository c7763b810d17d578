/* The authorization decision for one request (azkm_rbac_authorize): deny by default, allow when an assignment of
 * one of the caller's principals has a role granting the data action at a scope that covers the resource. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "rbac/rbac.h"

/* Whether an action is about keys: then a vault-level request (no key name) is on the keys as a whole. */
static int keys_action(const char *action)
{
    return strncasecmp(action, "Microsoft.KeyVault/vaults/keys/", 31) == 0 ||
           strncasecmp(action, "Microsoft.KeyVault/managedHsm/keys/", 35) == 0;
}

/* Whether an assignment at scope covers the resource: the key key_name, or (NULL) the keys or the vault. */
static int scope_covers(const char *scope, const char *key_name, int keys)
{
    if (strcmp(scope, "/") == 0)
        return 1;
    if (strcmp(scope, "/keys") == 0)
        return key_name != NULL || keys;
    return key_name != NULL && strncmp(scope, "/keys/", 6) == 0 && strcasecmp(scope + 6, key_name) == 0;
}

static int principal_listed(const char *principal, const char *const *principals, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(principals[i], principal) == 0)
            return 1;
    return 0;
}

static azkm_rc arguments_check(const char *const *principals, size_t n, const char *action, const char *key_name)
{
    if (action == NULL || *action == '\0' || strlen(action) > 256)
        return azkm_fail(AZKM_E_INVALID, "authorization: a data action (e.g. "
                                         "Microsoft.KeyVault/vaults/keys/sign/action) is needed");
    if (key_name != NULL && !azkm_key_name_valid(key_name))
        return azkm_fail(AZKM_E_INVALID, "authorization: '%.200s' is not a key name", key_name);
    if (n > 0 && principals == NULL)
        return azkm_fail(AZKM_E_INVALID, "authorization: no principal list");
    for (size_t i = 0; i < n; i++)
        if (!azkm_principal_valid(principals[i]))
            return azkm_fail(AZKM_E_INVALID, "authorization: '%.64s' is not a principal",
                             principals[i] ? principals[i] : "(null)");
    return AZKM_OK;
}

/* "uid:1000, gid:1000" (cut short with "..." when it does not fit), for the refusal. */
static void principals_text(const char *const *principals, size_t n, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", principals[i]);

        used += w > 0 ? (size_t)w : 0;
    }
    if (used >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
    if (n == 0)
        snprintf(buf, len, "no principal");
}

static azkm_rc refuse(azkm_vault *v, const char *const *principals, size_t n, const char *action,
                      const char *key_name, int keys)
{
    char who[256];

    principals_text(principals, n, who, sizeof(who));
    return azkm_fail(AZKM_E_FORBIDDEN,
                     "vault %s: caller is not authorized to perform action on resource: %s lacks data action %s on "
                     "%s%s (no role assignment grants it; ForbiddenByRbac)",
                     v->name, who, action,
                     key_name ? "/keys/"
                     : keys   ? "/keys"
                              : "/",
                     key_name ? key_name : "");
}

azkm_rc azkm_rbac_authorize(azkm_vault *v, const char *const *principals, size_t n_principals,
                            const char *data_action, const char *key_name)
{
    azkm_role_assignment *as = NULL;
    const azkm_role_definition *def;
    size_t n = 0;
    int keys, allowed = 0;
    azkm_rc rc = arguments_check(principals, n_principals, data_action, key_name);

    if (rc != AZKM_OK || (rc = azkm_rbac_assignments_read(v, &as, &n)) != AZKM_OK)
        return rc;
    keys = keys_action(data_action);
    for (size_t i = 0; i < n && !allowed; i++)
        allowed = principal_listed(as[i].principal, principals, n_principals) &&
                  scope_covers(as[i].scope, key_name, keys) &&
                  azkm_role_definition_find(as[i].role_id, &def) == AZKM_OK && azkm_role_grants(def, data_action);
    OPENSSL_free(as);
    if (allowed) {
        azkm_clear_error(); /* a role id azkm no longer knows left a message on the way */
        return AZKM_OK;
    }
    return refuse(v, principals, n_principals, data_action, key_name, keys);
}
