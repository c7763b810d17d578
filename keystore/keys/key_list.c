/* Reading keys: one version (show), the current version of every live or deleted key (list), and every version of
 * a key (list versions), each record checked against its attribute MAC. */
#include <stddef.h>

#include "keys/records.h"
#include "keys/keys.h"
#include "tiers/remote/remote_admin.h"
#include "tiers/remote/remote.h"

static azkm_rc key_show_impl(azkm_vault *v, const char *name, const char *version, azkm_key_info *out)
{
    azkm_key_info scratch;
    int64_t rowid;
    azkm_rc rc;

    if (v->remote != NULL)
        return azkm_remote_key_get(v->remote, name, version, out != NULL ? out : &scratch);
    if ((rc = azkm_find_key(v, name, 0, &rowid, NULL, NULL, NULL)) != AZKM_OK)
        return rc;
    if (out == NULL) {
        rc = azkm_read_version(v, rowid, version, &scratch, NULL);
    } else {
        rc = azkm_read_version(v, rowid, version, out, NULL);
    }
    if (rc == AZKM_E_NOT_FOUND)
        return azkm_fail(rc, "key %s/%s: %s", v->name, name, azkm_last_error());
    return rc;
}

static azkm_rc key_list_impl(azkm_vault *v, int deleted, azkm_key_info **out, size_t *n)
{
    azkm_catalog_version_row *rows = NULL;
    size_t nrows = 0;
    azkm_rc rc;

    *out = NULL;
    *n = 0;
    if (v->remote != NULL)
        return deleted ? azkm_remote_deleted_list(v->remote, out, n) : azkm_remote_key_list(v->remote, out, n);
    rc = azkm_catalog_versions_current(v->cat, deleted, azkm_now(v->ks), &rows, &nrows);
    if (rc == AZKM_OK)
        rc = azkm_versions_info(v, rows, nrows, out, n);
    azkm_catalog_version_rows_free(rows, nrows);
    return rc;
}

static azkm_rc key_list_versions_impl(azkm_vault *v, const char *name, azkm_key_info **out, size_t *n)
{
    azkm_catalog_version_row *rows = NULL;
    size_t nrows = 0;
    int64_t rowid;
    azkm_rc rc = azkm_find_key(v, name, 0, &rowid, NULL, NULL, NULL);

    *out = NULL;
    *n = 0;
    if (rc == AZKM_OK)
        rc = azkm_catalog_versions_of_key(v->cat, rowid, &rows, &nrows);
    if (rc == AZKM_OK)
        rc = azkm_versions_info(v, rows, nrows, out, n);
    azkm_catalog_version_rows_free(rows, nrows);
    return rc;
}

/* ---- the audited API -------------------------------------------------------------------------------------- */

azkm_rc azkm_key_show(azkm_vault *v, const char *name, const char *version, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyGet", v->name, name, key_show_impl(v, name, version, out),
                 out ? out->version : version);
}

azkm_rc azkm_key_list(azkm_vault *v, int deleted, azkm_key_info **out, size_t *n)
{
    AZKM_AUDITED(v->ks, deleted ? "KeyListDeleted" : "KeyList", v->name, NULL, key_list_impl(v, deleted, out, n),
                 NULL);
}

azkm_rc azkm_key_list_versions(azkm_vault *v, const char *name, azkm_key_info **out, size_t *n)
{
    AZKM_AUDITED(v->ks, "KeyListVersions", v->name, name,
                 v->remote != NULL ? azkm_remote_key_versions(v->remote, name, out, n)
                                   : key_list_versions_impl(v, name, out, n),
                 NULL);
}
