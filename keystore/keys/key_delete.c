/* The end of a key: soft-delete (recoverable for the vault's retention), recover, and purge (its tier objects
 * destroyed and its rows removed, vault/vault_purge.c). Each first sweeps the keys whose purge date has come. */
#include "keys/records.h"
#include "keys/keys.h"
#include "tiers/remote/remote_admin.h"

#define DAY 86400

static azkm_rc set_deleted(azkm_vault *v, int64_t rowid, int64_t deleted_on, int64_t purge_at)
{
    azkm_rc rc = azkm_catalog_key_set_deleted(v->cat, rowid, deleted_on, purge_at);

    return rc == AZKM_OK ? azkm_key_state_update(v, rowid) : rc;
}

/* Soft-deletes (deleting) or recovers a key and shows it, inside one write transaction. */
static azkm_rc set_deleted_impl(azkm_vault *v, const char *name, int deleting, azkm_key_info *out)
{
    int64_t rowid, now = azkm_now(v->ks);
    azkm_rc rc = azkm_vault_sweep_deleted(v);

    if (rc == AZKM_OK)
        rc = azkm_catalog_begin(v->cat);
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

static azkm_rc key_purge_impl(azkm_vault *v, const char *name)
{
    int64_t rowid, purge_at = 0;
    char when[AZKM_ISO_TIME_LEN];
    azkm_rc rc = azkm_vault_sweep_deleted(v);

    if (rc == AZKM_OK)
        rc = azkm_catalog_begin(v->cat);
    if (rc != AZKM_OK)
        return rc;
    rc = azkm_find_key(v, name, 1, &rowid, NULL, NULL, &purge_at);
    if (rc == AZKM_OK && v->purge_protection && azkm_now(v->ks) < purge_at)
        rc = azkm_fail(AZKM_E_FORBIDDEN,
                       "key %s/%s cannot be purged: vault %s has purge protection and the key's retention ends at "
                       "%s",
                       v->name, name, v->name, azkm_iso_time(purge_at, when));
    if (rc == AZKM_OK)
        rc = azkm_vault_purge_key_rows(v, rowid);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    return rc;
}

/* ---- the audited API -------------------------------------------------------------------------------------- */

azkm_rc azkm_key_delete(azkm_vault *v, const char *name, azkm_key_info *out)
{
    AZKM_AUDITED(
        v->ks, "KeyDelete", v->name, name,
        v->remote != NULL ? azkm_remote_key_delete(v->remote, name, out) : set_deleted_impl(v, name, 1, out), NULL);
}

azkm_rc azkm_key_recover(azkm_vault *v, const char *name, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyRecover", v->name, name,
                 v->remote != NULL ? azkm_remote_key_recover(v->remote, name, out)
                                   : set_deleted_impl(v, name, 0, out),
                 NULL);
}

azkm_rc azkm_key_purge(azkm_vault *v, const char *name)
{
    AZKM_AUDITED(v->ks, "KeyPurge", v->name, name,
                 v->remote != NULL ? azkm_remote_key_purge(v->remote, name) : key_purge_impl(v, name), NULL);
}
