/* Making a new version: checking the name and type, having the tier generate or import it, and storing it with a
 * new key row or beside the key's other versions. Used by create, import, adopt and rotate. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keys/records.h"
#include "keys/keys.h"

/* An RSA-PSS key (model.h) is an RSA key that signs and verifies only. */
static azkm_rc pss_spec_check(azkm_vault *v, const char *name, const azkm_keyspec *s)
{
    if (!s->pss.enabled)
        return AZKM_OK;
    if (s->kty != AZKM_KTY_RSA)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: only an RSA key can be an RSA-PSS key", v->name, name);
    if ((s->fields & AZKM_ATTR_KEY_OPS) && (s->attrs.key_ops & ~(unsigned)(AZKM_OP_SIGN | AZKM_OP_VERIFY)))
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: an RSA-PSS key signs and verifies only: key_ops sign,verify",
                         v->name, name);
    return AZKM_OK;
}

azkm_rc azkm_key_spec_check(azkm_vault *v, const char *name, azkm_keyspec *s)
{
    if (!azkm_key_name_valid(name))
        return azkm_fail(AZKM_E_INVALID, "key name '%.64s' is invalid: 1-127 characters of a-z, A-Z, 0-9 and '-'",
                         name ? name : "");
    switch (s->kty) {
    case AZKM_KTY_RSA:
        if (s->size == 0)
            s->size = 2048;
        if (s->size != 2048 && s->size != 3072 && s->size != 4096)
            return azkm_fail(AZKM_E_UNSUPPORTED, "key %s/%s: RSA size %u is not supported (2048, 3072, 4096)",
                             v->name, name, s->size);
        s->curve = AZKM_CURVE_NONE;
        break;
    case AZKM_KTY_EC:
    case AZKM_KTY_OKP:
        if (s->curve == AZKM_CURVE_NONE)
            s->curve = s->kty == AZKM_KTY_EC ? AZKM_CURVE_P256 : AZKM_CURVE_ED25519;
        if (azkm_curve_bits(s->curve) == 0)
            return azkm_fail(AZKM_E_UNSUPPORTED, "key %s/%s: unsupported curve", v->name, name);
        if (azkm_curve_kty(s->curve) != s->kty)
            return azkm_fail(AZKM_E_INVALID,
                             "key %s/%s: curve %s is not for %s keys (EC: P-256, P-384, P-521; OKP: "
                             "Ed25519, Ed448)",
                             v->name, name, azkm_curve_name(s->curve), azkm_kty_name(s->kty, s->protection));
        s->size = (unsigned)azkm_curve_bits(s->curve);
        break;
    case AZKM_KTY_OCT:
        if (s->size == 0)
            s->size = 256;
        if (s->size != 128 && s->size != 192 && s->size != 256)
            return azkm_fail(AZKM_E_UNSUPPORTED, "key %s/%s: oct size %u is not supported (128, 192, 256)", v->name,
                             name, s->size);
        s->curve = AZKM_CURVE_NONE;
        break;
    default:
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: unknown key type", v->name, name);
    }
    if (azkm_vault_tier(v, s->protection) == NULL)
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s/%s: %s", v->name, name, azkm_last_error());
    return pss_spec_check(v, name, s);
}

azkm_rc azkm_key_name_free(azkm_vault *v, const char *name, int allow_existing, int64_t *rowid)
{
    int64_t deleted_on = 0;
    azkm_rc rc = azkm_find_key(v, name, -1, rowid, NULL, &deleted_on, NULL);

    if (rc == AZKM_E_NOT_FOUND) {
        *rowid = 0;
        azkm_clear_error();
        return AZKM_OK;
    }
    if (rc != AZKM_OK)
        return rc;
    if (deleted_on != 0)
        return azkm_fail(AZKM_E_CONFLICT,
                         "key %s/%s is deleted but recoverable (ObjectIsDeletedButRecoverable): recover or purge "
                         "it before reusing the name",
                         v->name, name);
    if (!allow_existing)
        return azkm_fail(AZKM_E_CONFLICT, "key %s/%s already exists (use rotate to add a version)", v->name, name);
    return AZKM_OK;
}

static azkm_rc insert_key_row(azkm_vault *v, const char *name, azkm_kty kty, azkm_protection protection,
                              int64_t now, int64_t *rowid)
{
    char lname[AZKM_NAME_MAX + 1];

    azkm_key_name_lc(name, lname);
    return azkm_catalog_key_insert(v->cat, name, lname, kty, protection, now, rowid);
}

azkm_rc azkm_key_store_version(azkm_vault *v, const char *name, int64_t key_rowid, int allow_existing,
                               azkm_key_info *info, const azkm_tier_output *o)
{
    azkm_rc rc = azkm_catalog_begin(v->cat);
    int64_t existing = 0;

    if (rc != AZKM_OK)
        return rc;
    rc = azkm_vault_expire_deleted(v);
    if (rc == AZKM_OK)
        rc = azkm_key_name_free(v, name, allow_existing, &existing);
    if (rc == AZKM_OK && key_rowid != 0 && existing != key_rowid)
        rc = azkm_fail(AZKM_E_CONFLICT, "key %s/%s changed while the new version was made; try again", v->name,
                       name);
    if (rc == AZKM_OK && existing == 0)
        rc = insert_key_row(v, name, info->kty, info->protection, info->attrs.created, &existing);
    if (rc == AZKM_OK) {
        rc = azkm_key_info_set_public(v, info, o->public_der, o->public_der_len);
        if (rc == AZKM_OK)
            rc = azkm_insert_version(v, existing, info, o->material, o->material_len);
    }
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    return rc;
}

/* The new version's record before the tier makes it: defaults, the request's attributes, its times. */
static azkm_rc new_info(azkm_vault *v, const azkm_version_request *req, azkm_key_info *info)
{
    const azkm_keyspec *spec = req->spec;

    memset(info, 0, sizeof(*info));
    snprintf(info->name, sizeof(info->name), "%s", req->name);
    azkm_new_version(info->version);
    info->kty = spec->kty;
    info->protection = spec->protection;
    info->attrs.enabled = 1;
    info->attrs.key_ops = spec->pss.enabled ? AZKM_OP_SIGN | AZKM_OP_VERIFY : azkm_ops_default(spec->kty);
    azkm_attrs_apply(&info->attrs, spec->fields, &spec->attrs);
    info->attrs.created = info->attrs.updated = azkm_now(v->ks);
    if (req->lifetime != 0)
        info->attrs.expires = info->attrs.created + req->lifetime;
    return azkm_attrs_check_times(v, req->name, &info->attrs);
}

azkm_rc azkm_key_output_pss(azkm_vault *v, const azkm_rsa_pss *pss, azkm_tier_output *o)
{
    unsigned char *der = NULL;
    size_t len = 0;
    azkm_rc rc = azkm_spki_rsa_pss_make(v->ks->libctx, o->public_der, o->public_der_len, pss, &der, &len);

    if (rc != AZKM_OK)
        return rc;
    OPENSSL_free(o->public_der);
    o->public_der = der;
    o->public_der_len = len;
    return AZKM_OK;
}

/* Stores what the tier made; when that fails the tier's objects are destroyed, keeping the storing error. */
static azkm_rc keep_or_destroy(azkm_vault *v, azkm_tier *tier, const azkm_tier_ref *ref,
                               const azkm_version_request *req, azkm_key_info *info, azkm_tier_output *o)
{
    azkm_rc rc = azkm_key_store_version(v, req->name, req->key_rowid, req->allow_existing, info, o);

    if (rc != AZKM_OK) {
        azkm_rc keep = rc;
        char msg[1024];

        snprintf(msg, sizeof(msg), "%s", azkm_last_error());
        tier->ops->destroy(tier, ref, o->material, o->material_len);
        azkm_fail(keep, "%s", msg);
    }
    azkm_tier_output_clear(o);
    return rc;
}

/* A new version of an existing key is bound (its token object's label, its material's AAD) to the name as the key
 * was created, whatever case the caller wrote it in: names are case-insensitive, the bindings are not. */
static const azkm_version_request *as_created(azkm_vault *v, const azkm_version_request *req,
                                              azkm_version_request *copy, char canon[AZKM_NAME_MAX + 1])
{
    if (req->key_rowid == 0 && !req->allow_existing)
        return req;
    if (azkm_find_key(v, req->name, 0, NULL, canon, NULL, NULL) != AZKM_OK) {
        azkm_clear_error(); /* a new key, or one the store step refuses with its own message */
        return req;
    }
    *copy = *req;
    copy->name = canon;
    return copy;
}

azkm_rc azkm_key_make_version(azkm_vault *v, const azkm_version_request *asked, azkm_key_info *out)
{
    azkm_version_request copy;
    char canon[AZKM_NAME_MAX + 1];
    const azkm_version_request *req = as_created(v, asked, &copy, canon);
    const azkm_keyspec *spec = req->spec;
    azkm_tier *tier = azkm_vault_tier(v, spec->protection);
    azkm_key_info info;
    azkm_tier_output o;
    unsigned char aad[256];
    azkm_tier_ref ref;
    azkm_rc rc;

    if (tier == NULL)
        return AZKM_E_UNSUPPORTED;
    if (spec->protection == AZKM_PROTECTION_HSM && azkm_catalog_in_batch(v->cat))
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "key %s/%s: HSM keys cannot be made in a batch (an aborted batch could "
                         "not remove their token objects)",
                         v->name, req->name);
    if ((rc = new_info(v, req, &info)) != AZKM_OK)
        return rc;
    ref.vault = v->name;
    ref.name = req->name;
    ref.version = info.version;
    ref.kty = spec->kty;
    ref.aad = aad;
    ref.aad_len = azkm_material_aad(v, req->name, info.version, spec->kty, spec->protection, aad, sizeof(aad));
    ref.key_ops = info.attrs.key_ops; /* what the tier's objects may be used for (a token's usage flags) */
    rc = req->make       ? req->make(tier, &ref, req->make_arg, &o)
         : req->material ? tier->ops->import(tier, &ref, req->material, &o)
                         : tier->ops->generate(tier, &ref, spec, &o);
    if (rc != AZKM_OK)
        return rc;
    if (spec->pss.enabled && (rc = azkm_key_output_pss(v, &spec->pss, &o)) != AZKM_OK) {
        tier->ops->destroy(tier, &ref, o.material, o.material_len);
        azkm_tier_output_clear(&o);
        return azkm_fail(rc, "key %s/%s: %s", v->name, req->name, azkm_last_error());
    }
    info.size = o.size;
    info.curve = o.curve;
    rc = keep_or_destroy(v, tier, &ref, req, &info, &o);
    if (rc == AZKM_OK && out != NULL)
        rc = azkm_key_show(v, req->name, info.version, out);
    return rc;
}
