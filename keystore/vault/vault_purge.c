/* Purging keys for good: a key's tier objects destroyed and its rows removed, for `key purge` and for the
 * soft-deleted keys whose scheduled purge date has come (swept by every write, and by vault deletion). */
#include "vault/vault.h"
#include "catalog/keys.h"
#include "catalog/versions.h"

#define EXPIRE_BATCH 64 /* keys purged per sweep: a backlog is worked off by the writes that follow */

azkm_rc azkm_vault_purge_key_rows(azkm_vault *v, int64_t rowid)
{
    azkm_catalog_version_row *rows = NULL;
    size_t n = 0;
    azkm_rc rc = azkm_catalog_versions_of_key(v->cat, rowid, &rows, &n);

    for (size_t i = 0; rc == AZKM_OK && i < n; i++) {
        azkm_tier *tier = azkm_vault_tier(v, (azkm_protection)(int)rows[i].protection);
        azkm_tier_ref ref = {v->name, rows[i].name, rows[i].version, (azkm_kty)(int)rows[i].kty, NULL, 0, 0, 0};

        if (tier == NULL)
            rc = AZKM_E_UNSUPPORTED;
        else
            rc = tier->ops->destroy(tier, &ref, rows[i].material, rows[i].material_len);
    }
    azkm_catalog_version_rows_free(rows, n);
    return rc == AZKM_OK ? azkm_catalog_key_delete(v->cat, rowid) : rc;
}

azkm_rc azkm_vault_expire_deleted(azkm_vault *v)
{
    int64_t ids[EXPIRE_BATCH];
    size_t n = 0;
    azkm_rc rc = azkm_catalog_keys_expired(v->cat, azkm_now(v->ks), ids, EXPIRE_BATCH, &n);

    for (size_t i = 0; rc == AZKM_OK && i < n; i++)
        rc = azkm_vault_purge_key_rows(v, ids[i]);
    return rc;
}

azkm_rc azkm_vault_sweep_deleted(azkm_vault *v)
{
    azkm_rc rc = azkm_catalog_begin(v->cat);

    if (rc != AZKM_OK)
        return rc;
    rc = azkm_vault_expire_deleted(v);
    if (rc == AZKM_OK)
        return azkm_catalog_commit(v->cat);
    azkm_catalog_rollback(v->cat);
    return rc;
}
