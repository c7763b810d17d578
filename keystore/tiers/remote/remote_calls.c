/* What the administration files of tiers/remote/ share: a request answered by a key bundle, Key Vault's paged
 * lists (following nextLink), and the mutable attributes of a key as request members. */
#include <stdio.h>
#include <string.h>

#include "tiers/remote/remote_calls.h"

azkm_rc azkm_remote_name_check(const char *name)
{
    if (!azkm_key_name_valid(name))
        return azkm_fail(AZKM_E_INVALID, "key name '%.64s' is invalid: 1-127 characters of a-z, A-Z, 0-9 and '-'",
                         name != NULL ? name : "");
    return AZKM_OK;
}

azkm_rc azkm_remote_key_path(const char *name, const char *prefix, const char *suffix, char *path, size_t size)
{
    azkm_rc rc = azkm_remote_name_check(name);

    if (rc == AZKM_OK && (size_t)snprintf(path, size, "%s%s%s", prefix, name, suffix) >= size)
        rc = azkm_fail(AZKM_E_INVALID, "key %.64s: the request path is too long", name);
    return rc;
}

static int64_t time_member(const json_t *obj, const char *member)
{
    const json_t *v = json_object_get(obj, member);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

azkm_rc azkm_remote_bundle_call(azkm_tier *t, const char *method, const char *path, json_t *body, int once,
                                azkm_key_info *out)
{
    const char *entry;
    azkm_remote_client *c = azkm_remote_tier_client(t, &entry);
    azkm_key_info scratch;
    json_t *resp = NULL;
    azkm_rc rc =
        once ? azkm_remote_call_once(c, method, path, body, &resp) : azkm_remote_call(c, method, path, body, &resp);

    json_decref(body);
    if (out == NULL)
        out = &scratch;
    if (rc == AZKM_OK && (rc = azkm_remote_bundle_info(t->libctx, t->propq, entry, resp, out)) != AZKM_OK && once)
        rc = azkm_fail(rc, "remote vault %s: %s %s was carried out by azkmd, but its answer cannot be shown: %s",
                       entry, method, path, azkm_last_error());
    if (rc == AZKM_OK) {
        out->deleted_on = time_member(resp, "deletedDate");
        out->scheduled_purge = time_member(resp, "scheduledPurgeDate");
    }
    json_decref(resp);
    return rc;
}

azkm_rc azkm_remote_pages(azkm_tier *t, const char *path, json_t *kids)
{
    const char *entry;
    azkm_remote_client *c = azkm_remote_tier_client(t, &entry);

    return azkm_remote_list_kids(c, entry, path, kids);
}

static json_t *ops_json(unsigned ops)
{
    json_t *arr = json_array();

    for (unsigned bit = 1; arr != NULL && bit <= AZKM_OP_DERIVE; bit <<= 1)
        if (ops & bit)
            json_array_append_new(arr, json_string(azkm_op_name(bit)));
    return arr;
}

azkm_rc azkm_remote_attrs_json(json_t *body, unsigned fields, const azkm_attributes *a)
{
    json_t *attrs = json_object(), *tags = json_object();
    int bad = attrs == NULL || tags == NULL;

    if (!bad && (fields & AZKM_ATTR_KEY_OPS))
        bad = json_object_set_new(body, "key_ops", ops_json(a->key_ops)) != 0;
    if (!bad && (fields & AZKM_ATTR_ENABLED))
        bad = json_object_set_new(attrs, "enabled", json_boolean(a->enabled)) != 0;
    if (!bad && (fields & AZKM_ATTR_NOT_BEFORE)) /* 0: unset it, as the keystore's own update does */
        bad = json_object_set_new(attrs, "nbf", json_integer(a->not_before)) != 0;
    if (!bad && (fields & AZKM_ATTR_EXPIRES))
        bad = json_object_set_new(attrs, "exp", json_integer(a->expires)) != 0;
    for (size_t i = 0; !bad && (fields & AZKM_ATTR_TAGS) && i < a->n_tags; i++)
        bad = json_object_set_new(tags, a->tags[i].name, json_string(a->tags[i].value)) != 0;
    if (!bad && json_object_size(attrs) > 0)
        bad = json_object_set(body, "attributes", attrs) != 0;
    if (!bad && (fields & AZKM_ATTR_TAGS))
        bad = json_object_set(body, "tags", tags) != 0;
    json_decref(attrs);
    json_decref(tags);
    return bad ? azkm_fail(AZKM_E_NOMEM, "out of memory") : AZKM_OK;
}
