/* Vault settings in the catalog (the meta table): named byte strings, each read and written whole. The catalog
 * stores them as given; what they mean and the MAC over them belong to the vault (vault/vault_meta.c). */
#ifndef AZKM_CATALOG_META_H
#define AZKM_CATALOG_META_H

#include <stddef.h>

#include "catalog/catalog.h"

/* Reads setting k: *len is its length, and its bytes are copied to buf only when they fit in cap. Returns
 * AZKM_E_NOT_FOUND when the catalog has no such setting, and AZKM_E_IO on a database failure, both without a
 * message: the caller says what was missing, or names the failure with azkm_catalog_fail. */
azkm_rc azkm_catalog_meta_get(azkm_catalog *c, const char *k, void *buf, size_t cap, size_t *len);
/* Writes setting k (replacing it), inside the caller's write transaction. */
azkm_rc azkm_catalog_meta_set(azkm_catalog *c, const char *k, const void *value, size_t len);

#endif
