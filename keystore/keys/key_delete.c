/* The end of a key: soft-delete (recoverable for the vault's retention), recover, purge (its tier objects destroyed
 * and its rows removed), and the purge of soft-deleted keys whose retention has ended. */
#include "keys/records.h"
#include "keys/keys.h"

#define DAY 86400
#define EXPIRE_BATCH 64 /* keys purged per write: a backlog is worked off by the writes that follow */

static azkm_rc set_deleted(azkm_vault *v, int64_t rowid, int64_t deleted_on, int64_t purge_at)
{
    azkm_rc rc = azkm_catalog_key_set_deleted(v->cat, rowid, deleted_on, purge_at);

    return rc == AZKM_OK ? azkm_key_state_update(v, rowid) : rc;
}

/* Soft-deletes (deleting) or recovers a key and shows it, inside one write transaction. */
static azkm_rc set_deleted_impl(azkm_vault *v, const char *name, int deleting, azkm_key_info *out)
{
    int64_t rowid, now = azkm_now(v->ks);
    azkm_rc rc = azkm_catalog_begin(v->cat);

    if (rc != AZKM_OK)
        return rc;
    rc = azkm_find_key(v, name, deleting ? 0 : 1, &rowid, NULL, NULL, NULL);
    if (rc == AZKM_OK)
        rc = deleting ? set_deleted(v, rowid, now, now + (int64_t)v->retention_days * DAY)
                      : set_deleted(v, rowid, 0, 0);
    if (rc == AZKM_OK && out != NULL)
        rc = azkm_read_version(v, rowid, NULL, out, NULL);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    return rc;
}

/* Destroys every version's tier objects and removes the key's rows (inside a write transaction). */
static azkm_rc purge_rows(azkm_vault *v, int64_t rowid)
{
    azkm_catalog_version_row *rows = NULL;
    size_t n = 0;
    azkm_rc rc = azkm_catalog_versions_of_key(v->cat, rowid, &rows, &n);

    for (size_t i = 0; rc == AZKM_OK && i < n; i++) {
        azkm_tier *tier = azkm_vault_tier(v, (azkm_protection)(int)rows[i].protection);
        azkm_tier_ref ref = {v->name, rows[i].name, rows[i].version, (azkm_kty)(int)rows[i].kty, NULL, 0};

        if (tier == NULL)
            rc = AZKM_E_UNSUPPORTED;
        else
            rc = tier->ops->destroy(tier, &ref, rows[i].material, rows[i].material_len);
    }
    azkm_catalog_version_rows_free(rows, n);
    return rc == AZKM_OK ? azkm_catalog_key_delete(v->cat, rowid) : rc;
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
    int64_t ids[EXPIRE_BATCH];
    size_t n = 0;
    azkm_rc rc = azkm_catalog_keys_expired(v->cat, azkm_now(v->ks), ids, EXPIRE_BATCH, &n);

    for (size_t i = 0; rc == AZKM_OK && i < n; i++)
        rc = purge_rows(v, ids[i]);
    return rc;
}

/* ---- the audited API -------------------------------------------------------------------------------------- */

azkm_rc azkm_key_delete(azkm_vault *v, const char *name, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyDelete", v->name, name, set_deleted_impl(v, name, 1, out), NULL);
}

azkm_rc azkm_key_recover(azkm_vault *v, const char *name, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyRecover", v->name, name, set_deleted_impl(v, name, 0, out), NULL);
}

azkm_rc azkm_key_purge(azkm_vault *v, const char *name)
{
    AZKM_AUDITED(v->ks, "KeyPurge", v->name, name, key_purge_impl(v, name), NULL);
}
