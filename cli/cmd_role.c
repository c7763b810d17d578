/* `azkm role definition list` and `azkm role assignment create|list|delete`, following `az keyvault role`: Azure's
 * built-in data-plane roles, and who holds which of them at which scope of a vault (docs/cli.md, "Roles"). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "command.h"
#include "output.h"
#include "report.h"

#define DEFINITION_PREFIX "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/"

static json_t *string_array(const char *const *s)
{
    json_t *arr = json_array();

    for (size_t i = 0; s[i] != NULL; i++)
        json_array_append_new(arr, json_string(s[i]));
    return arr;
}

/* Azure's role definition shape, as `az keyvault role definition list` prints it. */
static json_t *definition_json(const azkm_role_definition *r)
{
    char id[sizeof(DEFINITION_PREFIX) + AZKM_GUID_LEN];

    snprintf(id, sizeof(id), "%s%s", DEFINITION_PREFIX, r->id);
    return json_pack("{s:[s], s:s, s:s, s:s, s:[{s:[], s:o, s:[], s:o}], s:s, s:s, s:s}", "assignableScopes", "/",
                     "description", r->description, "id", id, "name", r->id, "permissions", "actions",
                     "dataActions", string_array(r->data_actions), "notActions", "notDataActions",
                     string_array(r->not_data_actions), "roleName", r->name, "roleType", "BuiltInRole", "type",
                     "Microsoft.Authorization/roleDefinitions");
}

static int definition_list(cli_ctx *ctx, const cli_args *a)
{
    const char *vault = args_get(a, "--vault-name");
    size_t n = 0;
    const azkm_role_definition *defs = azkm_role_definitions(&n);
    azkm_vault *v = NULL;
    int ret;

    /* the built-in roles are every vault's; a vault named must still exist */
    if (vault != NULL && (ret = cli_vault_open(ctx, vault, &v)) != 0)
        return ret;
    azkm_vault_close(v);
    if (ctx->json) {
        json_t *list = json_array();

        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, definition_json(&defs[i]));
        return out_json(list);
    }
    printf("%-42s %-36s %s\n", "ROLE NAME", "ID", "DATA ACTIONS");
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; defs[i].data_actions[j] != NULL; j++)
            printf("%-42s %-36s %s\n", j ? "" : defs[i].name, j ? "" : defs[i].id, defs[i].data_actions[j]);
    return 0;
}

static const char *role_name(const char *role_id)
{
    const azkm_role_definition *r = NULL;

    if (azkm_role_definition_find(role_id, &r) != AZKM_OK) {
        azkm_clear_error();
        return "(unknown)";
    }
    return r->name;
}

/* Azure's role assignment shape, as `az keyvault role assignment` prints it. */
static json_t *assignment_json(const azkm_role_assignment *as)
{
    char id[64 + AZKM_GUID_LEN], def[sizeof(DEFINITION_PREFIX) + AZKM_GUID_LEN], when[32];

    snprintf(id, sizeof(id), "/providers/Microsoft.Authorization/roleAssignments/%s", as->id);
    snprintf(def, sizeof(def), "%s%s", DEFINITION_PREFIX, as->role_id);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "name", as->id, "principalId",
                     as->principal, "roleDefinitionId", def, "roleName", role_name(as->role_id), "scope", as->scope,
                     "createdOn", out_time(as->created, when, sizeof(when)), "type",
                     "Microsoft.Authorization/roleAssignments");
}

static void assignment_row(const azkm_role_assignment *as)
{
    printf("%-36s %-40s %-40s %s\n", as->id, as->principal, role_name(as->role_id), as->scope);
}

static void assignment_header(void)
{
    printf("%-36s %-40s %-40s %s\n", "NAME", "PRINCIPAL", "ROLE", "SCOPE");
}

/* --assignee in canonical form into out; 0 or an exit code. */
static int assignee_get(const cli_args *a, char out[AZKM_PRINCIPAL_MAX + 1])
{
    azkm_rc rc = azkm_principal_parse(args_get(a, "--assignee"), out);

    if (rc == AZKM_E_INVALID)
        return args_usage("--assignee", "%s", azkm_last_error());
    return rc == AZKM_OK ? 0 : cli_fail(rc);
}

static int assignment_create(cli_ctx *ctx, const cli_args *a)
{
    char principal[AZKM_PRINCIPAL_MAX + 1];
    azkm_role_assignment as;
    azkm_vault *v = NULL;
    azkm_rc rc;
    int ret;

    if ((ret = assignee_get(a, principal)) != 0)
        return ret;
    if (azkm_scope_check(args_get(a, "--scope")) != AZKM_OK)
        return args_usage("--scope", "%s", azkm_last_error());
    if ((ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v)) != 0)
        return ret;
    rc = azkm_role_assignment_create(v, principal, args_get(a, "--role"), args_get(a, "--scope"), &as);
    azkm_vault_close(v);
    if (rc != AZKM_OK)
        return cli_fail(rc);
    if (ctx->json)
        return out_json(assignment_json(&as));
    assignment_header();
    assignment_row(&as);
    return 0;
}

/* The filters of list and delete: each given one must match. */
typedef struct {
    const char *principal; /* canonical, or NULL */
    const char *role_id;
    const char *scope;
    const char *name;
} assignment_filter;

static int filter_get(const cli_args *a, assignment_filter *f, char principal[AZKM_PRINCIPAL_MAX + 1])
{
    const azkm_role_definition *r = NULL;
    int ret;

    memset(f, 0, sizeof(*f));
    if (args_get(a, "--assignee") != NULL) {
        if ((ret = assignee_get(a, principal)) != 0)
            return ret;
        f->principal = principal;
    }
    if (args_get(a, "--role") != NULL) {
        if (azkm_role_definition_find(args_get(a, "--role"), &r) != AZKM_OK)
            return cli_fail(AZKM_E_NOT_FOUND);
        f->role_id = r->id;
    }
    f->scope = args_get(a, "--scope");
    if (f->scope != NULL && azkm_scope_check(f->scope) != AZKM_OK)
        return args_usage("--scope", "%s", azkm_last_error());
    f->name = args_get(a, "--name");
    return 0;
}

static int filter_match(const assignment_filter *f, const azkm_role_assignment *as)
{
    return (f->principal == NULL || strcmp(f->principal, as->principal) == 0) &&
           (f->role_id == NULL || strcasecmp(f->role_id, as->role_id) == 0) &&
           (f->scope == NULL || strcasecmp(f->scope, as->scope) == 0) &&
           (f->name == NULL || strcasecmp(f->name, as->id) == 0);
}

/* The vault's assignments and the filter; 0 or an exit code (then nothing to free). */
static int assignments_get(cli_ctx *ctx, const cli_args *a, azkm_vault **v, assignment_filter *f,
                           char principal[AZKM_PRINCIPAL_MAX + 1], azkm_role_assignment **list, size_t *n)
{
    azkm_rc rc;
    int ret;

    if ((ret = filter_get(a, f, principal)) != 0 ||
        (ret = cli_vault_open(ctx, args_get(a, "--vault-name"), v)) != 0)
        return ret;
    if ((rc = azkm_role_assignment_list(*v, list, n)) != AZKM_OK) {
        azkm_vault_close(*v);
        return cli_fail(rc);
    }
    return 0;
}

static int assignment_list(cli_ctx *ctx, const cli_args *a)
{
    char principal[AZKM_PRINCIPAL_MAX + 1];
    assignment_filter f;
    azkm_role_assignment *list = NULL;
    azkm_vault *v = NULL;
    json_t *out = NULL;
    size_t n = 0;
    int ret;

    if ((ret = assignments_get(ctx, a, &v, &f, principal, &list, &n)) != 0)
        return ret;
    if (ctx->json)
        out = json_array();
    else
        assignment_header();
    for (size_t i = 0; i < n; i++) {
        if (!filter_match(&f, &list[i]))
            continue;
        if (out != NULL)
            json_array_append_new(out, assignment_json(&list[i]));
        else
            assignment_row(&list[i]);
    }
    azkm_free(list);
    azkm_vault_close(v);
    return out != NULL ? out_json(out) : 0;
}

static int assignment_delete(cli_ctx *ctx, const cli_args *a)
{
    char principal[AZKM_PRINCIPAL_MAX + 1];
    assignment_filter f;
    azkm_role_assignment *list = NULL;
    azkm_vault *v = NULL;
    size_t n = 0, deleted = 0;
    azkm_rc rc = AZKM_OK;
    int ret;

    if (!args_get(a, "--name") && !args_get(a, "--assignee") && !args_get(a, "--role") && !args_get(a, "--scope"))
        return args_usage("--name", "name the assignment, or give --assignee, --role and/or --scope to match");
    if ((ret = assignments_get(ctx, a, &v, &f, principal, &list, &n)) != 0)
        return ret;
    for (size_t i = 0; rc == AZKM_OK && i < n; i++)
        if (filter_match(&f, &list[i]) && (rc = azkm_role_assignment_delete(v, list[i].id)) == AZKM_OK)
            deleted++;
    azkm_free(list);
    azkm_vault_close(v);
    if (rc != AZKM_OK)
        return cli_fail(rc);
    if (deleted == 0)
        return cli_failf(AZKM_E_NOT_FOUND, "vault %s: no role assignment matches", args_get(a, "--vault-name"));
    return 0;
}

#define ROLE_VAULT_FLAG                                                                                            \
    {                                                                                                              \
        "--vault-name", ARG_VALUE, "VAULT", "Vault whose role assignments these are.", 1                           \
    }
#define ASSIGNEE_HELP                                                                                              \
    "Principal: uid:<n>, gid:<n>, user:<name> or group:<name> (stored as uid:/gid:), or sp:<appId> (a service "    \
    "principal)."
#define SCOPE_HELP "Scope: / (the vault), /keys (every key) or /keys/<name> (one key, any case)."

static const cli_flag definition_flags[] = {
    {"--vault-name", ARG_VALUE, "VAULT", "A vault (its roles are the built-in ones: every vault has the same).", 0},
    {NULL, 0, NULL, NULL, 0},
};

static const cli_flag create_flags[] = {
    ROLE_VAULT_FLAG,
    {"--role", ARG_VALUE, "ROLE", "Role name (\"Key Vault Crypto User\") or id, from `azkm role definition list`.",
     1},
    {"--assignee", ARG_VALUE, "PRINCIPAL", ASSIGNEE_HELP, 1},
    {"--scope", ARG_VALUE, "SCOPE", SCOPE_HELP, 1},
    {NULL, 0, NULL, NULL, 0},
};

static const cli_flag filter_flags[] = {
    ROLE_VAULT_FLAG,
    {"--role", ARG_VALUE, "ROLE", "Only assignments of this role (name or id).", 0},
    {"--assignee", ARG_VALUE, "PRINCIPAL", "Only assignments of this principal. " ASSIGNEE_HELP, 0},
    {"--scope", ARG_VALUE, "SCOPE", "Only assignments at exactly this scope. " SCOPE_HELP, 0},
    {"--name", ARG_VALUE, "GUID", "Only the assignment of this name (its GUID).", 0},
    {NULL, 0, NULL, NULL, 0},
};

const cli_command cli_role_commands[] = {
    {"definition list", "List Azure's built-in data-plane roles and their data actions",
     "Key Vault Administrator, Crypto Officer, Crypto User, Crypto Service Encryption User, Crypto Service\n"
     "Release User and Reader, and Managed HSM Crypto Auditor and Backup, with Azure's ids and data actions.",
     definition_flags,
     "  azkm role definition list\n"
     "  azkm role definition list --output json\n",
     definition_list},
    {"assignment create", "Give a principal a role at a scope of a vault",
     "Deny by default: a principal may do what a role assigned to it (or, for a Unix peer, to one of its\n"
     "groups) grants at a scope covering the key. The assignment is stored in the vault's catalog under its MAC\n"
     "key (`azkm vault verify` checks it). The same principal, role and scope twice is a Conflict.",
     create_flags,
     "  azkm role assignment create --vault-name prod --role \"Key Vault Crypto User\" --assignee user:www-data "
     "\\\n"
     "      --scope /keys/web-tls\n"
     "  azkm role assignment create --vault-name prod --role \"Key Vault Crypto Officer\" --assignee group:adm \\\n"
     "      --scope /\n",
     assignment_create},
    {"assignment list", "List a vault's role assignments", NULL, filter_flags,
     "  azkm role assignment list --vault-name prod\n"
     "  azkm role assignment list --vault-name prod --assignee user:www-data --output json\n",
     assignment_list},
    {"assignment delete", "Remove the role assignments that match",
     "Removes the assignment --name names, or every assignment matching all of --assignee, --role and --scope\n"
     "given. NotFound when none matches.",
     filter_flags,
     "  azkm role assignment delete --vault-name prod --assignee user:www-data --scope /keys/web-tls\n"
     "  azkm role assignment delete --vault-name prod --name 6f1c2a3e-...\n",
     assignment_delete},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
