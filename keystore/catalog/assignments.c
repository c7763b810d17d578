/* Role assignments in SQLite: the role_assignments table (created by catalog.c, on every open for catalogs made
 * before it). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/base.h"
#include "catalog/assignments.h"
#include "catalog/sqlite.h"

/* Copies text column i into dst; 0 when it is missing or longer than dst holds. */
static int column_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const char *s = (const char *)sqlite3_column_text(st, i);

    if (s == NULL || strlen(s) >= cap)
        return 0;
    memcpy(dst, s, strlen(s) + 1);
    return 1;
}

static azkm_rc row_read(sqlite3_stmt *st, azkm_catalog_assignment_row *row)
{
    const void *mac = sqlite3_column_blob(st, 5);
    int mac_len = sqlite3_column_bytes(st, 5);

    memset(row, 0, sizeof(*row));
    if (!column_copy(st, 0, row->id, sizeof(row->id)) ||
        !column_copy(st, 1, row->principal, sizeof(row->principal)) ||
        !column_copy(st, 2, row->role_id, sizeof(row->role_id)) ||
        !column_copy(st, 3, row->scope, sizeof(row->scope)))
        return azkm_fail(AZKM_E_INTEGRITY, "a role assignment row has a field of a size azkm never writes: it was "
                                           "changed outside azkm");
    row->created = sqlite3_column_int64(st, 4);
    row->mac_len = mac != NULL && mac_len == 32 ? 32 : 0;
    if (row->mac_len)
        memcpy(row->mac, mac, 32);
    return AZKM_OK;
}

/* Takes the set MAC from column 6 of st's row, and appends the row to *rows unless it is the one row of an empty
 * table (all NULL). */
static azkm_rc row_add(sqlite3_stmt *st, azkm_catalog_assignment_row **rows, size_t *n, size_t *cap,
                       azkm_catalog_set_mac *set)
{
    const void *mac = sqlite3_column_blob(st, 6);
    size_t mac_len = (size_t)sqlite3_column_bytes(st, 6);

    set->len = mac != NULL ? mac_len : 0; /* a length other than 32 fails the domain's check */
    if (mac != NULL && mac_len <= sizeof(set->value))
        memcpy(set->value, mac, mac_len);
    if (sqlite3_column_type(st, 0) == SQLITE_NULL)
        return AZKM_OK;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        azkm_catalog_assignment_row *grown = OPENSSL_realloc(*rows, nc * sizeof(*grown));

        if (grown == NULL)
            return azkm_fail(AZKM_E_NOMEM, "out of memory");
        *rows = grown;
        *cap = nc;
    }
    return row_read(st, &(*rows)[(*n)++]);
}

azkm_rc azkm_catalog_assignments_all(azkm_catalog *c, azkm_catalog_assignment_row **rows, size_t *n,
                                     azkm_catalog_set_mac *set)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    azkm_rc r = AZKM_OK;
    /* one statement: one snapshot (the LEFT JOIN gives one all-NULL row for an empty table, to carry the MAC) */
    int rc = sqlite3_prepare_v2(c->db,
                                "SELECT r.id, r.principal, r.role_id, r.scope, r.created, r.mac, "
                                "(SELECT v FROM meta WHERE k = ?) FROM (SELECT 1) LEFT JOIN role_assignments r "
                                "ON 1 ORDER BY r.id",
                                -1, &st, NULL);

    set->len = 0;
    *rows = NULL;
    *n = 0;
    /* a catalog made before role assignments, opened read-only, has no table: no assignments */
    if (rc != SQLITE_OK && sqlite3_table_column_metadata(c->db, NULL, "role_assignments", "id", NULL, NULL, NULL,
                                                         NULL, NULL) != SQLITE_OK)
        return AZKM_OK;
    if (rc != SQLITE_OK)
        return azkm_catalog_fail(c, "reading role assignments");
    sqlite3_bind_text(st, 1, set->key, -1, SQLITE_STATIC);
    while (r == AZKM_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        r = row_add(st, rows, n, &cap, set);
    if (r == AZKM_OK && rc != SQLITE_DONE)
        r = azkm_catalog_fail(c, "reading role assignments");
    sqlite3_finalize(st);
    if (r != AZKM_OK) {
        OPENSSL_free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return r;
}

azkm_rc azkm_catalog_assignment_put(azkm_catalog *c, const azkm_catalog_assignment_row *row)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db,
                                "INSERT INTO role_assignments(id, principal, role_id, scope, created, mac) "
                                "VALUES(?, ?, ?, ?, ?, ?)",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, row->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, row->principal, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, row->role_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, row->scope, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, row->created);
        sqlite3_bind_blob(st, 6, row->mac, (int)row->mac_len, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(c, "storing a role assignment");
}

azkm_rc azkm_catalog_assignment_delete(azkm_catalog *c, const char *id)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "DELETE FROM role_assignments WHERE id = ?", -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return azkm_catalog_fail(c, "removing a role assignment");
    return sqlite3_changes(c->db) > 0 ? AZKM_OK : AZKM_E_NOT_FOUND;
}
