/* Role assignments in the catalog (the role_assignments table): per vault, who (a principal) holds which role
 * definition at which scope, with the MAC the domain computed over the row. The catalog neither checks the MACs
 * nor knows what a role grants (keystore/rbac/ does). */
#ifndef AZKM_CATALOG_ASSIGNMENTS_H
#define AZKM_CATALOG_ASSIGNMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"

/* Plain row: sizes as azkm/rbac.h's azkm_role_assignment. */
typedef struct {
    char id[AZKM_GUID_LEN + 1];
    char principal[AZKM_PRINCIPAL_MAX + 1];
    char role_id[AZKM_GUID_LEN + 1];
    char scope[AZKM_SCOPE_MAX + 1];
    int64_t created;
    unsigned char mac[32];
    size_t mac_len; /* as stored: 32 unless the row was damaged */
} azkm_catalog_assignment_row;

/* The MAC the domain keeps over a whole set of rows (a meta setting), read with the rows. */
typedef struct {
    const char *key;         /* the meta setting that holds it */
    unsigned char value[32]; /* as stored */
    size_t len;              /* 0 when there is none */
} azkm_catalog_set_mac;

/* Every assignment of the vault, by id, and the set MAC (set->key), in one statement, hence one snapshot of the
 * database: a commit by another connection or thread cannot fall between the rows and the MAC. *rows from
 * OPENSSL_malloc (OPENSSL_free), NULL when there is none. A catalog made before role assignments and opened
 * read-only has none. A field longer than its row member is AZKM_E_INTEGRITY (changed outside azkm). */
azkm_rc azkm_catalog_assignments_all(azkm_catalog *c, azkm_catalog_assignment_row **rows, size_t *n,
                                     azkm_catalog_set_mac *set);
/* Inserts one assignment, inside the caller's write transaction. */
azkm_rc azkm_catalog_assignment_put(azkm_catalog *c, const azkm_catalog_assignment_row *row);
/* Removes the assignment with that id, inside the caller's write transaction; AZKM_E_NOT_FOUND, without a
 * message, when there is none. */
azkm_rc azkm_catalog_assignment_delete(azkm_catalog *c, const char *id);

#endif
