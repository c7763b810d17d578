/* The vault's settings (name, id, retention, purge protection, protector, token binding) in the catalog's meta
 * table, and the MAC over them under the vault's MAC key, so that editing them outside azkm is detected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "vault/vault.h"
#include "catalog/meta.h"
#include "vault/vault_internal.h"

/* The catalog layout this azkm reads and writes. */
#define SCHEMA_VERSION "1"

static void meta_mac(const azkm_vault *v, unsigned char mac[32])
{
    char buf[4096];
    unsigned char data[4096 + AZKM_VAULT_ID_LEN];
    int n =
        snprintf(buf, sizeof(buf), "azkm-meta-v1|%s|%d|%d|%d|%lld|%s|%s|%s", v->name, v->retention_days,
                 v->purge_protection, (int)v->protector, (long long)v->created, v->hsm_module ? v->hsm_module : "",
                 v->hsm_token ? v->hsm_token : "", v->hsm_pin_source ? v->hsm_pin_source : "");

    if (n < 0 || n >= (int)sizeof(buf))
        n = (int)sizeof(buf) - 1;

    memcpy(data, v->vault_id, AZKM_VAULT_ID_LEN);
    memcpy(data + AZKM_VAULT_ID_LEN, buf, (size_t)n);
    azkm_hmac(v->mac_key, data, AZKM_VAULT_ID_LEN + (size_t)n, mac);
}

static azkm_rc meta_put_text(azkm_vault *v, const char *k, const char *val)
{
    return azkm_catalog_meta_set(v->cat, k, val, strlen(val));
}

static azkm_rc meta_put_int(azkm_vault *v, const char *k, long long val)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%lld", val);
    return meta_put_text(v, k, buf);
}

azkm_rc azkm_vault_meta_write(azkm_vault *v)
{
    unsigned char mac[32];
    azkm_rc rc = meta_put_text(v, "schema_version", SCHEMA_VERSION);

    if (rc == AZKM_OK)
        rc = meta_put_text(v, "name", v->name);
    if (rc == AZKM_OK)
        rc = azkm_catalog_meta_set(v->cat, "vault_id", v->vault_id, AZKM_VAULT_ID_LEN);
    if (rc == AZKM_OK)
        rc = meta_put_int(v, "retention_days", v->retention_days);
    if (rc == AZKM_OK)
        rc = meta_put_int(v, "purge_protection", v->purge_protection);
    if (rc == AZKM_OK)
        rc = meta_put_int(v, "protector", v->protector);
    if (rc == AZKM_OK)
        rc = meta_put_int(v, "created", v->created);
    if (rc == AZKM_OK && v->hsm_module != NULL)
        rc = meta_put_text(v, "hsm_module", v->hsm_module);
    if (rc == AZKM_OK && v->hsm_token != NULL)
        rc = meta_put_text(v, "hsm_token", v->hsm_token);
    if (rc == AZKM_OK && v->hsm_pin_source != NULL)
        rc = meta_put_text(v, "hsm_pin_source", v->hsm_pin_source);
    meta_mac(v, mac);
    if (rc == AZKM_OK)
        rc = azkm_catalog_meta_set(v->cat, "meta_mac", mac, sizeof(mac));
    return rc;
}

/* Reads an optional text setting; NULL when absent. */
static char *meta_text(azkm_vault *v, const char *k)
{
    char buf[4096];
    size_t len = 0;
    char *out = NULL;

    if (azkm_catalog_meta_get(v->cat, k, buf, sizeof(buf) - 1, &len) == AZKM_OK && len > 0 && len < sizeof(buf)) {
        out = malloc(len + 1);
        if (out != NULL) {
            memcpy(out, buf, len);
            out[len] = '\0';
        }
    }
    return out;
}

static azkm_rc meta_int(azkm_vault *v, const char *k, long long *out)
{
    char buf[32];
    char *end;
    size_t len = 0;
    azkm_rc rc = azkm_catalog_meta_get(v->cat, k, buf, sizeof(buf) - 1, &len);

    if (rc == AZKM_OK) {
        if (len == 0 || len >= sizeof(buf)) {
            rc = AZKM_E_CORRUPT;
        } else {
            buf[len] = '\0';
            *out = strtoll(buf, &end, 10);
            if (*end != '\0')
                rc = AZKM_E_CORRUPT;
        }
    }
    if (rc != AZKM_OK)
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: setting '%s' is missing or damaged in the catalog", v->name, k);
    return AZKM_OK;
}

/* The first read, where a damaged file or a database that is not a vault's shows; then the layout's version. */
static azkm_rc meta_read_identity(azkm_vault *v)
{
    char version[2];
    size_t len = 0;
    azkm_rc rc = azkm_catalog_meta_get(v->cat, "vault_id", v->vault_id, AZKM_VAULT_ID_LEN, &len);

    if (rc != AZKM_OK && rc != AZKM_E_NOT_FOUND) {
        if (azkm_catalog_failed_on_schema(v->cat))
            return azkm_fail(AZKM_E_CORRUPT, "vault %s: vault.db is not an azkm vault database (%s)", v->name,
                             azkm_catalog_errmsg(v->cat));
        return azkm_catalog_fail(v->cat, "reading the vault");
    }
    if (rc != AZKM_OK || len != AZKM_VAULT_ID_LEN)
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: the catalog has no vault id: not an azkm vault", v->name);
    if (azkm_catalog_meta_get(v->cat, "schema_version", version, 1, &len) != AZKM_OK || len != 1 ||
        memcmp(version, SCHEMA_VERSION, 1) != 0)
        return azkm_fail(AZKM_E_CORRUPT,
                         "vault %s: the catalog's schema version is missing or not %s: this azkm cannot read it",
                         v->name, SCHEMA_VERSION);
    return AZKM_OK;
}

azkm_rc azkm_vault_meta_read(azkm_vault *v, unsigned char stored_mac[32])
{
    long long n[4] = {0};
    size_t len = 0;
    azkm_rc rc = meta_read_identity(v);

    if (rc == AZKM_OK)
        rc = meta_int(v, "retention_days", &n[0]);
    if (rc == AZKM_OK)
        rc = meta_int(v, "purge_protection", &n[1]);
    if (rc == AZKM_OK)
        rc = meta_int(v, "protector", &n[2]);
    if (rc == AZKM_OK)
        rc = meta_int(v, "created", &n[3]);
    if (rc != AZKM_OK)
        return rc;
    v->retention_days = (int)n[0];
    v->purge_protection = (int)n[1];
    v->protector = (azkm_protector)n[2];
    v->created = n[3];
    if (azkm_catalog_meta_get(v->cat, "meta_mac", stored_mac, 32, &len) != AZKM_OK || len != 32)
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: the catalog's settings MAC is missing", v->name);
    v->hsm_module = meta_text(v, "hsm_module");
    v->hsm_token = meta_text(v, "hsm_token");
    v->hsm_pin_source = meta_text(v, "hsm_pin_source");
    if ((v->hsm_module == NULL) != (v->hsm_token == NULL))
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: the HSM binding in the catalog is incomplete", v->name);
    return AZKM_OK;
}

azkm_rc azkm_vault_meta_check(azkm_vault *v, const unsigned char stored_mac[32])
{
    char name[AZKM_VAULT_NAME_MAX + 1];
    unsigned char mac[32];
    size_t len = 0;

    /* The stored name keeps the case it was created with. */
    if (azkm_catalog_meta_get(v->cat, "name", name, AZKM_VAULT_NAME_MAX, &len) == AZKM_OK && len > 0 &&
        len <= AZKM_VAULT_NAME_MAX) {
        memcpy(v->name, name, len);
        v->name[len] = '\0';
    }
    meta_mac(v, mac);
    if (CRYPTO_memcmp(mac, stored_mac, 32) != 0)
        return azkm_fail(AZKM_E_INTEGRITY,
                         "vault %s: integrity check failed for the vault settings (retention, purge protection): "
                         "the catalog was edited outside azkm or belongs to another master key",
                         v->name);
    return AZKM_OK;
}
