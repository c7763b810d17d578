/* Service principals in SQLite: the service_principals table (created by catalog.c in every catalog; only the
 * identity store's holds rows). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/base.h"
#include "catalog/principals.h"
#include "catalog/sqlite.h"

#define COLUMNS                                                                                                    \
    "app_id, display_name, secret_kdf, secret_salt, secret_hash, secret_created, cert_sha256, cert_issuer, "       \
    "cert_subject, created, mac, cert_sha1, cert_spki"
#define COLUMNS_S                                                                                                  \
    "s.app_id, s.display_name, s.secret_kdf, s.secret_salt, s.secret_hash, s.secret_created, s.cert_sha256, "      \
    "s.cert_issuer, s.cert_subject, s.created, s.mac, s.cert_sha1, s.cert_spki"

static int text_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const char *s = (const char *)sqlite3_column_text(st, i);

    if (s == NULL || strlen(s) >= cap)
        return 0;
    memcpy(dst, s, strlen(s) + 1);
    return 1;
}

/* Copies blob column i when it is exactly len bytes (or, when optional, empty: *present 0). */
static int blob_copy(sqlite3_stmt *st, int i, unsigned char *dst, size_t len, int *present)
{
    const void *b = sqlite3_column_blob(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);

    if (present != NULL)
        *present = n > 0;
    if (n == 0)
        return present != NULL;
    if (n != len)
        return 0;
    memcpy(dst, b, len);
    return 1;
}

/* Columns 11 and 12: the certificate's SHA-1 thumbprint and SPKI, both or neither (NULL in rows written before). */
static int cert_key_read(sqlite3_stmt *st, azkm_catalog_sp_row *r)
{
    int sha1 = 0;
    size_t n = (size_t)sqlite3_column_bytes(st, 12);
    const void *spki = sqlite3_column_blob(st, 12);

    if (!blob_copy(st, 11, r->cert_sha1, sizeof(r->cert_sha1), &sha1) || n > sizeof(r->cert_spki) ||
        sha1 != (n > 0))
        return 0;
    if (n > 0)
        memcpy(r->cert_spki, spki, n);
    r->cert_spki_len = n;
    return 1;
}

static azkm_rc row_read(sqlite3_stmt *st, azkm_catalog_sp_row *r)
{
    int secret = 0;

    memset(r, 0, sizeof(*r));
    if (!text_copy(st, 0, r->app_id, sizeof(r->app_id)) ||
        !text_copy(st, 1, r->display_name, sizeof(r->display_name)) ||
        !text_copy(st, 2, r->secret_kdf, sizeof(r->secret_kdf)) ||
        !blob_copy(st, 3, r->secret_salt, sizeof(r->secret_salt), &secret) ||
        !blob_copy(st, 4, r->secret_hash, sizeof(r->secret_hash), &secret) ||
        !blob_copy(st, 6, r->cert_sha256, sizeof(r->cert_sha256), &r->has_cert) ||
        !text_copy(st, 7, r->cert_issuer, sizeof(r->cert_issuer)) ||
        !text_copy(st, 8, r->cert_subject, sizeof(r->cert_subject)))
        return azkm_fail(AZKM_E_INTEGRITY, "identity store: a service principal row has a field of a size azkm "
                                           "never writes: it was changed outside azkm");
    if (!cert_key_read(st, r))
        return azkm_fail(AZKM_E_INTEGRITY, "identity store: a service principal's certificate key has a size azkm "
                                           "never writes: it was changed outside azkm");
    r->secret_created = sqlite3_column_int64(st, 5);
    r->created = sqlite3_column_int64(st, 9);
    r->mac_len = blob_copy(st, 10, r->mac, 32, NULL) ? 32 : 0;
    return AZKM_OK;
}

/* Takes the set MAC from column 13, and appends the row unless it is the all-NULL row of an empty table. */
static azkm_rc row_add(sqlite3_stmt *st, azkm_catalog_sp_row **rows, size_t *n, size_t *cap,
                       azkm_catalog_set_mac *set)
{
    const void *mac = sqlite3_column_blob(st, 13);
    size_t mac_len = (size_t)sqlite3_column_bytes(st, 13);

    set->len = mac != NULL ? mac_len : 0; /* a length other than 32 fails the domain's check */
    if (mac != NULL && mac_len <= sizeof(set->value))
        memcpy(set->value, mac, mac_len);
    if (sqlite3_column_type(st, 0) == SQLITE_NULL)
        return AZKM_OK;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        azkm_catalog_sp_row *grown = OPENSSL_clear_realloc(*rows, *cap * sizeof(*grown), nc * sizeof(*grown));

        if (grown == NULL)
            return azkm_fail(AZKM_E_NOMEM, "out of memory");
        *rows = grown;
        *cap = nc;
    }
    return row_read(st, &(*rows)[(*n)++]);
}

azkm_rc azkm_catalog_sps_all(azkm_catalog *c, azkm_catalog_sp_row **rows, size_t *n, azkm_catalog_set_mac *set)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    azkm_rc r = AZKM_OK;
    int rc = sqlite3_prepare_v2(c->db,
                                "SELECT " COLUMNS_S ", (SELECT v FROM meta WHERE k = ?) FROM (SELECT 1) LEFT JOIN "
                                "service_principals s ON 1 ORDER BY s.app_id",
                                -1, &st, NULL);

    *rows = NULL;
    *n = 0;
    set->len = 0;
    if (rc != SQLITE_OK)
        return azkm_catalog_fail(c, "reading service principals");
    sqlite3_bind_text(st, 1, set->key, -1, SQLITE_STATIC);
    while (r == AZKM_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        r = row_add(st, rows, n, &cap, set);
    if (r == AZKM_OK && rc != SQLITE_DONE)
        r = azkm_catalog_fail(c, "reading service principals");
    sqlite3_finalize(st);
    if (r != AZKM_OK) {
        OPENSSL_clear_free(*rows, cap * sizeof(**rows));
        *rows = NULL;
        *n = 0;
    }
    return r;
}

azkm_rc azkm_catalog_sp_put(azkm_catalog *c, const azkm_catalog_sp_row *r)
{
    sqlite3_stmt *st = NULL;
    int secret = r->secret_kdf[0] != '\0';
    int rc = sqlite3_prepare_v2(c->db,
                                "INSERT OR REPLACE INTO service_principals(" COLUMNS ") VALUES(?, ?, ?, ?, ?, "
                                "?, ?, ?, ?, ?, ?, ?, ?)",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, r->app_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->display_name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r->secret_kdf, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, r->secret_salt, secret ? (int)sizeof(r->secret_salt) : 0, SQLITE_STATIC);
        sqlite3_bind_blob(st, 5, r->secret_hash, secret ? (int)sizeof(r->secret_hash) : 0, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, r->secret_created);
        sqlite3_bind_blob(st, 7, r->cert_sha256, r->has_cert ? (int)sizeof(r->cert_sha256) : 0, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, r->cert_issuer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, r->cert_subject, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 10, r->created);
        sqlite3_bind_blob(st, 11, r->mac, (int)r->mac_len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 12, r->cert_sha1, r->cert_spki_len ? (int)sizeof(r->cert_sha1) : 0, SQLITE_STATIC);
        sqlite3_bind_blob(st, 13, r->cert_spki, (int)r->cert_spki_len, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(c, "storing a service principal");
}

azkm_rc azkm_catalog_sp_delete(azkm_catalog *c, const char *app_id)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "DELETE FROM service_principals WHERE app_id = ?", -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, app_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return azkm_catalog_fail(c, "removing a service principal");
    return sqlite3_changes(c->db) > 0 ? AZKM_OK : AZKM_E_NOT_FOUND;
}
