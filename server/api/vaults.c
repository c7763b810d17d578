/* Each worker thread opens its own keystore and keeps the vaults it has used open: threads share no catalog
 * connection, and a request pays for a vault open once per thread.
 *
 * It also keeps the keys it has loaded for the crypto operations (KEY_CACHE per thread): loading a version reads
 * the catalog, unseals the material and decodes the public key, and a freshly loaded RSA key sets up its blinding
 * on first use; together several times the cost of an ECDSA signature (docs/performance.md, "azkmd"). An entry
 * is used only while its vault's data version (azkm_vault_get_data_version: any commit to the vault's catalog, by
 * any process) is the one read before it was loaded; any change (a key disabled, deleted, rotated, updated, a
 * version purged) drops the vault's entries and the next request loads afresh, exactly as without the cache. Time
 * bounds (nbf, exp) are checked by each operation, key_ops too. Only successful loads are kept: a failure is
 * looked up, refused and audited every time; a key whose operation failed for another reason than the caller's
 * input (a token that went away, an I/O error) is dropped, so that the next request loads it afresh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/request.h"

#define VAULT_CACHE 16
#define KEY_CACHE 64

typedef struct {
    azkm_vault *v; /* the key holds a reference: the pointer cannot be reused while the entry lives */
    int64_t data_version;
    char name[AZKM_NAME_MAX + 1];
    char version[AZKM_VERSION_LEN + 1]; /* as requested: "" for the current one */
    azkm_key *k;
} cached_key;

struct azkmd_vaults {
    azkm_keystore *ks;
    size_t n, next;
    struct {
        char name[AZKM_VAULT_NAME_MAX + 1];
        azkm_vault *v;
    } open[VAULT_CACHE];
    size_t next_key;
    cached_key keys[KEY_CACHE];
};

azkm_rc azkmd_vaults_new(const azkmd_config *cfg, azkmd_vaults **out)
{
    azkm_options opt;
    azkmd_vaults *vs = calloc(1, sizeof(*vs));
    azkm_rc rc;

    if (vs == NULL)
        return azkm_set_error(AZKM_E_NOMEM, "out of memory");
    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = cfg->keystore_dir[0] ? cfg->keystore_dir : NULL;
    opt.audit_log = cfg->audit_log[0] ? cfg->audit_log : NULL;
    if ((rc = azkm_keystore_open(&opt, &vs->ks)) != AZKM_OK) {
        free(vs);
        return rc;
    }
    *out = vs;
    return AZKM_OK;
}

void azkmd_vaults_free(azkmd_vaults *vs)
{
    if (vs == NULL)
        return;
    for (size_t i = 0; i < KEY_CACHE; i++)
        azkm_key_free(vs->keys[i].k);
    for (size_t i = 0; i < vs->n; i++)
        azkm_vault_close(vs->open[i].v);
    azkm_keystore_free(vs->ks);
    free(vs);
}

azkm_keystore *azkmd_vaults_keystore(azkmd_vaults *vs)
{
    return vs->ks;
}

/* Host names are case-insensitive and clients lowercase them (WHATWG URLs do): a vault created as "Prod" is
 * reached as prod.<domain>. The exact name first, then the vault whose name differs only in case. */
static azkm_rc open_any_case(azkm_keystore *ks, const char *name, azkm_vault **out)
{
    char **names = NULL;
    size_t n = 0, i;
    azkm_rc rc = azkm_vault_open(ks, name, out);

    if (rc != AZKM_E_NOT_FOUND || azkm_vault_list(ks, &names, &n) != AZKM_OK)
        return rc;
    for (i = 0; i < n && (strcasecmp(names[i], name) != 0 || strcmp(names[i], name) == 0); i++)
        ;
    rc = i < n ? azkm_vault_open(ks, names[i], out)
               : azkm_set_error(AZKM_E_NOT_FOUND, "vault '%s' does not exist on this server", name);
    azkm_free(names);
    return rc;
}

azkm_rc azkmd_vaults_get(azkmd_vaults *vs, const char *name, azkm_vault **out)
{
    azkm_vault *v;
    azkm_rc rc;
    size_t slot;

    for (size_t i = 0; i < vs->n; i++)
        if (strcmp(vs->open[i].name, name) == 0) {
            *out = vs->open[i].v;
            return AZKM_OK;
        }
    if ((rc = open_any_case(vs->ks, name, &v)) != AZKM_OK)
        return rc;
    /* Full: the oldest opened vault makes room. */
    slot = vs->n < VAULT_CACHE ? vs->n++ : vs->next++ % VAULT_CACHE;
    if (vs->open[slot].v != NULL)
        azkm_vault_close(vs->open[slot].v);
    snprintf(vs->open[slot].name, sizeof(vs->open[slot].name), "%s", name);
    vs->open[slot].v = v;
    *out = v;
    return AZKM_OK;
}

/* The vault's entries loaded before its catalog last changed are dropped; the entry for (name, version), if any. */
static cached_key *key_lookup(azkmd_vaults *vs, azkm_vault *v, int64_t dv, const char *name, const char *version)
{
    cached_key *hit = NULL;

    for (size_t i = 0; i < KEY_CACHE; i++) {
        cached_key *e = &vs->keys[i];
        if (e->k == NULL || e->v != v)
            continue;
        if (e->data_version != dv) {
            azkm_key_free(e->k);
            memset(e, 0, sizeof(*e));
        } else if (strcasecmp(e->name, name) == 0 && strcmp(e->version, version) == 0) {
            hit = e;
        }
    }
    return hit;
}

azkm_rc azkmd_vaults_key(azkmd_vaults *vs, azkm_vault *v, const char *name, const char *version, azkm_key **out)
{
    int64_t dv = azkm_vault_get_data_version(v); /* before the load: a commit during it only costs a reload */
    cached_key *e = key_lookup(vs, v, dv, name, version != NULL ? version : "");
    azkm_key *k = NULL;
    azkm_rc rc;

    if (e != NULL) {
        *out = e->k;
        return AZKM_OK;
    }
    if ((rc = azkm_key_load(v, name, version != NULL && *version ? version : NULL, &k)) != AZKM_OK)
        return rc;
    if (strlen(name) >= sizeof(e->name) || (version != NULL && strlen(version) >= sizeof(e->version))) {
        azkm_key_free(k); /* cannot happen: the load accepted them */
        return azkm_set_error(AZKM_E_INVALID, "key name or version too long");
    }
    e = &vs->keys[vs->next_key++ % KEY_CACHE];
    azkm_key_free(e->k);
    *e = (cached_key){.v = v, .data_version = dv, .k = k};
    snprintf(e->name, sizeof(e->name), "%s", name);
    snprintf(e->version, sizeof(e->version), "%s", version != NULL ? version : "");
    *out = k;
    return AZKM_OK;
}

void azkmd_vaults_key_failed(azkmd_vaults *vs, azkm_key *k, azkm_rc rc)
{
    if (rc == AZKM_OK || rc == AZKM_E_INVALID || rc == AZKM_E_UNSUPPORTED || rc == AZKM_E_FORBIDDEN)
        return; /* the caller's request, not the key's state */
    for (size_t i = 0; i < KEY_CACHE; i++)
        if (vs->keys[i].k == k) {
            azkm_key_free(k);
            memset(&vs->keys[i], 0, sizeof(vs->keys[i]));
        }
}
