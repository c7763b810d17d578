/* What a full check of a vault (keys/vault_verify.c) reads besides key and version rows: the database's own
 * integrity check, and which key each stored rotation policy belongs to. */
#ifndef AZKM_CATALOG_CHECK_H
#define AZKM_CATALOG_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "azkm/keystore.h"
#include "catalog/catalog.h"

/* Runs the storage's own consistency check: *intact is 1, or 0 with its report, on one line, in detail. */
azkm_rc azkm_catalog_check(azkm_catalog *c, int *intact, char *detail, size_t len);

typedef struct {
    int64_t key_id;
    char *name; /* the key's name, NULL when no key has that id */
} azkm_catalog_policy_owner;

/* Every stored rotation policy's key, deleted keys' included, by the key's lookup name (policies without a key
 * first). A catalog made before rotation policies, opened read-only, has none. */
azkm_rc azkm_catalog_policy_owners(azkm_catalog *c, azkm_catalog_policy_owner **rows, size_t *n);
void azkm_catalog_policy_owners_free(azkm_catalog_policy_owner *rows, size_t n);

#endif
