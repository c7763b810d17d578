/* The keys table in SQLite: reading a key with what its state MAC covers (in one read transaction, held by the
 * open key statement), creating, soft-deleting, recovering and removing keys. */
#include <string.h>

#include <openssl/crypto.h>

#include "base/base.h"
#include "catalog/columns.h"
#include "catalog/keys.h"

#define KEY_COLUMNS                                                                                                \
    "SELECT id, name, name_lc, kty, protection, created, deleted_on, scheduled_purge, state_mac FROM keys "

void azkm_catalog_key_row_clear(azkm_catalog_key_row *r)
{
    for (size_t i = 0; r->versions != NULL && i < r->n_versions; i++) {
        OPENSSL_free(r->versions[i].version);
        OPENSSL_free(r->versions[i].mac);
    }
    OPENSSL_free(r->versions);
    OPENSSL_free(r->name_lc);
    OPENSSL_free(r->state_mac);
    memset(r, 0, sizeof(*r));
}

/* Appends one version reference from a statement on (version, seq, mac). */
static azkm_rc add_ref(sqlite3_stmt *st, azkm_catalog_key_row *r, size_t *cap)
{
    azkm_catalog_version_ref *ref;

    if (r->n_versions == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        azkm_catalog_version_ref *grown = OPENSSL_realloc(r->versions, ncap * sizeof(*grown));

        if (grown == NULL)
            return azkm_fail(AZKM_E_NOMEM, "out of memory");
        r->versions = grown;
        *cap = ncap;
    }
    ref = &r->versions[r->n_versions];
    memset(ref, 0, sizeof(*ref));
    r->n_versions++;
    ref->seq = sqlite3_column_int64(st, 1);
    if (azkm_catalog_column_text(st, 0, &ref->version, &ref->version_len) != AZKM_OK)
        return AZKM_E_NOMEM;
    return azkm_catalog_column_blob(st, 2, &ref->mac, &ref->mac_len);
}

static azkm_rc read_refs(azkm_catalog *c, azkm_catalog_key_row *r, const char *action)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    azkm_rc rc = AZKM_OK;
    int step = SQLITE_DONE;

    if (sqlite3_prepare_v2(c->db, "SELECT version, seq, mac FROM versions WHERE key_id = ? ORDER BY seq", -1, &st,
                           NULL) != SQLITE_OK)
        return azkm_catalog_fail(c, action);
    sqlite3_bind_int64(st, 1, r->id);
    while (rc == AZKM_OK && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = add_ref(st, r, &cap);
    sqlite3_finalize(st);
    if (rc == AZKM_OK && step != SQLITE_DONE)
        rc = azkm_catalog_fail(c, action);
    return rc;
}

/* Runs KEY_COLUMNS with `where` binding name_lc (or id when name_lc is NULL); the key statement stays open while
 * the versions are read, so that both come from the same snapshot. */
static azkm_rc read_key(azkm_catalog *c, const char *where, const char *name_lc, int64_t id,
                        azkm_catalog_key_row *r, const char *action)
{
    char sql[256];
    sqlite3_stmt *st = NULL;
    const unsigned char *name;
    azkm_rc rc;
    int step;

    memset(r, 0, sizeof(*r));
    snprintf(sql, sizeof(sql), "%s%s", KEY_COLUMNS, where);
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return azkm_catalog_fail(c, action);
    if (name_lc != NULL)
        sqlite3_bind_text(st, 1, name_lc, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, id);
    step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        sqlite3_finalize(st);
        return step == SQLITE_DONE ? AZKM_E_NOT_FOUND : azkm_catalog_fail(c, action);
    }
    r->id = sqlite3_column_int64(st, 0);
    name = sqlite3_column_text(st, 1);
    snprintf(r->name, sizeof(r->name), "%s", name ? (const char *)name : "");
    r->kty = sqlite3_column_int64(st, 3);
    r->protection = sqlite3_column_int64(st, 4);
    r->created = sqlite3_column_int64(st, 5);
    r->deleted_on = sqlite3_column_int64(st, 6);
    r->scheduled_purge = sqlite3_column_int64(st, 7);
    rc = azkm_catalog_column_text(st, 2, &r->name_lc, &r->name_lc_len);
    if (rc == AZKM_OK)
        rc = azkm_catalog_column_blob(st, 8, &r->state_mac, &r->state_mac_len);
    if (rc == AZKM_OK)
        rc = read_refs(c, r, action);
    sqlite3_finalize(st);
    if (rc != AZKM_OK)
        azkm_catalog_key_row_clear(r);
    return rc;
}

azkm_rc azkm_catalog_key_find(azkm_catalog *c, const char *name_lc, azkm_catalog_key_row *out)
{
    return read_key(c, "WHERE name_lc = ?", name_lc, 0, out, "looking up a key");
}

azkm_rc azkm_catalog_key_get(azkm_catalog *c, int64_t id, azkm_catalog_key_row *out)
{
    return read_key(c, "WHERE id = ?", NULL, id, out, "reading a key's state");
}

azkm_rc azkm_catalog_key_insert(azkm_catalog *c, const char *name, const char *name_lc, int64_t kty,
                                int64_t protection, int64_t created, int64_t *id)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        c->db, "INSERT INTO keys(name, name_lc, kty, protection, created) VALUES(?, ?, ?, ?, ?)", -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name_lc, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, kty);
        sqlite3_bind_int64(st, 4, protection);
        sqlite3_bind_int64(st, 5, created);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return azkm_catalog_fail(c, "creating a key");
    *id = sqlite3_last_insert_rowid(c->db);
    return AZKM_OK;
}

/* Runs a statement binding the integers args[0..n-1], expecting no rows. */
static azkm_rc exec_ints(azkm_catalog *c, const char *sql, const int64_t *args, int n, const char *action)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

    for (int i = 0; rc == SQLITE_OK && i < n; i++)
        sqlite3_bind_int64(st, i + 1, args[i]);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(c, action);
}

azkm_rc azkm_catalog_key_set_deleted(azkm_catalog *c, int64_t id, int64_t deleted_on, int64_t scheduled_purge)
{
    int64_t args[3] = {deleted_on, scheduled_purge, id};

    return exec_ints(c, "UPDATE keys SET deleted_on = ?, scheduled_purge = ? WHERE id = ?", args, 3,
                     "updating a key");
}

azkm_rc azkm_catalog_key_delete(azkm_catalog *c, int64_t id)
{
    return exec_ints(c, "DELETE FROM keys WHERE id = ?", &id, 1, "purging a key");
}

azkm_rc azkm_catalog_key_set_state_mac(azkm_catalog *c, int64_t id, const unsigned char mac[32])
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "UPDATE keys SET state_mac = ? WHERE id = ?", -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, mac, 32, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, id);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(c, "updating a key's state");
}

azkm_rc azkm_catalog_keys_expired(azkm_catalog *c, int64_t now, int64_t *ids, size_t max, size_t *n)
{
    sqlite3_stmt *st = NULL;

    *n = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT id FROM keys WHERE deleted_on != 0 AND scheduled_purge <= ? LIMIT ?", -1,
                           &st, NULL) != SQLITE_OK)
        return azkm_catalog_fail(c, "expiring deleted keys");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, (int64_t)max);
    /* what could not be read now is found by the next write */
    while (*n < max && sqlite3_step(st) == SQLITE_ROW)
        ids[(*n)++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return AZKM_OK;
}
