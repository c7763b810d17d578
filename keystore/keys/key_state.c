/* The key state MAC: one HMAC per key over its row (type, deletion state, creation) and the list of its
 * versions with their own MACs. It catches what per-version MACs cannot: a version rolled back to an older copy
 * of itself, a version removed or copied in, and a deleted key "undeleted" (or the reverse) in the database. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "internal.h"
#include "catalog/sqlite.h"

static int mac_update_i64(EVP_MAC_CTX *m, int64_t x)
{
    unsigned char b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)x >> (56 - 8 * i));
    return EVP_MAC_update(m, b, 8);
}

static int mac_update_blob(EVP_MAC_CTX *m, const void *p, size_t n)
{
    return mac_update_i64(m, (int64_t)n) && (n == 0 || EVP_MAC_update(m, p, n));
}

static azkm_rc state_mac(azkm_vault *v, int64_t rowid, unsigned char out[32])
{
    EVP_MAC *mac = EVP_MAC_fetch(v->ks->libctx, "HMAC", v->ks->propq);
    EVP_MAC_CTX *m = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                            OSSL_PARAM_construct_end()};
    sqlite3_stmt *st = NULL;
    size_t outlen = 0;
    int ok, rc;

    ok = m != NULL && EVP_MAC_init(m, v->mac_key, 32, params) && mac_update_blob(m, "azkm-keystate-v1", 16) &&
         mac_update_blob(m, v->vault_id, AZKM_VAULT_ID_LEN);
    rc = sqlite3_prepare_v2(
        v->cat->db, "SELECT name_lc, kty, protection, created, deleted_on, scheduled_purge FROM keys WHERE id = ?",
        -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, rowid);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        EVP_MAC_CTX_free(m);
        EVP_MAC_free(mac);
        return azkm_catalog_fail(v->cat, "reading a key's state");
    }
    ok = ok && mac_update_blob(m, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    for (int i = 1; ok && i < 6; i++)
        ok = mac_update_i64(m, sqlite3_column_int64(st, i));
    sqlite3_finalize(st);
    rc = sqlite3_prepare_v2(v->cat->db, "SELECT version, seq, mac FROM versions WHERE key_id = ? ORDER BY seq", -1,
                            &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, rowid);
        while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
            ok = mac_update_blob(m, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0)) &&
                 mac_update_i64(m, sqlite3_column_int64(st, 1)) &&
                 mac_update_blob(m, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
    }
    sqlite3_finalize(st);
    ok = ok && (rc == SQLITE_DONE || rc == SQLITE_OK) && EVP_MAC_final(m, out, &outlen, 32) && outlen == 32;
    EVP_MAC_CTX_free(m);
    EVP_MAC_free(mac);
    if (!ok)
        return azkm_fail_ossl(AZKM_E_CRYPTO, "vault %s: cannot compute a key state MAC", v->name);
    return AZKM_OK;
}

azkm_rc azkm_key_state_update(azkm_vault *v, int64_t rowid)
{
    unsigned char mac[32];
    sqlite3_stmt *st = NULL;
    azkm_rc r = state_mac(v, rowid, mac);
    int rc;

    if (r != AZKM_OK)
        return r;
    rc = sqlite3_prepare_v2(v->cat->db, "UPDATE keys SET state_mac = ? WHERE id = ?", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, mac, 32, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, rowid);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(v->cat, "updating a key's state");
}

azkm_rc azkm_key_state_check(azkm_vault *v, int64_t rowid, const char *name)
{
    unsigned char mac[32];
    sqlite3_stmt *st = NULL;
    azkm_rc r = state_mac(v, rowid, mac);
    int rc, good = 0;

    if (r != AZKM_OK)
        return r;
    rc = sqlite3_prepare_v2(v->cat->db, "SELECT state_mac FROM keys WHERE id = ?", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, rowid);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32)
            good = CRYPTO_memcmp(sqlite3_column_blob(st, 0), mac, 32) == 0;
    }
    sqlite3_finalize(st);
    if (!good)
        return azkm_fail(AZKM_E_INTEGRITY,
                         "vault %s: integrity check failed for key %s: its record set was changed outside azkm (a "
                         "version rolled back, added or removed, or its deleted state edited)",
                         v->name, name);
    return AZKM_OK;
}
