/* Rotation policies in SQLite: the rotation_policies table (created by catalog.c, on every open for catalogs made
 * before it), and the list of keys a rotation run visits. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/base.h"
#include "catalog/policies.h"
#include "catalog/sqlite.h"

void azkm_catalog_policy_row_clear(azkm_catalog_policy_row *r)
{
    OPENSSL_free(r->policy);
    OPENSSL_free(r->mac);
    memset(r, 0, sizeof(*r));
}

void azkm_catalog_policy_keys_free(azkm_catalog_policy_key *keys, size_t n)
{
    for (size_t i = 0; keys != NULL && i < n; i++)
        OPENSSL_free(keys[i].name);
    OPENSSL_free(keys);
}

static azkm_rc row_read(sqlite3_stmt *st, azkm_catalog_policy_row *row)
{
    const char *policy = (const char *)sqlite3_column_text(st, 0);
    const char *notified = (const char *)sqlite3_column_text(st, 3);
    const void *mac = sqlite3_column_blob(st, 2);
    int mac_len = sqlite3_column_bytes(st, 2);

    row->updated = sqlite3_column_int64(st, 1);
    snprintf(row->notified_version, sizeof(row->notified_version), "%s", notified ? notified : "");
    row->policy = policy ? OPENSSL_strdup(policy) : NULL;
    row->mac_len = mac != NULL && mac_len > 0 ? (size_t)mac_len : 0;
    row->mac = row->mac_len > 0 ? OPENSSL_memdup(mac, row->mac_len) : NULL;
    if ((policy != NULL && row->policy == NULL) || (row->mac_len > 0 && row->mac == NULL)) {
        azkm_catalog_policy_row_clear(row);
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    }
    return AZKM_OK;
}

azkm_rc azkm_catalog_policy_get(azkm_catalog *c, int64_t key_id, azkm_catalog_policy_row *row)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        c->db, "SELECT policy, updated, mac, notified_version FROM rotation_policies WHERE key_id = ?", -1, &st,
        NULL);
    azkm_rc r;

    memset(row, 0, sizeof(*row));
    /* A catalog made before rotation policies and opened read-only has no table, hence no policies: rotate,
     * backup and verify keep working on it. */
    if (rc != SQLITE_OK && sqlite3_table_column_metadata(c->db, NULL, "rotation_policies", "policy", NULL, NULL,
                                                         NULL, NULL, NULL) != SQLITE_OK)
        return AZKM_E_NOT_FOUND;
    if (rc != SQLITE_OK)
        return azkm_catalog_fail(c, "reading a rotation policy");
    sqlite3_bind_int64(st, 1, key_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r = row_read(st, row);
    else
        r = rc == SQLITE_DONE ? AZKM_E_NOT_FOUND : azkm_catalog_fail(c, "reading a rotation policy");
    sqlite3_finalize(st);
    return r;
}

azkm_rc azkm_catalog_policy_put(azkm_catalog *c, int64_t key_id, const char *policy, int64_t updated,
                                const unsigned char *mac, size_t mac_len)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db,
                                "INSERT OR REPLACE INTO rotation_policies(key_id, policy, updated, "
                                "notified_version, mac) VALUES(?, ?, ?, '', ?)",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, key_id);
        sqlite3_bind_text(st, 2, policy, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, updated);
        sqlite3_bind_blob(st, 4, mac, (int)mac_len, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(c, "storing a rotation policy");
}

azkm_rc azkm_catalog_policy_delete(azkm_catalog *c, int64_t key_id)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "DELETE FROM rotation_policies WHERE key_id = ?", -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, key_id);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(c, "storing a rotation policy");
}

azkm_rc azkm_catalog_policy_set_notified(azkm_catalog *c, int64_t key_id, const char *version)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "UPDATE rotation_policies SET notified_version = ? WHERE key_id = ?", -1,
                                &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, version, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, key_id);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(c, "recording a notification");
}

/* Appends the key on st's row; 0 when out of memory. */
static int key_add(sqlite3_stmt *st, azkm_catalog_policy_key **keys, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        azkm_catalog_policy_key *grown = OPENSSL_realloc(*keys, nc * sizeof(*grown));

        if (grown == NULL)
            return 0;
        *keys = grown;
        *cap = nc;
    }
    (*keys)[*n].key_id = sqlite3_column_int64(st, 0);
    (*keys)[*n].name = OPENSSL_strdup((const char *)sqlite3_column_text(st, 1));
    if ((*keys)[*n].name == NULL)
        return 0;
    (*n)++;
    return 1;
}

azkm_rc azkm_catalog_policy_key_list(azkm_catalog *c, azkm_catalog_policy_key **keys, size_t *n)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    *keys = NULL;
    *n = 0;
    rc = sqlite3_prepare_v2(c->db,
                            "SELECT k.id, k.name FROM rotation_policies p JOIN keys k ON k.id = p.key_id "
                            "WHERE k.deleted_on = 0 ORDER BY k.name_lc",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return azkm_catalog_fail(c, "listing rotation policies");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!key_add(st, keys, n, &cap))
            break;
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        azkm_catalog_policy_keys_free(*keys, *n);
        *keys = NULL;
        *n = 0;
        return rc == SQLITE_ROW ? azkm_fail(AZKM_E_NOMEM, "out of memory")
                                : azkm_catalog_fail(c, "listing rotation policies");
    }
    return AZKM_OK;
}
