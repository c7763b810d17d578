/* Declarations shared by the vault's own files (vault/): the vault object, its settings and their MAC, its tiers
 * and token binding, and the keystore's secure heap. Nothing outside vault/ includes this. */
#ifndef AZKM_VAULT_INTERNAL_H
#define AZKM_VAULT_INTERNAL_H

#include <stddef.h>

#include "vault/vault.h"

/* ---- keystore.c */
/* Before the first secret of the process is unsealed: the secure heap, once per process. */
void azkm_keystore_secmem_setup(azkm_keystore *ks);

/* ---- vault_core.c */
/* A new vault object, its derived keys in secret memory, and a buffer in secret memory for its master key
 * (azkm_secret_free). */
azkm_rc azkm_vault_new(azkm_keystore *ks, azkm_vault **out, unsigned char **mk);
/* Frees the vault object, its tiers and its catalog connection. NULL is ignored. */
void azkm_vault_free(azkm_vault *v);
/* AZKM_E_INVALID, naming the rule, unless name is a vault name. */
azkm_rc azkm_vault_name_check(const char *name);
/* The directory of vault `name` in the keystore (name checked, lowercased), or of the identity store
 * (AZKM_IDENTITY_STORE, which no vault name can be). The public functions refuse the identity store's name before
 * they get here. */
azkm_rc azkm_vault_dir(const azkm_keystore *ks, const char *name, char *dir, size_t len);

/* ---- vault_meta.c: the vault's settings in the catalog, authenticated by the settings MAC */
/* Writes every setting and their MAC, inside the caller's write transaction. */
azkm_rc azkm_vault_meta_write(azkm_vault *v);
/* Reads the settings into v (not yet authenticated: the MAC key comes from the master key) and the stored MAC. */
azkm_rc azkm_vault_meta_read(azkm_vault *v, unsigned char stored_mac[32]);
/* Once the MAC key is known: takes the stored name's case and checks the settings against stored_mac. */
azkm_rc azkm_vault_meta_check(azkm_vault *v, const unsigned char stored_mac[32]);

/* ---- vault_hsm.c: the token binding */
/* Sets up the vault's tiers: software always, the token's when the vault is bound. */
azkm_rc azkm_vault_tiers(azkm_vault *v);
/* Binds a vault being created to the token of b and proves the binding works. */
azkm_rc azkm_vault_bind_new(azkm_vault *v, const azkm_hsm_binding *b);

/* ---- vault_remote.c: remote vaults (entries with remote.json) */
/* 1 when the vault's directory holds a remote entry rather than a database. */
int azkm_vault_is_remote_entry(const char *dir);
/* Opens the remote entry in v->dir: its remote.json read and checked, and the remote tier made from it. */
azkm_rc azkm_vault_remote_open(azkm_vault *v);
/* The remote parts of azkm_vault_show. */
azkm_rc azkm_vault_remote_show(azkm_vault *v, azkm_vault_info *out);

#endif
