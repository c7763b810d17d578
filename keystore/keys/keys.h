/* Declarations shared by the files of keys/ only: catalog rows to key records, the state MAC of a row already
 * read, attribute rules, and the making of new versions (byok/ and envelope/ see keys/records.h). */
#ifndef AZKM_KEYS_KEYS_H
#define AZKM_KEYS_KEYS_H

#include "keys/records.h"
#include "catalog/keys.h"
#include "catalog/versions.h"

/* ---- key and version records (keyinfo.c) */
/* The lookup form of a key name (ASCII lower case, at most AZKM_NAME_MAX characters). */
void azkm_key_name_lc(const char *name, char out[AZKM_NAME_MAX + 1]);
/* Fills info from a version row and checks its attribute MAC: AZKM_E_INTEGRITY with info->integrity_error set
 * when the record is damaged or was changed outside azkm. */
azkm_rc azkm_version_info(azkm_vault *v, const azkm_catalog_version_row *r, azkm_key_info *info);
/* The same for a list (free it with azkm_key_info_array_free): one tampered record does not hide the others, it is
 * listed with integrity_error set. */
azkm_rc azkm_versions_info(azkm_vault *v, const azkm_catalog_version_row *rows, size_t n, azkm_key_info **out,
                           size_t *nout);

/* Copies a tier's public key (SubjectPublicKeyInfo DER, NULL for oct) into info. */
azkm_rc azkm_key_info_set_public(const azkm_vault *v, azkm_key_info *info, const unsigned char *der, size_t len);

/* ---- the key state MAC (key_state.c) */
/* Checks the state MAC of a key row read with its versions (azkm_catalog_key_find/_get). */
azkm_rc azkm_key_state_verify(azkm_vault *v, const azkm_catalog_key_row *r, const char *name);

/* ---- attribute rules (key_attrs.c) */
/* Copies the fields named in `fields` from src into dst. */
void azkm_attrs_apply(azkm_attributes *dst, unsigned fields, const azkm_attributes *src);
/* Refuses a not-before that is not earlier than the expiry. */
azkm_rc azkm_attrs_check_times(const azkm_vault *v, const char *name, const azkm_attributes *a);

/* ---- making new versions (key_make.c) */
/* Checks the name and type of a new key, filling in default sizes and curves. */
azkm_rc azkm_key_spec_check(azkm_vault *v, const char *name, azkm_keyspec *s);
/* Refuses a name held by an active key (unless allow_existing) or by a soft-deleted one. On return *rowid is the
 * existing key's row, or 0. */
azkm_rc azkm_key_name_free(azkm_vault *v, const char *name, int allow_existing, int64_t *rowid);

/* What a new version is made from. */
typedef struct {
    const char *name;
    const azkm_keyspec *spec;
    const azkm_material *material; /* an import's material, or NULL */
    azkm_version_maker make;       /* a BYOK import's maker, or NULL (then generate or import) */
    void *make_arg;
    int64_t key_rowid; /* the key it joins, 0 for a new key */
    int allow_existing;
    int64_t lifetime; /* seconds to its expiry (a rotation policy's expiryTime), 0 for none */
} azkm_version_request;

/* Makes o's public key the id-RSASSA-PSS one of an RSA-PSS key with pss's restrictions (model.h). */
azkm_rc azkm_key_output_pss(azkm_vault *v, const azkm_rsa_pss *pss, azkm_tier_output *o);
/* Makes a version through the tier (generate, import or the request's maker) and stores it; out (optional)
 * receives it as shown. */
azkm_rc azkm_key_make_version(azkm_vault *v, const azkm_version_request *req, azkm_key_info *out);
/* Stores a version a tier made: a new key row when key_rowid is 0. Runs its own transaction and re-checks the name
 * inside it, since the version was made outside the lock. */
azkm_rc azkm_key_store_version(azkm_vault *v, const char *name, int64_t key_rowid, int allow_existing,
                               azkm_key_info *info, const azkm_tier_output *o);

/* ---- following a remote key's rotation (key_follow.c): a key of a remote vault loaded without a version */
/* Makes k follow the key's current version in azkmd (k->follow). */
azkm_rc azkm_key_follow_start(azkm_key *k);
void azkm_key_follow_free(azkm_key *k);
/* Asks azkmd (through the process's cache) which version is current when the entry's refresh_s has passed since
 * the last time, or now when now is set, and switches k to it; also takes its attributes. */
azkm_rc azkm_key_follow_check(azkm_key *k, int now);
/* k as it is now, for one operation: its version, public key and tier key stay valid until k is freed. */
void azkm_key_follow_copy(const azkm_key *k, azkm_key *copy);

#endif
