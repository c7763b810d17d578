/* Vault settings in SQLite: the meta table, one row (k, v) per setting. */
#include <string.h>

#include "catalog/meta.h"
#include "catalog/sqlite.h"

azkm_rc azkm_catalog_meta_get(azkm_catalog *c, const char *k, void *buf, size_t cap, size_t *len)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT v FROM meta WHERE k = ?", -1, &st, NULL);

    if (rc != SQLITE_OK)
        return AZKM_E_IO;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *val = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);

        *len = n > 0 ? (size_t)n : 0;
        if (*len > 0 && *len <= cap)
            memcpy(buf, val, *len);
    }
    /* finalized before returning: the failure it reports stays the connection's last, for azkm_catalog_fail */
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return AZKM_OK;
    return rc == SQLITE_DONE ? AZKM_E_NOT_FOUND : AZKM_E_IO;
}

azkm_rc azkm_catalog_meta_set(azkm_catalog *c, const char *k, const void *value, size_t len)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO meta(k, v) VALUES(?, ?)", -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, value, (int)len, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(c, "writing vault settings");
}
