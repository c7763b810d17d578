/* Rotation policies in the catalog (the rotation_policies table): per key, its policy text, when it was set, the
 * MAC the domain computed over it and the version last notified about. The catalog neither parses nor checks them
 * (keys/rotation_policy.c does). */
#ifndef AZKM_CATALOG_POLICIES_H
#define AZKM_CATALOG_POLICIES_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"

typedef struct {
    char *policy; /* the stored text, NULL when the row has none */
    int64_t updated;
    unsigned char *mac; /* as stored, of mac_len bytes */
    size_t mac_len;
    char notified_version[AZKM_VERSION_LEN + 1]; /* "" when none yet */
} azkm_catalog_policy_row;

/* A key that has a policy, for a rotation run. */
typedef struct {
    int64_t key_id;
    char *name;
} azkm_catalog_policy_key;

void azkm_catalog_policy_row_clear(azkm_catalog_policy_row *r);
void azkm_catalog_policy_keys_free(azkm_catalog_policy_key *keys, size_t n);

/* Reads the policy of key key_id into row (clear it after AZKM_OK). AZKM_E_NOT_FOUND, without a message, when the
 * key has none, as has every key of a catalog made before rotation policies and opened read-only. */
azkm_rc azkm_catalog_policy_get(azkm_catalog *c, int64_t key_id, azkm_catalog_policy_row *row);
/* Stores (replacing) the policy of a key with no version notified yet, inside the caller's write transaction. */
azkm_rc azkm_catalog_policy_put(azkm_catalog *c, int64_t key_id, const char *policy, int64_t updated,
                                const unsigned char *mac, size_t mac_len);
/* Removes the policy of a key (none is no error), inside the caller's write transaction. */
azkm_rc azkm_catalog_policy_delete(azkm_catalog *c, int64_t key_id);
/* Remembers the version of a key a near-expiry notification was given for. */
azkm_rc azkm_catalog_policy_set_notified(azkm_catalog *c, int64_t key_id, const char *version);
/* The keys not deleted that have a policy, by name (case-insensitive): *keys from OPENSSL_malloc, freed with
 * azkm_catalog_policy_keys_free. */
azkm_rc azkm_catalog_policy_key_list(azkm_catalog *c, azkm_catalog_policy_key **keys, size_t *n);

#endif
