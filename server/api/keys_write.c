/* Creating keys: POST /keys/{name}/create with Key Vault's body (kty, key_size, crv, key_ops, attributes, tags),
 * new versions: POST /keys/{name}/rotate, and imports: PUT /keys/{name} (a private JWK or a BYOK key_hsm). */
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

/* key.kty of a BYOK import: the blob does not say what it holds, the request does, and it lands on the HSM tier. */
static azkm_rc byok_kty(const json_t *jwk, azkm_kty *kty)
{
    azkm_protection protection;
    const char *text;
    azkm_rc rc = azkmd_body_string(jwk, "kty", 1, &text);

    if (rc == AZKM_OK && (azkm_kty_parse(text, kty, &protection) != AZKM_OK || protection != AZKM_PROTECTION_HSM ||
                          *kty == AZKM_KTY_OKP))
        rc = azkm_set_error(AZKM_E_INVALID,
                            "'key.kty' is '%.32s': a key_hsm (BYOK) import is RSA-HSM, EC-HSM or oct-HSM", text);
    return rc;
}

/* key.key_hsm: base64url of Azure's BYOK transfer blob (docs/byok.md), unwrapped inside the vault's token by the
 * key exchange key its header.kid names (azkm_key_import_byok checks that key: this vault's, key_ops [import]). */
static azkm_rc import_byok(azkmd_request *r, const json_t *jwk, azkm_key_info *info)
{
    azkm_attributes attrs;
    azkm_kty kty = AZKM_KTY_RSA;
    unsigned char *blob = NULL;
    size_t len = 0;
    unsigned fields = 0;
    azkm_rc rc;

    memset(&attrs, 0, sizeof(attrs));
    if ((rc = byok_kty(jwk, &kty)) != AZKM_OK ||
        (rc = azkmd_read_key_ops(jwk, &attrs.key_ops, &fields)) != AZKM_OK ||
        (rc = azkmd_read_attributes(r->body, &attrs, &fields)) != AZKM_OK ||
        (rc = azkmd_read_tags(r->body, &attrs, &fields)) != AZKM_OK ||
        (rc = azkmd_body_bytes(jwk, "key_hsm", 1, &blob, &len)) != AZKM_OK)
        return rc;
    rc = azkm_key_import_byok(r->vault, r->name, kty, blob, len, fields, &attrs, info);
    azkm_free(blob);
    return rc;
}

/* A blob that does not unwrap (tampered, made for another KEK, or holding another key type) is the caller's input:
 * the keystore says IntegrityCheckFailed and names the unwrap ("BYOK import with key exchange key"); any other
 * integrity failure (a damaged catalog record) stays the service's. */
static void reply_byok_error(azkmd_request *r, azkm_rc rc)
{
    if (rc == AZKM_E_INTEGRITY && strstr(azkm_last_error(), "BYOK import with key exchange key") != NULL)
        azkmd_reply_error(r, 400, "BadParameter", "%s", azkm_last_error());
    else
        azkmd_reply_rc(r, rc);
}

/* PUT /keys/{name}: {"key": JWK with its private parts or a BYOK key_hsm, "Hsm": bool, "attributes", "tags"}. */
void azkmd_key_import(azkmd_request *r)
{
    azkm_key_info info;
    json_t *jwk = NULL;
    azkm_rc rc = azkmd_body_object(r->body, "key", &jwk);

    if (rc == AZKM_OK && jwk == NULL)
        rc = azkm_set_error(AZKM_E_INVALID, "the request body has no 'key' (a JWK with its private parts)");
    if (rc == AZKM_OK)
        rc = json_object_get(jwk, "key_hsm") != NULL ? import_byok(r, jwk, &info) : import_with(r, jwk, &info);
    if (rc != AZKM_OK) {
        reply_byok_error(r, rc);
        return;
    }
    snprintf(r->version, sizeof(r->version), "%s", info.version);
    azkmd_reply_json(r, 200, azkmd_key_bundle(&info, r->origin));
}
