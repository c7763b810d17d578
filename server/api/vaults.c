/* Each worker thread opens its own keystore and keeps the vaults it has used open: threads share no catalog
 * connection, and a request pays for a vault open once per thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/request.h"

#define VAULT_CACHE 16

struct azkmd_vaults {
    azkm_keystore *ks;
    size_t n, next;
    struct {
        char name[AZKM_VAULT_NAME_MAX + 1];
        azkm_vault *v;
    } open[VAULT_CACHE];
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
