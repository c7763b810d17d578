/* Rotation: a new version of a key, made like its newest one (type, size, RSA-PSS restrictions, key_ops, tags),
 * with the expiry of the key's rotation policy. */
#include <string.h>

#include "keys/records.h"
#include "keys/keys.h"
#include "tiers/remote/remote_admin.h"

/* The spec of the next version from the key's newest one, enabled or not. */
static azkm_rc spec_from_newest(azkm_vault *v, const char *name, int64_t rowid, azkm_keyspec *spec)
{
    azkm_catalog_version_row r;
    azkm_key_info newest;
    azkm_rc rc = azkm_catalog_version_newest(v->cat, rowid, &r);

    if (rc == AZKM_E_NOT_FOUND)
        return azkm_fail(AZKM_E_CORRUPT, "key %s/%s has no versions", v->name, name);
    if (rc != AZKM_OK)
        return rc;
    rc = azkm_version_info(v, &r, &newest);
    azkm_catalog_version_row_clear(&r);
    if (rc == AZKM_E_INTEGRITY && newest.integrity_error)
        rc = azkm_fail(AZKM_E_INTEGRITY,
                       "vault %s: integrity check failed for key %s: its newest version's record "
                       "was changed outside azkm, so it is not rotated",
                       v->name, name);
    if (rc == AZKM_OK) {
        memset(spec, 0, sizeof(*spec));
        spec->kty = newest.kty;
        spec->protection = newest.protection;
        spec->size = newest.kty == AZKM_KTY_EC || newest.kty == AZKM_KTY_OKP ? 0 : newest.size;
        spec->curve = newest.curve;
        spec->fields = AZKM_ATTR_KEY_OPS | AZKM_ATTR_TAGS;
        spec->attrs.key_ops = newest.attrs.key_ops;
        spec->attrs.n_tags = newest.attrs.n_tags;
        memcpy(spec->attrs.tags, newest.attrs.tags, sizeof(spec->attrs.tags));
        spec->pss = newest.pss; /* an RSA-PSS key stays one, with the same restrictions */
    }
    return rc;
}

static azkm_rc key_rotate_impl(azkm_vault *v, const char *name, azkm_key_info *out)
{
    azkm_keyspec spec;
    azkm_version_request req = {name, &spec, NULL, NULL, NULL, 0, 1, 0};
    char canon[AZKM_NAME_MAX + 1];
    azkm_rc rc = azkm_find_key(v, name, 0, &req.key_rowid, canon, NULL, NULL);

    /* As in Key Vault, every rotation (by hand or by `rotation run`) gives the new version the expiry of the key's
     * rotation policy; a policy that fails its integrity check stops the rotation rather than being ignored. */
    if (rc == AZKM_OK)
        rc = azkm_rotation_policy_expiry(v, req.key_rowid, canon, &req.lifetime);
    if (rc == AZKM_OK)
        rc = spec_from_newest(v, name, req.key_rowid, &spec);
    if (rc == AZKM_OK && (spec.kty == AZKM_KTY_RSA || spec.kty == AZKM_KTY_OCT || spec.kty == AZKM_KTY_EC ||
                          spec.kty == AZKM_KTY_OKP))
        rc = azkm_key_make_version(v, &req, out);
    return rc;
}

azkm_rc azkm_key_rotate(azkm_vault *v, const char *name, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyRotate", v->name, name,
                 v->remote != NULL ? azkm_remote_key_rotate(v->remote, name, out) : key_rotate_impl(v, name, out),
                 out ? out->version : NULL);
}
