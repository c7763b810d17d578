/* Vaults as a whole: listing a keystore's vaults, describing one, and turning on its purge protection. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "vault/vault.h"
#include "catalog/vault_queries.h"
#include "vault/vault_internal.h"

azkm_rc azkm_vault_show(azkm_vault *v, azkm_vault_info *out)
{
    azkm_rc rc;

    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", v->name);
    snprintf(out->path, sizeof(out->path), "%s", v->dir);
    if (v->remote != NULL)
        return azkm_vault_remote_show(v, out);
    out->retention_days = v->retention_days;
    out->purge_protection = v->purge_protection;
    out->protector = v->protector;
    out->created = v->created;
    snprintf(out->hsm_module, sizeof(out->hsm_module), "%s", v->hsm_module ? v->hsm_module : "");
    snprintf(out->hsm_token, sizeof(out->hsm_token), "%s", v->hsm_token ? v->hsm_token : "");
    snprintf(out->hsm_pin_source, sizeof(out->hsm_pin_source), "%s", v->hsm_pin_source ? v->hsm_pin_source : "");
    rc = azkm_catalog_vault_key_count(v->cat, 0, 0, &out->n_keys);
    if (rc == AZKM_OK)
        rc = azkm_catalog_vault_key_count(v->cat, 1, azkm_now(v->ks), &out->n_deleted);
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
    rc = azkm_vault_meta_write(v);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    if (rc != AZKM_OK) {
        azkm_catalog_rollback(v->cat);
        v->purge_protection = 0;
    }
    return rc;
}

azkm_rc azkm_vault_enable_purge_protection(azkm_vault *v)
{
    if (v->remote != NULL)
        return azkm_vault_local(v, "vault update");
    AZKM_AUDITED(v->ks, "VaultUpdate", v->name, NULL, vault_enable_purge_protection_impl(v), NULL);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

/* The names as one allocation (the pointers, then the strings), so that azkm_free frees them all. */
static azkm_rc strv_pack(char **v, size_t n, char ***out)
{
    size_t bytes = n * sizeof(char *);
    char **packed, *p;

    for (size_t i = 0; i < n; i++)
        bytes += strlen(v[i]) + 1;
    if ((packed = OPENSSL_malloc(bytes > 0 ? bytes : 1)) == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory listing vaults");
    p = (char *)(packed + n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;

        packed[i] = memcpy(p, v[i], len);
        p += len;
    }
    *out = packed;
    return AZKM_OK;
}

azkm_rc azkm_vault_list(azkm_keystore *ks, char ***names, size_t *n)
{
    DIR *d = opendir(ks->dir);
    struct dirent *e;
    char **arr = NULL;
    size_t count = 0;
    azkm_rc rc;

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
        if (stat(path, &st) != 0) {
            snprintf(path, sizeof(path), "%s/%s/remote.json", ks->dir, e->d_name);
            if (stat(path, &st) != 0)
                continue;
        }
        grown = realloc(arr, (count + 1) * sizeof(*arr));
        if (grown == NULL || (grown[count] = strdup(e->d_name)) == NULL) {
            closedir(d);
            strv_free(grown ? grown : arr, count);
            return azkm_fail(AZKM_E_NOMEM, "out of memory listing vaults");
        }
        arr = grown;
        count++;
    }
    closedir(d);
    if (count > 1)
        qsort(arr, count, sizeof(*arr), cmp_str);
    rc = strv_pack(arr, count, names);
    strv_free(arr, count);
    if (rc == AZKM_OK)
        *n = count;
    return rc;
}
