/* azkm: key management (the control plane): create, import, adopt, show, list, update, rotate, delete,
 * recover, purge, backup and restore. */
#ifndef AZKM_KEYS_H
#define AZKM_KEYS_H

#include <stddef.h>

#include <openssl/types.h>

#include "azkm/vault.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Key management (control plane) ---------------------------------------------------------------------- */
azkm_rc azkm_key_create(azkm_vault *v, const char *name, const azkm_keyspec *spec, azkm_key_info *out);
/* A batch of key creations (imports, rotations) in one transaction of the vault's catalog: one fsync for the
 * batch instead of one per key. Each call inside still succeeds or fails on its own (a failed one undoes only
 * itself); the keys become visible to others, and durable, at azkm_key_batch_commit; azkm_key_batch_abort (or
 * closing the vault, or the process dying) drops them all. Other writers to the vault wait while a batch is open:
 * keep batches short (the CLI commits every 1000 keys or 0.2 s). Software-tier keys only: a key of the HSM tier
 * is refused in a batch (its token objects could not be undone with it). A remote vault has no batch: begin and
 * commit succeed doing nothing, each creation is its own request to azkmd (sent once) and stays made, and abort
 * drops nothing. */
azkm_rc azkm_key_batch_begin(azkm_vault *v);
azkm_rc azkm_key_batch_commit(azkm_vault *v);
void azkm_key_batch_abort(azkm_vault *v);

/* n (1 to 128) random bytes for the vault's user, as Key Vault's POST /rng: from azkmd's generator for a remote
 * vault (its role assignments decide: rng/action), else from this process's private DRBG (RAND_priv_bytes). */
#define AZKM_RANDOM_MAX 128
azkm_rc azkm_key_random(azkm_vault *v, unsigned char *buf, size_t n);

/* Key material to import: PKCS#8 DER for RSA and EC, raw bytes for oct. */
typedef struct {
    azkm_kty kty;
    const unsigned char *der;
    size_t der_len;
} azkm_material;

/* Parses PEM or DER (PKCS#8, encrypted PKCS#8, traditional RSA/EC) or PKCS#12 into material. Call
 * azkm_material_clear on the result; it zeroes the copy. passphrase may be NULL. */
azkm_rc azkm_material_parse(OSSL_LIB_CTX *libctx, const unsigned char *in, size_t len, const char *passphrase,
                            azkm_material *out);
void azkm_material_clear(azkm_material *m);

/* Imports material as a new key, or as a new version of an existing key of the same type. */
azkm_rc azkm_key_import(azkm_vault *v, const char *name, const azkm_material *m, azkm_protection protection,
                        unsigned fields, const azkm_attributes *attrs, azkm_key_info *out);

/* Adds an existing token key, named by an RFC 7512 URI with its id, to the vault without copying it (a new key,
 * or a new version of an HSM key of the same type). Purge leaves adopted objects on the token. */
azkm_rc azkm_key_adopt(azkm_vault *v, const char *name, const char *pkcs11_uri, unsigned fields,
                       const azkm_attributes *attrs, azkm_key_info *out);

/* version NULL or "" means the current version. */
azkm_rc azkm_key_show(azkm_vault *v, const char *name, const char *version, azkm_key_info *out);
/* The current version of each key (deleted = 0) or each soft-deleted key (deleted = 1). */
azkm_rc azkm_key_list(azkm_vault *v, int deleted, azkm_key_info **out, size_t *n);
/* A key's versions, oldest first: the order they were made in, also within one second. */
azkm_rc azkm_key_list_versions(azkm_vault *v, const char *name, azkm_key_info **out, size_t *n);
azkm_rc azkm_key_set_attributes(azkm_vault *v, const char *name, const char *version, unsigned fields,
                                const azkm_attributes *attrs, azkm_key_info *out);
/* Makes a new version of the same type and size, with the current version's key_ops and tags; when the key's
 * rotation policy has an expiryTime, the new version expires that long after its creation. */
azkm_rc azkm_key_rotate(azkm_vault *v, const char *name, azkm_key_info *out);
azkm_rc azkm_key_delete(azkm_vault *v, const char *name, azkm_key_info *out);
azkm_rc azkm_key_recover(azkm_vault *v, const char *name, azkm_key_info *out);
azkm_rc azkm_key_purge(azkm_vault *v, const char *name);
/* An encrypted, authenticated blob holding every version and the rotation policy; restorable into any vault of the
 * keystore that holds the vault it was made in (that vault is opened to authenticate it). */
azkm_rc azkm_key_backup(azkm_vault *v, const char *name, unsigned char **blob, size_t *len);
azkm_rc azkm_key_restore(azkm_vault *v, const unsigned char *blob, size_t len, azkm_key_info *out);

#ifdef __cplusplus
}
#endif

#endif
