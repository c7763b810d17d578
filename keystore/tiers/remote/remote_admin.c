/* Keys made or changed through azkmd: create (POST keys/{name}/create), update (PATCH keys/{name}[/{version}]),
 * rotate (POST keys/{name}/rotate) and import (PUT keys/{name} with the private key as a JWK). Each is sent once:
 * none is retried or failed over once it may have reached azkmd. */
#include <stdio.h>
#include <string.h>

#include "tiers/remote/remote_admin.h"
#include "tiers/remote/remote_calls.h"

static const char *entry_of(azkm_tier *t)
{
    const char *entry;

    azkm_remote_tier_client(t, &entry);
    return entry;
}

/* What the remote tier can use once made: RSA, EC, OKP and oct keys, without RSA-PSS restrictions (Key Vault's API
 * has no way to ask for them). */
static azkm_rc usable_remotely(azkm_tier *t, const char *name, const azkm_keyspec *spec)
{
    if (spec->pss.enabled)
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "vault %s is remote: key %s: RSA-PSS keys cannot be made through azkmd (Key Vault's API "
                         "has no RSA-PSS restrictions): create an RSA key and sign it with PS256..PS512",
                         entry_of(t), name);
    return AZKM_OK;
}

static azkm_rc create_body(const azkm_keyspec *spec, json_t **out)
{
    json_t *body = json_object();
    int bad = body == NULL ||
              json_object_set_new(body, "kty", json_string(azkm_kty_name(spec->kty, spec->protection))) != 0;

    if (!bad && spec->size != 0 && (spec->kty == AZKM_KTY_RSA || spec->kty == AZKM_KTY_OCT))
        bad = json_object_set_new(body, "key_size", json_integer(spec->size)) != 0;
    if (!bad && spec->curve != AZKM_CURVE_NONE)
        bad = json_object_set_new(body, "crv", json_string(azkm_curve_name(spec->curve))) != 0;
    if (bad) {
        json_decref(body);
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    }
    *out = body;
    return azkm_remote_attrs_json(body, spec->fields, &spec->attrs);
}

azkm_rc azkm_remote_key_create(azkm_tier *t, const char *name, const azkm_keyspec *spec, azkm_key_info *out)
{
    char path[AZKM_NAME_MAX + 32];
    json_t *body = NULL;
    azkm_rc rc = azkm_remote_key_path(name, "/keys/", "/create", path, sizeof(path));

    if (rc == AZKM_OK)
        rc = usable_remotely(t, name, spec);
    if (rc == AZKM_OK)
        rc = create_body(spec, &body);
    if (rc != AZKM_OK) {
        json_decref(body);
        return rc;
    }
    return azkm_remote_bundle_call(t, "POST", path, body, 1, out);
}

azkm_rc azkm_remote_key_update(azkm_tier *t, const char *name, const char *version, unsigned fields,
                               const azkm_attributes *attrs, azkm_key_info *out)
{
    int versioned = version != NULL && *version != '\0';
    char path[AZKM_NAME_MAX + AZKM_VERSION_LEN + 16];
    json_t *body = json_object();
    azkm_rc rc = body != NULL ? azkm_remote_name_check(name) : azkm_fail(AZKM_E_NOMEM, "out of memory");

    if (rc == AZKM_OK && versioned && !azkm_version_valid(version))
        rc = azkm_fail(AZKM_E_INVALID, "version '%.40s' is invalid: a version is 32 hexadecimal characters",
                       version);
    if (rc == AZKM_OK)
        rc = azkm_remote_attrs_json(body, fields, attrs);
    if (rc != AZKM_OK) {
        json_decref(body);
        return rc;
    }
    snprintf(path, sizeof(path), "/keys/%s%s%s", name, versioned ? "/" : "", versioned ? version : "");
    return azkm_remote_bundle_call(t, "PATCH", path, body, 1, out);
}

azkm_rc azkm_remote_key_rotate(azkm_tier *t, const char *name, azkm_key_info *out)
{
    char path[AZKM_NAME_MAX + 32];
    azkm_rc rc = azkm_remote_key_path(name, "/keys/", "/rotate", path, sizeof(path));

    return rc != AZKM_OK ? rc : azkm_remote_bundle_call(t, "POST", path, NULL, 1, out);
}
