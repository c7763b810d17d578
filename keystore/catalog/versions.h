/* The catalog's key versions: each version's sealed material or material reference, attributes and attribute MAC,
 * read with its key's row. Rows in and out, nothing checked: the MACs are the domain's (keys/keyinfo.c). */
#ifndef AZKM_CATALOG_VERSIONS_H
#define AZKM_CATALOG_VERSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "azkm/keystore.h"
#include "catalog/catalog.h"

/* Owned buffers are NULL when the column is NULL (or, for blobs, empty). As input (insert, update) the catalog only
 * reads the struct. */
typedef struct {
    int64_t key_id;
    /* of the key */
    char name[AZKM_NAME_MAX + 1];
    int64_t kty, protection, deleted_on, scheduled_purge;
    /* of the version */
    char *version;
    int64_t seq, size, curve;
    unsigned char *public_der;
    size_t public_der_len;
    unsigned char *material; /* only from version_get, version_newest and versions_of_key */
    size_t material_len;
    int64_t enabled, nbf, exp, key_ops;
    char *tags; /* JSON */
    int64_t created, updated;
    unsigned char *mac;
    size_t mac_len;
    int current; /* it is its key's newest enabled version */
} azkm_catalog_version_row;

void azkm_catalog_version_row_clear(azkm_catalog_version_row *r);
void azkm_catalog_version_rows_free(azkm_catalog_version_row *rows, size_t n);

/* One version of a key (version NULL: its current one, the newest enabled, else the newest), or AZKM_E_NOT_FOUND
 * without a message. */
azkm_rc azkm_catalog_version_get(azkm_catalog *c, int64_t key_id, const char *version,
                                 azkm_catalog_version_row *out);
/* The newest version of a key, enabled or not, or AZKM_E_NOT_FOUND without a message. */
azkm_rc azkm_catalog_version_newest(azkm_catalog *c, int64_t key_id, azkm_catalog_version_row *out);
/* Every version of a key, by seq. */
azkm_rc azkm_catalog_versions_of_key(azkm_catalog *c, int64_t key_id, azkm_catalog_version_row **rows, size_t *n);
/* The current version of every live (deleted 0) key, or of every soft-deleted (deleted 1) key whose scheduled purge
 * is after now (the others are purged, whether or not a sweep has removed their rows yet), by lookup name. */
azkm_rc azkm_catalog_versions_current(azkm_catalog *c, int deleted, int64_t now, azkm_catalog_version_row **rows,
                                      size_t *n);
/* Every version of every live (deleted 0) or soft-deleted (deleted 1) key, by lookup name and seq. */
azkm_rc azkm_catalog_versions_all(azkm_catalog *c, int deleted, azkm_catalog_version_row **rows, size_t *n);

/* Appends a version to key key_id: it takes the key's next sequence number (r->seq is not read), which then
 * advances. */
azkm_rc azkm_catalog_version_insert(azkm_catalog *c, const azkm_catalog_version_row *r);
/* Rewrites the attributes (enabled, nbf, exp, key_ops, tags, updated) and MAC of version r->version of r->key_id.
 */
azkm_rc azkm_catalog_version_update(azkm_catalog *c, const azkm_catalog_version_row *r);

#endif
