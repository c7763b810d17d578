/* Rotation policies in Key Vault's shape (GET and PUT /keys/{name}/rotationpolicy), stored and validated by the
 * keystore; a key without a policy reads as Key Vault's default (notify 30 days before expiry). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"

static void reply_policy(azkmd_request *r, const char *text)
{
    json_t *policy = json_loads(text, 0, NULL);
    char id[sizeof(r->origin) + AZKM_NAME_MAX + 32];

    if (policy == NULL) {
        azkmd_reply_error(r, 500, "InternalError", "the stored rotation policy of %s is not JSON", r->name);
        return;
    }
    snprintf(id, sizeof(id), "%s/keys/%s/rotationpolicy", r->origin, r->name);
    json_object_set_new(policy, "id", json_string(id));
    azkmd_reply_json(r, 200, policy);
}

void azkmd_rotation_policy_get(azkmd_request *r)
{
    char *text = NULL;
    azkm_rc rc = azkm_rotation_policy_get(r->vault, r->name, &text);

    if (rc != AZKM_OK)
        azkmd_reply_rc(r, rc);
    else if (text == NULL)
        reply_policy(r, "{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"P30D\"},"
                        "\"action\":{\"type\":\"Notify\"}}],\"attributes\":{}}");
    else
        reply_policy(r, text);
    azkm_free(text);
}

void azkmd_rotation_policy_set(azkmd_request *r)
{
    json_t *policy, *attrs;
    char *text, *stored = NULL;
    azkm_rc rc;

    if (r->body == NULL) {
        azkmd_reply_error(r, 400, "BadParameter", "the request body is missing: give the rotation policy");
        return;
    }
    /* What the service sets (id, created, updated) may come back in a client's PUT: not part of the policy. */
    policy = json_deep_copy(r->body);
    json_object_del(policy, "id");
    if ((attrs = json_object_get(policy, "attributes")) != NULL && json_is_object(attrs)) {
        json_object_del(attrs, "created");
        json_object_del(attrs, "updated");
    }
    text = json_dumps(policy, JSON_COMPACT);
    json_decref(policy);
    rc = text != NULL ? azkm_rotation_policy_set(r->vault, r->name, text, &stored)
                      : azkm_set_error(AZKM_E_NOMEM, "out of memory");
    free(text);
    if (rc != AZKM_OK)
        azkmd_reply_rc(r, rc);
    else
        reply_policy(r, stored);
    azkm_free(stored);
}
