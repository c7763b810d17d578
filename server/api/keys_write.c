/* Creating keys: POST /keys/{name}/create with Key Vault's body (kty, key_size, crv, key_ops, attributes, tags),
 * and new versions: POST /keys/{name}/rotate. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/routes.h"
#include "json/attributes.h"
#include "json/body.h"
#include "json/jwk_import.h"
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

static azkm_rc import_with(azkmd_request *r, const json_t *jwk, azkm_key_info *info)
{
    azkm_attributes attrs;
    azkm_material m;
    azkm_protection protection;
    unsigned char *der = NULL;
    size_t len = 0;
    unsigned fields = 0;
    int hsm = 0, present = 0;
    azkm_rc rc;

    memset(&attrs, 0, sizeof(attrs));
    memset(&m, 0, sizeof(m));
    if (json_object_get(jwk, "key_hsm") != NULL)
        return azkm_set_error(AZKM_E_UNSUPPORTED, "key.key_hsm (BYOK transfer blobs) is not served by azkmd yet: "
                                                  "use `azkm key import --byok-file`");
    if ((rc = azkmd_body_bool(r->body, "Hsm", &hsm, &present)) != AZKM_OK ||
        (rc = azkmd_read_key_ops(jwk, &attrs.key_ops, &fields)) != AZKM_OK ||
        (rc = azkmd_read_attributes(r->body, &attrs, &fields)) != AZKM_OK ||
        (rc = azkmd_read_tags(r->body, &attrs, &fields)) != AZKM_OK ||
        (rc = azkmd_jwk_private(jwk, &m.kty, &protection, &der, &len)) != AZKM_OK)
        return rc;
    m.der = der;
    m.der_len = len;
    rc = azkm_key_import(r->vault, r->name, &m, hsm ? AZKM_PROTECTION_HSM : protection, fields, &attrs, info);
    OPENSSL_clear_free(der, len);
    return rc;
}

/* PUT /keys/{name}: {"key": JWK with its private parts, "Hsm": bool, "attributes", "tags"}. */
void azkmd_key_import(azkmd_request *r)
{
    azkm_key_info info;
    json_t *jwk = NULL;
    azkm_rc rc = azkmd_body_object(r->body, "key", &jwk);

    if (rc == AZKM_OK && jwk == NULL)
        rc = azkm_set_error(AZKM_E_INVALID, "the request body has no 'key' (a JWK with its private parts)");
    if (rc == AZKM_OK)
        rc = import_with(r, jwk, &info);
    if (rc != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    snprintf(r->version, sizeof(r->version), "%s", info.version);
    azkmd_reply_json(r, 200, azkmd_key_bundle(&info, r->origin));
}
