/* Key and version records: catalog rows (catalog/keys.h, catalog/versions.h) to and from azkm_key_info, with the
 * attribute MAC that detects edits made outside azkm, and the key state MAC checked whenever a key is found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "keys/records.h"
#include "keys/keys.h"

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

void azkm_key_name_lc(const char *name, char out[AZKM_NAME_MAX + 1])
{
    size_t n = strnlen(name, AZKM_NAME_MAX);

    for (size_t i = 0; i < n; i++)
        out[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    out[n] = '\0';
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
    size_t len;
    char *buf;

    azkm_key_name_lc(info->name, lname);
    if (info->public_der_len > 0)
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

/* Refuses a key found in the wrong deletion state for the caller (deleted: 0 active only, 1 deleted only). */
static azkm_rc check_deleted(azkm_vault *v, const char *name, int deleted, int64_t deleted_on)
{
    if (deleted == 0 && deleted_on != 0)
        return azkm_fail(
            AZKM_E_NOT_FOUND,
            "key %s/%s is deleted (it can be recovered or purged; its name cannot be used until purged)", v->name,
            name);
    if (deleted == 1 && deleted_on == 0)
        return azkm_fail(AZKM_E_NOT_FOUND, "key %s/%s is not deleted", v->name, name);
    return AZKM_OK;
}

azkm_rc azkm_find_key(azkm_vault *v, const char *name, int deleted, int64_t *rowid, char *canon_name,
                      int64_t *deleted_on, int64_t *scheduled_purge)
{
    char lname[AZKM_NAME_MAX + 1];
    azkm_catalog_key_row r;
    azkm_rc rc;

    if (!azkm_key_name_valid(name))
        return azkm_fail(AZKM_E_INVALID, "key name '%.64s%s' is invalid: 1-127 characters of a-z, A-Z, 0-9 and '-'",
                         name ? name : "", name && strlen(name) > 64 ? "..." : "");
    azkm_key_name_lc(name, lname);
    rc = azkm_catalog_key_find(v->cat, lname, &r);
    if (rc == AZKM_E_NOT_FOUND)
        return azkm_fail(AZKM_E_NOT_FOUND, "key %s/%s not found%s", v->name, name,
                         deleted == 1 ? " among deleted keys" : "");
    if (rc != AZKM_OK)
        return rc;
    rc = azkm_key_state_verify(v, &r, r.name);
    if (rc == AZKM_OK && r.deleted_on != 0 && r.scheduled_purge <= azkm_now(v->ks)) {
        char when[AZKM_ISO_TIME_LEN];

        /* Purged at its scheduled purge date, as in Key Vault: its rows wait only for the next write's sweep. */
        rc = azkm_fail(AZKM_E_NOT_FOUND,
                       "key %s/%s not found: it was deleted and purged at its scheduled purge date %s", v->name,
                       name, azkm_iso_time(r.scheduled_purge, when));
    }
    if (rc == AZKM_OK)
        rc = check_deleted(v, name, deleted, r.deleted_on);
    if (rc == AZKM_OK && rowid)
        *rowid = r.id;
    if (rc == AZKM_OK && canon_name)
        snprintf(canon_name, AZKM_NAME_MAX + 1, "%s", r.name);
    if (rc == AZKM_OK && deleted_on)
        *deleted_on = r.deleted_on;
    if (rc == AZKM_OK && scheduled_purge)
        *scheduled_purge = r.scheduled_purge;
    azkm_catalog_key_row_clear(&r);
    return rc;
}

/* The fields of info a version row gives, before any check. */
static void fill_info(azkm_vault *v, const azkm_catalog_version_row *r, azkm_key_info *info)
{
    memset(info, 0, sizeof(*info));
    azkm_fill_recovery(v, info);
    snprintf(info->name, sizeof(info->name), "%s", r->name);
    snprintf(info->version, sizeof(info->version), "%s", r->version ? r->version : "");
    info->kty = (azkm_kty)(int)r->kty;
    info->protection = (azkm_protection)(int)r->protection;
    info->size = (unsigned)(int)r->size;
    info->curve = (azkm_curve)(int)r->curve;
    info->attrs.enabled = (int)r->enabled;
    info->attrs.not_before = r->nbf;
    info->attrs.expires = r->exp;
    info->attrs.key_ops = (unsigned)(int)r->key_ops;
    info->attrs.created = r->created;
    info->attrs.updated = r->updated;
    info->deleted_on = r->deleted_on;
    info->scheduled_purge = r->scheduled_purge;
    info->current = r->current;
}

/* An RSA-PSS key's restrictions are in its public key (material/rsa_pss.c). */
static azkm_rc info_read_pss(const azkm_vault *v, azkm_key_info *info)
{
    azkm_rc rc = AZKM_OK;

    memset(&info->pss, 0, sizeof(info->pss));
    if (info->kty == AZKM_KTY_RSA)
        rc = azkm_spki_rsa_pss_read(v->ks->libctx, info->public_der, info->public_der_len, &info->pss);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "vault %s: key %s version %s: %s", v->name, info->name, info->version,
                         azkm_last_error());
    return AZKM_OK;
}

azkm_rc azkm_version_info(azkm_vault *v, const azkm_catalog_version_row *r, azkm_key_info *info)
{
    unsigned char expect[32];

    fill_info(v, r, info);
    if (r->tags == NULL || azkm_tags_from_json(r->tags, &info->attrs) != AZKM_OK ||
        !azkm_version_valid(info->version)) {
        info->integrity_error = 1;
        return azkm_fail(AZKM_E_INTEGRITY, "vault %s: key %s version %s: the record is damaged", v->name,
                         info->name, info->version);
    }
    if (r->public_der != NULL) {
        if (r->public_der_len > sizeof(info->public_der)) {
            info->integrity_error = 1;
            return azkm_fail(AZKM_E_INTEGRITY, "vault %s: key %s version %s: its public key is %zu bytes, over %d",
                             v->name, info->name, info->version, r->public_der_len, AZKM_PUBLIC_DER_MAX);
        }
        memcpy(info->public_der, r->public_der, r->public_der_len);
        info->public_der_len = r->public_der_len;
    }
    azkm_attr_mac(v, info, expect);
    if (r->mac == NULL || r->mac_len != 32 || CRYPTO_memcmp(r->mac, expect, 32) != 0) {
        info->integrity_error = 1;
        return azkm_fail(
            AZKM_E_INTEGRITY,
            "vault %s: integrity check failed for key %s version %s: its attributes or public key were "
            "changed outside azkm",
            v->name, info->name, info->version);
    }
    return info_read_pss(v, info);
}

azkm_rc azkm_key_info_set_public(const azkm_vault *v, azkm_key_info *info, const unsigned char *der, size_t len)
{
    if (len > sizeof(info->public_der))
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "vault %s: key %s: a public key of %zu bytes is over the %d azkm holds", v->name,
                         info->name, len, AZKM_PUBLIC_DER_MAX);
    if (der != NULL)
        memcpy(info->public_der, der, len);
    info->public_der_len = der != NULL ? len : 0;
    return info_read_pss(v, info);
}

azkm_rc azkm_versions_info(azkm_vault *v, const azkm_catalog_version_row *rows, size_t n, azkm_key_info **out,
                           size_t *nout)
{
    azkm_key_info *arr = n > 0 ? OPENSSL_zalloc(n * sizeof(*arr)) : NULL;

    *out = NULL;
    *nout = 0;
    if (n > 0 && arr == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory listing keys");
    for (size_t i = 0; i < n; i++) {
        azkm_rc rc = azkm_version_info(v, &rows[i], &arr[i]);

        /* One tampered record does not hide the others: it is listed, flagged. */
        if (rc != AZKM_OK && !(rc == AZKM_E_INTEGRITY && arr[i].integrity_error)) {
            azkm_free(arr);
            return rc;
        }
    }
    *out = arr;
    *nout = n;
    return AZKM_OK;
}

azkm_rc azkm_read_version(azkm_vault *v, int64_t key_rowid, const char *version, azkm_key_info *info,
                          azkm_version_row *row)
{
    azkm_catalog_version_row r;
    char lver[AZKM_VERSION_LEN + 1];
    int current = version == NULL || *version == '\0';
    azkm_rc rc;

    if (!current) {
        if (!azkm_version_valid(version))
            return azkm_fail(AZKM_E_INVALID, "version '%.40s' is invalid: a version is 32 hexadecimal characters",
                             version);
        for (size_t i = 0; i <= AZKM_VERSION_LEN; i++)
            lver[i] = (char)((version[i] >= 'A' && version[i] <= 'F') ? version[i] + 32 : version[i]);
    }
    rc = azkm_catalog_version_get(v->cat, key_rowid, current ? NULL : lver, &r);
    if (rc == AZKM_E_NOT_FOUND)
        return azkm_fail(AZKM_E_NOT_FOUND, "version %s not found", current ? "(current)" : lver);
    if (rc != AZKM_OK)
        return rc;
    rc = azkm_version_info(v, &r, info);
    if (rc != AZKM_OK) {
        memset(info, 0, sizeof(*info));
    } else if (row != NULL) {
        /* the material moves to the caller's row */
        row->seq = r.seq;
        row->material = r.material;
        row->material_len = r.material_len;
        r.material = NULL;
    }
    if (row != NULL)
        row->key_rowid = key_rowid;
    azkm_catalog_version_row_clear(&r);
    return rc;
}

azkm_rc azkm_insert_version(azkm_vault *v, int64_t key_rowid, const azkm_key_info *info,
                            const unsigned char *material, size_t material_len)
{
    azkm_catalog_version_row r;
    unsigned char mac[32];
    char *tags = azkm_tags_to_json(&info->attrs);
    azkm_rc rc;

    if (tags == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    azkm_attr_mac(v, info, mac);
    memset(&r, 0, sizeof(r));
    r.key_id = key_rowid;
    r.version = (char *)info->version;
    r.size = (int)info->size;
    r.curve = (int)info->curve;
    r.public_der = (unsigned char *)info->public_der; /* only read */
    r.public_der_len = info->public_der_len;
    r.material = (unsigned char *)material; /* only read */
    r.material_len = material_len;
    r.enabled = info->attrs.enabled;
    r.nbf = info->attrs.not_before;
    r.exp = info->attrs.expires;
    r.key_ops = (int)info->attrs.key_ops;
    r.tags = tags;
    r.created = info->attrs.created;
    r.updated = info->attrs.updated;
    r.mac = mac;
    r.mac_len = sizeof(mac);
    rc = azkm_catalog_version_insert(v->cat, &r);
    free(tags);
    return rc == AZKM_OK ? azkm_key_state_update(v, key_rowid) : rc;
}

size_t azkm_material_aad(const azkm_vault *v, const char *name, const char *version, azkm_kty kty,
                         azkm_protection protection, unsigned char *buf, size_t len)
{
    char lname[AZKM_NAME_MAX + 1];
    size_t n = strlen(name), need;

    for (size_t i = 0; i <= n; i++)
        lname[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    /* "azkm-key-v1" | vault id | len(name) | lowercase name | version | kty | protection */
    need = 11 + AZKM_VAULT_ID_LEN + 1 + n + AZKM_VERSION_LEN + 2;
    if (need > len)
        return 0;
    memcpy(buf, "azkm-key-v1", 11);
    memcpy(buf + 11, v->vault_id, AZKM_VAULT_ID_LEN);
    buf[11 + AZKM_VAULT_ID_LEN] = (unsigned char)n;
    memcpy(buf + 12 + AZKM_VAULT_ID_LEN, lname, n);
    memcpy(buf + 12 + AZKM_VAULT_ID_LEN + n, version, AZKM_VERSION_LEN);
    buf[need - 2] = (unsigned char)kty;
    buf[need - 1] = (unsigned char)protection;
    return need;
}
