/* Deleting a vault: refused while purge protection guards keys or a token holds keys the vault would orphan; then
 * the token's master key, the vault's files and its directory go. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vault/vault.h"
#include "catalog/vault_queries.h"
#include "vault/vault_internal.h"

/* Keys held by a token are objects outside the catalog: their tier destroys them when they are purged. */
static azkm_rc check_no_hsm_keys(azkm_vault *v, const char *name)
{
    azkm_rc rc = AZKM_OK;

    for (int deleted = 0; rc == AZKM_OK && deleted < 2; deleted++) {
        azkm_catalog_vault_key *keys = NULL;
        size_t n = 0;

        rc = azkm_catalog_vault_key_list(v->cat, deleted, &keys, &n);
        for (size_t i = 0; rc == AZKM_OK && i < n; i++)
            if (keys[i].protection != AZKM_PROTECTION_SOFTWARE)
                rc = azkm_fail(AZKM_E_FORBIDDEN, "vault %s holds HSM key %s: purge its keys first", name,
                               keys[i].name);
        azkm_catalog_vault_keys_free(keys, n);
    }
    return rc;
}

static azkm_rc check_deletable(azkm_vault *v, const char *name)
{
    size_t active = 0, deleted = 0;
    /* Keys past their purge date are purged first: they hold the vault no longer. */
    azkm_rc rc = azkm_vault_sweep_deleted(v);

    if (rc == AZKM_OK)
        rc = azkm_catalog_vault_key_count(v->cat, 0, 0, &active);
    if (rc == AZKM_OK)
        rc = azkm_catalog_vault_key_count(v->cat, 1, azkm_now(v->ks), &deleted);
    if (rc == AZKM_OK && v->purge_protection && active + deleted > 0)
        rc = azkm_fail(AZKM_E_FORBIDDEN,
                       "vault %s has purge protection and holds %zu key(s): it cannot be deleted until they are "
                       "purged after their retention",
                       v->name, active + deleted);
    if (rc == AZKM_OK)
        rc = check_no_hsm_keys(v, name);
    return rc;
}

static azkm_rc remove_files(const char *name, const char *dir)
{
    static const char *const files[] = {"vault.db-wal", "vault.db-shm", "vault.db", "master.key", "remote.json"};

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char f[4300];

        snprintf(f, sizeof(f), "%s/%s", dir, files[i]);
        if (unlink(f) != 0 && errno != ENOENT)
            return azkm_fail(AZKM_E_IO, "vault %s: cannot remove %s: %s", name, f, strerror(errno));
    }
    if (rmdir(dir) != 0)
        return azkm_fail(AZKM_E_IO, "vault %s: cannot remove %s: %s (unexpected files left?)", name, dir,
                         strerror(errno));
    return AZKM_OK;
}

static azkm_rc vault_delete_impl(azkm_keystore *ks, const char *name)
{
    azkm_vault *v = NULL;
    char dir[4200];
    azkm_rc rc = azkm_vault_dir(ks, name, dir, sizeof(dir));

    /* A remote vault's entry says where it is: deleting it forgets the place (even a damaged entry), the keys stay
     * in azkmd. */
    if (rc == AZKM_OK && azkm_vault_is_remote_entry(dir))
        return remove_files(name, dir);
    if (rc == AZKM_OK)
        rc = azkm_vault_open(ks, name, &v);
    if (rc != AZKM_OK)
        return rc;
    rc = check_deletable(v, name);
    if (rc == AZKM_OK && v->protector == AZKM_PROTECTOR_HSM)
        rc = azkm_masterkey_destroy(v);
    snprintf(dir, sizeof(dir), "%s", v->dir);
    azkm_vault_close(v);
    if (rc != AZKM_OK)
        return rc;
    return remove_files(name, dir);
}

azkm_rc azkm_vault_delete(azkm_keystore *ks, const char *name)
{
    AZKM_AUDITED(ks, "VaultDelete", name, NULL, vault_delete_impl(ks, name), NULL);
}
