/* A remote vault's key versions: GET keys/{name}/versions through its pages (oldest first, as azkmd lists them),
 * then each version's bundle; the current one is the version GET keys/{name} answers. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tiers/remote/remote_admin.h"
#include "tiers/remote/remote_calls.h"

/* The current version's id, or "" when the key has none (no version enabled). */
static azkm_rc current_version(azkm_tier *t, const char *name, char ver[AZKM_VERSION_LEN + 1])
{
    char path[AZKM_NAME_MAX + 32];
    azkm_key_info info;
    azkm_rc rc;

    ver[0] = '\0';
    snprintf(path, sizeof(path), "/keys/%s", name);
    rc = azkm_remote_bundle_call(t, "GET", path, NULL, 0, &info);
    if (rc == AZKM_OK)
        memcpy(ver, info.version, AZKM_VERSION_LEN + 1);
    return rc == AZKM_E_NOT_FOUND ? AZKM_OK : rc;
}

static azkm_rc read_versions(azkm_tier *t, const char *name, const json_t *kids, azkm_key_info *arr)
{
    char path[AZKM_NAME_MAX + AZKM_VERSION_LEN + 16], cur[AZKM_VERSION_LEN + 1];
    azkm_rc rc = current_version(t, name, cur);
    const char *entry;
    json_t *kid;
    size_t i;

    azkm_remote_tier_client(t, &entry);
    json_array_foreach(kids, i, kid)
    {
        const char *version = azkm_remote_kid_tail(json_string_value(kid));

        if (rc != AZKM_OK)
            break;
        if (!azkm_version_valid(version))
            return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: key %s: azkmd lists a version '%.40s'", entry, name,
                             version);
        snprintf(path, sizeof(path), "/keys/%s/%s", name, version);
        rc = azkm_remote_bundle_call(t, "GET", path, NULL, 0, &arr[i]);
        if (rc == AZKM_OK)
            arr[i].current = strcmp(arr[i].version, cur) == 0;
    }
    return rc;
}

azkm_rc azkm_remote_key_versions(azkm_tier *t, const char *name, azkm_key_info **out, size_t *n)
{
    char path[AZKM_NAME_MAX + 64];
    json_t *kids = json_array();
    azkm_key_info *arr = NULL;
    azkm_rc rc = kids != NULL ? azkm_remote_key_path(name, "/keys/", "/versions?maxresults=25", path, sizeof(path))
                              : azkm_fail(AZKM_E_NOMEM, "out of memory");

    *out = NULL;
    *n = 0;
    if (rc == AZKM_OK)
        rc = azkm_remote_pages(t, path, kids);
    if (rc == AZKM_OK && json_array_size(kids) > 0 &&
        (arr = OPENSSL_zalloc(json_array_size(kids) * sizeof(*arr))) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory listing key versions");
    if (rc == AZKM_OK && arr != NULL)
        rc = read_versions(t, name, kids, arr);
    if (rc == AZKM_OK) {
        *out = arr;
        *n = json_array_size(kids);
    } else {
        azkm_free(arr);
    }
    json_decref(kids);
    return rc;
}
