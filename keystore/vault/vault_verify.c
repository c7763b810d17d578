/* A full check of a vault: SQLite's integrity check, then every version's attribute MAC and sealed material, and
 * every rotation policy's MAC. */
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"
#include "catalog/sqlite.h"

/* Every stored rotation policy, deleted keys' included: a policy edited or moved in the database names its key. */
static azkm_rc verify_policies(azkm_vault *v)
{
    sqlite3_stmt *st = NULL;
    azkm_rc rc = AZKM_OK;
    int r = SQLITE_DONE;

    if (sqlite3_prepare_v2(v->cat->db,
                           "SELECT p.key_id, k.name FROM rotation_policies p LEFT JOIN keys k ON k.id = p.key_id "
                           "ORDER BY k.name_lc",
                           -1, &st, NULL) != SQLITE_OK) {
        /* a catalog made before rotation policies, opened read-only, has none */
        if (sqlite3_table_column_metadata(v->cat->db, NULL, "rotation_policies", "policy", NULL, NULL, NULL, NULL,
                                          NULL) != SQLITE_OK)
            return AZKM_OK;
        return azkm_catalog_fail(v->cat, "checking rotation policies");
    }
    while (rc == AZKM_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        char *text = NULL;

        if (name == NULL)
            rc = azkm_fail(AZKM_E_INTEGRITY,
                           "vault %s: integrity check failed: a rotation policy belongs to no key (key row %lld): "
                           "it was changed outside azkm",
                           v->name, (long long)sqlite3_column_int64(st, 0));
        else
            rc = azkm_rotation_policy_read(v, sqlite3_column_int64(st, 0), name, &text);
        OPENSSL_free(text);
    }
    if (rc == AZKM_OK && r != SQLITE_DONE)
        rc = azkm_catalog_fail(v->cat, "checking rotation policies");
    sqlite3_finalize(st);
    return rc;
}

azkm_rc azkm_vault_verify(azkm_vault *v, size_t *checked)
{
    sqlite3_stmt *st = NULL;
    azkm_key_info *keys = NULL;
    size_t nkeys = 0;
    azkm_rc rc = AZKM_OK;
    int r;

    *checked = 0;
    if (sqlite3_prepare_v2(v->cat->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        return azkm_catalog_fail(v->cat, "checking the vault");
    r = sqlite3_step(st);
    if (r != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
        char detail[512];

        snprintf(detail, sizeof(detail), "%s",
                 r == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : sqlite3_errmsg(v->cat->db));
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
    if (rc == AZKM_OK)
        rc = verify_policies(v);
    return rc;
}
