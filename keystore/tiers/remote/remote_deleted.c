/* The end of a remote vault's key: soft-delete (DELETE keys/{name}), recover (POST deletedkeys/{name}/recover),
 * purge (DELETE deletedkeys/{name}), and the list of deleted keys (GET deletedkeys, then each one's bundle). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tiers/remote/remote_admin.h"
#include "tiers/remote/remote_calls.h"

azkm_rc azkm_remote_key_delete(azkm_tier *t, const char *name, azkm_key_info *out)
{
    char path[AZKM_NAME_MAX + 32];
    azkm_rc rc = azkm_remote_key_path(name, "/keys/", "", path, sizeof(path));

    return rc != AZKM_OK ? rc : azkm_remote_bundle_call(t, "DELETE", path, NULL, 1, out);
}

azkm_rc azkm_remote_key_recover(azkm_tier *t, const char *name, azkm_key_info *out)
{
    char path[AZKM_NAME_MAX + 32];
    azkm_rc rc = azkm_remote_key_path(name, "/deletedkeys/", "/recover", path, sizeof(path));

    return rc != AZKM_OK ? rc : azkm_remote_bundle_call(t, "POST", path, NULL, 1, out);
}

azkm_rc azkm_remote_key_purge(azkm_tier *t, const char *name)
{
    const char *entry;
    azkm_remote_client *c = azkm_remote_tier_client(t, &entry);
    char path[AZKM_NAME_MAX + 32];
    json_t *resp = NULL;
    azkm_rc rc = azkm_remote_key_path(name, "/deletedkeys/", "", path, sizeof(path));

    if (rc != AZKM_OK)
        return rc;
    rc = azkm_remote_call_once(c, "DELETE", path, NULL, &resp);
    json_decref(resp);
    return rc;
}

azkm_rc azkm_remote_deleted_list(azkm_tier *t, azkm_key_info **out, size_t *n)
{
    json_t *kids = json_array(), *kid;
    azkm_key_info *arr = NULL;
    azkm_rc rc = kids != NULL ? azkm_remote_pages(t, "/deletedkeys?maxresults=25", kids)
                              : azkm_fail(AZKM_E_NOMEM, "out of memory");
    char path[AZKM_NAME_MAX + 32];
    size_t i;

    *out = NULL;
    *n = 0;
    if (rc == AZKM_OK && json_array_size(kids) > 0 &&
        (arr = OPENSSL_zalloc(json_array_size(kids) * sizeof(*arr))) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory listing deleted keys");
    json_array_foreach(kids, i, kid)
    {
        const char *name = azkm_remote_kid_tail(json_string_value(kid));

        if (rc == AZKM_OK)
            rc = azkm_remote_key_path(name, "/deletedkeys/", "", path, sizeof(path));
        if (rc != AZKM_OK)
            break;
        rc = azkm_remote_bundle_call(t, "GET", path, NULL, 0, &arr[i]);
    }
    if (rc == AZKM_OK) {
        *out = arr;
        *n = json_array_size(kids);
    } else {
        azkm_free(arr);
    }
    json_decref(kids);
    return rc;
}
