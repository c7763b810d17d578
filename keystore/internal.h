/* Private declarations shared by the keystore's files: structures, error helpers, catalog and sealing. */
#ifndef AZKM_KEYSTORE_INTERNAL_H
#define AZKM_KEYSTORE_INTERNAL_H

#include <stdarg.h>
#include <sys/types.h>
#include <time.h>

#include "azkm/keystore.h"
#include "catalog/catalog.h"
#include "tiers/tier.h"

#define AZKM_MASTER_KEY_LEN 32
#define AZKM_VAULT_ID_LEN 16

/* Records the error for azkm_last_error and returns rc, so that callers write `return azkm_fail(...)`. */
azkm_rc azkm_fail(azkm_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like azkm_fail, appending OpenSSL's first queued error reason (and clearing the queue). */
azkm_rc azkm_fail_ossl(azkm_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct azkm_keystore {
    char dir[4096];
    OSSL_LIB_CTX *libctx;
    char *propq;
    azkm_passphrase_cb passphrase_cb;
    void *passphrase_arg;
    int64_t (*clock)(void *arg);
    void *clock_arg;
    azkm_passphrase_cb pin_cb;
    void *pin_arg;
    char *audit_path; /* NULL: no audit log */
    int audit_key_operations;
    int audit_fd;
    pid_t audit_pid;
    size_t secure_heap_size;
};

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
    char *hsm_module;    /* the token binding, NULL when unbound */
    char *hsm_token;
    char *hsm_pin_source;
};

struct azkm_key {
    azkm_vault *vault; /* a counted reference: the key keeps its vault alive */
    azkm_keystore *ks;
    azkm_key_info info;
    char uri[AZKM_URI_MAX];
    EVP_PKEY *pub; /* public key for verify and public encrypt (NULL for oct) */
    azkm_tier_key *tk;
    const azkm_tier_ops *tier;
    int64_t key_rowid;
    int64_t data_version;
    pid_t pid; /* the process that loaded it: the catalog connection is not used across fork */
    int deleted;
};

/* ---- files (fsutil.c) */
azkm_rc azkm_mkdir_private(const char *path);
/* Checks that path exists and is neither readable nor writable by others (and for secret files, group). */
azkm_rc azkm_check_private(const char *path, int secret, const char *what);
/* Writes data to path atomically (temp file, fsync, rename, fsync dir) with mode 0600. */
azkm_rc azkm_write_file_atomic(const char *path, const unsigned char *data, size_t len);
azkm_rc azkm_read_file(const char *path, unsigned char **data, size_t *len, size_t max);
/* The same into secret memory (secmem.h), for key and passphrase files: free it with azkm_secret_free. */
azkm_rc azkm_read_secret_file(const char *path, unsigned char **data, size_t *len, size_t max);

/* ---- configuration (config.c) */
typedef struct {
    char dir[4096];
    char audit_log[4096]; /* "" = no audit log */
    int audit_key_operations;
    size_t secure_heap_size; /* bytes of OpenSSL secure heap to set up (secmem.c), 0 for none */
} azkm_config;

azkm_rc azkm_config_load(const azkm_options *opt, azkm_config *cfg);

/* ---- audit log (audit.c) */
typedef struct {
    azkm_keystore *ks;
    const char *op;
    const char *vault;
    const char *name;
    struct timespec start;
    int outermost;
} azkm_audit_op;

/* Starts timing an API call; nested API calls inside it are not logged again. */
void azkm_audit_begin(azkm_audit_op *a, azkm_keystore *ks, const char *op, const char *vault, const char *name);
/* Logs the call (when it is the outermost one and the log is on) and returns rc. */
azkm_rc azkm_audit_end(azkm_audit_op *a, azkm_rc rc, const char *version);
/* The body of a public API function that audits the call `impl` (an expression evaluating to azkm_rc). */
#define AZKM_AUDITED(ks, op, vault, name, impl, version)                                                           \
    do {                                                                                                           \
        azkm_audit_op audit_;                                                                                      \
        azkm_rc rc_;                                                                                               \
        azkm_audit_begin(&audit_, (ks), (op), (vault), (name));                                                    \
        rc_ = (impl);                                                                                              \
        return azkm_audit_end(&audit_, rc_, rc_ == AZKM_OK ? (version) : NULL);                                    \
    } while (0)
/* Logs one record that is not an API call (operationName op), such as how secrets are kept out of core dumps. */
void azkm_audit_note(azkm_keystore *ks, const char *op, azkm_rc rc, const char *description);
azkm_rc azkm_audit_open(azkm_keystore *ks);
void azkm_audit_close(azkm_keystore *ks);

/* ---- master key and derived keys (masterkey.c) */
azkm_rc azkm_masterkey_create(azkm_vault *v, unsigned char mk[AZKM_MASTER_KEY_LEN]);
azkm_rc azkm_masterkey_load(azkm_vault *v, unsigned char mk[AZKM_MASTER_KEY_LEN]);
/* Destroys the token key of an HSM-held master key (vault deletion). */
azkm_rc azkm_masterkey_destroy(azkm_vault *v);
azkm_rc azkm_derive_keys(azkm_vault *v, const unsigned char mk[AZKM_MASTER_KEY_LEN]);

/* ---- sealing (seal.c): AES-256-GCM, output nonce(12) || ciphertext || tag(16) */
#define AZKM_SEAL_OVERHEAD 28
azkm_rc azkm_seal(OSSL_LIB_CTX *libctx, const unsigned char key[32], const unsigned char *aad, size_t aadlen,
                  const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen);
/* Returns AZKM_E_INTEGRITY (without a message) when authentication fails. *out is NUL-terminated, from
 * OPENSSL_malloc (free with OPENSSL_clear_free). */
azkm_rc azkm_unseal(OSSL_LIB_CTX *libctx, const unsigned char key[32], const unsigned char *aad, size_t aadlen,
                    const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen);
/* The same, with *out in memory kept out of core dumps (secmem.h): free it with azkm_secret_free. For anything
 * that outlives the call or holds key material. */
azkm_rc azkm_unseal_secret(OSSL_LIB_CTX *libctx, const unsigned char key[32], const unsigned char *aad,
                           size_t aadlen, const unsigned char *in, size_t inlen, unsigned char **out,
                           size_t *outlen);
void azkm_hmac(const unsigned char key[32], const unsigned char *data, size_t len, unsigned char mac[32]);
/* Associated data binding a version's material to vault, name, version and type. */
size_t azkm_material_aad(const azkm_vault *v, const char *name, const char *version, azkm_kty kty,
                         azkm_protection protection, unsigned char *buf, size_t len);

/* ---- key rows (keyinfo.c) */
typedef struct {
    int64_t key_rowid;
    int64_t seq;
    unsigned char *material; /* tier-specific, sealed for software */
    size_t material_len;
} azkm_version_row;

void azkm_version_row_clear(azkm_version_row *r);
/* Reads the key row by name (case-insensitive). deleted: 0 active only, 1 deleted only, -1 either. */
azkm_rc azkm_find_key(azkm_vault *v, const char *name, int deleted, int64_t *rowid, char *canon_name,
                      int64_t *deleted_on, int64_t *scheduled_purge);
/* Fills info for (key, version); version NULL/"" = current. row (optional) receives the material. */
azkm_rc azkm_read_version(azkm_vault *v, int64_t key_rowid, const char *version, azkm_key_info *info,
                          azkm_version_row *row);
/* The key state MAC (key_state.c): recomputed inside every write to a key, checked whenever a key is found. */
azkm_rc azkm_key_state_update(azkm_vault *v, int64_t rowid);
azkm_rc azkm_key_state_check(azkm_vault *v, int64_t rowid, const char *name);
/* MAC over the mutable attributes and identity of a version. */
void azkm_attr_mac(const azkm_vault *v, const azkm_key_info *info, unsigned char mac[32]);
/* Tags and key_ops as stored in the catalog. */
char *azkm_tags_to_json(const azkm_attributes *a);
azkm_rc azkm_tags_from_json(const char *json, azkm_attributes *a);
void azkm_new_version(char out[AZKM_VERSION_LEN + 1]);
int64_t azkm_now(const azkm_keystore *ks);
void azkm_fill_recovery(const azkm_vault *v, azkm_key_info *info);

/* ---- versions made by a caller-supplied tier call (key_create.c), for BYOK import (byok.c) */
typedef azkm_rc (*azkm_version_maker)(azkm_tier *t, const azkm_tier_ref *ref, void *arg, azkm_tier_output *out);
/* Checks the name, type and attributes as an import does, makes the version with `make` and stores it: a new key,
 * or a new version of an existing key of the same type. Not audited: the caller's public function is. */
azkm_rc azkm_key_import_made(azkm_vault *v, const char *name, azkm_kty kty, azkm_protection protection,
                             unsigned fields, const azkm_attributes *attrs, azkm_version_maker make, void *arg,
                             azkm_key_info *out);

/* ---- attribute rules (key_attrs.c) */
/* Checks the attributes named in `fields` as create, import and update do (key_ops that apply to the key type and
 * protection, an import-only key exchange key, the tag count, times not negative); a restore checks a backup's. */
azkm_rc azkm_attrs_validate(const azkm_vault *v, const char *name, azkm_kty kty, azkm_protection protection,
                            unsigned fields, const azkm_attributes *a);

/* ---- rotation policies (keys/rotation_policy.c; the run is keys/rotation_run.c) */
/* The key's stored policy as JSON, authenticated by its MAC: *text is NULL when it has none (OPENSSL_free). */
azkm_rc azkm_rotation_policy_read(azkm_vault *v, int64_t rowid, const char *name, char **text);
/* Stores a policy from a backup for a key, inside the caller's write transaction. Its shape is checked but not
 * Azure's minimums: it is a policy the vault held, perhaps set before they were enforced. */
azkm_rc azkm_rotation_policy_restore(azkm_vault *v, int64_t rowid, const char *name, const char *text);
/* The lifetime of a new version from the key's policy (attributes.expiryTime) in seconds: 0 without one. */
azkm_rc azkm_rotation_policy_expiry(azkm_vault *v, int64_t rowid, const char *name, int64_t *seconds);

/* ---- keys in libcrypto form (material.c) */
azkm_rc azkm_pkey_from_material(OSSL_LIB_CTX *libctx, const char *propq, azkm_kty kty, const unsigned char *der,
                                size_t len, EVP_PKEY **out);
azkm_rc azkm_pkey_describe(const EVP_PKEY *pkey, azkm_kty *kty, unsigned *size, azkm_curve *curve);
azkm_rc azkm_pkey_to_pkcs8(const EVP_PKEY *pkey, unsigned char **der, size_t *len);
azkm_rc azkm_pkey_public_der(const EVP_PKEY *pkey, unsigned char **der, size_t *len);
azkm_rc azkm_pkey_from_public_der(OSSL_LIB_CTX *libctx, const char *propq, const unsigned char *der, size_t len,
                                  EVP_PKEY **out);

/* ---- algorithms (algs.c) */
/* Output size of a SHA-1/SHA-2 digest by name, 0 if unknown. */
size_t azkm_digest_size(const char *name);

/* ---- vault helpers (vault/vault_core.c; the last two are defined in keys/) */
/* Takes a reference for a loaded key; azkm_vault_close drops one and frees the vault at zero. */
void azkm_vault_ref(azkm_vault *v);
azkm_tier *azkm_vault_tier(azkm_vault *v, azkm_protection protection);
/* Purges soft-deleted keys whose retention has ended (inside a write transaction): keys/key_delete.c. */
azkm_rc azkm_vault_expire_deleted(azkm_vault *v);
/* Inserts one version row; used by create, import, rotate and restore: keys/keyinfo.c. */
azkm_rc azkm_insert_version(azkm_vault *v, int64_t key_rowid, const azkm_key_info *info,
                            const unsigned char *material, size_t material_len);

#endif
