/* The catalog's keys: one row per key name, live or soft-deleted, with its deletion state, the state MAC the domain
 * keeps over it (keys/key_state.c) and what that MAC covers of its versions. Rows in and out, nothing checked. */
#ifndef AZKM_CATALOG_KEYS_H
#define AZKM_CATALOG_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "azkm/keystore.h"
#include "catalog/catalog.h"

/* One version as the key state MAC sees it: its name, place and attribute MAC, byte for byte as stored. */
typedef struct {
    char *version; /* NULL when the column is */
    size_t version_len;
    int64_t seq;
    unsigned char *mac; /* NULL when empty */
    size_t mac_len;
} azkm_catalog_version_ref;

typedef struct {
    int64_t id;
    char name[AZKM_NAME_MAX + 1]; /* as created */
    char *name_lc;                /* the lookup name, whole as stored */
    size_t name_lc_len;
    int64_t kty, protection, created;
    int64_t deleted_on, scheduled_purge; /* 0 unless soft-deleted */
    unsigned char *state_mac;            /* NULL when none */
    size_t state_mac_len;
    azkm_catalog_version_ref *versions; /* all of the key's versions, by seq, read with the row */
    size_t n_versions;
} azkm_catalog_key_row;

void azkm_catalog_key_row_clear(azkm_catalog_key_row *r);

/* The key whose lookup name is name_lc, or AZKM_E_NOT_FOUND without a message. The row and its versions are one
 * consistent read. */
azkm_rc azkm_catalog_key_find(azkm_catalog *c, const char *name_lc, azkm_catalog_key_row *out);
/* The same by id. */
azkm_rc azkm_catalog_key_get(azkm_catalog *c, int64_t id, azkm_catalog_key_row *out);
/* A new live key without versions; *id receives its id. */
azkm_rc azkm_catalog_key_insert(azkm_catalog *c, const char *name, const char *name_lc, int64_t kty,
                                int64_t protection, int64_t created, int64_t *id);
/* Soft-deletes (deleted_on != 0) or recovers (both 0) a key. */
azkm_rc azkm_catalog_key_set_deleted(azkm_catalog *c, int64_t id, int64_t deleted_on, int64_t scheduled_purge);
azkm_rc azkm_catalog_key_set_state_mac(azkm_catalog *c, int64_t id, const unsigned char mac[32]);
/* Removes a key with its versions and its rotation policy. */
azkm_rc azkm_catalog_key_delete(azkm_catalog *c, int64_t id);
/* Up to max soft-deleted keys whose scheduled purge is at or before now, into ids[]. */
azkm_rc azkm_catalog_keys_expired(azkm_catalog *c, int64_t now, int64_t *ids, size_t max, size_t *n);

#endif
