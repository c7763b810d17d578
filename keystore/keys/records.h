/* keys/ as the folders above it (byok/, envelope/) see it: the loaded key object, key and version records, making
 * versions through a tier, attribute rules and rotation policies. keys/ may use everything below it (base/,
 * material/, catalog/, tiers/, vault/, rbac/); what only keys/ shares is in keys/keys.h. */
#ifndef AZKM_KEYS_RECORDS_H
#define AZKM_KEYS_RECORDS_H

#include "vault/vault.h"

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
    /* A key of a remote vault loaded without a version: it follows the key's current version (keys/key_follow.c);
     * its version, public key and tier key are read under follow's lock. NULL otherwise. */
    struct azkm_key_follow *follow;
};

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
/* The key state MAC (key_state.c): recomputed inside every write to a key, checked whenever a key is found
 * (azkm_key_state_verify in keys/keys.h). */
azkm_rc azkm_key_state_update(azkm_vault *v, int64_t rowid);
/* MAC over the mutable attributes and identity of a version. */
void azkm_attr_mac(const azkm_vault *v, const azkm_key_info *info, unsigned char mac[32]);
/* Tags and key_ops as stored in the catalog. */
char *azkm_tags_to_json(const azkm_attributes *a);
azkm_rc azkm_tags_from_json(const char *json, azkm_attributes *a);
void azkm_new_version(char out[AZKM_VERSION_LEN + 1]);
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

/* Inserts one version row; used by create, import, rotate and restore: keys/keyinfo.c. */
azkm_rc azkm_insert_version(azkm_vault *v, int64_t key_rowid, const azkm_key_info *info,
                            const unsigned char *material, size_t material_len);

/* Associated data binding a version's material to vault, name, version and type (keyinfo.c). */
size_t azkm_material_aad(const azkm_vault *v, const char *name, const char *version, azkm_kty kty,
                         azkm_protection protection, unsigned char *buf, size_t len);

#endif
