/* Opening a vault: its files checked before SQLite touches them, its settings read, its master key unsealed and
 * the keys derived from it, then the settings authenticated. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vault/vault.h"
#include "base/secmem.h"
#include "catalog/meta.h"
#include "vault/vault_internal.h"

/* SQLite opens the WAL and shared-memory files beside the database on its own: a directory or a device there
 * would surface later as a misleading "cannot open database", and a file others can read holds recent pages.
 * Each is looked at once: the last process to close the vault deletes both at any moment, so a second look could
 * find a file the first one saw gone. */
static azkm_rc check_companions(const char *name, const char *db_path)
{
    static const char *const suffix[] = {"-wal", "-shm"};
    static const char *const what[] = {"vault database WAL file", "vault database shared-memory file"};
    char path[4300];
    struct stat st;
    azkm_rc rc;

    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s%s", db_path, suffix[i]);
        if (stat(path, &st) != 0)
            continue;
        if (!S_ISREG(st.st_mode))
            return azkm_fail(AZKM_E_CORRUPT, "vault %s: %s is not a regular file", name, path);
        if ((rc = azkm_check_private_stat(path, &st, 0, what[i])) != AZKM_OK)
            return azkm_fail(rc, "vault %s: %s", name, azkm_last_error());
    }
    return AZKM_OK;
}

/* The vault's directory and database file: present, private, regular and not empty. */
static azkm_rc check_files(const azkm_keystore *ks, const char *name, const char *dir, const char *path)
{
    struct stat st;
    azkm_rc rc;

    if (stat(dir, &st) != 0 && errno == ENOENT)
        return azkm_fail(AZKM_E_NOT_FOUND, "vault %s not found in %s", name, ks->dir);
    if ((rc = azkm_check_private(dir, 0, "vault directory")) != AZKM_OK ||
        (rc = azkm_check_private(path, 0, "vault database")) != AZKM_OK)
        return azkm_fail(rc, "vault %s: %s", name, azkm_last_error());
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: %s is not a regular file", name, path);
    if ((rc = check_companions(name, path)) != AZKM_OK)
        return rc;
    /* An empty file would be turned into a fresh database by merely opening it. */
    if (stat(path, &st) == 0 && st.st_size < 512)
        return azkm_fail(AZKM_E_CORRUPT,
                         "vault %s: database %s is empty or truncated (%lld bytes); restore it from a copy", name,
                         path, (long long)st.st_size);
    return AZKM_OK;
}

/* The catalog and the settings in it, the tiers, and the keys derived from the master key. */
static azkm_rc open_parts(azkm_vault *v, const char *path, unsigned char *mk, unsigned char stored_mac[32])
{
    azkm_rc rc = azkm_catalog_open(path, 0, &v->cat);

    if (rc != AZKM_OK)
        return azkm_fail(rc, "vault %s: %s", v->name, azkm_last_error());
    rc = azkm_vault_meta_read(v, stored_mac);
    if (rc != AZKM_OK)
        return rc;
    /* Tiers come first: an HSM-held master key is unwrapped by the token. The binding they use is checked by
     * the settings MAC afterwards, and the module file itself before it is loaded. */
    rc = azkm_vault_tiers(v);
    if (rc == AZKM_OK)
        rc = azkm_masterkey_load(v, mk);
    if (rc == AZKM_OK)
        rc = azkm_derive_keys(v, mk);
    return rc;
}

static azkm_rc vault_open_impl(azkm_keystore *ks, const char *name, azkm_vault **out)
{
    azkm_vault *v;
    unsigned char *mk, stored_mac[32];
    char path[4200];
    int remote = 0;
    azkm_rc rc;

    if ((rc = azkm_vault_new(ks, &v, &mk)) != AZKM_OK)
        return rc;
    rc = azkm_vault_dir(ks, name, v->dir, sizeof(v->dir));
    if (rc == AZKM_OK) {
        snprintf(v->name, sizeof(v->name), "%s", name);
        snprintf(path, sizeof(path), "%s/vault.db", v->dir);
        remote = azkm_vault_is_remote_entry(v->dir);
        rc = remote ? azkm_vault_remote_open(v) : check_files(ks, name, v->dir, path);
    }
    if (rc == AZKM_OK && !remote)
        rc = open_parts(v, path, mk, stored_mac);
    azkm_secret_free(mk, AZKM_MASTER_KEY_LEN);
    if (rc == AZKM_OK && !remote)
        rc = azkm_vault_meta_check(v, stored_mac);
    if (rc != AZKM_OK) {
        azkm_vault_free(v);
        azkm_stack_scrub();
        return rc;
    }
    v->refs = 1;
    *out = v;
    azkm_stack_scrub();
    return AZKM_OK;
}

/* Opening a vault is frequent (every command, every process that loads a key): only a failure is logged, and it
 * is what a wrong passphrase, a PIN the token rejects or a probe for a vault looks like. */
azkm_rc azkm_vault_open(azkm_keystore *ks, const char *name, azkm_vault **out)
{
    azkm_rc rc = azkm_vault_name_check(name); /* the identity store's name is no vault name */

    if (rc != AZKM_OK)
        AZKM_AUDITED_FAILURE(ks, "VaultOpen", name, NULL, rc);
    AZKM_AUDITED_FAILURE(ks, "VaultOpen", name, NULL, vault_open_impl(ks, name, out));
}

azkm_rc azkm_identity_store_open(azkm_keystore *ks, azkm_vault **out)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", ks->dir, AZKM_IDENTITY_STORE);
    if (stat(path, &st) != 0 && errno == ENOENT)
        return AZKM_E_NOT_FOUND;
    return vault_open_impl(ks, AZKM_IDENTITY_STORE, out);
}

/* 1 when vault `name` is the one with this id: its files pass the same checks as an open, and its catalog says so.
 * Nothing is unlocked: the id is not secret, and only the vault that matches is opened. */
static int has_id(azkm_keystore *ks, const char *name, const unsigned char id[AZKM_VAULT_ID_LEN])
{
    char dir[4096], path[4200];
    unsigned char stored[AZKM_VAULT_ID_LEN];
    azkm_catalog *cat = NULL;
    size_t len = 0;
    int match;

    if (azkm_vault_dir(ks, name, dir, sizeof(dir)) != AZKM_OK)
        return 0;
    snprintf(path, sizeof(path), "%s/vault.db", dir);
    if (check_files(ks, name, dir, path) != AZKM_OK || azkm_catalog_open(path, 0, &cat) != AZKM_OK)
        return 0;
    match = azkm_catalog_meta_get(cat, "vault_id", stored, sizeof(stored), &len) == AZKM_OK &&
            len == AZKM_VAULT_ID_LEN && memcmp(stored, id, AZKM_VAULT_ID_LEN) == 0;
    azkm_catalog_close(cat);
    return match;
}

azkm_rc azkm_vault_open_by_id(azkm_keystore *ks, const unsigned char id[AZKM_VAULT_ID_LEN], azkm_vault **out)
{
    char **names = NULL;
    size_t n = 0, i;
    azkm_rc rc = azkm_vault_list(ks, &names, &n);

    if (rc != AZKM_OK)
        return rc;
    for (i = 0; i < n && !has_id(ks, names[i], id); i++)
        ;
    azkm_clear_error();
    rc = i < n ? azkm_vault_open(ks, names[i], out)
               : azkm_fail(AZKM_E_NOT_FOUND, "no vault of keystore %s has this vault id", ks->dir);
    azkm_free(names);
    return rc;
}
