/* Copying SQLite columns into owned buffers: the statement's own pointers die with its next step, the rows handed
 * to the domain must not. */
#include <string.h>

#include <openssl/crypto.h>

#include "base/base.h"
#include "catalog/columns.h"

azkm_rc azkm_catalog_column_blob(sqlite3_stmt *st, int col, unsigned char **out, size_t *len)
{
    const void *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);

    *out = NULL;
    *len = 0;
    if (p == NULL || n <= 0)
        return AZKM_OK;
    if ((*out = OPENSSL_memdup(p, (size_t)n)) == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    *len = (size_t)n;
    return AZKM_OK;
}

azkm_rc azkm_catalog_column_text(sqlite3_stmt *st, int col, char **out, size_t *len)
{
    const unsigned char *p = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);

    *out = NULL;
    if (len != NULL)
        *len = 0;
    if (p == NULL)
        return AZKM_OK;
    if ((*out = OPENSSL_malloc((size_t)n + 1)) == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    memcpy(*out, p, (size_t)n);
    (*out)[n] = '\0';
    if (len != NULL)
        *len = (size_t)n;
    return AZKM_OK;
}
