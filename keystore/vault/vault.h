/* vault/: the keystore (keystore.c), the vault object with its catalog connection, derived keys and tiers
 * (vault_core.c), its settings (vault_meta.c), token binding (vault_hsm.c), master key (masterkey.c) and lifecycle
 * (vault_create.c, vault_open.c, vault_delete.c, vault_admin.c) and the purge of keys (vault_purge.c). May use
 * base/, material/, catalog/ and tiers/; never keys/ or above. */
#ifndef AZKM_VAULT_VAULT_H
#define AZKM_VAULT_VAULT_H

#include "base/base.h"
#include "catalog/catalog.h"
#include "material/material.h"
#include "tiers/tier.h"

#define AZKM_MASTER_KEY_LEN 32
#define AZKM_VAULT_ID_LEN 16

struct azkm_vault {
    azkm_keystore *ks;
    int refs; /* the opener's handle plus one per loaded key */
    char name[AZKM_VAULT_NAME_MAX + 1];
    char dir[4096];
    azkm_catalog *cat; /* the vault's catalog connection (catalog/) */
    unsigned char vault_id[AZKM_VAULT_ID_LEN];
    /* Keys derived from the master key, in one block of secret memory (secmem.c): */
    unsigned char *seal_key;   /* AES-256-GCM key for key material */
    unsigned char *mac_key;    /* HMAC-SHA256 key for attribute records */
    unsigned char *backup_key; /* AES-256-GCM key for backup blobs */
    int retention_days;
    int purge_protection;
    azkm_protector protector;
    int64_t created;
    azkm_tier *tiers[2]; /* by azkm_protection */
    /* A remote vault (an entry with remote.json, no catalog: cat is NULL): the remote tier holds every key. */
    azkm_tier *remote;
    char *hsm_module; /* the token binding, NULL when unbound */
    char *hsm_token;
    char *hsm_pin_source;
    /* A cache kept by a layer above (rbac/: the authenticated role assignments), freed with the vault through
     * free_fn; installed once, with an atomic compare-and-swap. */
    struct {
        void *data;
        void (*free_fn)(void *data);
    } upper_cache;
};

/* ---- master key and derived keys (masterkey.c) */
azkm_rc azkm_masterkey_create(azkm_vault *v, unsigned char mk[AZKM_MASTER_KEY_LEN]);
azkm_rc azkm_masterkey_load(azkm_vault *v, unsigned char mk[AZKM_MASTER_KEY_LEN]);
/* Destroys the token key of an HSM-held master key (vault deletion). */
azkm_rc azkm_masterkey_destroy(azkm_vault *v);
azkm_rc azkm_derive_keys(azkm_vault *v, const unsigned char mk[AZKM_MASTER_KEY_LEN]);

/* ---- the vault object (vault_core.c) */
/* Takes a reference for a loaded key; azkm_vault_close drops one and frees the vault at zero. */
void azkm_vault_ref(azkm_vault *v);
azkm_tier *azkm_vault_tier(azkm_vault *v, azkm_protection protection);
/* AZKM_OK for a vault of this keystore; for a remote vault AZKM_E_UNSUPPORTED "vault <name> is remote: <operation>
 * through azkmd is not supported yet". Every call that needs the vault's catalog asks this first. */
azkm_rc azkm_vault_local(const azkm_vault *v, const char *operation);
/* ---- finding a vault (vault_open.c) */
/* Opens the vault of the keystore whose id is `id`; AZKM_E_NOT_FOUND when there is none. */
azkm_rc azkm_vault_open_by_id(azkm_keystore *ks, const unsigned char id[AZKM_VAULT_ID_LEN], azkm_vault **out);

/* ---- the keystore's identity store (vault_create.c, vault_open.c) */
/* Service principals are keystore-wide, as Entra ID's are tenant-wide: they live in a store made and opened as a
 * vault (its own master key file, platform-protected, its own catalog and MAC key) in the reserved directory
 * AZKM_IDENTITY_STORE of the keystore, which is not a vault name: no vault command lists or opens it. */
#define AZKM_IDENTITY_STORE "_identities"
/* Creates the identity store (AZKM_E_CONFLICT when it exists). */
azkm_rc azkm_identity_store_create(azkm_keystore *ks);
/* Opens it; AZKM_E_NOT_FOUND, without a message, when the keystore has none yet. Close with azkm_vault_close. */
azkm_rc azkm_identity_store_open(azkm_keystore *ks, azkm_vault **out);

/* ---- purging keys (vault_purge.c) */
/* Destroys every version's tier objects and removes the key's rows (inside a write transaction). */
azkm_rc azkm_vault_purge_key_rows(azkm_vault *v, int64_t rowid);
/* Purges soft-deleted keys whose scheduled purge date has come (inside a write transaction). */
azkm_rc azkm_vault_expire_deleted(azkm_vault *v);
/* The same in a write transaction of its own, committed: for writes whose own transaction may be rolled back. */
azkm_rc azkm_vault_sweep_deleted(azkm_vault *v);

/* The keystore's clock (the injected one in tests), seconds since the epoch (keystore.c). */
int64_t azkm_now(const azkm_keystore *ks);

#endif
