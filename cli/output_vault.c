/* Vaults on stdout: Azure's vault shape (name, properties) in JSON, a vertical table or a list otherwise (see
 * output.h). */
#include <stdio.h>

#include "output.h"

static const char *protector_name(azkm_protector p)
{
    switch (p) {
    case AZKM_PROTECTOR_PASSPHRASE:
        return "passphrase";
    case AZKM_PROTECTOR_HSM:
        return "hsm";
    default:
        return "platform";
    }
}

static json_t *remote_vault_json(const azkm_vault_info *info)
{
    char uri[AZKM_VAULT_NAME_MAX + 16];
    json_t *urls = json_array();

    snprintf(uri, sizeof(uri), "azkm://%s", info->name);
    for (size_t i = 0; urls != NULL && i < info->n_remote_urls; i++)
        json_array_append_new(urls, json_string(info->remote_urls[i]));
    return json_pack("{s:s, s:{s:s, s:s, s:{s:s, s:o}}}", "name", info->name, "properties", "vaultUri", uri, "path",
                     info->path, "remote", "vault", info->remote_vault, "urls", urls);
}

static json_t *vault_json(const azkm_vault_info *info)
{
    char uri[AZKM_VAULT_NAME_MAX + 16];
    json_t *obj = json_object(), *props = json_object();

    if (info->remote) {
        json_decref(obj);
        json_decref(props);
        return remote_vault_json(info);
    }
    if (obj == NULL || props == NULL) {
        json_decref(obj);
        json_decref(props);
        return NULL;
    }
    snprintf(uri, sizeof(uri), "azkm://%s", info->name);
    json_object_set_new(obj, "name", json_string(info->name));
    json_object_set_new(props, "vaultUri", json_string(uri));
    json_object_set_new(props, "path", json_string(info->path));
    json_object_set_new(props, "enableSoftDelete", json_true());
    json_object_set_new(props, "softDeleteRetentionInDays", json_integer(info->retention_days));
    json_object_set_new(props, "enablePurgeProtection", json_boolean(info->purge_protection));
    json_object_set_new(props, "protector", json_string(protector_name(info->protector)));
    json_object_set_new(props, "created", json_integer(info->created));
    json_object_set_new(props, "keyCount", json_integer((json_int_t)info->n_keys));
    json_object_set_new(props, "deletedKeyCount", json_integer((json_int_t)info->n_deleted));
    if (info->hsm_module[0] != '\0')
        json_object_set_new(props, "hsm",
                            json_pack("{s:s, s:s, s:s}", "module", info->hsm_module, "token", info->hsm_token,
                                      "pinSource", info->hsm_pin_source));
    else
        json_object_set_new(props, "hsm", json_null());
    json_object_set_new(obj, "properties", props);
    return obj;
}

static int out_remote_vault(const azkm_vault_info *info)
{
    out_row("Name", "%s", info->name);
    out_row("Vault URI", "azkm://%s", info->name);
    out_row("Path", "%s", info->path);
    out_row("Remote vault", "%s", info->remote_vault);
    for (size_t i = 0; i < info->n_remote_urls; i++)
        out_row(i == 0 ? "azkmd URLs" : "", "%s", info->remote_urls[i]);
    return 0;
}

int out_vault(int json, const azkm_vault_info *info)
{
    char t[32];

    if (json)
        return out_json(vault_json(info));
    if (info->remote)
        return out_remote_vault(info);
    out_row("Name", "%s", info->name);
    out_row("Vault URI", "azkm://%s", info->name);
    out_row("Path", "%s", info->path);
    out_row("Retention days", "%d", info->retention_days);
    out_row("Purge protection", "%s", info->purge_protection ? "true" : "false");
    out_row("Protector", "%s", protector_name(info->protector));
    out_row("Created", "%s", out_time(info->created, t, sizeof(t)));
    out_row("Keys", "%zu", info->n_keys);
    out_row("Deleted keys", "%zu", info->n_deleted);
    if (info->hsm_module[0] != '\0') {
        out_row("HSM module", "%s", info->hsm_module);
        out_row("HSM token", "%s", info->hsm_token);
        out_row("HSM PIN source", "%s", info->hsm_pin_source);
    }
    return 0;
}

int out_vault_list(int json, const azkm_vault_info *arr, char *const *errors, size_t n)
{
    if (json) {
        json_t *list = json_array();

        for (size_t i = 0; list != NULL && i < n; i++) {
            if (errors[i] == NULL) {
                json_array_append_new(list, vault_json(&arr[i]));
                continue;
            }
            json_array_append_new(
                list, json_pack("{s:s, s:n, s:s}", "name", arr[i].name, "properties", "error", errors[i]));
        }
        return out_json(list);
    }
    printf("%-24s %-10s %-9s %-7s %-6s %s\n", "NAME", "PROTECTOR", "RETENTION", "PURGE-P", "KEYS", "DELETED");
    for (size_t i = 0; i < n; i++) {
        if (errors[i] != NULL)
            printf("%-24s (not opened: %s)\n", arr[i].name, errors[i]);
        else if (arr[i].remote)
            printf("%-24s %-10s (vault %s at %s%s)\n", arr[i].name, "remote", arr[i].remote_vault,
                   arr[i].remote_urls[0], arr[i].n_remote_urls > 1 ? ", ..." : "");
        else
            printf("%-24s %-10s %-9d %-7s %-6zu %zu\n", arr[i].name, protector_name(arr[i].protector),
                   arr[i].retention_days, arr[i].purge_protection ? "true" : "false", arr[i].n_keys,
                   arr[i].n_deleted);
    }
    return 0;
}
