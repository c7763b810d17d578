/* azkm: principals, Azure's built-in data-plane role definitions, role assignments per vault, and the
 * authorization decision a server makes with them (docs/security.md, "Roles and role assignments"). */
#ifndef AZKM_RBAC_H
#define AZKM_RBAC_H

#include <stddef.h>
#include <stdint.h>

#include "azkm/vault.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Principals ------------------------------------------------------------------------------------------
 * A principal is a canonical ASCII string: "uid:<n>" or "gid:<n>" (a local user or group, by number, decimal
 * without leading zeros), or "sp:<appId>" (a service principal; appId a lowercase GUID). */
#define AZKM_GUID_LEN 36                   /* "01234567-89ab-cdef-0123-456789abcdef" */
#define AZKM_PRINCIPAL_MAX 40              /* "sp:" + a GUID */
#define AZKM_SCOPE_MAX (6 + AZKM_NAME_MAX) /* "/keys/" + a key name */

/* Whether text is a principal in canonical form. */
int azkm_principal_valid(const char *text);
/* Canonical form of a principal as a user writes it: the canonical forms, "user:<name>" and "group:<name>"
 * (looked up in the system's user and group databases and stored by number), or "sp:" with an upper-case GUID.
 * out holds at least AZKM_PRINCIPAL_MAX + 1 bytes. AZKM_E_INVALID names what is wrong; AZKM_E_NOT_FOUND for a user
 * or group the system does not know. */
azkm_rc azkm_principal_parse(const char *text, char out[AZKM_PRINCIPAL_MAX + 1]);

/* ---- Role definitions -------------------------------------------------------------------------------------
 * Azure's built-in roles, with their names, ids and data actions as Azure defines them (Key Vault Administrator,
 * Crypto Officer, Crypto User, Crypto Service Encryption User, Crypto Service Release User, Reader; Managed HSM
 * Crypto Auditor and Backup). A static table: nothing to free. */
typedef struct {
    const char *id;   /* GUID, as in /providers/Microsoft.Authorization/roleDefinitions/<id> */
    const char *name; /* roleName, e.g. "Key Vault Crypto User" */
    const char *description;
    const char *const *data_actions;     /* NULL-terminated; may hold '*' wildcards */
    const char *const *not_data_actions; /* NULL-terminated */
} azkm_role_definition;

/* Every built-in role definition: *n of them, in a static array. */
const azkm_role_definition *azkm_role_definitions(size_t *n);
/* The role named name_or_id: its roleName (case-insensitive) or id. AZKM_E_NOT_FOUND names it otherwise. */
azkm_rc azkm_role_definition_find(const char *name_or_id, const azkm_role_definition **out);
/* Whether the role grants data_action: one of its data actions matches it and none of its notDataActions does.
 * Matching is Azure's: case-insensitive, '*' matches any run of characters ('/' included). A Managed HSM role's
 * "Microsoft.KeyVault/managedHsm/keys/read/action" and ".../keys/backup/action" also grant the Key Vault actions
 * "Microsoft.KeyVault/vaults/keys/read" and ".../keys/backup/action" (the same operations on an azkm vault). */
int azkm_role_grants(const azkm_role_definition *role, const char *data_action);

/* ---- Role assignments -------------------------------------------------------------------------------------
 * Per vault, stored in its catalog and authenticated with its MAC key (each row, and the set of them: a row
 * changed, added, removed or put back outside azkm is an integrity error). Scope: "/" (the vault), "/keys" (every
 * key) or "/keys/<name>" (one key, by name, compared case-insensitively; the key need not exist yet). */
typedef struct {
    char id[AZKM_GUID_LEN + 1]; /* the assignment's name: a random GUID */
    char principal[AZKM_PRINCIPAL_MAX + 1];
    char role_id[AZKM_GUID_LEN + 1];
    char scope[AZKM_SCOPE_MAX + 1];
    int64_t created;
} azkm_role_assignment;

/* Checks a scope as given ("/", "/keys", "/keys/<name>"); AZKM_E_INVALID names the problem. */
azkm_rc azkm_scope_check(const char *scope);
/* Assigns role (a name or id, azkm_role_definition_find) to principal (canonical form) at scope; out
 * (optional) receives the assignment. The same principal, role and scope twice is AZKM_E_CONFLICT. Audited as
 * RoleAssignmentCreate. */
azkm_rc azkm_role_assignment_create(azkm_vault *v, const char *principal, const char *role, const char *scope,
                                    azkm_role_assignment *out);
/* Every assignment of the vault, by id, authenticated: *out (azkm_free) is NULL when there is none. */
azkm_rc azkm_role_assignment_list(azkm_vault *v, azkm_role_assignment **out, size_t *n);
/* Removes the assignment with that id (AZKM_E_NOT_FOUND when there is none). Audited as RoleAssignmentDelete. */
azkm_rc azkm_role_assignment_delete(azkm_vault *v, const char *id);

/* ---- Authorization ---------------------------------------------------------------------------------------
 * The decision for one request, deny by default: AZKM_OK when an assignment of any of the n_principals principals
 * (a Unix peer's "uid:N" and "gid:N"s, or a service principal's "sp:<appId>") has a role that grants data_action
 * (azkm_role_grants) at a scope covering the resource. The resource is the key key_name ("/keys/<name>", covered by
 * "/", "/keys" and "/keys/<name>" in any case), or with key_name NULL the vault's keys as a whole for a keys action
 * (data_action under "Microsoft.KeyVault/vaults/keys/" or ".../managedHsm/keys/": covered by "/" and "/keys", as
 * a key list is) and the vault itself for any other ("/"). Otherwise AZKM_E_FORBIDDEN, whose message names the
 * missing data action, the resource and the principals; AZKM_E_INTEGRITY when the stored assignments fail their
 * MACs (nothing is granted then); AZKM_E_INVALID for a malformed principal, action or key name. Not audited (the
 * caller audits the request it decides). Thread-safe: threads may share the vault handle, which caches the
 * authenticated assignments until the catalog changes (any commit, by any process, or an edit by hand). */
azkm_rc azkm_rbac_authorize(azkm_vault *v, const char *const *principals, size_t n_principals,
                            const char *data_action, const char *key_name);

#ifdef __cplusplus
}
#endif

#endif
