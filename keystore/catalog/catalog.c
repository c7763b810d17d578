/* The vault catalog in SQLite: schema, durable settings (WAL, synchronous=FULL) and transactions. */
#include <stdio.h>
#include <string.h>

#include <pthread.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/base.h"
#include "catalog/sqlite.h"

/* Every write looks for soft-deleted keys whose retention ended: without this index that is a scan of all keys. */
#define DELETED_INDEX "CREATE INDEX IF NOT EXISTS keys_deleted ON keys(scheduled_purge) WHERE deleted_on != 0;"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS keys("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  name_lc TEXT NOT NULL UNIQUE,"
    "  kty INTEGER NOT NULL,"
    "  protection INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  deleted_on INTEGER NOT NULL DEFAULT 0,"
    "  scheduled_purge INTEGER NOT NULL DEFAULT 0,"
    "  next_seq INTEGER NOT NULL DEFAULT 1,"
    "  state_mac BLOB);"
    "CREATE TABLE IF NOT EXISTS versions("
    "  key_id INTEGER NOT NULL REFERENCES keys(id) ON DELETE CASCADE,"
    "  version TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  curve INTEGER NOT NULL,"
    "  public_der BLOB,"
    "  material BLOB NOT NULL,"
    "  enabled INTEGER NOT NULL,"
    "  nbf INTEGER NOT NULL,"
    "  exp INTEGER NOT NULL,"
    "  key_ops INTEGER NOT NULL,"
    "  tags TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  mac BLOB NOT NULL,"
    "  PRIMARY KEY(key_id, version));"
    "CREATE UNIQUE INDEX IF NOT EXISTS versions_by_seq ON versions(key_id, seq);" DELETED_INDEX;

/* Rotation policies and role assignments came after the first catalogs: created with the catalog and on every
 * open. */
static const char policy_schema[] = "CREATE TABLE IF NOT EXISTS rotation_policies("
                                    "  key_id INTEGER PRIMARY KEY REFERENCES keys(id) ON DELETE CASCADE,"
                                    "  policy TEXT NOT NULL,"
                                    "  updated INTEGER NOT NULL,"
                                    "  notified_version TEXT NOT NULL DEFAULT '',"
                                    "  mac BLOB NOT NULL);"
                                    /* Role assignments (keystore/rbac/) came later still. */
                                    "CREATE TABLE IF NOT EXISTS role_assignments("
                                    "  id TEXT PRIMARY KEY,"
                                    "  principal TEXT NOT NULL,"
                                    "  role_id TEXT NOT NULL,"
                                    "  scope TEXT NOT NULL,"
                                    "  created INTEGER NOT NULL,"
                                    "  mac BLOB NOT NULL);"
                                    /* Service principals: rows in the identity store's catalog only. */
                                    "CREATE TABLE IF NOT EXISTS service_principals("
                                    "  app_id TEXT PRIMARY KEY,"
                                    "  display_name TEXT NOT NULL,"
                                    "  secret_kdf TEXT NOT NULL,"
                                    "  secret_salt BLOB,"
                                    "  secret_hash BLOB,"
                                    "  secret_created INTEGER NOT NULL,"
                                    "  cert_sha256 BLOB,"
                                    "  cert_issuer TEXT NOT NULL,"
                                    "  cert_subject TEXT NOT NULL,"
                                    "  created INTEGER NOT NULL,"
                                    "  mac BLOB NOT NULL,"
                                    "  cert_sha1 BLOB,"
                                    "  cert_spki BLOB);";
/* The certificate's SHA-1 thumbprint and public key came after the first identity stores: added in one
 * transaction (another process opening the same catalog at once waits, then finds them). */
static const char sp_cert_key_columns[] = "BEGIN IMMEDIATE;"
                                          "ALTER TABLE service_principals ADD COLUMN cert_sha1 BLOB;"
                                          "ALTER TABLE service_principals ADD COLUMN cert_spki BLOB;"
                                          "COMMIT;";

static azkm_rc sqlite_fail(sqlite3 *db, int code, const char *path, const char *action)
{
    int primary = code & 0xff;

    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
        return azkm_fail(AZKM_E_CORRUPT, "%s: database %s is damaged (%s); restore it from a copy", action, path,
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
    if (primary == SQLITE_CANTOPEN || primary == SQLITE_PERM || primary == SQLITE_READONLY)
        return azkm_fail(AZKM_E_PERMISSION, "%s: cannot open database %s for writing (%s)", action, path,
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        return azkm_fail(AZKM_E_IO, "%s: database %s is busy (%s)", action, path,
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
    return azkm_fail(AZKM_E_IO, "%s: database %s: %s", action, path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
}

static int has_cert_key_columns(sqlite3 *db)
{
    sqlite3_stmt *probe = NULL;
    int ok = sqlite3_prepare_v2(db, "SELECT cert_sha1, cert_spki FROM service_principals", -1, &probe, NULL) ==
             SQLITE_OK;

    sqlite3_finalize(probe);
    return ok;
}

static int add_cert_key_columns(sqlite3 *db)
{
    int rc;

    if (has_cert_key_columns(db))
        return SQLITE_OK;
    rc = sqlite3_exec(db, sp_cert_key_columns, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        if (has_cert_key_columns(db)) /* another process added them meanwhile */
            rc = SQLITE_OK;
    }
    return rc;
}

static int migrate(sqlite3 *db)
{
    int rc = sqlite3_exec(db, policy_schema, NULL, NULL, NULL);

    if (rc == SQLITE_OK)
        rc = add_cert_key_columns(db);

    /* A catalog this process may only read keeps working; policies then fail when used. */
    return (rc & 0xff) == SQLITE_READONLY ? SQLITE_OK : rc;
}

static azkm_rc connect(const char *path, int create, sqlite3 **out)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    char *err = NULL;

    if (rc != SQLITE_OK) {
        azkm_rc r = sqlite_fail(db, rc, path, "opening the vault");

        sqlite3_close(db);
        return r;
    }
    sqlite3_busy_timeout(db, 15000);
    sqlite3_extended_result_codes(db, 1);
    rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL,
                      &err);
    if (rc == SQLITE_OK && create)
        rc = sqlite3_exec(db, schema, NULL, NULL, &err);
    sqlite3_free(err);
    if (rc == SQLITE_OK && migrate(db) != SQLITE_OK)
        rc = sqlite3_extended_errcode(db);
    if (rc == SQLITE_OK && !create)
        sqlite3_exec(db, DELETED_INDEX, NULL, NULL, NULL); /* an optimisation: a read-only opener goes without */
    if (rc != SQLITE_OK) {
        azkm_rc r = sqlite_fail(db, rc, path, "opening the vault");

        sqlite3_close(db);
        return r;
    }
    *out = db;
    return AZKM_OK;
}

azkm_rc azkm_catalog_open(const char *path, int create, azkm_catalog **out)
{
    azkm_catalog *c = OPENSSL_zalloc(sizeof(*c));
    azkm_rc rc;

    if (c == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    snprintf(c->path, sizeof(c->path), "%s", path);
    c->pid = getpid();
    rc = connect(path, create, &c->db);
    if (rc != AZKM_OK) {
        OPENSSL_free(c);
        return rc;
    }
    *out = c;
    return AZKM_OK;
}

/* Connections inherited through fork belong to the parent. The child keeps them here, open and untouched, so that
 * they stay reachable (valgrind's "still reachable", not a leak) until the process ends. */
#define INHERITED_MAX 64
/* volatile: the array is only written, and must not be optimised away. */
static sqlite3 *volatile inherited[INHERITED_MAX];
static size_t n_inherited;
static pthread_mutex_t inherited_lock = PTHREAD_MUTEX_INITIALIZER;

static void park_inherited(sqlite3 *db)
{
    pthread_mutex_lock(&inherited_lock);
    if (n_inherited < INHERITED_MAX)
        inherited[n_inherited++] = db;
    pthread_mutex_unlock(&inherited_lock);
}

void azkm_catalog_close(azkm_catalog *c)
{
    if (c == NULL)
        return;
    if (c->pid != getpid()) {
        park_inherited(c->db); /* its statements too: they belong to the parent's connection */
    } else {
        sqlite3_finalize(c->data_version);
        sqlite3_close(c->db);
    }
    OPENSSL_free(c);
}

azkm_rc azkm_catalog_fail(azkm_catalog *c, const char *action)
{
    return sqlite_fail(c->db, sqlite3_extended_errcode(c->db), c->path, action);
}

int azkm_catalog_failed_on_schema(azkm_catalog *c)
{
    /* SQLITE_ERROR is what preparing a statement over a missing table or column gives */
    return (sqlite3_extended_errcode(c->db) & 0xff) == SQLITE_ERROR;
}

const char *azkm_catalog_errmsg(azkm_catalog *c)
{
    return sqlite3_errmsg(c->db);
}

azkm_rc azkm_catalog_begin(azkm_catalog *c)
{
    /* SQLite rolls a whole transaction back by itself on some errors (disk full, I/O): the batch is then gone */
    if (c->batch && sqlite3_get_autocommit(c->db))
        return azkm_fail(AZKM_E_IO, "catalog %s: the batch's transaction was rolled back by an earlier error",
                         c->path);
    if (sqlite3_exec(c->db, c->batch ? "SAVEPOINT azkm_write" : "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return azkm_catalog_fail(c, "starting a write");
    return AZKM_OK;
}

azkm_rc azkm_catalog_commit(azkm_catalog *c)
{
    if (sqlite3_exec(c->db, c->batch ? "RELEASE azkm_write" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        azkm_rc rc = azkm_catalog_fail(c, "committing a write");

        azkm_catalog_rollback(c);
        return rc;
    }
    return AZKM_OK;
}

void azkm_catalog_rollback(azkm_catalog *c)
{
    if (c->batch)
        sqlite3_exec(c->db, "ROLLBACK TO azkm_write; RELEASE azkm_write", NULL, NULL, NULL);
    else if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

azkm_rc azkm_catalog_batch_begin(azkm_catalog *c)
{
    azkm_rc rc;

    if (c->batch)
        return azkm_fail(AZKM_E_INVALID, "catalog %s: a batch is open already", c->path);
    if ((rc = azkm_catalog_begin(c)) == AZKM_OK)
        c->batch = 1;
    return rc;
}

azkm_rc azkm_catalog_batch_commit(azkm_catalog *c)
{
    if (!c->batch)
        return azkm_fail(AZKM_E_INVALID, "catalog %s: no batch is open", c->path);
    c->batch = 0;
    if (sqlite3_get_autocommit(c->db))
        return azkm_fail(AZKM_E_IO, "catalog %s: the batch's transaction was rolled back by an earlier error",
                         c->path);
    return azkm_catalog_commit(c);
}

void azkm_catalog_batch_abort(azkm_catalog *c)
{
    c->batch = 0;
    azkm_catalog_rollback(c);
}

int azkm_catalog_in_batch(const azkm_catalog *c)
{
    return c->batch;
}

/* The statement is prepared once per connection and kept: azkmd asks on every crypto request (its key cache's
 * freshness check), and parsing the pragma each time cost more than reading it (docs/performance.md, "azkmd").
 * Reset after each step, so that it holds no read transaction between calls. Threads sharing the vault share the
 * statement: the connection's own mutex (the catalog is opened FULLMUTEX) makes prepare, step, read and reset one
 * step for them; without it two threads could each prepare one (the lost one then kept the connection from
 * closing) or read each other's half-stepped row. */
int64_t azkm_catalog_data_version(azkm_catalog *c)
{
    sqlite3_mutex *mu = sqlite3_db_mutex(c->db);
    int64_t dv = -1;

    sqlite3_mutex_enter(mu);
    if (c->data_version == NULL && sqlite3_prepare_v3(c->db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
                                                      &c->data_version, NULL) != SQLITE_OK) {
        sqlite3_finalize(c->data_version);
        c->data_version = NULL;
    }
    if (c->data_version != NULL && sqlite3_step(c->data_version) == SQLITE_ROW)
        dv = sqlite3_column_int64(c->data_version, 0);
    sqlite3_reset(c->data_version);
    /* data_version moves with other connections' commits, total_changes with this one's: the sum moves with
     * either. */
    dv += (int64_t)sqlite3_total_changes64(c->db);
    sqlite3_mutex_leave(mu);
    return dv;
}
