/* A full check of a vault: SQLite's integrity check, then every version's attribute MAC and sealed material. */
#include <string.h>

#include "internal.h"

azkm_rc azkm_vault_verify(azkm_vault *v, size_t *checked)
{
    sqlite3_stmt *st = NULL;
    azkm_key_info *keys = NULL;
    size_t nkeys = 0;
    azkm_rc rc = AZKM_OK;
    int r;

    *checked = 0;
    if (sqlite3_prepare_v2(v->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        return azkm_db_fail(v, "checking the vault");
    r = sqlite3_step(st);
    if (r != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
        char detail[512];

        snprintf(detail, sizeof(detail), "%s",
                 r == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : sqlite3_errmsg(v->db));
        /* one line: SQLite's report spans several */
        for (char *c = detail; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        rc = azkm_fail(AZKM_E_CORRUPT, "vault %s: database integrity check failed: %s", v->name, detail);
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    for (int deleted = 0; rc == AZKM_OK && deleted < 2; deleted++) {
        rc = azkm_list_versions_rows(v,
                                     deleted ? "WHERE k.deleted_on != 0 ORDER BY k.name_lc, v.seq"
                                             : "WHERE k.deleted_on = 0 ORDER BY k.name_lc, v.seq",
                                     -1, &keys, &nkeys);
        for (size_t i = 0; rc == AZKM_OK && i < nkeys; i++) {
            azkm_key *k = NULL;

            if (keys[i].integrity_error) {
                rc = azkm_fail(
                    AZKM_E_INTEGRITY,
                    "vault %s: integrity check failed for key %s version %s: its attributes or public key "
                    "were changed outside azkm",
                    v->name, keys[i].name, keys[i].version);
                break;
            }
            if (!deleted) {
                rc = azkm_key_load(v, keys[i].name, keys[i].version, &k);
                azkm_key_free(k);
            }
            if (rc == AZKM_OK)
                (*checked)++;
        }
        azkm_key_info_array_free(keys, nkeys);
        keys = NULL;
        nkeys = 0;
    }
    return rc;
}
