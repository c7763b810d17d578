/* Creating keys: POST /keys/{name}/create with Key Vault's body (kty, key_size, crv, key_ops, attributes, tags),
 * and new versions: POST /keys/{name}/rotate. */
#include <stdio.h>
#include <string.h>

#include "api/routes.h"
#include "json/body.h"
#include "json/key_bundle.h"

static azkm_rc read_key_ops(const json_t *body, azkm_keyspec *spec)
{
    const json_t *ops = json_object_get(body, "key_ops"), *op;
    size_t i;

    if (ops == NULL || json_is_null(ops))
        return AZKM_OK;
    if (!json_is_array(ops))
        return azkm_set_error(AZKM_E_INVALID, "'key_ops' must be an array of strings");
    spec->attrs.key_ops = 0;
    json_array_foreach(ops, i, op)
    {
        unsigned bit;

        if (!json_is_string(op) || strchr(json_string_value(op), ',') != NULL ||
            azkm_ops_parse(json_string_value(op), &bit) != AZKM_OK || bit == 0)
            return azkm_set_error(AZKM_E_INVALID,
                                  "'key_ops' item %zu is not one of encrypt, decrypt, sign, verify, wrapKey, "
                                  "unwrapKey, import",
                                  i);
        spec->attrs.key_ops |= bit;
    }
    spec->fields |= AZKM_ATTR_KEY_OPS;
    return AZKM_OK;
}

static azkm_rc read_tags(const json_t *body, azkm_attributes *attrs, unsigned *fields)
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
static azkm_rc read_attributes(const json_t *body, azkm_attributes *attrs, unsigned *fields)
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

static azkm_rc read_shape(const json_t *body, azkm_keyspec *spec)
{
    const char *kty, *crv;
    json_int_t size, exponent;
    int present;
    azkm_rc rc;

    if ((rc = azkmd_body_string(body, "kty", 1, &kty)) != AZKM_OK ||
        (rc = azkm_kty_parse(kty, &spec->kty, &spec->protection)) != AZKM_OK)
        return rc;
    if ((rc = azkmd_body_int(body, "key_size", &size, &present)) != AZKM_OK)
        return rc;
    if (present && (size <= 0 || size > 16384))
        return azkm_set_error(AZKM_E_INVALID, "'key_size' %lld is not a key size", (long long)size);
    spec->size = present ? (unsigned)size : 0;
    if ((rc = azkmd_body_string(body, "crv", 0, &crv)) != AZKM_OK ||
        (crv != NULL && (rc = azkm_curve_parse(crv, &spec->curve)) != AZKM_OK))
        return rc;
    if ((rc = azkmd_body_int(body, "public_exponent", &exponent, &present)) != AZKM_OK)
        return rc;
    if (present && exponent != 65537)
        return azkm_set_error(AZKM_E_UNSUPPORTED, "'public_exponent' %lld is not supported: only 65537",
                              (long long)exponent);
    return AZKM_OK;
}

void azkmd_key_create(azkmd_request *r)
{
    azkm_keyspec spec;
    azkm_key_info info;
    azkm_rc rc;

    memset(&spec, 0, sizeof(spec));
    if (r->body == NULL) {
        azkmd_reply_error(r, 400, "BadParameter", "the request body is missing: give at least {\"kty\": ...}");
        return;
    }
    if ((rc = read_shape(r->body, &spec)) != AZKM_OK || (rc = read_key_ops(r->body, &spec)) != AZKM_OK ||
        (rc = read_attributes(r->body, &spec.attrs, &spec.fields)) != AZKM_OK ||
        (rc = read_tags(r->body, &spec.attrs, &spec.fields)) != AZKM_OK ||
        (rc = azkm_key_create(r->vault, r->name, &spec, &info)) != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    snprintf(r->version, sizeof(r->version), "%s", info.version);
    azkmd_reply_json(r, 200, azkmd_key_bundle(&info, r->origin));
}

/* A new version of the same type and size, with the current version's key_ops and tags (the keystore's rotate). */
void azkmd_key_rotate(azkmd_request *r)
{
    azkm_key_info info;
    azkm_rc rc = azkm_key_rotate(r->vault, r->name, &info);

    if (rc != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    snprintf(r->version, sizeof(r->version), "%s", info.version);
    azkmd_reply_json(r, 200, azkmd_key_bundle(&info, r->origin));
}
