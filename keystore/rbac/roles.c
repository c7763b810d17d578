/* Azure's built-in data-plane role definitions, as Azure defines them, and how a role's data actions match a
 * requested one. Sources: Azure's "Azure built-in roles for Security" (Key Vault roles: ids, dataActions,
 * notDataActions) and the role definitions a Managed HSM lists (Crypto Auditor, Backup), in docs/security.md. */
#include <ctype.h>
#include <stddef.h>
#include <strings.h>

#include "rbac/rbac.h"

static const char *const none[] = {NULL};

static const char *const administrator[] = {"Microsoft.KeyVault/vaults/*", NULL};
static const char *const crypto_officer[] = {"Microsoft.KeyVault/vaults/keys/*",
                                             "Microsoft.KeyVault/vaults/keyrotationpolicies/*", NULL};
static const char *const crypto_user[] = {
    "Microsoft.KeyVault/vaults/keys/read",           "Microsoft.KeyVault/vaults/keys/update/action",
    "Microsoft.KeyVault/vaults/keys/backup/action",  "Microsoft.KeyVault/vaults/keys/encrypt/action",
    "Microsoft.KeyVault/vaults/keys/decrypt/action", "Microsoft.KeyVault/vaults/keys/wrap/action",
    "Microsoft.KeyVault/vaults/keys/unwrap/action",  "Microsoft.KeyVault/vaults/keys/sign/action",
    "Microsoft.KeyVault/vaults/keys/verify/action",  NULL};
static const char *const service_encryption[] = {"Microsoft.KeyVault/vaults/keys/read",
                                                 "Microsoft.KeyVault/vaults/keys/wrap/action",
                                                 "Microsoft.KeyVault/vaults/keys/unwrap/action", NULL};
static const char *const service_release[] = {"Microsoft.KeyVault/vaults/keys/release/action", NULL};
static const char *const reader[] = {"Microsoft.KeyVault/vaults/*/read",
                                     "Microsoft.KeyVault/vaults/secrets/readMetadata/action", NULL};
static const char *const hsm_auditor[] = {"Microsoft.KeyVault/managedHsm/keys/read/action",
                                          "Microsoft.KeyVault/managedHsm/keys/deletedKeys/read/action", NULL};
static const char *const hsm_backup[] = {"Microsoft.KeyVault/managedHsm/backup/start/action",
                                         "Microsoft.KeyVault/managedHsm/backup/status/action",
                                         "Microsoft.KeyVault/managedHsm/keys/backup/action", NULL};

static const azkm_role_definition roles[] = {
    {"00482a5a-887f-4fb3-b363-3b7fe8e74483", "Key Vault Administrator",
     "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and "
     "secrets. Cannot manage key vault resources or manage role assignments.",
     administrator, none},
    {"14b46e9e-c2b7-41b4-b07b-48a6ebf60603", "Key Vault Crypto Officer",
     "Perform any action on the keys of a key vault, except manage permissions.", crypto_officer, none},
    {"12338af0-0e69-4776-bea7-57ae8d297424", "Key Vault Crypto User",
     "Perform cryptographic operations using keys.", crypto_user, none},
    {"e147488a-f6f5-4113-8e2d-b22465e65bf6", "Key Vault Crypto Service Encryption User",
     "Read metadata of keys and perform wrap/unwrap operations.", service_encryption, none},
    {"08bbd89e-9f13-488c-ac41-acfcb10c90ab", "Key Vault Crypto Service Release User", "Release keys.",
     service_release, none},
    {"21090545-7ca7-4776-b22c-e363652d74d2", "Key Vault Reader",
     "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values such as "
     "secret contents or key material.",
     reader, none},
    {"2c18b078-7c48-4d3a-af88-5a3a1b3f82b3", "Managed HSM Crypto Auditor",
     "Grants read permissions to read (but not use) key attributes.", hsm_auditor, none},
    {"7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8", "Managed HSM Backup",
     "Grants permissions to perform single-key or whole-HSM backup.", hsm_backup, none},
};

const azkm_role_definition *azkm_role_definitions(size_t *n)
{
    *n = sizeof(roles) / sizeof(roles[0]);
    return roles;
}

azkm_rc azkm_role_definition_find(const char *name_or_id, const azkm_role_definition **out)
{
    /* Azure's tools also call the Managed HSM backup role "Managed HSM Backup User" (Get-AzKeyVaultRoleDefinition
     * -RoleDefinitionName); the service lists it as "Managed HSM Backup". */
    if (name_or_id != NULL && strcasecmp(name_or_id, "Managed HSM Backup User") == 0)
        name_or_id = "Managed HSM Backup";
    for (size_t i = 0; name_or_id != NULL && i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (strcasecmp(roles[i].id, name_or_id) == 0 || strcasecmp(roles[i].name, name_or_id) == 0) {
            *out = &roles[i];
            return AZKM_OK;
        }
    }
    return azkm_fail(AZKM_E_NOT_FOUND,
                     "role '%.128s' is not a role definition: give the name or id of one of `azkm role definition "
                     "list` (e.g. \"Key Vault Crypto User\")",
                     name_or_id ? name_or_id : "");
}

/* Azure's action matching: case-insensitive, '*' any run of characters. Iterative, with one backtrack point: the
 * patterns are short and hold at most two stars. */
static int wildcard_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s != '\0') {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (tolower((unsigned char)*pat) == tolower((unsigned char)*s)) {
            pat++;
            s++;
        } else if (star != NULL) {
            pat = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static int any_match(const char *const *patterns, const char *action)
{
    for (size_t i = 0; patterns[i] != NULL; i++)
        if (wildcard_match(patterns[i], action))
            return 1;
    return 0;
}

/* The Managed HSM data action for the same operation on a key as a Key Vault one, where the two name it
 * differently and a built-in Managed HSM role here grants it; NULL otherwise. */
static const char *managed_hsm_alias(const char *action)
{
    static const struct {
        const char *vault, *hsm;
    } aliases[] = {
        {"Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/managedHsm/keys/read/action"},
        {"Microsoft.KeyVault/vaults/keys/backup/action", "Microsoft.KeyVault/managedHsm/keys/backup/action"},
    };

    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcasecmp(aliases[i].vault, action) == 0)
            return aliases[i].hsm;
    return NULL;
}

static int grants_exactly(const azkm_role_definition *role, const char *action)
{
    return any_match(role->data_actions, action) && !any_match(role->not_data_actions, action);
}

int azkm_role_grants(const azkm_role_definition *role, const char *data_action)
{
    const char *alias = managed_hsm_alias(data_action);

    return grants_exactly(role, data_action) || (alias != NULL && grants_exactly(role, alias));
}
