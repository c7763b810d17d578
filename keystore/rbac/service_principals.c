/* Service principals in the keystore's identity store (vault/: azkm_identity_store_open): create, list, show,
 * delete, credential reset, and the lookups a server makes (by secret, by certificate). Each row carries an HMAC
 * under the store's MAC key, and the set of rows one more (record_set.c). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "rbac/rbac.h"

#define SET_MAC_KEY "service_principals_mac"
#define SET_LABEL "azkm-service-principals-v1"

static unsigned char *put_str(unsigned char *p, const char *s)
{
    size_t n = strlen(s) + 1;

    memcpy(p, s, n);
    return p + n;
}

static unsigned char *put_i64(unsigned char *p, int64_t x)
{
    for (int i = 0; i < 8; i++)
        *p++ = (unsigned char)((uint64_t)x >> (56 - 8 * i));
    return p;
}

static azkm_catalog_sp_row *find_app(azkm_catalog_sp_row *rows, size_t n, const char *app_id)
{
    for (size_t i = 0; app_id != NULL && i < n; i++)
        if (strcasecmp(rows[i].app_id, app_id) == 0)
            return &rows[i];
    return NULL;
}

static azkm_rc not_found(const char *app_id)
{
    return azkm_fail(AZKM_E_NOT_FOUND, "service principal %.64s not found", app_id ? app_id : "");
}

static void row_mac(const azkm_vault *v, const azkm_catalog_sp_row *r, unsigned char mac[32])
{
    unsigned char buf[64 + AZKM_VAULT_ID_LEN + sizeof(*r)], *p = buf; /* every field, the labels, the lengths */

    p = put_str(p, "azkm-service-principal-v1");
    memcpy(p, v->vault_id, AZKM_VAULT_ID_LEN);
    p += AZKM_VAULT_ID_LEN;
    p = put_str(p, r->app_id);
    p = put_str(p, r->display_name);
    p = put_str(p, r->secret_kdf);
    memcpy(p, r->secret_salt, 16);
    memcpy(p + 16, r->secret_hash, 32);
    p = put_i64(p + 48, r->secret_created);
    *p++ = (unsigned char)(r->has_cert != 0);
    memcpy(p, r->cert_sha256, 32);
    p = put_str(p + 32, r->cert_issuer);
    p = put_str(p, r->cert_subject);
    p = put_i64(p, r->created);
    if (r->cert_spki_len > 0) {
        /* Only in rows that have them: a registration made before they existed keeps its MAC. */
        p = put_str(p, "cert-key");
        memcpy(p, r->cert_sha1, sizeof(r->cert_sha1));
        p = put_i64(p + sizeof(r->cert_sha1), (int64_t)r->cert_spki_len);
        memcpy(p, r->cert_spki, r->cert_spki_len);
        p += r->cert_spki_len;
    }
    azkm_hmac(v->mac_key, buf, (size_t)(p - buf), mac);
}

/* Checks every row's MAC and the set's (write 0), or writes the set's MAC over the rows as stored (write 1). */
static azkm_rc rows_check(azkm_vault *v, const azkm_catalog_sp_row *rows, size_t n, int write,
                          const azkm_catalog_set_mac *set)
{
    azkm_record_ref *refs = n ? OPENSSL_malloc(n * sizeof(*refs)) : NULL;
    unsigned char mac[32];
    size_t m = 0;
    azkm_rc rc = n && refs == NULL ? azkm_fail(AZKM_E_NOMEM, "out of memory") : AZKM_OK;

    for (size_t i = 0; rc == AZKM_OK && i < n; i++) {
        row_mac(v, &rows[i], mac);
        if (!write && (rows[i].mac_len != 32 || CRYPTO_memcmp(mac, rows[i].mac, 32) != 0))
            rc = azkm_fail(AZKM_E_INTEGRITY,
                           "identity store: integrity check failed for service principal %s: it was changed "
                           "outside azkm",
                           rows[i].app_id);
        else
            refs[m++] = (azkm_record_ref){rows[i].app_id, rows[i].mac};
    }
    if (rc == AZKM_OK)
        rc = write ? azkm_record_set_write(v, SET_MAC_KEY, SET_LABEL, refs, m)
                   : azkm_record_set_check(v, SET_LABEL, refs, m, set, "service principals");
    OPENSSL_free(refs);
    return rc;
}

/* The store, opened (created first when create and missing): AZKM_E_NOT_FOUND, without a message, when missing. */
static azkm_rc store_open(azkm_keystore *ks, int create, azkm_vault **v)
{
    azkm_rc rc = azkm_identity_store_open(ks, v);

    if (rc == AZKM_E_NOT_FOUND && create) {
        rc = azkm_identity_store_create(ks);
        if (rc == AZKM_OK || rc == AZKM_E_CONFLICT) /* another process made it meanwhile */
            rc = azkm_identity_store_open(ks, v);
    }
    return rc;
}

/* The store's rows, authenticated. */
static azkm_rc rows_read(azkm_vault *v, azkm_catalog_sp_row **rows, size_t *n)
{
    azkm_catalog_set_mac set = {SET_MAC_KEY, {0}, 0};
    azkm_rc rc = azkm_catalog_sps_all(v->cat, rows, n, &set);

    if (rc == AZKM_OK)
        rc = rows_check(v, *rows, *n, 0, &set);
    if (rc != AZKM_OK) {
        OPENSSL_clear_free(*rows, *n * sizeof(**rows));
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

/* The store's rows for a read: none when there is no store. */
static azkm_rc store_read(azkm_keystore *ks, azkm_catalog_sp_row **rows, size_t *n)
{
    azkm_vault *v = NULL;
    azkm_rc rc = store_open(ks, 0, &v);

    *rows = NULL;
    *n = 0;
    if (rc == AZKM_E_NOT_FOUND)
        return AZKM_OK;
    if (rc == AZKM_OK)
        rc = rows_read(v, rows, n);
    azkm_vault_close(v);
    return rc;
}

/* A change to the store, made by fn on the rows read inside the write transaction (fn puts or deletes rows in the
 * catalog); the set MAC is then written over the rows as stored. */
typedef azkm_rc (*sp_change)(azkm_vault *v, azkm_catalog_sp_row *rows, size_t n, void *arg);

static azkm_rc change_in(azkm_vault *v, sp_change fn, void *arg)
{
    azkm_catalog_set_mac set = {SET_MAC_KEY, {0}, 0};
    azkm_catalog_sp_row *rows = NULL;
    size_t n = 0;
    azkm_rc rc = rows_read(v, &rows, &n);

    if (rc == AZKM_OK)
        rc = fn(v, rows, n, arg);
    OPENSSL_clear_free(rows, n * sizeof(*rows));
    rows = NULL;
    n = 0;
    if (rc == AZKM_OK)
        rc = azkm_catalog_sps_all(v->cat, &rows, &n, &set);
    if (rc == AZKM_OK)
        rc = rows_check(v, rows, n, 1, &set);
    OPENSSL_clear_free(rows, n * sizeof(*rows));
    return rc;
}

static azkm_rc store_change(azkm_keystore *ks, int create, const char *app_id, sp_change fn, void *arg)
{
    azkm_vault *v = NULL;
    azkm_rc rc = store_open(ks, create, &v);

    if (rc == AZKM_E_NOT_FOUND)
        return create ? azkm_fail(rc, "keystore %s: the identity store is missing just after it was made", ks->dir)
                      : not_found(app_id);
    if (rc == AZKM_OK && (rc = azkm_catalog_begin(v->cat)) == AZKM_OK) {
        if ((rc = change_in(v, fn, arg)) == AZKM_OK)
            rc = azkm_catalog_commit(v->cat);
        else
            azkm_catalog_rollback(v->cat);
    }
    azkm_vault_close(v);
    return rc;
}

static void to_public(const azkm_catalog_sp_row *r, azkm_service_principal *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    memcpy(out->app_id, r->app_id, sizeof(out->app_id));
    memcpy(out->display_name, r->display_name, sizeof(out->display_name));
    out->has_secret = r->secret_kdf[0] != '\0';
    out->secret_created = r->secret_created;
    out->has_certificate = r->has_cert;
    for (size_t i = 0; r->has_cert && i < 32; i++)
        snprintf(out->cert_sha256 + 2 * i, 3, "%02x", r->cert_sha256[i]);
    memcpy(out->cert_issuer, r->cert_issuer, sizeof(out->cert_issuer));
    memcpy(out->cert_subject, r->cert_subject, sizeof(out->cert_subject));
    out->has_certificate_key = r->has_cert && r->cert_spki_len > 0;
    out->created = r->created;
}

/* ---- changes ------------------------------------------------------------------------------------------------ */

typedef struct {
    const char *display_name; /* create */
    const char *app_id;       /* reset, delete */
    const azkm_sp_credentials *creds;
    azkm_service_principal *out;
    char *secret; /* made by a create or reset */
} sp_op;

static azkm_rc display_name_check(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > AZKM_SP_NAME_MAX)
        return azkm_fail(AZKM_E_INVALID, "service principal: the display name must be 1-%d characters",
                         AZKM_SP_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return azkm_fail(AZKM_E_INVALID, "service principal: display name '%.120s' has a control character",
                             name);
    return AZKM_OK;
}

/* The credentials are usable (a certificate that parses), before the store is opened. */
static azkm_rc creds_check(azkm_keystore *ks, const azkm_sp_credentials *c)
{
    azkm_catalog_sp_row scratch;

    if (c == NULL || (!c->new_secret && c->cert == NULL))
        return azkm_fail(AZKM_E_INVALID, "service principal: give a credential: a new client secret, a "
                                         "certificate, or both");
    return c->cert != NULL ? azkm_sp_cert_set(ks, &scratch, c->cert, c->cert_len) : AZKM_OK;
}

/* Sets the credentials the operation names in row (a certificate first: it can be refused), and its MAC. */
static azkm_rc creds_apply(azkm_vault *v, azkm_catalog_sp_row *row, sp_op *op)
{
    azkm_rc rc = AZKM_OK;

    if (op->creds->cert != NULL)
        rc = azkm_sp_cert_set(v->ks, row, op->creds->cert, op->creds->cert_len);
    if (rc == AZKM_OK && op->creds->new_secret)
        rc = azkm_sp_secret_new(v->ks, row, &op->secret);
    if (rc == AZKM_OK) {
        row_mac(v, row, row->mac);
        row->mac_len = 32;
        rc = azkm_catalog_sp_put(v->cat, row);
    }
    if (rc == AZKM_OK)
        to_public(row, op->out);
    return rc;
}

static azkm_rc create_fn(azkm_vault *v, azkm_catalog_sp_row *rows, size_t n, void *arg)
{
    sp_op *op = arg;
    azkm_catalog_sp_row row;
    azkm_rc rc;

    memset(&row, 0, sizeof(row));
    if ((rc = azkm_rbac_new_guid(v, row.app_id)) != AZKM_OK)
        return rc;
    if (find_app(rows, n, row.app_id) != NULL)
        return azkm_fail(AZKM_E_CONFLICT, "service principal %s exists: try again", row.app_id);
    snprintf(row.display_name, sizeof(row.display_name), "%s", op->display_name);
    row.created = azkm_now(v->ks);
    rc = creds_apply(v, &row, op);
    OPENSSL_cleanse(&row, sizeof(row));
    return rc;
}

static azkm_rc reset_fn(azkm_vault *v, azkm_catalog_sp_row *rows, size_t n, void *arg)
{
    sp_op *op = arg;
    azkm_catalog_sp_row *row = find_app(rows, n, op->app_id);

    return row != NULL ? creds_apply(v, row, op) : not_found(op->app_id);
}

static azkm_rc delete_fn(azkm_vault *v, azkm_catalog_sp_row *rows, size_t n, void *arg)
{
    sp_op *op = arg;
    azkm_catalog_sp_row *row = find_app(rows, n, op->app_id);

    return row != NULL ? azkm_catalog_sp_delete(v->cat, row->app_id) : not_found(op->app_id);
}

/* Hands the secret a change made to the caller, or wipes it when the change failed. */
static azkm_rc secret_out(azkm_rc rc, sp_op *op, char **secret)
{
    if (rc != AZKM_OK && op->secret != NULL) {
        OPENSSL_cleanse(op->secret, strlen(op->secret));
        azkm_free(op->secret);
        op->secret = NULL;
    }
    if (secret != NULL)
        *secret = op->secret;
    else if (op->secret != NULL) {
        OPENSSL_cleanse(op->secret, strlen(op->secret));
        azkm_free(op->secret);
    }
    return rc;
}

static azkm_rc create_impl(azkm_keystore *ks, const char *display_name, const azkm_sp_credentials *creds,
                           azkm_service_principal *out, char **secret)
{
    sp_op op = {display_name, NULL, creds, out, NULL};
    azkm_rc rc;

    if (secret != NULL)
        *secret = NULL;
    if ((rc = display_name_check(display_name)) != AZKM_OK || (rc = creds_check(ks, creds)) != AZKM_OK)
        return rc;
    return secret_out(store_change(ks, 1, NULL, create_fn, &op), &op, secret);
}

azkm_rc azkm_sp_create(azkm_keystore *ks, const char *display_name, const azkm_sp_credentials *creds,
                       azkm_service_principal *out, char **secret)
{
    AZKM_AUDITED(ks, "ServicePrincipalCreate", NULL, NULL, create_impl(ks, display_name, creds, out, secret), NULL);
}

static azkm_rc reset_impl(azkm_keystore *ks, const char *app_id, const azkm_sp_credentials *creds,
                          azkm_service_principal *out, char **secret)
{
    sp_op op = {NULL, app_id, creds, out, NULL};
    azkm_rc rc = creds_check(ks, creds);

    if (secret != NULL)
        *secret = NULL;
    if (rc != AZKM_OK)
        return rc;
    return secret_out(store_change(ks, 0, app_id, reset_fn, &op), &op, secret);
}

azkm_rc azkm_sp_credential_reset(azkm_keystore *ks, const char *app_id, const azkm_sp_credentials *creds,
                                 azkm_service_principal *out, char **secret)
{
    AZKM_AUDITED(ks, "ServicePrincipalCredentialReset", NULL, NULL, reset_impl(ks, app_id, creds, out, secret),
                 NULL);
}

azkm_rc azkm_sp_delete(azkm_keystore *ks, const char *app_id)
{
    sp_op op = {NULL, app_id, NULL, NULL, NULL};

    AZKM_AUDITED(ks, "ServicePrincipalDelete", NULL, NULL, store_change(ks, 0, app_id, delete_fn, &op), NULL);
}

/* ---- reads and lookups ----------------------------------------------------------------------------------------
 */

azkm_rc azkm_sp_list(azkm_keystore *ks, azkm_service_principal **out, size_t *n)
{
    azkm_catalog_sp_row *rows = NULL;
    azkm_rc rc = store_read(ks, &rows, n);

    *out = NULL;
    if (rc == AZKM_OK && *n > 0 && (*out = OPENSSL_malloc(*n * sizeof(**out))) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == AZKM_OK && i < *n; i++)
        to_public(&rows[i], &(*out)[i]);
    OPENSSL_clear_free(rows, *n * sizeof(*rows));
    if (rc != AZKM_OK)
        *n = 0;
    return rc;
}

azkm_rc azkm_sp_show(azkm_keystore *ks, const char *app_id, azkm_service_principal *out)
{
    azkm_catalog_sp_row *rows = NULL, *row;
    size_t n = 0;
    azkm_rc rc = store_read(ks, &rows, &n);

    if (rc == AZKM_OK && (row = find_app(rows, n, app_id)) != NULL)
        to_public(row, out);
    else if (rc == AZKM_OK)
        rc = not_found(app_id);
    OPENSSL_clear_free(rows, n * sizeof(*rows));
    return rc;
}

static azkm_rc authenticate_impl(azkm_keystore *ks, const char *app_id, const char *secret,
                                 azkm_service_principal *out)
{
    azkm_catalog_sp_row *rows = NULL, *row = NULL;
    size_t n = 0;
    azkm_rc rc = store_read(ks, &rows, &n);

    if (rc == AZKM_OK) {
        row = find_app(rows, n, app_id);
        rc = azkm_sp_secret_check(ks, row, secret);
    }
    if (rc == AZKM_OK)
        to_public(row, out);
    else if (rc == AZKM_E_AUTH && row == NULL)
        rc = not_found(app_id);
    else if (rc == AZKM_E_AUTH)
        rc = azkm_fail(AZKM_E_AUTH, "service principal %s: invalid client secret", row->app_id);
    OPENSSL_clear_free(rows, n * sizeof(*rows));
    return rc;
}

azkm_rc azkm_sp_authenticate_secret(azkm_keystore *ks, const char *app_id, const char *secret,
                                    azkm_service_principal *out)
{
    AZKM_AUDITED_FAILURE(ks, "ServicePrincipalAuthenticate", NULL, NULL,
                         authenticate_impl(ks, app_id, secret, out));
}

/* The first row cert matches: by fingerprint (fp non-NULL), else by issuer and subject. */
static azkm_rc find_cert(azkm_keystore *ks, const unsigned char *fp, const char *issuer, const char *subject,
                         azkm_service_principal *out)
{
    azkm_catalog_sp_row *rows = NULL;
    size_t n = 0, i;
    azkm_rc rc = store_read(ks, &rows, &n);

    for (i = 0; rc == AZKM_OK && i < n; i++) {
        if (!rows[i].has_cert)
            continue;
        if (fp != NULL ? CRYPTO_memcmp(fp, rows[i].cert_sha256, 32) == 0
                       : strcmp(rows[i].cert_issuer, issuer) == 0 && strcmp(rows[i].cert_subject, subject) == 0)
            break;
    }
    if (rc == AZKM_OK && i < n)
        to_public(&rows[i], out);
    else if (rc == AZKM_OK)
        rc = azkm_fail(AZKM_E_NOT_FOUND, "no service principal has this certificate%s%.200s",
                       fp != NULL ? "" : ": subject ", fp != NULL ? "" : subject);
    OPENSSL_clear_free(rows, n * sizeof(*rows));
    return rc;
}

azkm_rc azkm_sp_find_by_certificate(azkm_keystore *ks, const unsigned char *der, size_t der_len,
                                    azkm_service_principal *out)
{
    unsigned char fp[32];
    azkm_rc rc = azkm_sp_cert_fingerprint(ks, der, der_len, fp);

    return rc == AZKM_OK ? find_cert(ks, fp, NULL, NULL, out) : rc;
}

azkm_rc azkm_sp_find_by_subject(azkm_keystore *ks, const char *issuer, const char *subject,
                                azkm_service_principal *out)
{
    if (issuer == NULL || subject == NULL || *subject == '\0')
        return azkm_fail(AZKM_E_INVALID, "certificate lookup: an issuer and a subject are needed");
    return find_cert(ks, NULL, issuer, subject, out);
}

azkm_rc azkm_sp_find_by_certificate_names(azkm_keystore *ks, const unsigned char *der, size_t der_len,
                                          azkm_service_principal *out)
{
    char issuer[AZKM_SP_DN_MAX + 1], subject[AZKM_SP_DN_MAX + 1];
    azkm_rc rc = azkm_sp_cert_names(der, der_len, issuer, subject);

    return rc == AZKM_OK ? azkm_sp_find_by_subject(ks, issuer, subject, out) : rc;
}

/* The row of app_id when its certificate has this thumbprint (SHA-1 or SHA-256). */
static int thumbprint_is(const azkm_catalog_sp_row *r, const unsigned char *tp, size_t len)
{
    if (r == NULL || !r->has_cert || tp == NULL)
        return 0;
    if (len == 32)
        return CRYPTO_memcmp(tp, r->cert_sha256, 32) == 0;
    return len == 20 && r->cert_spki_len > 0 && CRYPTO_memcmp(tp, r->cert_sha1, 20) == 0;
}

azkm_rc azkm_sp_certificate_key(azkm_keystore *ks, const char *app_id, const unsigned char *thumbprint, size_t len,
                                unsigned char **spki, size_t *spki_len)
{
    azkm_catalog_sp_row *rows = NULL, *row;
    size_t n = 0;
    azkm_rc rc = store_read(ks, &rows, &n);

    *spki = NULL;
    *spki_len = 0;
    row = rc == AZKM_OK ? find_app(rows, n, app_id) : NULL;
    if (rc == AZKM_OK && !thumbprint_is(row, thumbprint, len))
        rc = azkm_fail(AZKM_E_NOT_FOUND, "no service principal %.64s with a certificate of this thumbprint",
                       app_id ? app_id : "");
    else if (rc == AZKM_OK && row->cert_spki_len == 0)
        rc = azkm_fail(AZKM_E_UNSUPPORTED,
                       "service principal %s: its certificate was registered before azkm kept certificates' public "
                       "keys: re-add the certificate (azkm sp credential-reset --id %s --cert FILE)",
                       row->app_id, row->app_id);
    else if (rc == AZKM_OK && (*spki = OPENSSL_memdup(row->cert_spki, row->cert_spki_len)) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (rc == AZKM_OK)
        *spki_len = row->cert_spki_len;
    OPENSSL_clear_free(rows, n * sizeof(*rows));
    return rc;
}
