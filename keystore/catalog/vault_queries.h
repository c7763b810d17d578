/* Questions about all the keys of a vault at once, for the vault's own operations (info, deletion): answered in
 * the catalog so that vault/ needs nothing from keys/. */
#ifndef AZKM_CATALOG_VAULT_QUERIES_H
#define AZKM_CATALOG_VAULT_QUERIES_H

#include <stddef.h>

#include "catalog/catalog.h"

/* A key as its vault's deletion sees it: where its material lives. */
typedef struct {
    char *name;
    azkm_protection protection;
} azkm_catalog_vault_key;

void azkm_catalog_vault_keys_free(azkm_catalog_vault_key *keys, size_t n);

/* The number of keys not deleted (deleted 0), or soft-deleted (deleted 1) with their scheduled purge after now. */
azkm_rc azkm_catalog_vault_key_count(azkm_catalog *c, int deleted, int64_t now, size_t *n);
/* The keys not deleted (deleted 0) or soft-deleted (deleted 1) that have a version, by name (case-insensitive), as
 * a key listing shows them: *keys from OPENSSL_malloc, freed with azkm_catalog_vault_keys_free. */
azkm_rc azkm_catalog_vault_key_list(azkm_catalog *c, int deleted, azkm_catalog_vault_key **keys, size_t *n);

#endif
