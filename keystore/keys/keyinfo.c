/* Reading and writing key and version rows, with the attribute MAC that detects edits made outside azkm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "internal.h"
#include "catalog/sqlite.h"

void azkm_key_info_clear(azkm_key_info *info)
{
    if (info == NULL)
        return;
    OPENSSL_free(info->public_der);
    memset(info, 0, sizeof(*info));
}

void azkm_key_info_array_free(azkm_key_info *arr, size_t n)
{
    for (size_t i = 0; arr != NULL && i < n; i++)
        OPENSSL_free(arr[i].public_der);
    free(arr);
}

void azkm_version_row_clear(azkm_version_row *r)
{
    OPENSSL_free(r->material);
    memset(r, 0, sizeof(*r));
}

void azkm_new_version(char out[AZKM_VERSION_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[AZKM_VERSION_LEN / 2];

    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        abort(); /* the RNG failing is not recoverable */
    for (size_t i = 0; i < sizeof(rnd); i++) {
        out[2 * i] = hex[rnd[i] >> 4];
        out[2 * i + 1] = hex[rnd[i] & 15];
    }
    out[AZKM_VERSION_LEN] = '\0';
}

void azkm_fill_recovery(const azkm_vault *v, azkm_key_info *info)
{
    snprintf(info->vault, sizeof(info->vault), "%s", v->name);
    info->recoverable_days = v->retention_days;
    snprintf(info->recovery_level, sizeof(info->recovery_level), "%s",
             v->purge_protection ? "Recoverable" : "Recoverable+Purgeable");
}

char *azkm_tags_to_json(const azkm_attributes *a)
{
    json_t *obj = json_object();
    char *s;

    for (size_t i = 0; i < a->n_tags; i++)
        json_object_set_new(obj, a->tags[i].name, json_string(a->tags[i].value));
    s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(obj);
    return s;
}

azkm_rc azkm_tags_from_json(const char *text, azkm_attributes *a)
{
    json_error_t err;
    json_t *obj = json_loads(text, 0, &err);
    const char *k;
    json_t *val;

    a->n_tags = 0;
    if (obj == NULL || !json_is_object(obj)) {
        json_decref(obj);
        return AZKM_E_CORRUPT;
    }
    json_object_foreach(obj, k, val)
    {
        if (a->n_tags == AZKM_MAX_TAGS || !json_is_string(val) || strlen(k) > AZKM_TAG_NAME_MAX ||
            strlen(json_string_value(val)) > AZKM_TAG_VALUE_MAX) {
            json_decref(obj);
            return AZKM_E_CORRUPT;
        }
        snprintf(a->tags[a->n_tags].name, sizeof(a->tags[0].name), "%s", k);
        snprintf(a->tags[a->n_tags].value, sizeof(a->tags[0].value), "%s", json_string_value(val));
        a->n_tags++;
    }
    json_decref(obj);
    return AZKM_OK;
}

void azkm_attr_mac(const azkm_vault *v, const azkm_key_info *info, unsigned char mac[32])
{
    unsigned char pubhash[32] = {0};
    char *tags = azkm_tags_to_json(&info->attrs);
    char lname[AZKM_NAME_MAX + 1];
    size_t n = strlen(info->name), len;
    char *buf;

    for (size_t i = 0; i <= n; i++)
        lname[i] = (char)((info->name[i] >= 'A' && info->name[i] <= 'Z') ? info->name[i] + 32 : info->name[i]);
    if (info->public_der != NULL)
        SHA256(info->public_der, info->public_der_len, pubhash);
    len = 512 + strlen(tags ? tags : "") + AZKM_VAULT_ID_LEN * 2 + 64;
    buf = malloc(len);
    if (buf == NULL)
        abort();
    {
        int w = snprintf(buf, len, "azkm-attr-v1|%s|%s|%d|%d|%u|%d|%d|%lld|%lld|%u|%lld|%lld|", lname,
                         info->version, (int)info->kty, (int)info->protection, info->size, (int)info->curve,
                         info->attrs.enabled, (long long)info->attrs.not_before, (long long)info->attrs.expires,
                         info->attrs.key_ops, (long long)info->attrs.created, (long long)info->attrs.updated);
        size_t off = (size_t)w;

        for (size_t i = 0; i < 32; i++)
            off += (size_t)snprintf(buf + off, len - off, "%02x", pubhash[i]);
        for (size_t i = 0; i < AZKM_VAULT_ID_LEN; i++)
            off += (size_t)snprintf(buf + off, len - off, "%02x", v->vault_id[i]);
        off += (size_t)snprintf(buf + off, len - off, "|%s", tags ? tags : "{}");
        azkm_hmac(v->mac_key, (unsigned char *)buf, off, mac);
    }
    free(buf);
    free(tags);
}

azkm_rc azkm_find_key(azkm_vault *v, const char *name, int deleted, int64_t *rowid, char *canon_name,
                      int64_t *deleted_on, int64_t *scheduled_purge)
{
    char lname[AZKM_NAME_MAX + 1];
    sqlite3_stmt *st = NULL;
    int rc;
    int64_t del;

    if (!azkm_key_name_valid(name))
        return azkm_fail(AZKM_E_INVALID, "key name '%.64s%s' is invalid: 1-127 characters of a-z, A-Z, 0-9 and '-'",
                         name ? name : "", name && strlen(name) > 64 ? "..." : "");
    for (size_t i = 0, n = strlen(name); i <= n; i++)
        lname[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    rc = sqlite3_prepare_v2(v->cat->db, "SELECT id, name, deleted_on, scheduled_purge FROM keys WHERE name_lc = ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return azkm_catalog_fail(v->cat, "looking up a key");
    sqlite3_bind_text(st, 1, lname, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return azkm_catalog_fail(v->cat, "looking up a key");
        return azkm_fail(AZKM_E_NOT_FOUND, "key %s/%s not found%s", v->name, name,
                         deleted == 1 ? " among deleted keys" : "");
    }
    del = sqlite3_column_int64(st, 2);
    if (deleted == 0 && del != 0) {
        sqlite3_finalize(st);
        return azkm_fail(
            AZKM_E_NOT_FOUND,
            "key %s/%s is deleted (it can be recovered or purged; its name cannot be used until purged)", v->name,
            name);
    }
    if (deleted == 1 && del == 0) {
        sqlite3_finalize(st);
        return azkm_fail(AZKM_E_NOT_FOUND, "key %s/%s is not deleted", v->name, name);
    }
    {
        int64_t id = sqlite3_column_int64(st, 0);
        char canon[AZKM_NAME_MAX + 1];
        azkm_rc r;

        snprintf(canon, sizeof(canon), "%s", (const char *)sqlite3_column_text(st, 1));
        r = azkm_key_state_check(v, id, canon);
        if (r != AZKM_OK) {
            sqlite3_finalize(st);
            return r;
        }
    }
    if (rowid)
        *rowid = sqlite3_column_int64(st, 0);
    if (canon_name)
        snprintf(canon_name, AZKM_NAME_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 1));
    if (deleted_on)
        *deleted_on = del;
    if (scheduled_purge)
        *scheduled_purge = sqlite3_column_int64(st, 3);
    sqlite3_finalize(st);
    return AZKM_OK;
}

/* Columns: 0 version 1 seq 2 size 3 curve 4 public_der 5 material 6 enabled 7 nbf 8 exp 9 key_ops 10 tags
 * 11 created 12 updated 13 mac 14 name 15 kty 16 protection 17 deleted_on 18 scheduled_purge 19 current */
#define VERSION_COLUMNS                                                                                            \
    "SELECT v.version, v.seq, v.size, v.curve, v.public_der, v.material, v.enabled, v.nbf, v.exp, v.key_ops, "     \
    "v.tags, v.created, v.updated, v.mac, k.name, k.kty, k.protection, k.deleted_on, k.scheduled_purge, "          \
    "(SELECT c.version FROM versions c WHERE c.key_id = k.id AND c.enabled = 1 ORDER BY c.seq DESC LIMIT 1) "      \
    "FROM versions v JOIN keys k ON k.id = v.key_id "

azkm_rc azkm_row_to_info(azkm_vault *v, sqlite3_stmt *st, azkm_key_info *info, azkm_version_row *row)
{
    const void *pub = sqlite3_column_blob(st, 4);
    int publen = sqlite3_column_bytes(st, 4);
    const void *mac = sqlite3_column_blob(st, 13);
    const char *cur = (const char *)sqlite3_column_text(st, 19);
    unsigned char expect[32];
    const char *version = (const char *)sqlite3_column_text(st, 0);
    const char *name = (const char *)sqlite3_column_text(st, 14);
    const char *tags = (const char *)sqlite3_column_text(st, 10);

    memset(info, 0, sizeof(*info));
    azkm_fill_recovery(v, info);
    snprintf(info->name, sizeof(info->name), "%s", name ? name : "");
    snprintf(info->version, sizeof(info->version), "%s", version ? version : "");
    info->kty = (azkm_kty)sqlite3_column_int(st, 15);
    info->protection = (azkm_protection)sqlite3_column_int(st, 16);
    info->size = (unsigned)sqlite3_column_int(st, 2);
    info->curve = (azkm_curve)sqlite3_column_int(st, 3);
    info->attrs.enabled = sqlite3_column_int(st, 6);
    info->attrs.not_before = sqlite3_column_int64(st, 7);
    info->attrs.expires = sqlite3_column_int64(st, 8);
    info->attrs.key_ops = (unsigned)sqlite3_column_int(st, 9);
    info->attrs.created = sqlite3_column_int64(st, 11);
    info->attrs.updated = sqlite3_column_int64(st, 12);
    info->deleted_on = sqlite3_column_int64(st, 17);
    info->scheduled_purge = sqlite3_column_int64(st, 18);
    info->current = cur != NULL && version != NULL && strcmp(cur, version) == 0;
    if (tags == NULL || azkm_tags_from_json(tags, &info->attrs) != AZKM_OK || !azkm_version_valid(info->version)) {
        info->integrity_error = 1;
        return azkm_fail(AZKM_E_INTEGRITY, "vault %s: key %s version %s: the record is damaged", v->name,
                         info->name, info->version);
    }
    if (pub != NULL && publen > 0) {
        info->public_der = OPENSSL_memdup(pub, (size_t)publen);
        if (info->public_der == NULL)
            return azkm_fail(AZKM_E_NOMEM, "out of memory");
        info->public_der_len = (size_t)publen;
    }
    azkm_attr_mac(v, info, expect);
    if (mac == NULL || sqlite3_column_bytes(st, 13) != 32 || CRYPTO_memcmp(mac, expect, 32) != 0) {
        info->integrity_error = 1;
        return azkm_fail(
            AZKM_E_INTEGRITY,
            "vault %s: integrity check failed for key %s version %s: its attributes or public key were "
            "changed outside azkm",
            v->name, info->name, info->version);
    }
    if (row != NULL) {
        const void *mat = sqlite3_column_blob(st, 5);
        int matlen = sqlite3_column_bytes(st, 5);

        row->seq = sqlite3_column_int64(st, 1);
        row->material = OPENSSL_memdup(mat, (size_t)(matlen > 0 ? matlen : 0));
        row->material_len = (size_t)(matlen > 0 ? matlen : 0);
        if (matlen > 0 && row->material == NULL) {
            azkm_key_info_clear(info);
            return azkm_fail(AZKM_E_NOMEM, "out of memory");
        }
    }
    return AZKM_OK;
}

azkm_rc azkm_read_version(azkm_vault *v, int64_t key_rowid, const char *version, azkm_key_info *info,
                          azkm_version_row *row)
{
    sqlite3_stmt *st = NULL;
    char lver[AZKM_VERSION_LEN + 1];
    int rc;
    azkm_rc r;
    int current = version == NULL || *version == '\0';

    if (!current) {
        if (!azkm_version_valid(version))
            return azkm_fail(AZKM_E_INVALID, "version '%.40s' is invalid: a version is 32 hexadecimal characters",
                             version);
        for (size_t i = 0; i <= AZKM_VERSION_LEN; i++)
            lver[i] = (char)((version[i] >= 'A' && version[i] <= 'F') ? version[i] + 32 : version[i]);
    }
    rc = sqlite3_prepare_v2(v->cat->db,
                            current ? VERSION_COLUMNS
                                "WHERE v.key_id = ? ORDER BY v.enabled DESC, v.seq DESC LIMIT 1"
                                    : VERSION_COLUMNS "WHERE v.key_id = ? AND v.version = ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return azkm_catalog_fail(v->cat, "reading a key version");
    sqlite3_bind_int64(st, 1, key_rowid);
    if (!current)
        sqlite3_bind_text(st, 2, lver, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return azkm_catalog_fail(v->cat, "reading a key version");
        return azkm_fail(AZKM_E_NOT_FOUND, "version %s not found", current ? "(current)" : lver);
    }
    r = azkm_row_to_info(v, st, info, row);
    if (r != AZKM_OK)
        azkm_key_info_clear(info);
    if (row != NULL)
        row->key_rowid = key_rowid;
    sqlite3_finalize(st);
    return r;
}

/* Runs VERSION_COLUMNS with a WHERE/ORDER clause binding one integer (or none when bind < 0). */
azkm_rc azkm_list_versions_rows(azkm_vault *v, const char *where, int64_t bind, azkm_key_info **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    char sql[2048];
    azkm_key_info *arr = NULL;
    size_t count = 0, cap = 0;
    int rc;
    azkm_rc r = AZKM_OK;

    snprintf(sql, sizeof(sql), "%s%s", VERSION_COLUMNS, where);
    if (sqlite3_prepare_v2(v->cat->db, sql, -1, &st, NULL) != SQLITE_OK)
        return azkm_catalog_fail(v->cat, "listing keys");
    if (bind >= 0)
        sqlite3_bind_int64(st, 1, bind);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            azkm_key_info *grown = realloc(arr, ncap * sizeof(*arr));

            if (grown == NULL) {
                r = azkm_fail(AZKM_E_NOMEM, "out of memory listing keys");
                break;
            }
            arr = grown;
            cap = ncap;
        }
        r = azkm_row_to_info(v, st, &arr[count], NULL);
        if (r == AZKM_E_INTEGRITY && arr[count].integrity_error) {
            /* One tampered record does not hide the others: it is listed, flagged. */
            r = AZKM_OK;
        } else if (r != AZKM_OK) {
            azkm_key_info_clear(&arr[count]);
            break;
        }
        count++;
    }
    if (r == AZKM_OK && rc != SQLITE_DONE)
        r = azkm_catalog_fail(v->cat, "listing keys");
    sqlite3_finalize(st);
    if (r != AZKM_OK) {
        azkm_key_info_array_free(arr, count);
        return r;
    }
    *out = arr;
    *n = count;
    return AZKM_OK;
}

azkm_rc azkm_insert_version(azkm_vault *v, int64_t key_rowid, const azkm_key_info *info,
                            const unsigned char *material, size_t material_len)
{
    sqlite3_stmt *st = NULL;
    unsigned char mac[32];
    char *tags = azkm_tags_to_json(&info->attrs);
    int rc;

    if (tags == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    azkm_attr_mac(v, info, mac);
    rc = sqlite3_prepare_v2(
        v->cat->db,
        "INSERT INTO versions(key_id, version, seq, size, curve, public_der, material, enabled, "
        "nbf, exp, key_ops, tags, created, updated, mac) VALUES(?, ?, (SELECT next_seq FROM keys "
        "WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, key_rowid);
        sqlite3_bind_text(st, 2, info->version, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, key_rowid);
        sqlite3_bind_int(st, 4, (int)info->size);
        sqlite3_bind_int(st, 5, (int)info->curve);
        if (info->public_der)
            sqlite3_bind_blob(st, 6, info->public_der, (int)info->public_der_len, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 6);
        sqlite3_bind_blob(st, 7, material, (int)material_len, SQLITE_STATIC);
        sqlite3_bind_int(st, 8, info->attrs.enabled);
        sqlite3_bind_int64(st, 9, info->attrs.not_before);
        sqlite3_bind_int64(st, 10, info->attrs.expires);
        sqlite3_bind_int(st, 11, (int)info->attrs.key_ops);
        sqlite3_bind_text(st, 12, tags, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 13, info->attrs.created);
        sqlite3_bind_int64(st, 14, info->attrs.updated);
        sqlite3_bind_blob(st, 15, mac, 32, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    free(tags);
    if (rc != SQLITE_DONE)
        return azkm_catalog_fail(v->cat, "storing a key version");
    {
        sqlite3_stmt *up = NULL;

        rc = sqlite3_prepare_v2(v->cat->db, "UPDATE keys SET next_seq = next_seq + 1 WHERE id = ?", -1, &up, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(up, 1, key_rowid);
            rc = sqlite3_step(up);
        }
        sqlite3_finalize(up);
        if (rc != SQLITE_DONE)
            return azkm_catalog_fail(v->cat, "storing a key version");
    }
    return azkm_key_state_update(v, key_rowid);
}
