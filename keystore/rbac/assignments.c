/* Role assignments of a vault: stored in its catalog (catalog/assignments.c), each row under an HMAC with the
 * vault's MAC key, and the set of rows under one more (the meta setting role_assignments_mac), so that a row
 * changed, copied in from elsewhere, removed or put back after its deletion is an integrity error. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "catalog/assignments.h"
#include "rbac/rbac.h"

#define SET_MAC_KEY "role_assignments_mac"
#define SET_LABEL "azkm-role-assignments-v1"

static void put_i64(unsigned char *p, int64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)((uint64_t)x >> (56 - 8 * i));
}

/* Appends s and its NUL, lower-cased when lower. */
static unsigned char *put_str(unsigned char *p, const char *s, int lower)
{
    size_t n = strlen(s);

    for (size_t i = 0; i <= n; i++)
        *p++ = (unsigned char)(lower && s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    return p;
}

/* HMAC over one row and the vault's id. */
static void row_mac(const azkm_vault *v, const azkm_catalog_assignment_row *r, unsigned char mac[32])
{
    unsigned char buf[24 + AZKM_VAULT_ID_LEN + sizeof(r->id) + sizeof(r->principal) + sizeof(r->role_id) +
                      sizeof(r->scope) + 8];
    unsigned char *p = buf;

    memcpy(p, "azkm-role-assignment-v1\0", 24);
    p += 24;
    memcpy(p, v->vault_id, AZKM_VAULT_ID_LEN);
    p += AZKM_VAULT_ID_LEN;
    p = put_str(p, r->id, 1);
    p = put_str(p, r->principal, 0);
    p = put_str(p, r->role_id, 1);
    p = put_str(p, r->scope, 1);
    put_i64(p, r->created);
    azkm_hmac(v->mac_key, buf, (size_t)(p + 8 - buf), mac);
}

/* The set of rows as record_set.c sees it; *refs from OPENSSL_malloc (NULL for none). */
static azkm_rc refs_of(const azkm_catalog_assignment_row *rows, size_t n, azkm_record_ref **refs)
{
    *refs = NULL;
    if (n > 0 && (*refs = OPENSSL_malloc(n * sizeof(**refs))) == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        (*refs)[i].id = rows[i].id;
        (*refs)[i].mac = rows[i].mac;
    }
    return AZKM_OK;
}

/* Checks every row and the set: AZKM_E_INTEGRITY names what was changed. */
static azkm_rc rows_check(azkm_vault *v, const azkm_catalog_assignment_row *rows, size_t n,
                          const azkm_catalog_set_mac *set)
{
    azkm_record_ref *refs = NULL;
    unsigned char mac[32];
    azkm_rc rc;

    for (size_t i = 0; i < n; i++) {
        row_mac(v, &rows[i], mac);
        if (rows[i].mac_len != 32 || CRYPTO_memcmp(mac, rows[i].mac, 32) != 0)
            return azkm_fail(AZKM_E_INTEGRITY,
                             "vault %s: integrity check failed for role assignment %s (%s): it was changed outside "
                             "azkm",
                             v->name, rows[i].id, rows[i].principal);
    }
    if ((rc = refs_of(rows, n, &refs)) == AZKM_OK)
        rc = azkm_record_set_check(v, SET_LABEL, refs, n, set, "role assignments");
    OPENSSL_free(refs);
    return rc;
}

/* The rows and the set MAC, read in one snapshot and authenticated. */
static azkm_rc rows_read(azkm_vault *v, azkm_catalog_assignment_row **rows, size_t *n)
{
    azkm_catalog_set_mac set = {SET_MAC_KEY, {0}, 0};
    azkm_rc rc = azkm_catalog_assignments_all(v->cat, rows, n, &set);

    if (rc == AZKM_OK && (rc = rows_check(v, *rows, *n, &set)) != AZKM_OK) {
        OPENSSL_free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

static void row_to_public(const azkm_catalog_assignment_row *r, azkm_role_assignment *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->id, r->id, sizeof(out->id));
    memcpy(out->principal, r->principal, sizeof(out->principal));
    memcpy(out->role_id, r->role_id, sizeof(out->role_id));
    memcpy(out->scope, r->scope, sizeof(out->scope));
    out->created = r->created;
}

/* The audit record of an assignment made or removed names it: Azure's activity log properties. */
static void audit_assignment(azkm_audit_op *a, const azkm_role_assignment *r)
{
    const char *props[] = {"roleAssignmentId", r->id,   "principalId", r->principal, "roleDefinitionId",
                           r->role_id,         "scope", r->scope,      NULL};

    memcpy(a->props, props, sizeof(props));
}

azkm_rc azkm_rbac_assignments_read(azkm_vault *v, azkm_role_assignment **out, size_t *n)
{
    azkm_catalog_assignment_row *rows = NULL;
    azkm_rc rc = rows_read(v, &rows, n);

    *out = NULL;
    if (rc != AZKM_OK || *n == 0) {
        OPENSSL_free(rows);
        return rc;
    }
    if ((*out = OPENSSL_malloc(*n * sizeof(**out))) == NULL) {
        OPENSSL_free(rows);
        *n = 0;
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < *n; i++)
        row_to_public(&rows[i], &(*out)[i]);
    OPENSSL_free(rows);
    return AZKM_OK;
}

azkm_rc azkm_role_assignment_list(azkm_vault *v, azkm_role_assignment **out, size_t *n)
{
    if (v->remote != NULL)
        return azkm_vault_local(v, "role assignment list");
    return azkm_rbac_assignments_read(v, out, n);
}

azkm_rc azkm_scope_check(const char *scope)
{
    if (scope != NULL && (strcmp(scope, "/") == 0 || strcmp(scope, "/keys") == 0))
        return AZKM_OK;
    if (scope != NULL && strncmp(scope, "/keys/", 6) == 0 && azkm_key_name_valid(scope + 6))
        return AZKM_OK;
    return azkm_fail(AZKM_E_INVALID,
                     "scope '%.200s' is not one of /, /keys or /keys/<key name> (1-127 of [0-9a-zA-Z-])",
                     scope ? scope : "");
}

/* Writes the set MAC over rows (already holding the new state), inside the caller's write transaction. */
static azkm_rc set_mac_write(azkm_vault *v, const azkm_catalog_assignment_row *rows, size_t n)
{
    azkm_record_ref *refs = NULL;
    azkm_rc rc = refs_of(rows, n, &refs);

    if (rc == AZKM_OK)
        rc = azkm_record_set_write(v, SET_MAC_KEY, SET_LABEL, refs, n);
    OPENSSL_free(refs);
    return rc;
}

/* Inside a write transaction: refuses a duplicate, then stores row and the new set MAC. */
static azkm_rc insert_checked(azkm_vault *v, azkm_catalog_assignment_row *row, const char *role_name)
{
    azkm_catalog_assignment_row *rows = NULL, *grown;
    size_t n = 0, at;
    azkm_rc rc = rows_read(v, &rows, &n);

    for (size_t i = 0; rc == AZKM_OK && i < n; i++)
        if (strcmp(rows[i].principal, row->principal) == 0 && strcasecmp(rows[i].role_id, row->role_id) == 0 &&
            strcasecmp(rows[i].scope, row->scope) == 0)
            rc = azkm_fail(AZKM_E_CONFLICT, "vault %s: %s already has role %s at scope %s (role assignment %s)",
                           v->name, row->principal, role_name, rows[i].scope, rows[i].id);
    if (rc == AZKM_OK && (grown = OPENSSL_realloc(rows, (n + 1) * sizeof(*rows))) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (rc == AZKM_OK) {
        rows = grown;
        for (at = n; at > 0 && strcmp(rows[at - 1].id, row->id) > 0; at--)
            rows[at] = rows[at - 1];
        rows[at] = *row;
        rc = azkm_catalog_assignment_put(v->cat, row);
    }
    if (rc == AZKM_OK)
        rc = set_mac_write(v, rows, n + 1);
    OPENSSL_free(rows);
    return rc;
}

static azkm_rc create_impl(azkm_vault *v, const char *principal, const char *role, const char *scope,
                           azkm_role_assignment *out)
{
    const azkm_role_definition *def = NULL;
    azkm_catalog_assignment_row row;
    azkm_rc rc;

    if (!azkm_principal_valid(principal))
        return azkm_fail(
            AZKM_E_INVALID,
            "principal '%.300s' is not one of uid:<number>, gid:<number> or sp:<appId GUID, lower case>",
            principal ? principal : "");
    if ((rc = azkm_scope_check(scope)) != AZKM_OK || (rc = azkm_role_definition_find(role, &def)) != AZKM_OK)
        return rc;
    memset(&row, 0, sizeof(row));
    if ((rc = azkm_rbac_new_guid(v, row.id)) != AZKM_OK)
        return rc;
    snprintf(row.principal, sizeof(row.principal), "%s", principal);
    snprintf(row.role_id, sizeof(row.role_id), "%s", def->id);
    snprintf(row.scope, sizeof(row.scope), "%s", scope);
    row.created = azkm_now(v->ks);
    row_mac(v, &row, row.mac);
    row.mac_len = 32;
    if ((rc = azkm_catalog_begin(v->cat)) != AZKM_OK)
        return rc;
    if ((rc = insert_checked(v, &row, def->name)) == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    if (rc == AZKM_OK)
        row_to_public(&row, out);
    return rc;
}

azkm_rc azkm_role_assignment_create(azkm_vault *v, const char *principal, const char *role, const char *scope,
                                    azkm_role_assignment *out)
{
    azkm_role_assignment made;
    azkm_audit_op audit;
    azkm_rc rc;

    if (v->remote != NULL)
        return azkm_vault_local(v, "role assignment create");
    azkm_audit_begin(&audit, v->ks, "RoleAssignmentCreate", v->name, NULL);
    if ((rc = create_impl(v, principal, role, scope, &made)) == AZKM_OK) {
        audit_assignment(&audit, &made);
        if (out != NULL)
            *out = made;
    }
    return azkm_audit_end(&audit, rc, NULL);
}

/* Inside a write transaction: removes the row with that id and stores the new set MAC. */
static azkm_rc delete_checked(azkm_vault *v, const char *id, azkm_role_assignment *gone)
{
    azkm_catalog_assignment_row *rows = NULL;
    size_t n = 0, at = 0;
    azkm_rc rc = rows_read(v, &rows, &n);

    while (rc == AZKM_OK && at < n && strcasecmp(rows[at].id, id) != 0)
        at++;
    if (rc == AZKM_OK && at == n)
        rc = azkm_fail(AZKM_E_NOT_FOUND, "vault %s: no role assignment %.64s", v->name, id);
    if (rc == AZKM_OK && (rc = azkm_catalog_assignment_delete(v->cat, rows[at].id)) == AZKM_E_NOT_FOUND)
        rc = azkm_fail(AZKM_E_NOT_FOUND, "vault %s: no role assignment %.64s", v->name, id);
    if (rc == AZKM_OK) {
        row_to_public(&rows[at], gone);
        memmove(&rows[at], &rows[at + 1], (n - at - 1) * sizeof(*rows));
        rc = set_mac_write(v, rows, n - 1);
    }
    OPENSSL_free(rows);
    return rc;
}

static azkm_rc delete_impl(azkm_vault *v, const char *id, azkm_role_assignment *gone)
{
    azkm_rc rc;

    if (id == NULL || *id == '\0')
        return azkm_fail(AZKM_E_INVALID, "a role assignment id is needed");
    if ((rc = azkm_catalog_begin(v->cat)) != AZKM_OK)
        return rc;
    if ((rc = delete_checked(v, id, gone)) == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    return rc;
}

azkm_rc azkm_role_assignment_delete(azkm_vault *v, const char *id)
{
    azkm_role_assignment gone;
    azkm_audit_op audit;
    azkm_rc rc;

    if (v->remote != NULL)
        return azkm_vault_local(v, "role assignment delete");
    azkm_audit_begin(&audit, v->ks, "RoleAssignmentDelete", v->name, NULL);
    if ((rc = delete_impl(v, id, &gone)) == AZKM_OK)
        audit_assignment(&audit, &gone);
    return azkm_audit_end(&audit, rc, NULL);
}

azkm_rc azkm_rbac_verify(azkm_vault *v, size_t *checked)
{
    azkm_role_assignment *as = NULL;
    const azkm_role_definition *def;
    size_t n = 0;
    azkm_rc rc = azkm_rbac_assignments_read(v, &as, &n);

    for (size_t i = 0; rc == AZKM_OK && i < n; i++) {
        if (!azkm_principal_valid(as[i].principal) || azkm_scope_check(as[i].scope) != AZKM_OK ||
            azkm_role_definition_find(as[i].role_id, &def) != AZKM_OK)
            rc = azkm_fail(AZKM_E_CORRUPT,
                           "vault %s: role assignment %s holds a principal, scope or role azkm does "
                           "not know",
                           v->name, as[i].id);
    }
    if (rc == AZKM_OK)
        *checked = n;
    OPENSSL_free(as);
    return rc;
}
