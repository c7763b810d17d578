/* A full check of a vault: the catalog's own integrity check, then every version's attribute MAC and sealed
 * material, every rotation policy's MAC, and the role assignments' MACs (rbac/). */
#include <string.h>

#include <openssl/crypto.h>

#include "keys/records.h"
#include "catalog/check.h"
#include "keys/keys.h"
#include "rbac/rbac.h"

/* Every stored rotation policy, deleted keys' included: a policy edited or moved in the database names its key. */
static azkm_rc verify_policies(azkm_vault *v)
{
    azkm_catalog_policy_owner *owners = NULL;
    size_t n = 0;
    azkm_rc rc = azkm_catalog_policy_owners(v->cat, &owners, &n);

    for (size_t i = 0; rc == AZKM_OK && i < n; i++) {
        char *text = NULL;

        if (owners[i].name == NULL)
            rc = azkm_fail(AZKM_E_INTEGRITY,
                           "vault %s: integrity check failed: a rotation policy belongs to no key (key row %lld): "
                           "it was changed outside azkm",
                           v->name, (long long)owners[i].key_id);
        else
            rc = azkm_rotation_policy_read(v, owners[i].key_id, owners[i].name, &text);
        OPENSSL_free(text);
    }
    azkm_catalog_policy_owners_free(owners, n);
    return rc;
}

/* Every version of the live (deleted 0) or soft-deleted keys: its record's MAC, and for live keys its material,
 * which loading opens. */
static azkm_rc verify_versions(azkm_vault *v, int deleted, size_t *checked)
{
    azkm_catalog_version_row *rows = NULL;
    azkm_key_info *keys = NULL;
    size_t nrows = 0, nkeys = 0;
    azkm_rc rc = azkm_catalog_versions_all(v->cat, deleted, &rows, &nrows);

    if (rc == AZKM_OK)
        rc = azkm_versions_info(v, rows, nrows, &keys, &nkeys);
    azkm_catalog_version_rows_free(rows, nrows);
    for (size_t i = 0; rc == AZKM_OK && i < nkeys; i++) {
        azkm_key *k = NULL;

        if (keys[i].integrity_error) {
            rc = azkm_fail(AZKM_E_INTEGRITY,
                           "vault %s: integrity check failed for key %s version %s: its attributes or public key "
                           "were changed outside azkm",
                           v->name, keys[i].name, keys[i].version);
            break;
        }
        if (!deleted) {
            rc = azkm_key_load(v, keys[i].name, keys[i].version, &k);
            azkm_key_free(k);
        }
        if (rc == AZKM_OK)
            (*checked)++;
    }
    azkm_free(keys);
    return rc;
}

azkm_rc azkm_vault_verify(azkm_vault *v, size_t *checked)
{
    char detail[512];
    size_t assignments = 0;
    int intact = 0;
    azkm_rc rc;

    if (v->remote != NULL)
        return azkm_vault_local(v, "vault verify");
    *checked = 0;
    rc = azkm_catalog_check(v->cat, &intact, detail, sizeof(detail));
    if (rc == AZKM_OK && !intact)
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: database integrity check failed: %s", v->name, detail);
    for (int deleted = 0; rc == AZKM_OK && deleted < 2; deleted++)
        rc = verify_versions(v, deleted, checked);
    if (rc == AZKM_OK)
        rc = verify_policies(v);
    if (rc == AZKM_OK)
        rc = azkm_rbac_verify(v, &assignments);
    return rc;
}
