/* The mutable parts of a key in Key Vault's request bodies: key_ops, attributes (enabled, nbf, exp) and tags, read
 * into the keystore's azkm_attributes with the AZKM_ATTR_* bits of what the body set. */
#include <stdio.h>
#include <string.h>

#include "json/attributes.h"
#include "json/body.h"

azkm_rc azkmd_read_key_ops(const json_t *body, unsigned *key_ops, unsigned *fields)
{
    const json_t *ops = json_object_get(body, "key_ops"), *op;
    size_t i;

    if (ops == NULL || json_is_null(ops))
        return AZKM_OK;
    if (!json_is_array(ops))
        return azkm_set_error(AZKM_E_INVALID, "'key_ops' must be an array of strings");
    *key_ops = 0;
    json_array_foreach(ops, i, op)
    {
        unsigned bit;

        if (!json_is_string(op) || strchr(json_string_value(op), ',') != NULL ||
            azkm_ops_parse(json_string_value(op), &bit) != AZKM_OK || bit == 0)
            return azkm_set_error(AZKM_E_INVALID,
                                  "'key_ops' item %zu is not one of encrypt, decrypt, sign, verify, wrapKey, "
                                  "unwrapKey, import",
                                  i);
        *key_ops |= bit;
    }
    *fields |= AZKM_ATTR_KEY_OPS;
    return AZKM_OK;
}

azkm_rc azkmd_read_tags(const json_t *body, azkm_attributes *attrs, unsigned *fields)
{
    json_t *tags, *value;
    const char *name;
    azkm_rc rc;

    if ((rc = azkmd_body_object(body, "tags", &tags)) != AZKM_OK || tags == NULL)
        return rc;
    if (json_object_size(tags) > AZKM_MAX_TAGS)
        return azkm_set_error(AZKM_E_INVALID, "'tags' has %zu entries; at most %d are allowed",
                              json_object_size(tags), AZKM_MAX_TAGS);
    json_object_foreach(tags, name, value)
    {
        azkm_tag *t = &attrs->tags[attrs->n_tags];

        if (!json_is_string(value))
            return azkm_set_error(AZKM_E_INVALID, "tag '%.64s' must have a string value", name);
        if (*name == '\0' || strlen(name) > AZKM_TAG_NAME_MAX ||
            strlen(json_string_value(value)) > AZKM_TAG_VALUE_MAX)
            return azkm_set_error(AZKM_E_INVALID, "tag '%.64s': names are 1-%d characters, values at most %d", name,
                                  AZKM_TAG_NAME_MAX, AZKM_TAG_VALUE_MAX);
        snprintf(t->name, sizeof(t->name), "%s", name);
        snprintf(t->value, sizeof(t->value), "%s", json_string_value(value));
        attrs->n_tags++;
    }
    *fields |= AZKM_ATTR_TAGS;
    return AZKM_OK;
}

/* "attributes": {"enabled", "nbf", "exp"}; the read-only ones (created, updated, ...) are ignored, as Key Vault
 * does.
 */
azkm_rc azkmd_read_attributes(const json_t *body, azkm_attributes *attrs, unsigned *fields)
{
    json_t *a;
    json_int_t t;
    int present, enabled;
    azkm_rc rc;

    if ((rc = azkmd_body_object(body, "attributes", &a)) != AZKM_OK || a == NULL)
        return rc;
    if ((rc = azkmd_body_bool(a, "enabled", &enabled, &present)) != AZKM_OK)
        return rc;
    if (present) {
        attrs->enabled = enabled;
        *fields |= AZKM_ATTR_ENABLED;
    }
    if ((rc = azkmd_body_int(a, "nbf", &t, &present)) != AZKM_OK)
        return rc;
    if (present) {
        attrs->not_before = t;
        *fields |= AZKM_ATTR_NOT_BEFORE;
    }
    if ((rc = azkmd_body_int(a, "exp", &t, &present)) != AZKM_OK)
        return rc;
    if (present) {
        attrs->expires = t;
        *fields |= AZKM_ATTR_EXPIRES;
    }
    return AZKM_OK;
}
