/* Keystores and vaults: a keystore is a directory of vaults; a vault is a directory holding its SQLite catalog
 * (vault.db) and its master key file (master.key), both private to the owner. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"
#include "catalog/sqlite.h"
#include "base/secmem.h"

#define SCHEMA_VERSION "1"

azkm_rc azkm_keystore_open(const azkm_options *opt, azkm_keystore **out)
{
    azkm_keystore *ks = OPENSSL_zalloc(sizeof(*ks));
    azkm_config *cfg = OPENSSL_zalloc(sizeof(*cfg));
    azkm_rc rc;

    if (ks == NULL || cfg == NULL) {
        OPENSSL_free(ks);
        OPENSSL_free(cfg);
        return azkm_fail(AZKM_E_NOMEM, "out of memory opening the keystore");
    }
    ks->audit_fd = -1;
    rc = azkm_config_load(opt, cfg);
    if (rc == AZKM_OK) {
        memcpy(ks->dir, cfg->dir, sizeof(ks->dir));
        ks->audit_key_operations = cfg->audit_key_operations;
        ks->secure_heap_size = cfg->secure_heap_size;
        if (cfg->audit_log[0] && (ks->audit_path = OPENSSL_strdup(cfg->audit_log)) == NULL)
            rc = azkm_fail(AZKM_E_NOMEM, "out of memory opening the keystore");
    }
    OPENSSL_free(cfg);
    if (rc == AZKM_OK)
        rc = azkm_audit_open(ks);
    if (rc != AZKM_OK) {
        OPENSSL_free(ks->audit_path);
        OPENSSL_free(ks);
        return rc;
    }
    if (opt != NULL) {
        ks->libctx = opt->libctx;
        ks->propq = opt->propq ? OPENSSL_strdup(opt->propq) : NULL;
        ks->passphrase_cb = opt->passphrase_cb;
        ks->passphrase_arg = opt->passphrase_arg;
        ks->clock = opt->clock;
        ks->clock_arg = opt->clock_arg;
        ks->pin_cb = opt->pin_cb;
        ks->pin_arg = opt->pin_arg;
    }
    *out = ks;
    return AZKM_OK;
}

void azkm_keystore_free(azkm_keystore *ks)
{
    if (ks == NULL)
        return;
    azkm_audit_close(ks);
    OPENSSL_free(ks->audit_path);
    OPENSSL_free(ks->propq);
    OPENSSL_free(ks);
}

const char *azkm_keystore_dir(const azkm_keystore *ks)
{
    return ks->dir;
}

int64_t azkm_keystore_now(const azkm_keystore *ks)
{
    return azkm_now(ks);
}

int64_t azkm_now(const azkm_keystore *ks)
{
    return ks->clock ? ks->clock(ks->clock_arg) : (int64_t)time(NULL);
}

static void lowercase(char *dst, const char *src, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len && src[i]; i++)
        dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
    dst[i] = '\0';
}

static azkm_rc vault_dir(azkm_keystore *ks, const char *name, char *dir, size_t len)
{
    char lname[AZKM_VAULT_NAME_MAX + 1];

    if (!azkm_vault_name_valid(name))
        return azkm_fail(AZKM_E_INVALID,
                         "vault name '%.64s' is invalid: 3-24 of a-z, A-Z, 0-9 and '-', starting with a letter, "
                         "not ending with '-', no '--'",
                         name ? name : "");
    lowercase(lname, name, sizeof(lname));
    if ((size_t)snprintf(dir, len, "%s/%s", ks->dir, lname) >= len)
        return azkm_fail(AZKM_E_INVALID, "vault %s: path too long", name);
    return AZKM_OK;
}

/* The meta MAC covers the vault's settings, so that editing retention or purge protection is detected. */
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

static azkm_rc meta_put(azkm_vault *v, const char *k, const void *val, int len)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(v->cat->db, "INSERT OR REPLACE INTO meta(k, v) VALUES(?, ?)", -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, val, len, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(v->cat, "writing vault settings");
}

static azkm_rc meta_put_int(azkm_vault *v, const char *k, long long val)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%lld", val);
    return meta_put(v, k, buf, (int)strlen(buf));
}

static azkm_rc meta_write_all(azkm_vault *v)
{
    unsigned char mac[32];
    azkm_rc rc = meta_put(v, "schema_version", SCHEMA_VERSION, 1);

    if (rc == AZKM_OK)
        rc = meta_put(v, "name", v->name, (int)strlen(v->name));
    if (rc == AZKM_OK)
        rc = meta_put(v, "vault_id", v->vault_id, AZKM_VAULT_ID_LEN);
    if (rc == AZKM_OK)
        rc = meta_put_int(v, "retention_days", v->retention_days);
    if (rc == AZKM_OK)
        rc = meta_put_int(v, "purge_protection", v->purge_protection);
    if (rc == AZKM_OK)
        rc = meta_put_int(v, "protector", v->protector);
    if (rc == AZKM_OK)
        rc = meta_put_int(v, "created", v->created);
    if (rc == AZKM_OK && v->hsm_module != NULL)
        rc = meta_put(v, "hsm_module", v->hsm_module, (int)strlen(v->hsm_module));
    if (rc == AZKM_OK && v->hsm_token != NULL)
        rc = meta_put(v, "hsm_token", v->hsm_token, (int)strlen(v->hsm_token));
    if (rc == AZKM_OK && v->hsm_pin_source != NULL)
        rc = meta_put(v, "hsm_pin_source", v->hsm_pin_source, (int)strlen(v->hsm_pin_source));
    meta_mac(v, mac);
    if (rc == AZKM_OK)
        rc = meta_put(v, "meta_mac", mac, sizeof(mac));
    return rc;
}

/* Before the first secret of the process is unsealed: the secure heap, and a note in the audit log when it could
 * not be set up as configured (once per process, in the log of the keystore that set it up). */
static void secmem_setup(azkm_keystore *ks)
{
    char note[512];

    if (azkm_secmem_init(ks->secure_heap_size, note, sizeof(note)) && note[0] != '\0')
        azkm_audit_note(ks, "SecureMemory", AZKM_OK, note);
}

/* A new vault object for create and open, its derived keys in secret memory (the rest of the vault lives in the
 * ordinary heap), and a buffer in secret memory for its master key (azkm_secret_free). */
static azkm_rc vault_new(azkm_keystore *ks, azkm_vault **out, unsigned char **mk)
{
    azkm_vault *v;
    unsigned char *keys;

    secmem_setup(ks);
    v = OPENSSL_zalloc(sizeof(*v));
    keys = azkm_secret_zalloc(3 * 32);
    *mk = azkm_secret_zalloc(AZKM_MASTER_KEY_LEN);
    if (v == NULL || keys == NULL || *mk == NULL) {
        OPENSSL_free(v);
        azkm_secret_free(keys, 3 * 32);
        azkm_secret_free(*mk, AZKM_MASTER_KEY_LEN);
        *mk = NULL;
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    }
    v->ks = ks;
    v->seal_key = keys;
    v->mac_key = keys + 32;
    v->backup_key = keys + 64;
    *out = v;
    return AZKM_OK;
}

static void vault_free(azkm_vault *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < 2; i++)
        if (v->tiers[i] != NULL)
            azkm_tier_free(v->tiers[i]);
    azkm_catalog_close(v->cat);
    free(v->hsm_module);
    free(v->hsm_token);
    free(v->hsm_pin_source);
    azkm_secret_free(v->seal_key, 3 * 32);
    OPENSSL_clear_free(v, sizeof(*v));
}

static azkm_rc hsm_tier(azkm_vault *v, const char *module, const char *token, const char *pin_source,
                        azkm_tier **out)
{
    azkm_tier_pkcs11_settings cfg = {module, token, pin_source, v->ks->pin_cb, v->ks->pin_arg};
    azkm_rc rc = azkm_tier_new(AZKM_TIER_PKCS11, v->ks->libctx, v->ks->propq, &cfg, out);

    if (rc != AZKM_OK)
        return azkm_fail(rc, "vault %s: %s", v->name, azkm_last_error());
    return AZKM_OK;
}

static azkm_rc vault_tiers(azkm_vault *v)
{
    azkm_tier_software_settings sw = {v->seal_key};
    azkm_rc rc =
        azkm_tier_new(AZKM_TIER_SOFTWARE, v->ks->libctx, v->ks->propq, &sw, &v->tiers[AZKM_PROTECTION_SOFTWARE]);

    /* The token is set up now but only initialised and logged in to when a key needs it. */
    if (rc == AZKM_OK && v->hsm_module != NULL)
        rc = hsm_tier(v, v->hsm_module, v->hsm_token, v->hsm_pin_source, &v->tiers[AZKM_PROTECTION_HSM]);
    return rc;
}

/* Reads an optional text setting; NULL when absent. */
static char *meta_text(azkm_vault *v, const char *k)
{
    sqlite3_stmt *st = NULL;
    const void *val;
    int len;
    char *out = NULL;

    if (azkm_catalog_meta_get(v->cat, k, &val, &len, &st) == AZKM_OK && len > 0 && len < 4096) {
        out = malloc((size_t)len + 1);
        if (out != NULL) {
            memcpy(out, val, (size_t)len);
            out[len] = '\0';
        }
    }
    sqlite3_finalize(st);
    return out;
}

static azkm_rc check_binding(const azkm_vault *v, const azkm_hsm_binding *b)
{
    const char *pin = b->pin_source ? b->pin_source : "prompt";

    if (b->module == NULL || b->token == NULL || b->module[0] != '/' || b->token[0] == '\0')
        return azkm_fail(AZKM_E_INVALID, "vault %s: an HSM binding needs an absolute module path and a token",
                         v->name);
    if (strncmp(pin, "file:", 5) != 0 && strncmp(pin, "env:", 4) != 0 && strcmp(pin, "prompt") != 0)
        return azkm_fail(AZKM_E_INVALID, "vault %s: PIN source '%s' is not file:PATH, env:NAME or prompt", v->name,
                         pin);
    return AZKM_OK;
}

static azkm_rc vault_bind_hsm_impl(azkm_vault *v, const azkm_hsm_binding *b)
{
    azkm_tier *t = NULL;
    char *old[3] = {v->hsm_module, v->hsm_token, v->hsm_pin_source};
    const char *pin = b && b->pin_source ? b->pin_source : "prompt";
    azkm_rc rc;

    if (b == NULL)
        return azkm_fail(AZKM_E_INVALID, "vault %s: no HSM binding given", v->name);
    if (v->protector == AZKM_PROTECTOR_HSM)
        return azkm_fail(AZKM_E_FORBIDDEN,
                         "vault %s: its master key is held by its token: the binding cannot change", v->name);
    rc = check_binding(v, b);
    if (rc == AZKM_OK)
        rc = hsm_tier(v, b->module, b->token, pin, &t);
    /* Prove the binding now (module, token, PIN), not at the first key operation. */
    if (rc == AZKM_OK && (rc = azkm_tier_check(t)) != AZKM_OK)
        rc = azkm_fail(rc, "vault %s: %s", v->name, azkm_last_error());
    if (rc == AZKM_OK)
        rc = azkm_catalog_begin(v->cat);
    if (rc != AZKM_OK) {
        if (t != NULL)
            azkm_tier_free(t);
        return rc;
    }
    v->hsm_module = strdup(b->module);
    v->hsm_token = strdup(b->token);
    v->hsm_pin_source = strdup(pin);
    rc = meta_write_all(v);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    if (rc != AZKM_OK) {
        azkm_catalog_rollback(v->cat);
        free(v->hsm_module);
        free(v->hsm_token);
        free(v->hsm_pin_source);
        v->hsm_module = old[0];
        v->hsm_token = old[1];
        v->hsm_pin_source = old[2];
        azkm_tier_free(t);
        return rc;
    }
    free(old[0]);
    free(old[1]);
    free(old[2]);
    if (v->tiers[AZKM_PROTECTION_HSM] != NULL)
        azkm_tier_free(v->tiers[AZKM_PROTECTION_HSM]);
    v->tiers[AZKM_PROTECTION_HSM] = t;
    return AZKM_OK;
}

azkm_tier *azkm_vault_tier(azkm_vault *v, azkm_protection protection)
{
    if ((unsigned)protection >= 2 || v->tiers[protection] == NULL) {
        azkm_fail(AZKM_E_UNSUPPORTED, "vault %s: the %s tier is not available", v->name,
                  protection == AZKM_PROTECTION_HSM ? "HSM (PKCS#11)" : "software");
        return NULL;
    }
    return v->tiers[protection];
}

static azkm_rc vault_create_impl(azkm_keystore *ks, const char *name, const azkm_vault_params *params)
{
    azkm_vault *v;
    unsigned char *mk;
    char path[4200];
    struct stat st;
    azkm_rc rc;
    int retention = params && params->retention_days ? params->retention_days : 90;

    if (retention < 7 || retention > 90)
        return azkm_fail(AZKM_E_INVALID, "vault %s: retention must be 7 to 90 days, not %d", name ? name : "",
                         retention);
    if ((rc = vault_new(ks, &v, &mk)) != AZKM_OK)
        return rc;
    rc = vault_dir(ks, name, v->dir, sizeof(v->dir));
    if (rc != AZKM_OK)
        goto done;
    snprintf(v->name, sizeof(v->name), "%s", name);
    if (stat(v->dir, &st) == 0) {
        rc = azkm_fail(AZKM_E_CONFLICT, "vault %s already exists in %s", name, ks->dir);
        goto done;
    }
    rc = azkm_mkdir_private(ks->dir);
    if (rc == AZKM_OK && mkdir(v->dir, 0700) != 0)
        rc = azkm_fail(errno == EEXIST ? AZKM_E_CONFLICT : AZKM_E_IO, "vault %s: cannot create %s: %s", name,
                       v->dir, strerror(errno));
    if (rc != AZKM_OK)
        goto done;
    v->retention_days = retention;
    v->purge_protection = params ? !!params->purge_protection : 0;
    v->protector = params ? params->protector : AZKM_PROTECTOR_PLATFORM;
    v->created = azkm_now(ks);
    if (RAND_bytes_ex(ks->libctx, v->vault_id, AZKM_VAULT_ID_LEN, 0) != 1) {
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "vault %s: cannot generate an id", name);
        goto undo;
    }
    if (params != NULL && params->hsm != NULL) {
        /* Bound at creation: the token must work before anything is written under its protection. */
        const azkm_hsm_binding *b = params->hsm;

        v->hsm_module = strdup(b->module ? b->module : "");
        v->hsm_token = strdup(b->token ? b->token : "");
        v->hsm_pin_source = strdup(b->pin_source ? b->pin_source : "prompt");
        rc = check_binding(v, b);
        if (rc == AZKM_OK)
            rc = hsm_tier(v, v->hsm_module, v->hsm_token, v->hsm_pin_source, &v->tiers[AZKM_PROTECTION_HSM]);
        if (rc == AZKM_OK && (rc = azkm_tier_check(v->tiers[AZKM_PROTECTION_HSM])) != AZKM_OK)
            rc = azkm_fail(rc, "vault %s: %s", v->name, azkm_last_error());
    } else if (v->protector == AZKM_PROTECTOR_HSM) {
        rc = azkm_fail(AZKM_E_INVALID, "vault %s: the HSM protector needs a token binding (module, token, PIN)",
                       name);
    }
    if (rc == AZKM_OK)
        rc = azkm_masterkey_create(v, mk);
    if (rc == AZKM_OK)
        rc = azkm_derive_keys(v, mk);
    OPENSSL_cleanse(mk, AZKM_MASTER_KEY_LEN);
    snprintf(path, sizeof(path), "%s/vault.db", v->dir);
    if (rc == AZKM_OK) {
        mode_t old = umask(077);

        rc = azkm_catalog_open(path, 1, &v->cat);
        umask(old);
    }
    if (rc == AZKM_OK)
        rc = azkm_catalog_begin(v->cat);
    if (rc == AZKM_OK) {
        rc = meta_write_all(v);
        if (rc == AZKM_OK)
            rc = azkm_catalog_commit(v->cat);
        else
            azkm_catalog_rollback(v->cat);
    }
undo:
    if (rc != AZKM_OK) {
        azkm_rc keep = rc;
        char msg[1024];

        snprintf(msg, sizeof(msg), "%s", azkm_last_error());
        azkm_catalog_close(v->cat);
        v->cat = NULL;
        snprintf(path, sizeof(path), "%s/vault.db", v->dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/vault.db-wal", v->dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/vault.db-shm", v->dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/master.key", v->dir);
        unlink(path);
        rmdir(v->dir);
        rc = azkm_fail(keep, "%s", msg);
    }
done:
    azkm_secret_free(mk, AZKM_MASTER_KEY_LEN);
    vault_free(v);
    azkm_stack_scrub();
    return rc;
}

static azkm_rc meta_int(azkm_vault *v, const char *k, long long *out)
{
    sqlite3_stmt *st = NULL;
    const void *val;
    int len;
    char buf[32];
    char *end;
    azkm_rc rc = azkm_catalog_meta_get(v->cat, k, &val, &len, &st);

    if (rc == AZKM_OK) {
        if (len <= 0 || len >= (int)sizeof(buf)) {
            rc = AZKM_E_CORRUPT;
        } else {
            memcpy(buf, val, (size_t)len);
            buf[len] = '\0';
            *out = strtoll(buf, &end, 10);
            if (*end != '\0')
                rc = AZKM_E_CORRUPT;
        }
    }
    sqlite3_finalize(st);
    if (rc != AZKM_OK)
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: setting '%s' is missing or damaged in the catalog", v->name, k);
    return AZKM_OK;
}

static azkm_rc meta_read(azkm_vault *v, unsigned char mac[32])
{
    sqlite3_stmt *st = NULL;
    const void *val;
    int len;
    long long n;
    azkm_rc rc = azkm_catalog_meta_get(v->cat, "vault_id", &val, &len, &st);

    if (rc != AZKM_OK || len != AZKM_VAULT_ID_LEN) {
        sqlite3_finalize(st);
        if (rc == AZKM_E_CORRUPT) {
            /* The first read is where a damaged file shows. */
            if ((sqlite3_extended_errcode(v->cat->db) & 0xff) == SQLITE_ERROR)
                return azkm_fail(AZKM_E_CORRUPT, "vault %s: vault.db is not an azkm vault database (%s)", v->name,
                                 sqlite3_errmsg(v->cat->db));
            return azkm_catalog_fail(v->cat, "reading the vault");
        }
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: the catalog has no vault id: not an azkm vault", v->name);
    }
    memcpy(v->vault_id, val, AZKM_VAULT_ID_LEN);
    sqlite3_finalize(st);
    if (azkm_catalog_meta_get(v->cat, "schema_version", &val, &len, &st) != AZKM_OK || len != 1 ||
        memcmp(val, SCHEMA_VERSION, 1) != 0) {
        sqlite3_finalize(st);
        return azkm_fail(AZKM_E_CORRUPT,
                         "vault %s: the catalog's schema version is missing or not %s: this azkm cannot read it",
                         v->name, SCHEMA_VERSION);
    }
    sqlite3_finalize(st);
    if ((rc = meta_int(v, "retention_days", &n)) != AZKM_OK)
        return rc;
    v->retention_days = (int)n;
    if ((rc = meta_int(v, "purge_protection", &n)) != AZKM_OK)
        return rc;
    v->purge_protection = (int)n;
    if ((rc = meta_int(v, "protector", &n)) != AZKM_OK)
        return rc;
    v->protector = (azkm_protector)n;
    if ((rc = meta_int(v, "created", &n)) != AZKM_OK)
        return rc;
    v->created = n;
    rc = azkm_catalog_meta_get(v->cat, "meta_mac", &val, &len, &st);
    if (rc != AZKM_OK || len != 32) {
        sqlite3_finalize(st);
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: the catalog's settings MAC is missing", v->name);
    }
    memcpy(mac, val, 32);
    sqlite3_finalize(st);
    v->hsm_module = meta_text(v, "hsm_module");
    v->hsm_token = meta_text(v, "hsm_token");
    v->hsm_pin_source = meta_text(v, "hsm_pin_source");
    if ((v->hsm_module == NULL) != (v->hsm_token == NULL))
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: the HSM binding in the catalog is incomplete", v->name);
    return AZKM_OK;
}

/* SQLite opens the WAL and shared-memory files beside the database on its own: a directory or a device there
 * would surface later as a misleading "cannot open database", and a file others can read holds recent pages. */
static azkm_rc check_companions(const char *name, const char *db_path)
{
    static const char *const suffix[] = {"-wal", "-shm"};
    static const char *const what[] = {"vault database WAL file", "vault database shared-memory file"};
    char path[4300];
    struct stat st;
    azkm_rc rc;

    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s%s", db_path, suffix[i]);
        if (stat(path, &st) != 0)
            continue;
        if (!S_ISREG(st.st_mode))
            return azkm_fail(AZKM_E_CORRUPT, "vault %s: %s is not a regular file", name, path);
        if ((rc = azkm_check_private(path, 0, what[i])) != AZKM_OK)
            return azkm_fail(rc, "vault %s: %s", name, azkm_last_error());
    }
    return AZKM_OK;
}

azkm_rc azkm_vault_open(azkm_keystore *ks, const char *name, azkm_vault **out)
{
    azkm_vault *v;
    unsigned char *mk, stored_mac[32], mac[32];
    char path[4200];
    struct stat st;
    azkm_rc rc;

    if ((rc = vault_new(ks, &v, &mk)) != AZKM_OK)
        return rc;
    rc = vault_dir(ks, name, v->dir, sizeof(v->dir));
    if (rc != AZKM_OK)
        goto fail;
    snprintf(v->name, sizeof(v->name), "%s", name);
    snprintf(path, sizeof(path), "%s/vault.db", v->dir);
    if (stat(v->dir, &st) != 0 && errno == ENOENT) {
        rc = azkm_fail(AZKM_E_NOT_FOUND, "vault %s not found in %s", name, ks->dir);
        goto fail;
    }
    if ((rc = azkm_check_private(v->dir, 0, "vault directory")) != AZKM_OK ||
        (rc = azkm_check_private(path, 0, "vault database")) != AZKM_OK) {
        rc = azkm_fail(rc, "vault %s: %s", name, azkm_last_error());
        goto fail;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        rc = azkm_fail(AZKM_E_CORRUPT, "vault %s: %s is not a regular file", name, path);
        goto fail;
    }
    if ((rc = check_companions(name, path)) != AZKM_OK)
        goto fail;
    /* An empty file would be turned into a fresh database by merely opening it. */
    if (stat(path, &st) == 0 && st.st_size < 512) {
        rc = azkm_fail(AZKM_E_CORRUPT,
                       "vault %s: database %s is empty or truncated (%lld bytes); restore it from a copy", name,
                       path, (long long)st.st_size);
        goto fail;
    }
    rc = azkm_catalog_open(path, 0, &v->cat);
    if (rc != AZKM_OK) {
        rc = azkm_fail(rc, "vault %s: %s", name, azkm_last_error());
        goto fail;
    }
    rc = meta_read(v, stored_mac);
    if (rc != AZKM_OK)
        goto fail;
    /* Tiers come first: an HSM-held master key is unwrapped by the token. The binding they use is checked by
     * the settings MAC below, and the module file itself before it is loaded. */
    rc = vault_tiers(v);
    if (rc == AZKM_OK)
        rc = azkm_masterkey_load(v, mk);
    if (rc == AZKM_OK)
        rc = azkm_derive_keys(v, mk);
    azkm_secret_free(mk, AZKM_MASTER_KEY_LEN);
    mk = NULL;
    if (rc != AZKM_OK)
        goto fail;
    {
        /* The stored name keeps the case it was created with. */
        sqlite3_stmt *s = NULL;
        const void *val;
        int len;

        if (azkm_catalog_meta_get(v->cat, "name", &val, &len, &s) == AZKM_OK && len > 0 &&
            len <= AZKM_VAULT_NAME_MAX) {
            memcpy(v->name, val, (size_t)len);
            v->name[len] = '\0';
        }
        sqlite3_finalize(s);
    }
    meta_mac(v, mac);
    if (CRYPTO_memcmp(mac, stored_mac, 32) != 0) {
        rc = azkm_fail(AZKM_E_INTEGRITY,
                       "vault %s: integrity check failed for the vault settings (retention, purge protection): "
                       "the catalog was edited outside azkm or belongs to another master key",
                       v->name);
        goto fail;
    }
    v->refs = 1;
    *out = v;
    azkm_stack_scrub();
    return AZKM_OK;
fail:
    azkm_secret_free(mk, AZKM_MASTER_KEY_LEN);
    vault_free(v);
    azkm_stack_scrub();
    return rc;
}

void azkm_vault_ref(azkm_vault *v)
{
    __atomic_add_fetch(&v->refs, 1, __ATOMIC_ACQ_REL);
}

void azkm_vault_close(azkm_vault *v)
{
    if (v != NULL && __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) == 0)
        vault_free(v);
}

const char *azkm_vault_name(const azkm_vault *v)
{
    return v->name;
}

static azkm_rc count_keys(azkm_vault *v, int deleted, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(v->cat->db,
                                deleted ? "SELECT count(*) FROM keys WHERE deleted_on != 0"
                                        : "SELECT count(*) FROM keys WHERE deleted_on = 0",
                                -1, &st, NULL);

    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *n = (size_t)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return AZKM_OK;
    }
    sqlite3_finalize(st);
    return azkm_catalog_fail(v->cat, "counting keys");
}

azkm_rc azkm_vault_info_get(azkm_vault *v, azkm_vault_info *out)
{
    azkm_rc rc;

    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", v->name);
    snprintf(out->path, sizeof(out->path), "%s", v->dir);
    out->retention_days = v->retention_days;
    out->purge_protection = v->purge_protection;
    out->protector = v->protector;
    out->created = v->created;
    snprintf(out->hsm_module, sizeof(out->hsm_module), "%s", v->hsm_module ? v->hsm_module : "");
    snprintf(out->hsm_token, sizeof(out->hsm_token), "%s", v->hsm_token ? v->hsm_token : "");
    snprintf(out->hsm_pin_source, sizeof(out->hsm_pin_source), "%s", v->hsm_pin_source ? v->hsm_pin_source : "");
    rc = count_keys(v, 0, &out->n_keys);
    if (rc == AZKM_OK)
        rc = count_keys(v, 1, &out->n_deleted);
    return rc;
}

static azkm_rc vault_enable_purge_protection_impl(azkm_vault *v)
{
    azkm_rc rc;

    if (v->purge_protection)
        return AZKM_OK;
    rc = azkm_catalog_begin(v->cat);
    if (rc != AZKM_OK)
        return rc;
    v->purge_protection = 1;
    rc = meta_write_all(v);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    if (rc != AZKM_OK) {
        azkm_catalog_rollback(v->cat);
        v->purge_protection = 0;
    }
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void azkm_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

azkm_rc azkm_vault_list(azkm_keystore *ks, char ***names, size_t *n)
{
    DIR *d = opendir(ks->dir);
    struct dirent *e;
    char **arr = NULL;
    size_t count = 0;

    *names = NULL;
    *n = 0;
    if (d == NULL) {
        if (errno == ENOENT)
            return AZKM_OK;
        return azkm_fail(errno == EACCES ? AZKM_E_PERMISSION : AZKM_E_IO, "keystore %s: %s", ks->dir,
                         strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        char path[4600];
        struct stat st;
        char **grown;

        if (!azkm_vault_name_valid(e->d_name))
            continue;
        snprintf(path, sizeof(path), "%s/%s/vault.db", ks->dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        grown = realloc(arr, (count + 1) * sizeof(*arr));
        if (grown == NULL || (grown[count] = strdup(e->d_name)) == NULL) {
            closedir(d);
            azkm_strv_free(grown ? grown : arr, count);
            return azkm_fail(AZKM_E_NOMEM, "out of memory listing vaults");
        }
        arr = grown;
        count++;
    }
    closedir(d);
    if (count > 1)
        qsort(arr, count, sizeof(*arr), cmp_str);
    *names = arr;
    *n = count;
    return AZKM_OK;
}

static azkm_rc vault_delete_impl(azkm_keystore *ks, const char *name)
{
    azkm_vault *v = NULL;
    size_t active = 0, deleted = 0;
    static const char *const files[] = {"vault.db-wal", "vault.db-shm", "vault.db", "master.key"};
    char path[4200];
    azkm_rc rc = azkm_vault_open(ks, name, &v);

    if (rc != AZKM_OK)
        return rc;
    rc = count_keys(v, 0, &active);
    if (rc == AZKM_OK)
        rc = count_keys(v, 1, &deleted);
    if (rc == AZKM_OK && v->purge_protection && active + deleted > 0)
        rc = azkm_fail(AZKM_E_FORBIDDEN,
                       "vault %s has purge protection and holds %zu key(s): it cannot be deleted until they are "
                       "purged after their retention",
                       v->name, active + deleted);
    if (rc == AZKM_OK) {
        azkm_key_info *keys = NULL;
        size_t nk = 0;

        /* Tiers that hold objects outside the catalog (tokens) get to destroy them first. */
        for (int del = 0; rc == AZKM_OK && del < 2; del++) {
            rc = azkm_key_list(v, del, &keys, &nk);
            for (size_t i = 0; rc == AZKM_OK && i < nk; i++)
                if (keys[i].protection != AZKM_PROTECTION_SOFTWARE)
                    rc = azkm_fail(AZKM_E_FORBIDDEN, "vault %s holds HSM key %s: purge its keys first", name,
                                   keys[i].name);
            azkm_key_info_array_free(keys, nk);
        }
    }
    if (rc != AZKM_OK) {
        azkm_vault_close(v);
        return rc;
    }
    if (v->protector == AZKM_PROTECTOR_HSM && (rc = azkm_masterkey_destroy(v)) != AZKM_OK) {
        azkm_vault_close(v);
        return rc;
    }
    snprintf(path, sizeof(path), "%s", v->dir);
    azkm_vault_close(v);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char f[4300];

        snprintf(f, sizeof(f), "%s/%s", path, files[i]);
        if (unlink(f) != 0 && errno != ENOENT)
            return azkm_fail(AZKM_E_IO, "vault %s: cannot remove %s: %s", name, f, strerror(errno));
    }
    if (rmdir(path) != 0)
        return azkm_fail(AZKM_E_IO, "vault %s: cannot remove %s: %s (unexpected files left?)", name, path,
                         strerror(errno));
    return AZKM_OK;
}

/* ---- the audited API -------------------------------------------------------------------------------------- */

azkm_rc azkm_vault_create(azkm_keystore *ks, const char *name, const azkm_vault_params *params)
{
    AZKM_AUDITED(ks, "VaultCreate", name, NULL, vault_create_impl(ks, name, params), NULL);
}

azkm_rc azkm_vault_delete(azkm_keystore *ks, const char *name)
{
    AZKM_AUDITED(ks, "VaultDelete", name, NULL, vault_delete_impl(ks, name), NULL);
}

azkm_rc azkm_vault_enable_purge_protection(azkm_vault *v)
{
    AZKM_AUDITED(v->ks, "VaultUpdate", v->name, NULL, vault_enable_purge_protection_impl(v), NULL);
}

azkm_rc azkm_vault_bind_hsm(azkm_vault *v, const azkm_hsm_binding *binding)
{
    AZKM_AUDITED(v->ks, "VaultUpdate", v->name, NULL, vault_bind_hsm_impl(v, binding), NULL);
}
