/* Key management: create, import, show, list, update attributes, rotate, soft-delete, recover and purge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"
#include "catalog/sqlite.h"

#define DAY 86400

azkm_rc azkm_attrs_validate(const azkm_vault *v, const char *name, azkm_kty kty, azkm_protection protection,
                            unsigned fields, const azkm_attributes *a)
{
    unsigned allowed = azkm_ops_allowed(kty, protection);

    if ((fields & AZKM_ATTR_KEY_OPS) && (a->key_ops & ~allowed)) {
        unsigned bad = a->key_ops & ~allowed;

        for (unsigned op = 1; op <= AZKM_OP_IMPORT; op <<= 1)
            if (bad & op)
                return azkm_fail(AZKM_E_INVALID, "key %s/%s: operation %s does not apply to an %s key", v->name,
                                 name, azkm_op_name(op), azkm_kty_name(kty, protection));
    }
    if ((fields & AZKM_ATTR_KEY_OPS) && (a->key_ops & AZKM_OP_IMPORT) && a->key_ops != AZKM_OP_IMPORT)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: a key exchange key has exactly the import operation", v->name,
                         name);
    if ((fields & AZKM_ATTR_TAGS) && a->n_tags > AZKM_MAX_TAGS)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: at most %d tags", v->name, name, AZKM_MAX_TAGS);
    if (a->not_before < 0 || a->expires < 0)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: times must not be negative", v->name, name);
    return AZKM_OK;
}

/* Copies the fields named in `fields` from src into dst. */
static void apply_attrs(azkm_attributes *dst, unsigned fields, const azkm_attributes *src)
{
    if (fields & AZKM_ATTR_ENABLED)
        dst->enabled = src->enabled ? 1 : 0;
    if (fields & AZKM_ATTR_NOT_BEFORE)
        dst->not_before = src->not_before;
    if (fields & AZKM_ATTR_EXPIRES)
        dst->expires = src->expires;
    if (fields & AZKM_ATTR_KEY_OPS)
        dst->key_ops = src->key_ops;
    if (fields & AZKM_ATTR_TAGS) {
        dst->n_tags = src->n_tags;
        memcpy(dst->tags, src->tags, sizeof(dst->tags));
    }
}

static azkm_rc check_times(const azkm_vault *v, const char *name, const azkm_attributes *a)
{
    if (a->not_before && a->expires && a->not_before >= a->expires)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: not-before must be earlier than expires", v->name, name);
    return AZKM_OK;
}

static azkm_rc check_spec(azkm_vault *v, const char *name, azkm_keyspec *s)
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
        if (s->curve == AZKM_CURVE_NONE)
            s->curve = AZKM_CURVE_P256;
        if (azkm_curve_bits(s->curve) == 0)
            return azkm_fail(AZKM_E_UNSUPPORTED, "key %s/%s: unsupported curve", v->name, name);
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
    return AZKM_OK;
}

/* Refuses a name held by an active key (unless allow_existing) or by a soft-deleted one. On return *rowid is
 * the existing key's row, or 0. */
static azkm_rc check_name_free(azkm_vault *v, const char *name, int allow_existing, int64_t *rowid)
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
    sqlite3_stmt *st = NULL;
    char lname[AZKM_NAME_MAX + 1];
    int rc;

    for (size_t i = 0, n = strlen(name); i <= n; i++)
        lname[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    rc = sqlite3_prepare_v2(v->cat->db,
                            "INSERT INTO keys(name, name_lc, kty, protection, created) VALUES(?, ?, ?, ?, ?)", -1,
                            &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, lname, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, (int)kty);
        sqlite3_bind_int(st, 4, (int)protection);
        sqlite3_bind_int64(st, 5, now);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return azkm_catalog_fail(v->cat, "creating a key");
    *rowid = sqlite3_last_insert_rowid(v->cat->db);
    return AZKM_OK;
}

/* Stores a version made by a tier: a new key row when key_rowid is 0. Runs its own transaction and re-checks
 * the name inside it, since generation ran outside the lock. */
static azkm_rc store_version(azkm_vault *v, const char *name, int64_t key_rowid, int allow_existing,
                             azkm_key_info *info, const azkm_tier_output *o)
{
    azkm_rc rc = azkm_catalog_begin(v->cat);
    int64_t existing = 0;

    if (rc != AZKM_OK)
        return rc;
    rc = azkm_vault_expire_deleted(v);
    if (rc == AZKM_OK)
        rc = check_name_free(v, name, allow_existing, &existing);
    if (rc == AZKM_OK && key_rowid != 0 && existing != key_rowid)
        rc = azkm_fail(AZKM_E_CONFLICT, "key %s/%s changed while the new version was made; try again", v->name,
                       name);
    if (rc == AZKM_OK && existing == 0)
        rc = insert_key_row(v, name, info->kty, info->protection, info->attrs.created, &existing);
    if (rc == AZKM_OK) {
        info->public_der = o->public_der;
        info->public_der_len = o->public_der_len;
        rc = azkm_insert_version(v, existing, info, o->material, o->material_len);
        info->public_der = NULL;
        info->public_der_len = 0;
    }
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    return rc;
}

static azkm_rc finish(azkm_vault *v, const char *name, const char *version, azkm_key_info *out)
{
    if (out == NULL)
        return AZKM_OK;
    return azkm_key_show(v, name, version, out);
}

/* Makes a version through the tier (generate or import, or the caller's `make`) and stores it. lifetime (seconds,
 * 0 for none) sets its exp from its creation time: a rotation policy's expiryTime. */
static azkm_rc make_version(azkm_vault *v, const char *name, const azkm_keyspec *spec, const azkm_material *m,
                            azkm_version_maker make, void *make_arg, int64_t key_rowid, int allow_existing,
                            int64_t lifetime, azkm_key_info *out)
{
    azkm_tier *tier = azkm_vault_tier(v, spec->protection);
    azkm_key_info info;
    azkm_tier_output o;
    unsigned char aad[256];
    azkm_tier_ref ref;
    azkm_rc rc;

    if (tier == NULL)
        return AZKM_E_UNSUPPORTED;
    memset(&info, 0, sizeof(info));
    snprintf(info.name, sizeof(info.name), "%s", name);
    azkm_new_version(info.version);
    info.kty = spec->kty;
    info.protection = spec->protection;
    info.attrs.enabled = 1;
    info.attrs.key_ops = azkm_ops_default(spec->kty);
    apply_attrs(&info.attrs, spec->fields, &spec->attrs);
    info.attrs.created = info.attrs.updated = azkm_now(v->ks);
    if (lifetime != 0)
        info.attrs.expires = info.attrs.created + lifetime;
    if ((rc = check_times(v, name, &info.attrs)) != AZKM_OK)
        return rc;
    ref.vault = v->name;
    ref.name = name;
    ref.version = info.version;
    ref.kty = spec->kty;
    ref.aad = aad;
    ref.aad_len = azkm_material_aad(v, name, info.version, spec->kty, spec->protection, aad, sizeof(aad));
    rc = make ? make(tier, &ref, make_arg, &o)
         : m  ? tier->ops->import(tier, &ref, m, &o)
              : tier->ops->generate(tier, &ref, spec, &o);
    if (rc != AZKM_OK)
        return rc;
    info.size = o.size;
    info.curve = o.curve;
    rc = store_version(v, name, key_rowid, allow_existing, &info, &o);
    if (rc != AZKM_OK) {
        azkm_rc keep = rc;
        char msg[1024];

        snprintf(msg, sizeof(msg), "%s", azkm_last_error());
        tier->ops->destroy(tier, &ref, o.material, o.material_len);
        azkm_fail(keep, "%s", msg);
    }
    azkm_tier_output_clear(&o);
    if (rc == AZKM_OK)
        rc = finish(v, name, info.version, out);
    return rc;
}

static azkm_rc key_create_impl(azkm_vault *v, const char *name, const azkm_keyspec *spec_in, azkm_key_info *out)
{
    azkm_keyspec spec = *spec_in;
    int64_t rowid = 0;
    azkm_rc rc = check_spec(v, name, &spec);

    if (rc == AZKM_OK)
        rc = azkm_attrs_validate(v, name, spec.kty, spec.protection, spec.fields, &spec.attrs);
    if (rc == AZKM_OK)
        rc = check_name_free(v, name, 0, &rowid);
    if (rc == AZKM_OK)
        rc = make_version(v, name, &spec, NULL, NULL, NULL, 0, 0, 0, out);
    return rc;
}

/* An import of material m, or of a version made by `make` (BYOK), as a new key or a new version. */
static azkm_rc import_checked(azkm_vault *v, const char *name, azkm_kty kty, azkm_protection protection,
                              unsigned fields, const azkm_attributes *attrs, const azkm_material *m,
                              azkm_version_maker make, void *make_arg, azkm_key_info *out)
{
    azkm_keyspec spec;
    int64_t rowid = 0;
    azkm_rc rc;

    memset(&spec, 0, sizeof(spec));
    spec.kty = kty;
    spec.protection = protection;
    spec.fields = fields;
    if (attrs != NULL)
        spec.attrs = *attrs;
    if (m != NULL && m->kty == AZKM_KTY_OCT)
        spec.size = (unsigned)m->der_len * 8;
    rc = check_spec(v, name, &spec);
    if (rc == AZKM_OK)
        rc = azkm_attrs_validate(v, name, spec.kty, protection, fields, &spec.attrs);
    if (rc == AZKM_OK)
        rc = check_name_free(v, name, 1, &rowid);
    if (rc == AZKM_OK && rowid != 0) {
        /* An import onto an existing name adds a version, as in Key Vault; the type must match. */
        azkm_key_info cur;

        rc = azkm_read_version(v, rowid, NULL, &cur, NULL);
        if (rc == AZKM_OK && (cur.kty != kty || cur.protection != protection))
            rc = azkm_fail(AZKM_E_CONFLICT, "key %s/%s is of type %s: cannot import an %s key as a new version",
                           v->name, name, azkm_kty_name(cur.kty, cur.protection), azkm_kty_name(kty, protection));
        azkm_key_info_clear(&cur);
    }
    if (rc == AZKM_OK)
        rc = make_version(v, name, &spec, m, make, make_arg, rowid, 1, 0, out);
    return rc;
}

static azkm_rc key_import_impl(azkm_vault *v, const char *name, const azkm_material *m, azkm_protection protection,
                               unsigned fields, const azkm_attributes *attrs, azkm_key_info *out)
{
    return import_checked(v, name, m->kty, protection, fields, attrs, m, NULL, NULL, out);
}

azkm_rc azkm_key_import_made(azkm_vault *v, const char *name, azkm_kty kty, azkm_protection protection,
                             unsigned fields, const azkm_attributes *attrs, azkm_version_maker make, void *arg,
                             azkm_key_info *out)
{
    return import_checked(v, name, kty, protection, fields, attrs, NULL, make, arg, out);
}

static azkm_rc key_show_impl(azkm_vault *v, const char *name, const char *version, azkm_key_info *out)
{
    int64_t rowid;
    azkm_rc rc = azkm_find_key(v, name, 0, &rowid, NULL, NULL, NULL);

    if (rc != AZKM_OK)
        return rc;
    if (out == NULL) {
        azkm_key_info scratch;

        rc = azkm_read_version(v, rowid, version, &scratch, NULL);
        if (rc == AZKM_OK)
            azkm_key_info_clear(&scratch);
    } else {
        rc = azkm_read_version(v, rowid, version, out, NULL);
    }
    if (rc == AZKM_E_NOT_FOUND)
        return azkm_fail(rc, "key %s/%s: %s", v->name, name, azkm_last_error());
    return rc;
}

#define CURRENT_OF_KEY                                                                                             \
    "v.seq = (SELECT c.seq FROM versions c WHERE c.key_id = k.id ORDER BY c.enabled DESC, c.seq DESC LIMIT 1) "

static azkm_rc key_list_impl(azkm_vault *v, int deleted, azkm_key_info **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return azkm_list_versions_rows(v,
                                   deleted ? "WHERE k.deleted_on != 0 AND " CURRENT_OF_KEY "ORDER BY k.name_lc"
                                           : "WHERE k.deleted_on = 0 AND " CURRENT_OF_KEY "ORDER BY k.name_lc",
                                   -1, out, n);
}

static azkm_rc key_list_versions_impl(azkm_vault *v, const char *name, azkm_key_info **out, size_t *n)
{
    int64_t rowid;
    azkm_rc rc = azkm_find_key(v, name, 0, &rowid, NULL, NULL, NULL);

    *out = NULL;
    *n = 0;
    if (rc != AZKM_OK)
        return rc;
    return azkm_list_versions_rows(v, "WHERE v.key_id = ? ORDER BY v.seq", rowid, out, n);
}

static azkm_rc update_version_attrs(azkm_vault *v, int64_t rowid, const azkm_key_info *info)
{
    sqlite3_stmt *st = NULL;
    unsigned char mac[32];
    char *tags = azkm_tags_to_json(&info->attrs);
    int rc;

    if (tags == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    azkm_attr_mac(v, info, mac);
    rc =
        sqlite3_prepare_v2(v->cat->db,
                           "UPDATE versions SET enabled = ?, nbf = ?, exp = ?, key_ops = ?, tags = ?, updated = ?, "
                           "mac = ? WHERE key_id = ? AND version = ?",
                           -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, info->attrs.enabled);
        sqlite3_bind_int64(st, 2, info->attrs.not_before);
        sqlite3_bind_int64(st, 3, info->attrs.expires);
        sqlite3_bind_int(st, 4, (int)info->attrs.key_ops);
        sqlite3_bind_text(st, 5, tags, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, info->attrs.updated);
        sqlite3_bind_blob(st, 7, mac, 32, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, rowid);
        sqlite3_bind_text(st, 9, info->version, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    free(tags);
    return rc == SQLITE_DONE ? azkm_key_state_update(v, rowid)
                             : azkm_catalog_fail(v->cat, "updating key attributes");
}

static azkm_rc key_set_attributes_impl(azkm_vault *v, const char *name, const char *version, unsigned fields,
                                       const azkm_attributes *attrs, azkm_key_info *out)
{
    azkm_key_info info;
    int64_t rowid;
    char ver[AZKM_VERSION_LEN + 1] = "";
    azkm_rc rc = azkm_catalog_begin(v->cat);

    if (rc != AZKM_OK)
        return rc;
    memset(&info, 0, sizeof(info));
    rc = azkm_find_key(v, name, 0, &rowid, NULL, NULL, NULL);
    if (rc == AZKM_OK) {
        /* Without a version, Key Vault updates the latest version, enabled or not. */
        if (version == NULL || *version == '\0') {
            azkm_key_info *all = NULL;
            size_t n = 0;

            rc = azkm_list_versions_rows(v, "WHERE v.key_id = ? ORDER BY v.seq DESC LIMIT 1", rowid, &all, &n);
            if (rc == AZKM_OK && n == 1)
                snprintf(ver, sizeof(ver), "%s", all[0].version);
            azkm_key_info_array_free(all, n);
        } else {
            snprintf(ver, sizeof(ver), "%s", version);
        }
    }
    if (rc == AZKM_OK) {
        rc = azkm_read_version(v, rowid, ver, &info, NULL);
        if (rc == AZKM_E_NOT_FOUND)
            rc = azkm_fail(rc, "key %s/%s: %s", v->name, name, azkm_last_error());
    }
    if (rc == AZKM_OK)
        rc = azkm_attrs_validate(v, name, info.kty, info.protection, fields, attrs);
    if (rc == AZKM_OK) {
        apply_attrs(&info.attrs, fields, attrs);
        info.attrs.updated = azkm_now(v->ks);
        rc = check_times(v, name, &info.attrs);
    }
    if (rc == AZKM_OK)
        rc = update_version_attrs(v, rowid, &info);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    if (rc == AZKM_OK) {
        snprintf(ver, sizeof(ver), "%s", info.version);
        rc = finish(v, name, ver, out);
    }
    azkm_key_info_clear(&info);
    return rc;
}

static azkm_rc key_rotate_impl(azkm_vault *v, const char *name, azkm_key_info *out)
{
    azkm_key_info *all = NULL;
    size_t n = 0;
    azkm_keyspec spec;
    int64_t rowid, lifetime = 0;
    char canon[AZKM_NAME_MAX + 1];
    azkm_rc rc = azkm_find_key(v, name, 0, &rowid, canon, NULL, NULL);

    /* As in Key Vault, every rotation (by hand or by `rotation run`) gives the new version the expiry of the key's
     * rotation policy; a policy that fails its integrity check stops the rotation rather than being ignored. */
    if (rc == AZKM_OK)
        rc = azkm_rotation_policy_expiry(v, rowid, canon, &lifetime);
    if (rc != AZKM_OK)
        return rc;
    /* The newest version, enabled or not, gives the new one its type, size, key_ops and tags. */
    rc = azkm_list_versions_rows(v, "WHERE v.key_id = ? ORDER BY v.seq DESC LIMIT 1", rowid, &all, &n);
    if (rc != AZKM_OK)
        return rc;
    if (n != 1) {
        azkm_key_info_array_free(all, n);
        return azkm_fail(AZKM_E_CORRUPT, "key %s/%s has no versions", v->name, name);
    }
    if (all[0].integrity_error) {
        azkm_key_info_array_free(all, n);
        return azkm_fail(AZKM_E_INTEGRITY,
                         "vault %s: integrity check failed for key %s: its newest version's record "
                         "was changed outside azkm, so it is not rotated",
                         v->name, name);
    }
    memset(&spec, 0, sizeof(spec));
    spec.kty = all[0].kty;
    spec.protection = all[0].protection;
    spec.size = all[0].kty == AZKM_KTY_EC ? 0 : all[0].size;
    spec.curve = all[0].curve;
    spec.fields = AZKM_ATTR_KEY_OPS | AZKM_ATTR_TAGS;
    spec.attrs.key_ops = all[0].attrs.key_ops;
    spec.attrs.n_tags = all[0].attrs.n_tags;
    memcpy(spec.attrs.tags, all[0].attrs.tags, sizeof(spec.attrs.tags));
    azkm_key_info_array_free(all, n);
    if (spec.kty == AZKM_KTY_RSA || spec.kty == AZKM_KTY_OCT || spec.kty == AZKM_KTY_EC)
        rc = make_version(v, name, &spec, NULL, NULL, NULL, rowid, 1, lifetime, out);
    return rc;
}

static azkm_rc set_deleted(azkm_vault *v, int64_t rowid, int64_t deleted_on, int64_t purge_at)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(v->cat->db, "UPDATE keys SET deleted_on = ?, scheduled_purge = ? WHERE id = ?", -1,
                                &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, deleted_on);
        sqlite3_bind_int64(st, 2, purge_at);
        sqlite3_bind_int64(st, 3, rowid);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? azkm_key_state_update(v, rowid) : azkm_catalog_fail(v->cat, "updating a key");
}

static azkm_rc show_any(azkm_vault *v, int64_t rowid, azkm_key_info *out)
{
    return out ? azkm_read_version(v, rowid, NULL, out, NULL) : AZKM_OK;
}

static azkm_rc key_delete_impl(azkm_vault *v, const char *name, azkm_key_info *out)
{
    int64_t rowid, now = azkm_now(v->ks);
    azkm_rc rc = azkm_catalog_begin(v->cat);

    if (rc != AZKM_OK)
        return rc;
    rc = azkm_find_key(v, name, 0, &rowid, NULL, NULL, NULL);
    if (rc == AZKM_OK)
        rc = set_deleted(v, rowid, now, now + (int64_t)v->retention_days * DAY);
    if (rc == AZKM_OK)
        rc = show_any(v, rowid, out);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    return rc;
}

static azkm_rc key_recover_impl(azkm_vault *v, const char *name, azkm_key_info *out)
{
    int64_t rowid;
    azkm_rc rc = azkm_catalog_begin(v->cat);

    if (rc != AZKM_OK)
        return rc;
    rc = azkm_find_key(v, name, 1, &rowid, NULL, NULL, NULL);
    if (rc == AZKM_OK)
        rc = set_deleted(v, rowid, 0, 0);
    if (rc == AZKM_OK)
        rc = show_any(v, rowid, out);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    return rc;
}

/* Destroys every version's tier objects and removes the key's rows (inside a write transaction). */
static azkm_rc purge_rows(azkm_vault *v, int64_t rowid)
{
    sqlite3_stmt *st = NULL;
    int rc;

    rc = sqlite3_prepare_v2(v->cat->db,
                            "SELECT v.version, v.material, k.name, k.kty, k.protection FROM versions v JOIN keys k "
                            "ON k.id = v.key_id WHERE k.id = ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return azkm_catalog_fail(v->cat, "purging a key");
    sqlite3_bind_int64(st, 1, rowid);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        azkm_protection prot = (azkm_protection)sqlite3_column_int(st, 4);
        azkm_tier *tier = azkm_vault_tier(v, prot);
        azkm_tier_ref ref = {v->name,
                             (const char *)sqlite3_column_text(st, 2),
                             (const char *)sqlite3_column_text(st, 0),
                             (azkm_kty)sqlite3_column_int(st, 3),
                             NULL,
                             0};
        azkm_rc r;

        if (tier == NULL) {
            sqlite3_finalize(st);
            return AZKM_E_UNSUPPORTED;
        }
        r = tier->ops->destroy(tier, &ref, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
        if (r != AZKM_OK) {
            sqlite3_finalize(st);
            return r;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return azkm_catalog_fail(v->cat, "purging a key");
    rc = sqlite3_prepare_v2(v->cat->db, "DELETE FROM keys WHERE id = ?", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, rowid);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(v->cat, "purging a key");
}

static azkm_rc key_purge_impl(azkm_vault *v, const char *name)
{
    int64_t rowid, purge_at = 0;
    azkm_rc rc = azkm_catalog_begin(v->cat);

    if (rc != AZKM_OK)
        return rc;
    rc = azkm_find_key(v, name, 1, &rowid, NULL, NULL, &purge_at);
    if (rc == AZKM_OK && v->purge_protection && azkm_now(v->ks) < purge_at)
        rc = azkm_fail(AZKM_E_FORBIDDEN,
                       "key %s/%s cannot be purged: vault %s has purge protection and the key's retention ends at "
                       "%lld (epoch seconds)",
                       v->name, name, v->name, (long long)purge_at);
    if (rc == AZKM_OK)
        rc = purge_rows(v, rowid);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    return rc;
}

azkm_rc azkm_vault_expire_deleted(azkm_vault *v)
{
    sqlite3_stmt *st = NULL;
    int64_t ids[64];
    size_t n = 0;
    int rc = sqlite3_prepare_v2(
        v->cat->db, "SELECT id FROM keys WHERE deleted_on != 0 AND scheduled_purge <= ? LIMIT 64", -1, &st, NULL);

    if (rc != SQLITE_OK)
        return azkm_catalog_fail(v->cat, "expiring deleted keys");
    sqlite3_bind_int64(st, 1, azkm_now(v->ks));
    while (n < 64 && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++) {
        azkm_rc r = purge_rows(v, ids[i]);

        if (r != AZKM_OK)
            return r;
    }
    return AZKM_OK;
}

static azkm_rc key_adopt_impl(azkm_vault *v, const char *name, const char *pkcs11_uri, unsigned fields,
                              const azkm_attributes *attrs, azkm_key_info *out)
{
    azkm_tier *tier = v->tiers[AZKM_PROTECTION_HSM];
    azkm_key_info info;
    azkm_tier_output o;
    azkm_tier_ref ref;
    int64_t rowid = 0;
    azkm_rc rc;

    if (!azkm_key_name_valid(name))
        return azkm_fail(AZKM_E_INVALID, "key name '%.64s' is invalid: 1-127 characters of a-z, A-Z, 0-9 and '-'",
                         name ? name : "");
    if (tier == NULL)
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "vault %s is not bound to a PKCS#11 token: bind it before adopting keys", v->name);
    rc = check_name_free(v, name, 1, &rowid);
    if (rc != AZKM_OK)
        return rc;
    memset(&info, 0, sizeof(info));
    snprintf(info.name, sizeof(info.name), "%s", name);
    azkm_new_version(info.version);
    info.protection = AZKM_PROTECTION_HSM;
    ref.vault = v->name;
    ref.name = name;
    ref.version = info.version;
    ref.kty = 0;
    ref.aad = NULL;
    ref.aad_len = 0;
    rc = azkm_tier_adopt(tier, &ref, pkcs11_uri, &info.kty, &o);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "key %s/%s: %s", v->name, name, azkm_last_error());
    info.size = o.size;
    info.curve = o.curve;
    info.attrs.enabled = 1;
    info.attrs.key_ops = azkm_ops_default(info.kty);
    if (attrs != NULL) {
        rc = azkm_attrs_validate(v, name, info.kty, AZKM_PROTECTION_HSM, fields, attrs);
        apply_attrs(&info.attrs, fields, attrs);
    }
    info.attrs.created = info.attrs.updated = azkm_now(v->ks);
    if (rc == AZKM_OK)
        rc = check_times(v, name, &info.attrs);
    if (rc == AZKM_OK && rowid != 0) {
        azkm_key_info cur;

        rc = azkm_read_version(v, rowid, NULL, &cur, NULL);
        if (rc == AZKM_OK && (cur.kty != info.kty || cur.protection != AZKM_PROTECTION_HSM))
            rc = azkm_fail(AZKM_E_CONFLICT, "key %s/%s is of type %s: cannot adopt an %s key as a new version",
                           v->name, name, azkm_kty_name(cur.kty, cur.protection),
                           azkm_kty_name(info.kty, AZKM_PROTECTION_HSM));
        azkm_key_info_clear(&cur);
    }
    if (rc == AZKM_OK)
        rc = store_version(v, name, rowid, 1, &info, &o);
    azkm_tier_output_clear(&o);
    if (rc == AZKM_OK)
        rc = finish(v, name, info.version, out);
    return rc;
}

/* ---- the audited API -------------------------------------------------------------------------------------- */

azkm_rc azkm_key_create(azkm_vault *v, const char *name, const azkm_keyspec *spec, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyCreate", v->name, name, key_create_impl(v, name, spec, out), out ? out->version : NULL);
}

azkm_rc azkm_key_import(azkm_vault *v, const char *name, const azkm_material *m, azkm_protection protection,
                        unsigned fields, const azkm_attributes *attrs, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyImport", v->name, name, key_import_impl(v, name, m, protection, fields, attrs, out),
                 out ? out->version : NULL);
}

azkm_rc azkm_key_adopt(azkm_vault *v, const char *name, const char *pkcs11_uri, unsigned fields,
                       const azkm_attributes *attrs, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyImport", v->name, name, key_adopt_impl(v, name, pkcs11_uri, fields, attrs, out),
                 out ? out->version : NULL);
}

azkm_rc azkm_key_show(azkm_vault *v, const char *name, const char *version, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyGet", v->name, name, key_show_impl(v, name, version, out),
                 out ? out->version : version);
}

azkm_rc azkm_key_list(azkm_vault *v, int deleted, azkm_key_info **out, size_t *n)
{
    AZKM_AUDITED(v->ks, deleted ? "KeyListDeleted" : "KeyList", v->name, NULL, key_list_impl(v, deleted, out, n),
                 NULL);
}

azkm_rc azkm_key_list_versions(azkm_vault *v, const char *name, azkm_key_info **out, size_t *n)
{
    AZKM_AUDITED(v->ks, "KeyListVersions", v->name, name, key_list_versions_impl(v, name, out, n), NULL);
}

azkm_rc azkm_key_set_attributes(azkm_vault *v, const char *name, const char *version, unsigned fields,
                                const azkm_attributes *attrs, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyUpdate", v->name, name, key_set_attributes_impl(v, name, version, fields, attrs, out),
                 out ? out->version : version);
}

azkm_rc azkm_key_rotate(azkm_vault *v, const char *name, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyRotate", v->name, name, key_rotate_impl(v, name, out), out ? out->version : NULL);
}

azkm_rc azkm_key_delete(azkm_vault *v, const char *name, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyDelete", v->name, name, key_delete_impl(v, name, out), NULL);
}

azkm_rc azkm_key_recover(azkm_vault *v, const char *name, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyRecover", v->name, name, key_recover_impl(v, name, out), NULL);
}

azkm_rc azkm_key_purge(azkm_vault *v, const char *name)
{
    AZKM_AUDITED(v->ks, "KeyPurge", v->name, name, key_purge_impl(v, name), NULL);
}
