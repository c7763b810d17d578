/* The vault object: made for create and open, shared by the keys loaded from it (counted references), and the
 * door to its tiers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "vault/vault.h"
#include "base/secmem.h"
#include "vault/vault_internal.h"

static void lowercase(char *dst, const char *src, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len && src[i]; i++)
        dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
    dst[i] = '\0';
}

azkm_rc azkm_vault_name_check(const char *name)
{
    if (!azkm_vault_name_valid(name))
        return azkm_fail(AZKM_E_INVALID,
                         "vault name '%.64s' is invalid: 3-24 of a-z, A-Z, 0-9 and '-', starting with a letter, "
                         "not ending with '-', no '--'",
                         name ? name : "");
    return AZKM_OK;
}

azkm_rc azkm_vault_dir(const azkm_keystore *ks, const char *name, char *dir, size_t len)
{
    char lname[AZKM_VAULT_NAME_MAX + 1];
    azkm_rc rc;

    if (name != NULL && strcmp(name, AZKM_IDENTITY_STORE) == 0) {
        if ((size_t)snprintf(dir, len, "%s/%s", ks->dir, name) >= len)
            return azkm_fail(AZKM_E_INVALID, "identity store: path too long");
        return AZKM_OK;
    }
    if ((rc = azkm_vault_name_check(name)) != AZKM_OK)
        return rc;
    lowercase(lname, name, sizeof(lname));
    if ((size_t)snprintf(dir, len, "%s/%s", ks->dir, lname) >= len)
        return azkm_fail(AZKM_E_INVALID, "vault %s: path too long", name);
    return AZKM_OK;
}

/* The vault object lives in the ordinary heap; its derived keys and the master key buffer in secret memory. */
azkm_rc azkm_vault_new(azkm_keystore *ks, azkm_vault **out, unsigned char **mk)
{
    azkm_vault *v;
    unsigned char *keys;

    azkm_keystore_secmem_setup(ks);
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

void azkm_vault_free(azkm_vault *v)
{
    if (v == NULL)
        return;
    if (v->upper_cache.data != NULL && v->upper_cache.free_fn != NULL)
        v->upper_cache.free_fn(v->upper_cache.data);
    for (size_t i = 0; i < 2; i++)
        if (v->tiers[i] != NULL)
            azkm_tier_free(v->tiers[i]);
    if (v->remote != NULL)
        azkm_tier_free(v->remote);
    azkm_catalog_close(v->cat);
    free(v->hsm_module);
    free(v->hsm_token);
    free(v->hsm_pin_source);
    azkm_secret_free(v->seal_key, 3 * 32);
    OPENSSL_clear_free(v, sizeof(*v));
}

void azkm_vault_ref(azkm_vault *v)
{
    __atomic_add_fetch(&v->refs, 1, __ATOMIC_ACQ_REL);
}

void azkm_vault_close(azkm_vault *v)
{
    if (v != NULL && __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) == 0)
        azkm_vault_free(v);
}

const char *azkm_vault_get_name(const azkm_vault *v)
{
    return v->name;
}

int64_t azkm_vault_get_data_version(azkm_vault *v)
{
    if (v->remote != NULL)
        return 0; /* nothing cached here to invalidate: azkmd answers every read */
    return azkm_catalog_data_version(v->cat);
}

azkm_rc azkm_vault_local(const azkm_vault *v, const char *operation)
{
    if (v->remote == NULL)
        return AZKM_OK;
    return azkm_fail(AZKM_E_UNSUPPORTED, "vault %s is remote: %s through azkmd is not supported yet", v->name,
                     operation);
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
