/* Creating a vault: its private directory, its settings and token binding, its master key file and its catalog,
 * all removed again when any step fails. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "vault/vault.h"
#include "base/secmem.h"
#include "vault/vault_internal.h"

/* The vault's directory, which must not exist yet. Nothing is left to undo when this fails. */
static azkm_rc create_dir(azkm_keystore *ks, azkm_vault *v, const char *name, const char *dir)
{
    struct stat st;
    azkm_rc rc = dir != NULL ? AZKM_OK : azkm_vault_dir(ks, name, v->dir, sizeof(v->dir));

    if (dir != NULL)
        snprintf(v->dir, sizeof(v->dir), "%s", dir);
    if (rc != AZKM_OK)
        return rc;
    snprintf(v->name, sizeof(v->name), "%s", name);
    if (stat(v->dir, &st) == 0)
        return azkm_fail(AZKM_E_CONFLICT, "vault %s already exists in %s", name, ks->dir);
    rc = azkm_mkdir_private(ks->dir);
    if (rc == AZKM_OK && mkdir(v->dir, 0700) != 0)
        rc = azkm_fail(errno == EEXIST ? AZKM_E_CONFLICT : AZKM_E_IO, "vault %s: cannot create %s: %s", name,
                       v->dir, strerror(errno));
    return rc;
}

static azkm_rc create_settings(azkm_vault *v, const azkm_vault_params *params, int retention)
{
    v->retention_days = retention;
    v->purge_protection = params ? !!params->purge_protection : 0;
    v->protector = params ? params->protector : AZKM_PROTECTOR_PLATFORM;
    v->created = azkm_now(v->ks);
    if (RAND_bytes_ex(v->ks->libctx, v->vault_id, AZKM_VAULT_ID_LEN, 0) != 1)
        return azkm_fail_ossl(AZKM_E_CRYPTO, "vault %s: cannot generate an id", v->name);
    if (params != NULL && params->hsm != NULL)
        return azkm_vault_bind_new(v, params->hsm);
    if (v->protector == AZKM_PROTECTOR_HSM)
        return azkm_fail(AZKM_E_INVALID, "vault %s: the HSM protector needs a token binding (module, token, PIN)",
                         v->name);
    return AZKM_OK;
}

/* The catalog, private from its first byte, holding the settings. */
static azkm_rc create_catalog(azkm_vault *v)
{
    char path[4200];
    mode_t old = umask(077);
    azkm_rc rc;

    snprintf(path, sizeof(path), "%s/vault.db", v->dir);
    rc = azkm_catalog_open(path, 1, &v->cat);
    umask(old);
    if (rc == AZKM_OK)
        rc = azkm_catalog_begin(v->cat);
    if (rc == AZKM_OK) {
        rc = azkm_vault_meta_write(v);
        if (rc == AZKM_OK)
            rc = azkm_catalog_commit(v->cat);
        else
            azkm_catalog_rollback(v->cat);
    }
    return rc;
}

/* Removes a vault directory made here and its files. */
static void remove_made(const char *dir)
{
    static const char *const files[] = {"vault.db", "vault.db-wal", "vault.db-shm", "master.key"};
    char path[4200];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (snprintf(path, sizeof(path), "%s/%s", dir, files[i]) < (int)sizeof(path))
            unlink(path);
    }
    rmdir(dir);
}

/* Removes what a failed creation left in the vault's directory, and the directory; keeps the failure's message. */
static azkm_rc create_undo(azkm_vault *v, azkm_rc rc)
{
    char msg[1024];

    snprintf(msg, sizeof(msg), "%s", azkm_last_error());
    azkm_catalog_close(v->cat);
    v->cat = NULL;
    remove_made(v->dir);
    return azkm_fail(rc, "%s", msg);
}

/* dir: where to make it (NULL: the vault's own directory). */
static azkm_rc vault_create_impl(azkm_keystore *ks, const char *name, const azkm_vault_params *params,
                                 const char *dir)
{
    azkm_vault *v;
    unsigned char *mk;
    azkm_rc rc;
    int retention = params && params->retention_days ? params->retention_days : 90;

    if (retention < 7 || retention > 90)
        return azkm_fail(AZKM_E_INVALID, "vault %s: retention must be 7 to 90 days, not %d", name ? name : "",
                         retention);
    if ((rc = azkm_vault_new(ks, &v, &mk)) != AZKM_OK)
        return rc;
    rc = create_dir(ks, v, name, dir);
    if (rc == AZKM_OK) {
        rc = create_settings(v, params, retention);
        if (rc == AZKM_OK)
            rc = azkm_masterkey_create(v, mk);
        if (rc == AZKM_OK)
            rc = azkm_derive_keys(v, mk);
        OPENSSL_cleanse(mk, AZKM_MASTER_KEY_LEN);
        if (rc == AZKM_OK)
            rc = create_catalog(v);
        if (rc != AZKM_OK)
            rc = create_undo(v, rc);
    }
    azkm_secret_free(mk, AZKM_MASTER_KEY_LEN);
    azkm_vault_free(v);
    azkm_stack_scrub();
    return rc;
}

/* The identity store's name is no vault name: refused here, as azkm_vault_dir would accept it. */
static azkm_rc vault_create_named(azkm_keystore *ks, const char *name, const azkm_vault_params *params)
{
    azkm_rc rc = azkm_vault_name_check(name);

    return rc == AZKM_OK ? vault_create_impl(ks, name, params, NULL) : rc;
}

azkm_rc azkm_vault_create(azkm_keystore *ks, const char *name, const azkm_vault_params *params)
{
    AZKM_AUDITED(ks, "VaultCreate", name, NULL, vault_create_named(ks, name, params), NULL);
}

/* Made whole in a directory of its own, then renamed into place: processes creating it at once each make one,
 * one rename wins, the others remove theirs and find the winner's complete. */
azkm_rc azkm_identity_store_create(azkm_keystore *ks)
{
    azkm_vault_params params;
    char tmp[4300], dir[4200];
    unsigned int nonce = 0;
    azkm_rc rc;

    memset(&params, 0, sizeof(params));
    params.retention_days = 7; /* unused: the store holds no keys */
    if (RAND_bytes((unsigned char *)&nonce, sizeof(nonce)) != 1)
        return azkm_fail_ossl(AZKM_E_CRYPTO, "identity store: cannot generate a name");
    snprintf(dir, sizeof(dir), "%s/%s", ks->dir, AZKM_IDENTITY_STORE);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new-%ld-%08x", dir, (long)getpid(), nonce) >= sizeof(tmp))
        return azkm_fail(AZKM_E_INVALID, "identity store: path too long");
    if ((rc = vault_create_impl(ks, AZKM_IDENTITY_STORE, &params, tmp)) != AZKM_OK)
        return rc;
    if (rename(tmp, dir) == 0)
        return AZKM_OK;
    rc = errno == EEXIST || errno == ENOTEMPTY
             ? azkm_fail(AZKM_E_CONFLICT, "identity store: another process made it")
             : azkm_fail(AZKM_E_IO, "identity store: cannot rename %s to %s: %s", tmp, dir, strerror(errno));
    remove_made(tmp);
    return rc;
}
