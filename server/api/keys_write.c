/* Creating keys: POST /keys/{name}/create with Key Vault's body (kty, key_size, crv, key_ops, attributes, tags),
 * and new versions: POST /keys/{name}/rotate. */
#include <stdio.h>
#include <string.h>

#include "api/routes.h"
#include "json/attributes.h"
#include "json/body.h"
#include "json/key_bundle.h"

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
    if ((rc = read_shape(r->body, &spec)) != AZKM_OK ||
        (rc = azkmd_read_key_ops(r->body, &spec.attrs.key_ops, &spec.fields)) != AZKM_OK ||
        (rc = azkmd_read_attributes(r->body, &spec.attrs, &spec.fields)) != AZKM_OK ||
        (rc = azkmd_read_tags(r->body, &spec.attrs, &spec.fields)) != AZKM_OK ||
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
