/* SQLite's integrity check and the owners of the stored rotation policies, for the full check of a vault. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/base.h"
#include "catalog/check.h"
#include "catalog/columns.h"

azkm_rc azkm_catalog_check(azkm_catalog *c, int *intact, char *detail, size_t len)
{
    sqlite3_stmt *st = NULL;
    const char *report;
    int step;

    *intact = 0;
    if (sqlite3_prepare_v2(c->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        return azkm_catalog_fail(c, "checking the vault");
    step = sqlite3_step(st);
    report = step == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (report != NULL && strcmp(report, "ok") == 0) {
        sqlite3_finalize(st);
        *intact = 1;
        return AZKM_OK;
    }
    snprintf(detail, len, "%s", report != NULL ? report : sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    /* one line: SQLite's report spans several */
    for (char *p = detail; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return AZKM_OK;
}

void azkm_catalog_policy_owners_free(azkm_catalog_policy_owner *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++)
        OPENSSL_free(rows[i].name);
    OPENSSL_free(rows);
}

static azkm_rc add_owner(sqlite3_stmt *st, azkm_catalog_policy_owner **arr, size_t *count, size_t *cap)
{
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        azkm_catalog_policy_owner *grown = OPENSSL_realloc(*arr, ncap * sizeof(**arr));

        if (grown == NULL)
            return azkm_fail(AZKM_E_NOMEM, "out of memory");
        *arr = grown;
        *cap = ncap;
    }
    (*arr)[*count].key_id = sqlite3_column_int64(st, 0);
    (*arr)[*count].name = NULL;
    (*count)++;
    return azkm_catalog_column_text(st, 1, &(*arr)[*count - 1].name, NULL);
}

azkm_rc azkm_catalog_policy_owners(azkm_catalog *c, azkm_catalog_policy_owner **rows, size_t *n)
{
    sqlite3_stmt *st = NULL;
    azkm_catalog_policy_owner *arr = NULL;
    size_t count = 0, cap = 0;
    azkm_rc rc = AZKM_OK;
    int step = SQLITE_DONE;

    *rows = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT p.key_id, k.name FROM rotation_policies p LEFT JOIN keys k ON k.id = p.key_id "
                           "ORDER BY k.name_lc",
                           -1, &st, NULL) != SQLITE_OK) {
        if (sqlite3_table_column_metadata(c->db, NULL, "rotation_policies", "policy", NULL, NULL, NULL, NULL,
                                          NULL) != SQLITE_OK)
            return AZKM_OK;
        return azkm_catalog_fail(c, "checking rotation policies");
    }
    while (rc == AZKM_OK && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = add_owner(st, &arr, &count, &cap);
    if (rc == AZKM_OK && step != SQLITE_DONE)
        rc = azkm_catalog_fail(c, "checking rotation policies");
    sqlite3_finalize(st);
    if (rc != AZKM_OK) {
        azkm_catalog_policy_owners_free(arr, count);
        return rc;
    }
    *rows = arr;
    *n = count;
    return AZKM_OK;
}
