/* Copying SQLite columns into the owned buffers of the catalog's row structs (catalog/keys.h, catalog/versions.h,
 * catalog/check.h), for the catalog's own files. */
#ifndef AZKM_CATALOG_COLUMNS_H
#define AZKM_CATALOG_COLUMNS_H

#include <stddef.h>

#include "catalog/sqlite.h"

/* A blob column as a new buffer (OPENSSL_free): NULL with *len 0 when the column is NULL or empty. */
azkm_rc azkm_catalog_column_blob(sqlite3_stmt *st, int col, unsigned char **out, size_t *len);
/* A text column as a new NUL-terminated string, whole (OPENSSL_free): NULL when the column is NULL. len, when not
 * NULL, receives its length in bytes. */
azkm_rc azkm_catalog_column_text(sqlite3_stmt *st, int col, char **out, size_t *len);

#endif
