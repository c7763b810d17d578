/* Updating a version's attributes (enabled, not-before, expiry, key_ops, tags) under a new attribute MAC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/records.h"
#include "keys/keys.h"
#include "keys/rotation_policy.h"
#include "tiers/remote/remote_admin.h"

static azkm_rc update_version_attrs(azkm_vault *v, int64_t rowid, const azkm_key_info *info)
{
    azkm_catalog_version_row r;
    unsigned char mac[32];
    char *tags = azkm_tags_to_json(&info->attrs);
    azkm_rc rc;

    if (tags == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    azkm_attr_mac(v, info, mac);
    memset(&r, 0, sizeof(r));
    r.key_id = rowid;
    r.version = (char *)info->version;
    r.enabled = info->attrs.enabled;
    r.nbf = info->attrs.not_before;
    r.exp = info->attrs.expires;
    r.key_ops = (int)info->attrs.key_ops;
    r.tags = tags;
    r.updated = info->attrs.updated;
    r.mac = mac;
    r.mac_len = sizeof(mac);
    rc = azkm_catalog_version_update(v->cat, &r);
    free(tags);
    return rc == AZKM_OK ? azkm_key_state_update(v, rowid) : rc;
}

/* The version an update is about: the one named, or without one (as in Key Vault) the newest, enabled or not. */
static azkm_rc target_version(azkm_vault *v, int64_t rowid, const char *version, char ver[AZKM_VERSION_LEN + 1])
{
    azkm_catalog_version_row r;
    azkm_rc rc;

    ver[0] = '\0';
    if (version != NULL && *version != '\0') {
        snprintf(ver, AZKM_VERSION_LEN + 1, "%s", version);
        return AZKM_OK;
    }
    rc = azkm_catalog_version_newest(v->cat, rowid, &r);
    if (rc == AZKM_E_NOT_FOUND)
        return AZKM_OK; /* the read of the current version reports it */
    if (rc == AZKM_OK)
        snprintf(ver, AZKM_VERSION_LEN + 1, "%s", r.version ? r.version : "");
    azkm_catalog_version_row_clear(&r);
    return rc;
}

/* The tier's objects of the version get the usages key_ops need (a token's usage flags); nothing for software. */
static azkm_rc set_usage(azkm_vault *v, const azkm_key_info *info, const azkm_version_row *row, unsigned key_ops)
{
    azkm_tier *tier = azkm_vault_tier(v, info->protection);
    azkm_tier_ref ref = {v->name, info->name, info->version, info->kty, NULL, 0, key_ops, 0};

    return tier == NULL ? AZKM_E_UNSUPPORTED : azkm_tier_set_usage(tier, &ref, row->material, row->material_len);
}

/* The catalog keeps the old key_ops after a failure that followed the objects' change: so do the objects. The
 * failure's message stays the one reported. */
static void restore_usage(azkm_vault *v, const azkm_key_info *info, const azkm_version_row *row, unsigned key_ops)
{
    azkm_rc rc = azkm_last_rc();
    char msg[1024];

    snprintf(msg, sizeof(msg), "%s", azkm_last_error());
    set_usage(v, info, row, key_ops);
    azkm_fail(rc, "%s", msg);
}

/* Reads, changes and rewrites the version inside one write transaction. When key_ops are given, its tier objects
 * get their usages first (also when the key_ops stay the same: objects an older azkm made with broader usages are
 * brought in line so); a token that refuses leaves everything as it was. *old_ops receives the former key_ops. */
static azkm_rc update_in_transaction(azkm_vault *v, const char *name, const char *version, unsigned fields,
                                     const azkm_attributes *attrs, azkm_key_info *info, azkm_version_row *row,
                                     unsigned *old_ops)
{
    char ver[AZKM_VERSION_LEN + 1] = "";
    int64_t rowid;
    azkm_rc rc = azkm_find_key(v, name, 0, &rowid, NULL, NULL, NULL);

    if (rc == AZKM_OK)
        rc = target_version(v, rowid, version, ver);
    if (rc == AZKM_OK) {
        rc = azkm_read_version(v, rowid, ver, info, row);
        if (rc == AZKM_E_NOT_FOUND)
            rc = azkm_fail(rc, "key %s/%s: %s", v->name, name, azkm_last_error());
    }
    if (rc == AZKM_OK)
        rc = azkm_attrs_validate(v, name, info->kty, info->protection, fields, attrs);
    if (rc == AZKM_OK && (fields & AZKM_ATTR_EXPIRES) && attrs->expires == 0 && info->current)
        rc = azkm_rotation_policy_check_no_expiry(v, rowid, info->name);
    if (rc == AZKM_OK) {
        *old_ops = info->attrs.key_ops;
        azkm_attrs_apply(&info->attrs, fields, attrs);
        info->attrs.updated = azkm_now(v->ks);
        rc = azkm_attrs_check_times(v, name, &info->attrs);
    }
    if (rc == AZKM_OK && (fields & AZKM_ATTR_KEY_OPS))
        rc = set_usage(v, info, row, info->attrs.key_ops);
    if (rc == AZKM_OK && (rc = update_version_attrs(v, rowid, info)) != AZKM_OK && (fields & AZKM_ATTR_KEY_OPS))
        restore_usage(v, info, row, *old_ops);
    return rc;
}

static azkm_rc key_set_attributes_impl(azkm_vault *v, const char *name, const char *version, unsigned fields,
                                       const azkm_attributes *attrs, azkm_key_info *out)
{
    azkm_key_info info;
    azkm_version_row row;
    char ver[AZKM_VERSION_LEN + 1];
    unsigned old_ops = 0;
    azkm_rc rc = azkm_catalog_begin(v->cat);

    if (rc != AZKM_OK)
        return rc;
    memset(&info, 0, sizeof(info));
    memset(&row, 0, sizeof(row));
    rc = update_in_transaction(v, name, version, fields, attrs, &info, &row, &old_ops);
    if (rc == AZKM_OK && (rc = azkm_catalog_commit(v->cat)) != AZKM_OK && (fields & AZKM_ATTR_KEY_OPS))
        restore_usage(v, &info, &row, old_ops);
    if (rc != AZKM_OK)
        azkm_catalog_rollback(v->cat);
    azkm_version_row_clear(&row);
    if (rc == AZKM_OK && out != NULL) {
        snprintf(ver, sizeof(ver), "%s", info.version);
        rc = azkm_key_show(v, name, ver, out);
    }
    return rc;
}

azkm_rc azkm_key_set_attributes(azkm_vault *v, const char *name, const char *version, unsigned fields,
                                const azkm_attributes *attrs, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyUpdate", v->name, name,
                 v->remote != NULL ? azkm_remote_key_update(v->remote, name, version, fields, attrs, out)
                                   : key_set_attributes_impl(v, name, version, fields, attrs, out),
                 out ? out->version : version);
}
