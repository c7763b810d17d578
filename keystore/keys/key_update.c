/* Updating a version's attributes (enabled, not-before, expiry, key_ops, tags) under a new attribute MAC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/records.h"
#include "keys/keys.h"

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

/* Reads, changes and rewrites the version inside one write transaction. */
static azkm_rc update_in_transaction(azkm_vault *v, const char *name, const char *version, unsigned fields,
                                     const azkm_attributes *attrs, azkm_key_info *info)
{
    char ver[AZKM_VERSION_LEN + 1] = "";
    int64_t rowid;
    azkm_rc rc = azkm_find_key(v, name, 0, &rowid, NULL, NULL, NULL);

    if (rc == AZKM_OK)
        rc = target_version(v, rowid, version, ver);
    if (rc == AZKM_OK) {
        rc = azkm_read_version(v, rowid, ver, info, NULL);
        if (rc == AZKM_E_NOT_FOUND)
            rc = azkm_fail(rc, "key %s/%s: %s", v->name, name, azkm_last_error());
    }
    if (rc == AZKM_OK)
        rc = azkm_attrs_validate(v, name, info->kty, info->protection, fields, attrs);
    if (rc == AZKM_OK) {
        azkm_attrs_apply(&info->attrs, fields, attrs);
        info->attrs.updated = azkm_now(v->ks);
        rc = azkm_attrs_check_times(v, name, &info->attrs);
    }
    if (rc == AZKM_OK)
        rc = update_version_attrs(v, rowid, info);
    return rc;
}

static azkm_rc key_set_attributes_impl(azkm_vault *v, const char *name, const char *version, unsigned fields,
                                       const azkm_attributes *attrs, azkm_key_info *out)
{
    azkm_key_info info;
    char ver[AZKM_VERSION_LEN + 1];
    azkm_rc rc = azkm_catalog_begin(v->cat);

    if (rc != AZKM_OK)
        return rc;
    memset(&info, 0, sizeof(info));
    rc = update_in_transaction(v, name, version, fields, attrs, &info);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    if (rc == AZKM_OK && out != NULL) {
        snprintf(ver, sizeof(ver), "%s", info.version);
        rc = azkm_key_show(v, name, ver, out);
    }
    return rc;
}

azkm_rc azkm_key_set_attributes(azkm_vault *v, const char *name, const char *version, unsigned fields,
                                const azkm_attributes *attrs, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyUpdate", v->name, name, key_set_attributes_impl(v, name, version, fields, attrs, out),
                 out ? out->version : version);
}
