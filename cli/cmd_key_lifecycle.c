/* `azkm key show|list|list-versions|set-attributes|rotate|delete|list-deleted|show-deleted|recover|purge`:
 * looking keys up, and moving them through their lifecycle (new versions, soft delete, recovery, purge). */
#include <string.h>
#include <strings.h>

#include "command.h"
#include "key_flags.h"
#include "output.h"
#include "report.h"

static int key_show(cli_ctx *ctx, const cli_args *a)
{
    const char *name, *version;
    azkm_key_info info;
    azkm_vault *v = NULL;
    int ret;

    memset(&info, 0, sizeof(info));
    if ((ret = cli_key_target(ctx, a, &v, &name, &version)) != 0)
        return ret;
    ret = out_key_result(ctx->json, azkm_key_show(v, name, version, &info), &info);
    azkm_vault_close(v);
    return ret;
}

static int list_common(cli_ctx *ctx, const cli_args *a, int deleted, int versions)
{
    azkm_key_info *arr = NULL;
    azkm_vault *v = NULL;
    const char *name = NULL;
    size_t n = 0;
    azkm_rc rc;
    int ret;

    if (versions)
        ret = cli_key_target(ctx, a, &v, &name, NULL);
    else
        ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v);
    if (ret != 0)
        return ret;
    rc = versions ? azkm_key_list_versions(v, name, &arr, &n) : azkm_key_list(v, deleted, &arr, &n);
    if (rc != AZKM_OK)
        ret = cli_fail(rc);
    else if ((ret = args_maxresults(a, &n)) == 0)
        ret = versions ? out_key_versions(ctx->json, arr, n) : out_key_list(ctx->json, arr, n, deleted);
    azkm_free(arr);
    azkm_vault_close(v);
    return ret;
}

static int key_list(cli_ctx *ctx, const cli_args *a)
{
    return list_common(ctx, a, 0, 0);
}

static int key_list_deleted(cli_ctx *ctx, const cli_args *a)
{
    return list_common(ctx, a, 1, 0);
}

static int key_list_versions(cli_ctx *ctx, const cli_args *a)
{
    return list_common(ctx, a, 0, 1);
}

/* Azure's show-deleted: the header has no direct call, so the key is picked from the deleted list. */
static int key_show_deleted(cli_ctx *ctx, const cli_args *a)
{
    azkm_key_info *arr = NULL;
    azkm_vault *v = NULL;
    const char *name;
    size_t n = 0, i;
    azkm_rc rc;
    int ret;

    if ((ret = cli_key_target(ctx, a, &v, &name, NULL)) != 0)
        return ret;
    if (!azkm_key_name_valid(name)) {
        ret = cli_failf(AZKM_E_INVALID, "key name '%.64s' is invalid: 1-127 characters of a-z, A-Z, 0-9 and '-'",
                        name);
    } else if ((rc = azkm_key_list(v, 1, &arr, &n)) != AZKM_OK) {
        ret = cli_fail(rc);
    } else {
        for (i = 0; i < n && strcasecmp(arr[i].name, name) != 0; i++)
            ;
        ret = i < n ? out_key(ctx->json, &arr[i])
                    : cli_failf(AZKM_E_NOT_FOUND, "key %s/%s is not a deleted key", azkm_vault_get_name(v), name);
    }
    azkm_free(arr);
    azkm_vault_close(v);
    return ret;
}

static int key_set_attributes(cli_ctx *ctx, const cli_args *a)
{
    const char *name, *version;
    azkm_attributes attrs;
    azkm_key_info info;
    azkm_vault *v = NULL;
    unsigned fields;
    int ret;

    memset(&info, 0, sizeof(info));
    if ((ret = cli_attrs_from_flags(a, &fields, &attrs)) != 0)
        return ret;
    if (fields == 0)
        return args_usage(NULL, "nothing to change: give --enabled, --expires, --not-before, --ops or --tags");
    if ((ret = cli_key_target(ctx, a, &v, &name, &version)) != 0)
        return ret;
    ret = out_key_result(ctx->json, azkm_key_set_attributes(v, name, version, fields, &attrs, &info), &info);
    azkm_vault_close(v);
    return ret;
}

enum { ACT_ROTATE, ACT_DELETE, ACT_RECOVER, ACT_PURGE };

static int key_lifecycle(cli_ctx *ctx, const cli_args *a, int act)
{
    const char *name;
    azkm_key_info info;
    azkm_vault *v = NULL;
    azkm_rc rc;
    int ret;

    memset(&info, 0, sizeof(info));
    if ((ret = cli_key_target(ctx, a, &v, &name, NULL)) != 0)
        return ret;
    switch (act) {
    case ACT_ROTATE:
        ret = out_key_result(ctx->json, azkm_key_rotate(v, name, &info), &info);
        break;
    case ACT_DELETE:
        ret = out_key_result(ctx->json, azkm_key_delete(v, name, &info), &info);
        break;
    case ACT_RECOVER:
        ret = out_key_result(ctx->json, azkm_key_recover(v, name, &info), &info);
        break;
    default:
        rc = azkm_key_purge(v, name);
        ret = rc == AZKM_OK ? 0 : cli_fail(rc);
        break;
    }
    azkm_vault_close(v);
    return ret;
}

static int key_rotate(cli_ctx *ctx, const cli_args *a)
{
    return key_lifecycle(ctx, a, ACT_ROTATE);
}

static int key_delete(cli_ctx *ctx, const cli_args *a)
{
    return key_lifecycle(ctx, a, ACT_DELETE);
}

static int key_recover(cli_ctx *ctx, const cli_args *a)
{
    return key_lifecycle(ctx, a, ACT_RECOVER);
}

static int key_purge(cli_ctx *ctx, const cli_args *a)
{
    return key_lifecycle(ctx, a, ACT_PURGE);
}

static const cli_flag show_flags[] = {FLAG_VAULT, FLAG_NAME, FLAG_VERSION, FLAG_ID, FLAG_END};
static const cli_flag key_flags[] = {FLAG_VAULT, FLAG_NAME, FLAG_ID, FLAG_END};
static const cli_flag list_flags[] = {FLAG_VAULT_REQ, FLAG_MAXRESULTS, FLAG_END};
static const cli_flag versions_flags[] = {FLAG_VAULT, FLAG_NAME, FLAG_ID, FLAG_MAXRESULTS, FLAG_END};

static const cli_flag set_attr_flags[] = {
    FLAG_VAULT,   FLAG_NAME,       FLAG_VERSION, FLAG_ID,   FLAG_OPS,
    FLAG_ENABLED, FLAG_NOT_BEFORE, FLAG_EXPIRES, FLAG_TAGS, FLAG_END,
};

const cli_command cli_key_lifecycle_commands[] = {
    {"show", "Show a key version: public key as JWK, attributes and tags", NULL, show_flags,
     "  azkm key show --vault-name prod --name web-tls --output json\n"
     "  azkm key show --id azkm://prod/keys/web-tls/0123456789abcdef0123456789abcdef\n",
     key_show},
    {"list", "List the keys of a vault (current versions)", NULL, list_flags, "  azkm key list --vault-name prod\n",
     key_list},
    {"list-versions", "List the versions of a key", NULL, versions_flags,
     "  azkm key list-versions --vault-name prod --name web-tls\n", key_list_versions},
    {"set-attributes", "Change a version's enabled flag, validity, key_ops or tags",
     "Key material is immutable; only these attributes change. Default version: the current one.", set_attr_flags,
     "  azkm key set-attributes --vault-name prod --name web-tls --enabled false\n"
     "  azkm key set-attributes --vault-name prod --name web-tls --expires 2028-01-01T00:00:00Z --tags env=prod\n",
     key_set_attributes},
    {"rotate", "Make a new current version of the same type, size, key_ops and tags", NULL, key_flags,
     "  azkm key rotate --vault-name prod --name web-tls\n", key_rotate},
    {"delete", "Soft-delete a key with all its versions",
     "A deleted key can be listed, shown, recovered or purged until its scheduled purge date (the vault's\n"
     "retention); its name cannot be reused until then.",
     key_flags, "  azkm key delete --vault-name prod --name old-key\n", key_delete},
    {"list-deleted", "List the soft-deleted keys of a vault", NULL, list_flags,
     "  azkm key list-deleted --vault-name prod\n", key_list_deleted},
    {"show-deleted", "Show a soft-deleted key: its current version and deletion dates", NULL, key_flags,
     "  azkm key show-deleted --vault-name prod --name old-key --output json\n", key_show_deleted},
    {"recover", "Recover a soft-deleted key with all its versions", NULL, key_flags,
     "  azkm key recover --vault-name prod --name old-key\n", key_recover},
    {"purge", "Permanently remove a soft-deleted key", "Refused under purge protection until the retention ends.",
     key_flags, "  azkm key purge --vault-name prod --name old-key\n", key_purge},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
