/* The one place that decides whether a caller may perform a data action.
 *
 * Root and the uid azkmd runs as are administrators of every vault without a role assignment: they own the
 * keystore's files (and root can read any file and any process), so a role check could not stop them, only make
 * the server disagree with what they can do with the azkm CLI directly. Every other principal is decided by the
 * vault's role assignments (azkm_rbac_authorize): the Unix peer's uid and groups, or the service principal of a
 * client certificate. Deny by default; a refusal is Key Vault's ForbiddenByRbac naming the missing data action. */
#include <stdio.h>
#include <string.h>

#include "auth/authz.h"

static int is_trusted_uid(const char *principal, uid_t self)
{
    char own[32];

    snprintf(own, sizeof(own), "uid:%u", (unsigned)self);
    return strcmp(principal, "uid:0") == 0 || strcmp(principal, own) == 0;
}

/* The caller as the refusal names it: its principals (the first few), or its certificate. */
static void caller_text(const azkmd_identity *id, char *buf, size_t cap)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < id->n_principals && i < 4 && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? "," : "", id->principals[i]);
    if (id->n_principals > 4 && used < cap)
        snprintf(buf + used, cap - used, ",...");
    if (buf[0] != '\0')
        return;
    if (id->cert_sha256[0] != '\0')
        snprintf(buf, cap, "client certificate sha256:%s", id->cert_sha256);
    else
        snprintf(buf, cap, "anonymous");
}

static azkm_rc forbidden(const azkmd_identity *id, azkm_vault *v, const char *data_action, const char *key_name)
{
    char scope[AZKM_NAME_MAX + 8], caller[256];

    snprintf(scope, sizeof(scope), "/keys%s%s", key_name != NULL ? "/" : "", key_name != NULL ? key_name : "");
    caller_text(id, caller, sizeof(caller));
    return azkm_set_error(AZKM_E_FORBIDDEN,
                          "Caller is not authorized to perform action on resource. Caller: %s. Action: '%s'. "
                          "Resource: vault '%s', scope '%s'. Assignment: (not found)",
                          caller, data_action, azkm_vault_get_name(v), scope);
}

azkm_rc azkmd_authorize(const azkmd_identity *id, uid_t self, azkm_vault *v, const char *data_action,
                        const char *key_name)
{
    const char *principals[AZKMD_MAX_PRINCIPALS];
    azkm_rc rc;

    for (size_t i = 0; i < id->n_principals; i++) {
        if (id->method == AZKMD_AUTH_PEERCRED && is_trusted_uid(id->principals[i], self))
            return AZKM_OK;
        principals[i] = id->principals[i];
    }
    if (id->n_principals == 0)
        return forbidden(id, v, data_action, key_name);
    rc = azkm_rbac_authorize(v, principals, id->n_principals, data_action, key_name);
    if (rc == AZKM_E_FORBIDDEN)
        return forbidden(id, v, data_action, key_name);
    return rc;
}
