/* The versions table in SQLite: reading versions with their key's row (one, a key's, or the vault's), appending a
 * version and rewriting a version's attributes. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/base.h"
#include "catalog/columns.h"
#include "catalog/versions.h"

/* Columns: 0 key_id 1 name 2 kty 3 protection 4 deleted_on 5 scheduled_purge 6 version 7 seq 8 size 9 curve
 * 10 public_der 11 enabled 12 nbf 13 exp 14 key_ops 15 tags 16 created 17 updated 18 mac 19 current 20 material */
#define VERSION_COLUMNS                                                                                            \
    "SELECT v.key_id, k.name, k.kty, k.protection, k.deleted_on, k.scheduled_purge, v.version, v.seq, v.size, "    \
    "v.curve, v.public_der, v.enabled, v.nbf, v.exp, v.key_ops, v.tags, v.created, v.updated, v.mac, "             \
    "(SELECT c.version FROM versions c WHERE c.key_id = k.id AND c.enabled = 1 ORDER BY c.seq DESC LIMIT 1), "     \
    "v.material FROM versions v JOIN keys k ON k.id = v.key_id "

/* The current version of each key: the newest enabled one, else the newest. */
#define CURRENT_OF_KEY                                                                                             \
    "v.seq = (SELECT c.seq FROM versions c WHERE c.key_id = k.id ORDER BY c.enabled DESC, c.seq DESC LIMIT 1) "

void azkm_catalog_version_row_clear(azkm_catalog_version_row *r)
{
    OPENSSL_free(r->version);
    OPENSSL_free(r->public_der);
    OPENSSL_free(r->material);
    OPENSSL_free(r->tags);
    OPENSSL_free(r->mac);
    memset(r, 0, sizeof(*r));
}

void azkm_catalog_version_rows_free(azkm_catalog_version_row *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++)
        azkm_catalog_version_row_clear(&rows[i]);
    OPENSSL_free(rows);
}

/* Fills r from a statement on VERSION_COLUMNS; on failure r holds what was copied (clear it). */
static azkm_rc row_from(sqlite3_stmt *st, int with_material, azkm_catalog_version_row *r)
{
    const char *name = (const char *)sqlite3_column_text(st, 1);
    const char *cur = (const char *)sqlite3_column_text(st, 19);
    azkm_rc rc;

    memset(r, 0, sizeof(*r));
    r->key_id = sqlite3_column_int64(st, 0);
    snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
    r->kty = sqlite3_column_int64(st, 2);
    r->protection = sqlite3_column_int64(st, 3);
    r->deleted_on = sqlite3_column_int64(st, 4);
    r->scheduled_purge = sqlite3_column_int64(st, 5);
    r->seq = sqlite3_column_int64(st, 7);
    r->size = sqlite3_column_int64(st, 8);
    r->curve = sqlite3_column_int64(st, 9);
    r->enabled = sqlite3_column_int64(st, 11);
    r->nbf = sqlite3_column_int64(st, 12);
    r->exp = sqlite3_column_int64(st, 13);
    r->key_ops = sqlite3_column_int64(st, 14);
    r->created = sqlite3_column_int64(st, 16);
    r->updated = sqlite3_column_int64(st, 17);
    rc = azkm_catalog_column_text(st, 6, &r->version, NULL);
    r->current = rc == AZKM_OK && cur != NULL && r->version != NULL && strcmp(cur, r->version) == 0;
    if (rc == AZKM_OK)
        rc = azkm_catalog_column_blob(st, 10, &r->public_der, &r->public_der_len);
    if (rc == AZKM_OK)
        rc = azkm_catalog_column_text(st, 15, &r->tags, NULL);
    if (rc == AZKM_OK)
        rc = azkm_catalog_column_blob(st, 18, &r->mac, &r->mac_len);
    if (rc == AZKM_OK && with_material)
        rc = azkm_catalog_column_blob(st, 20, &r->material, &r->material_len);
    return rc;
}

/* One row of VERSION_COLUMNS `where`, binding key_id and, when not NULL, version. */
static azkm_rc get_one(azkm_catalog *c, const char *where, int64_t key_id, const char *version,
                       azkm_catalog_version_row *out, const char *action)
{
    char sql[1024];
    sqlite3_stmt *st = NULL;
    azkm_rc rc;
    int step;

    memset(out, 0, sizeof(*out));
    snprintf(sql, sizeof(sql), "%s%s", VERSION_COLUMNS, where);
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return azkm_catalog_fail(c, action);
    sqlite3_bind_int64(st, 1, key_id);
    if (version != NULL)
        sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        rc = row_from(st, 1, out);
        if (rc != AZKM_OK)
            azkm_catalog_version_row_clear(out);
    } else {
        rc = step == SQLITE_DONE ? AZKM_E_NOT_FOUND : azkm_catalog_fail(c, action);
    }
    sqlite3_finalize(st);
    return rc;
}

azkm_rc azkm_catalog_version_get(azkm_catalog *c, int64_t key_id, const char *version,
                                 azkm_catalog_version_row *out)
{
    if (version == NULL)
        return get_one(c, "WHERE v.key_id = ? ORDER BY v.enabled DESC, v.seq DESC LIMIT 1", key_id, NULL, out,
                       "reading a key version");
    return get_one(c, "WHERE v.key_id = ? AND v.version = ?", key_id, version, out, "reading a key version");
}

azkm_rc azkm_catalog_version_newest(azkm_catalog *c, int64_t key_id, azkm_catalog_version_row *out)
{
    return get_one(c, "WHERE v.key_id = ? ORDER BY v.seq DESC LIMIT 1", key_id, NULL, out, "listing keys");
}

/* Every row of VERSION_COLUMNS `where`, binding *arg (a key id, a time) when not NULL. */
static azkm_rc list(azkm_catalog *c, const char *where, const int64_t *arg, int with_material,
                    azkm_catalog_version_row **rows, size_t *n)
{
    char sql[1024];
    sqlite3_stmt *st = NULL;
    azkm_catalog_version_row *arr = NULL;
    size_t count = 0, cap = 0;
    azkm_rc rc = AZKM_OK;
    int step = SQLITE_DONE;

    *rows = NULL;
    *n = 0;
    snprintf(sql, sizeof(sql), "%s%s", VERSION_COLUMNS, where);
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return azkm_catalog_fail(c, "listing keys");
    if (arg != NULL)
        sqlite3_bind_int64(st, 1, *arg);
    while (rc == AZKM_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            azkm_catalog_version_row *grown = OPENSSL_realloc(arr, ncap * sizeof(*arr));

            if (grown == NULL) {
                rc = azkm_fail(AZKM_E_NOMEM, "out of memory listing keys");
                break;
            }
            arr = grown;
            cap = ncap;
        }
        rc = row_from(st, with_material, &arr[count++]);
    }
    if (rc == AZKM_OK && step != SQLITE_DONE)
        rc = azkm_catalog_fail(c, "listing keys");
    sqlite3_finalize(st);
    if (rc != AZKM_OK) {
        azkm_catalog_version_rows_free(arr, count);
        return rc;
    }
    *rows = arr;
    *n = count;
    return AZKM_OK;
}

azkm_rc azkm_catalog_versions_of_key(azkm_catalog *c, int64_t key_id, azkm_catalog_version_row **rows, size_t *n)
{
    return list(c, "WHERE v.key_id = ? ORDER BY v.seq", &key_id, 1, rows, n);
}

azkm_rc azkm_catalog_versions_current(azkm_catalog *c, int deleted, int64_t now, azkm_catalog_version_row **rows,
                                      size_t *n)
{
    if (deleted)
        return list(c, "WHERE k.deleted_on != 0 AND k.scheduled_purge > ? AND " CURRENT_OF_KEY "ORDER BY k.name_lc",
                    &now, 0, rows, n);
    return list(c, "WHERE k.deleted_on = 0 AND " CURRENT_OF_KEY "ORDER BY k.name_lc", NULL, 0, rows, n);
}

azkm_rc azkm_catalog_versions_all(azkm_catalog *c, int deleted, azkm_catalog_version_row **rows, size_t *n)
{
    return list(c,
                deleted ? "WHERE k.deleted_on != 0 ORDER BY k.name_lc, v.seq"
                        : "WHERE k.deleted_on = 0 ORDER BY k.name_lc, v.seq",
                NULL, 0, rows, n);
}

static int bind_blob_or_null(sqlite3_stmt *st, int i, const unsigned char *p, size_t len)
{
    return p != NULL ? sqlite3_bind_blob(st, i, p, (int)len, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* The key's next sequence number moves on past the version just inserted with it. */
static int advance_seq(azkm_catalog *c, int64_t key_id)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "UPDATE keys SET next_seq = next_seq + 1 WHERE id = ?", -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, key_id);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc;
}

azkm_rc azkm_catalog_version_insert(azkm_catalog *c, const azkm_catalog_version_row *r)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db,
                                "INSERT INTO versions(key_id, version, seq, size, curve, public_der, material, "
                                "enabled, nbf, exp, key_ops, tags, created, updated, mac) VALUES(?, ?, (SELECT "
                                "next_seq FROM keys WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, r->key_id);
        sqlite3_bind_text(st, 2, r->version, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, r->key_id);
        sqlite3_bind_int64(st, 4, r->size);
        sqlite3_bind_int64(st, 5, r->curve);
        bind_blob_or_null(st, 6, r->public_der, r->public_der_len);
        sqlite3_bind_blob(st, 7, r->material, (int)r->material_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, r->enabled);
        sqlite3_bind_int64(st, 9, r->nbf);
        sqlite3_bind_int64(st, 10, r->exp);
        sqlite3_bind_int64(st, 11, r->key_ops);
        sqlite3_bind_text(st, 12, r->tags, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 13, r->created);
        sqlite3_bind_int64(st, 14, r->updated);
        bind_blob_or_null(st, 15, r->mac, r->mac_len);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        rc = advance_seq(c, r->key_id);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(c, "storing a key version");
}

azkm_rc azkm_catalog_version_update(azkm_catalog *c, const azkm_catalog_version_row *r)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db,
                                "UPDATE versions SET enabled = ?, nbf = ?, exp = ?, key_ops = ?, tags = ?, "
                                "updated = ?, mac = ? WHERE key_id = ? AND version = ?",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, r->enabled);
        sqlite3_bind_int64(st, 2, r->nbf);
        sqlite3_bind_int64(st, 3, r->exp);
        sqlite3_bind_int64(st, 4, r->key_ops);
        sqlite3_bind_text(st, 5, r->tags, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, r->updated);
        bind_blob_or_null(st, 7, r->mac, r->mac_len);
        sqlite3_bind_int64(st, 8, r->key_id);
        sqlite3_bind_text(st, 9, r->version, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(c, "updating key attributes");
}
