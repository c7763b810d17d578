/* A remote vault's backups (POST keys/{name}/backup: azkmd's blob, opaque here; POST keys/restore) and rotation
 * policies (GET and PUT keys/{name}/rotationpolicy, without the "id" the service adds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "azkm/base64.h"
#include "tiers/remote/remote_admin.h"
#include "tiers/remote/remote_calls.h"

azkm_rc azkm_remote_key_backup(azkm_tier *t, const char *name, unsigned char **blob, size_t *len)
{
    const char *entry;
    azkm_remote_client *c = azkm_remote_tier_client(t, &entry);
    char path[AZKM_NAME_MAX + 32];
    json_t *resp = NULL;
    azkm_rc rc = azkm_remote_key_path(name, "/keys/", "/backup", path, sizeof(path));

    *blob = NULL;
    *len = 0;
    if (rc != AZKM_OK)
        return rc;
    /* Not idempotent in Key Vault's sense, but it changes nothing: a retry is safe. */
    rc = azkm_remote_call(c, "POST", path, NULL, &resp);
    if (rc == AZKM_OK)
        rc = azkm_remote_b64_member(entry, resp, "value", blob, len);
    json_decref(resp);
    return rc;
}

azkm_rc azkm_remote_key_restore(azkm_tier *t, const unsigned char *blob, size_t len, azkm_key_info *out)
{
    char *text = azkm_b64url_encode(blob, len);
    json_t *body = text != NULL ? json_pack("{s:s}", "value", text) : NULL;

    azkm_free(text);
    if (body == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    return azkm_remote_bundle_call(t, "POST", "/keys/restore", body, 1, out);
}

/* The policy azkmd answered, as text without its "id" (azkm_free). */
static azkm_rc policy_text(const char *entry, json_t *resp, char **out)
{
    char *text;

    json_object_del(resp, "id");
    if ((text = json_dumps(resp, JSON_COMPACT)) == NULL || (*out = OPENSSL_strdup(text)) == NULL) {
        free(text);
        return azkm_fail(AZKM_E_NOMEM, "remote vault %s: out of memory reading a rotation policy", entry);
    }
    free(text);
    return AZKM_OK;
}

azkm_rc azkm_remote_policy_get(azkm_tier *t, const char *name, char **policy)
{
    const char *entry;
    azkm_remote_client *c = azkm_remote_tier_client(t, &entry);
    char path[AZKM_NAME_MAX + 32];
    json_t *resp = NULL;
    azkm_rc rc = azkm_remote_key_path(name, "/keys/", "/rotationpolicy", path, sizeof(path));

    *policy = NULL;
    if (rc != AZKM_OK)
        return rc;
    rc = azkm_remote_call(c, "GET", path, NULL, &resp);
    if (rc == AZKM_OK)
        rc = policy_text(entry, resp, policy);
    json_decref(resp);
    return rc;
}

/* NULL clears the policy: Key Vault's way is a policy without lifetime actions. */
azkm_rc azkm_remote_policy_set(azkm_tier *t, const char *name, const char *policy, char **stored)
{
    const char *entry;
    azkm_remote_client *c = azkm_remote_tier_client(t, &entry);
    char path[AZKM_NAME_MAX + 32];
    json_t *body, *resp = NULL;
    json_error_t jerr;
    azkm_rc rc = azkm_remote_key_path(name, "/keys/", "/rotationpolicy", path, sizeof(path));

    if (stored != NULL)
        *stored = NULL;
    if (rc != AZKM_OK)
        return rc;
    body = json_loads(policy != NULL ? policy : "{\"lifetimeActions\":[],\"attributes\":{}}", 0, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: the rotation policy is not a JSON object: %s", entry, name,
                         jerr.text);
    }
    rc = azkm_remote_call_once(c, "PUT", path, body, &resp);
    json_decref(body);
    if (rc == AZKM_OK && stored != NULL)
        rc = policy_text(entry, resp, stored);
    json_decref(resp);
    return rc;
}
