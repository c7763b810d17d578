/* Vault-wide questions about keys in SQLite: counting them, and listing where their material lives. */
#include <string.h>

#include <openssl/crypto.h>

#include "base/base.h"
#include "catalog/sqlite.h"
#include "catalog/vault_queries.h"

void azkm_catalog_vault_keys_free(azkm_catalog_vault_key *keys, size_t n)
{
    for (size_t i = 0; keys != NULL && i < n; i++)
        OPENSSL_free(keys[i].name);
    OPENSSL_free(keys);
}

azkm_rc azkm_catalog_vault_key_count(azkm_catalog *c, int deleted, int64_t now, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db,
                                deleted ? "SELECT count(*) FROM keys WHERE deleted_on != 0 AND scheduled_purge > ?"
                                        : "SELECT count(*) FROM keys WHERE deleted_on = 0",
                                -1, &st, NULL);

    if (rc == SQLITE_OK && deleted)
        rc = sqlite3_bind_int64(st, 1, now);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *n = (size_t)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return AZKM_OK;
    }
    sqlite3_finalize(st);
    return azkm_catalog_fail(c, "counting keys");
}

/* Appends the key on st's row; 0 when out of memory. */
static int key_add(sqlite3_stmt *st, azkm_catalog_vault_key **keys, size_t *n, size_t *cap)
{
    const char *name = (const char *)sqlite3_column_text(st, 0);

    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        azkm_catalog_vault_key *grown = OPENSSL_realloc(*keys, nc * sizeof(*grown));

        if (grown == NULL)
            return 0;
        *keys = grown;
        *cap = nc;
    }
    (*keys)[*n].name = OPENSSL_strdup(name ? name : "");
    (*keys)[*n].protection = (azkm_protection)sqlite3_column_int(st, 1);
    if ((*keys)[*n].name == NULL)
        return 0;
    (*n)++;
    return 1;
}

azkm_rc azkm_catalog_vault_key_list(azkm_catalog *c, int deleted, azkm_catalog_vault_key **keys, size_t *n)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    *keys = NULL;
    *n = 0;
    rc = sqlite3_prepare_v2(c->db,
                            deleted ? "SELECT k.name, k.protection FROM keys k WHERE k.deleted_on != 0 AND "
                                      "EXISTS(SELECT 1 FROM versions v WHERE v.key_id = k.id) ORDER BY k.name_lc"
                                    : "SELECT k.name, k.protection FROM keys k WHERE k.deleted_on = 0 AND "
                                      "EXISTS(SELECT 1 FROM versions v WHERE v.key_id = k.id) ORDER BY k.name_lc",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return azkm_catalog_fail(c, "listing keys");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!key_add(st, keys, n, &cap))
            break;
    if (rc != SQLITE_DONE) {
        azkm_rc r = rc == SQLITE_ROW ? azkm_fail(AZKM_E_NOMEM, "out of memory listing keys")
                                     : azkm_catalog_fail(c, "listing keys");

        sqlite3_finalize(st);
        azkm_catalog_vault_keys_free(*keys, *n);
        *keys = NULL;
        *n = 0;
        return r;
    }
    sqlite3_finalize(st);
    return AZKM_OK;
}
