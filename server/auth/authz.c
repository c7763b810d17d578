/* The one place that decides whether a caller may perform a data action. Until the keystore's role assignments are
 * wired in (azkm_rbac_authorize, issue 14), the rule is: root and the uid azkmd runs as may do everything; every
 * other principal is refused, with Key Vault's ForbiddenByRbac naming the missing data action. */
#include <stdio.h>
#include <string.h>

#include "auth/authz.h"

static int is_trusted_uid(const char *principal, uid_t self)
{
    char own[32];

    snprintf(own, sizeof(own), "uid:%u", (unsigned)self);
    return strcmp(principal, "uid:0") == 0 || strcmp(principal, own) == 0;
}

azkm_rc azkmd_authorize(const azkmd_identity *id, uid_t self, azkm_vault *v, const char *data_action,
                        const char *key_name)
{
    char scope[AZKM_NAME_MAX + 8], caller[96];

    for (size_t i = 0; i < id->n_principals; i++)
        if (is_trusted_uid(id->principals[i], self))
            return AZKM_OK;
    snprintf(scope, sizeof(scope), "/keys%s%s", key_name != NULL ? "/" : "", key_name != NULL ? key_name : "");
    if (id->n_principals > 0)
        snprintf(caller, sizeof(caller), "%s", id->principals[0]);
    else if (id->cert_sha256[0] != '\0')
        snprintf(caller, sizeof(caller), "client certificate sha256:%s", id->cert_sha256);
    else
        snprintf(caller, sizeof(caller), "anonymous");
    return azkm_set_error(AZKM_E_FORBIDDEN,
                          "Caller is not authorized to perform action on resource. Caller: %s. Action: '%s'. "
                          "Resource: vault '%s', scope '%s'",
                          caller, data_action, azkm_vault_get_name(v), scope);
}
