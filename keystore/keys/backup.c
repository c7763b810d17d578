/* Key backup and restore: every version of a key, and its rotation policy, in one blob sealed under the vault's
 * backup key, so that any change to it is detected. A blob restores into any vault of the keystore that holds the
 * vault it came from (as Key Vault restores into any vault of the subscription): the material is re-sealed for the
 * vault it joins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "azkm/base64.h"
#include "keys/records.h"
#include "keys/keys.h"
#include "tiers/remote/remote_admin.h"

#define BACKUP_MAGIC "AZKMBAK1"
#define BACKUP_MAGIC_LEN 8
#define BACKUP_HDR_LEN (BACKUP_MAGIC_LEN + AZKM_VAULT_ID_LEN)
#define BACKUP_MAX (64u << 20)

/* Binary fields of the backup document, in base64url (keystore/base64.c). */
static json_t *b64(const unsigned char *data, size_t len)
{
    char *text = azkm_b64url_encode(data, len);
    json_t *s = text ? json_string(text) : NULL;

    OPENSSL_free(text);
    return s;
}

static unsigned char *unb64(const char *text, size_t *len)
{
    unsigned char *out = NULL;

    return azkm_b64_decode(text, &out, len) == 0 ? out : NULL;
}

static void backup_header(const azkm_vault *v, unsigned char hdr[BACKUP_HDR_LEN])
{
    memcpy(hdr, BACKUP_MAGIC, BACKUP_MAGIC_LEN);
    memcpy(hdr + BACKUP_MAGIC_LEN, v->vault_id, AZKM_VAULT_ID_LEN);
}

static json_t *version_json(const azkm_catalog_version_row *r)
{
    json_t *o = json_object();

    json_object_set_new(o, "version", json_string(r->version));
    json_object_set_new(o, "seq", json_integer(r->seq));
    json_object_set_new(o, "size", json_integer(r->size));
    json_object_set_new(o, "curve", json_integer(r->curve));
    if (r->public_der != NULL)
        json_object_set_new(o, "public_der", b64(r->public_der, r->public_der_len));
    json_object_set_new(o, "material", b64(r->material, r->material_len));
    json_object_set_new(o, "enabled", json_integer(r->enabled));
    json_object_set_new(o, "nbf", json_integer(r->nbf));
    json_object_set_new(o, "exp", json_integer(r->exp));
    json_object_set_new(o, "key_ops", json_integer(r->key_ops));
    json_object_set_new(o, "tags", json_string(r->tags));
    json_object_set_new(o, "created", json_integer(r->created));
    json_object_set_new(o, "updated", json_integer(r->updated));
    return o;
}

/* Checks that the key can be backed up: every version's record intact (listing checks each MAC: a tampered record
 * is not carried into a backup), and software-held. *kty and *protection receive its type. */
static azkm_rc check_backupable(azkm_vault *v, const char *name, azkm_kty *kty, azkm_protection *protection)
{
    azkm_key_info *versions = NULL;
    size_t n = 0;
    azkm_rc rc = azkm_key_list_versions(v, name, &versions, &n);

    for (size_t i = 0; rc == AZKM_OK && i < n; i++)
        if (versions[i].integrity_error)
            rc = azkm_fail(
                AZKM_E_INTEGRITY,
                "vault %s: integrity check failed for key %s version %s: a tampered record is not backed up",
                v->name, name, versions[i].version);
    if (rc == AZKM_OK && n > 0 && versions[0].protection != AZKM_PROTECTION_SOFTWARE)
        rc = azkm_fail(AZKM_E_FORBIDDEN,
                       "key %s/%s is an HSM key: its material cannot leave the token, so it has "
                       "no backup (back up the token instead)",
                       v->name, name);
    if (rc == AZKM_OK && n > 0) {
        *kty = versions[0].kty;
        *protection = versions[0].protection;
    }
    azkm_free(versions);
    return rc;
}

/* The rotation policy travels with the key, as in Key Vault; a tampered one is not backed up either. *doc is
 * NULL when the key has none. */
static azkm_rc policy_json(azkm_vault *v, int64_t rowid, const char *canon, json_t **doc)
{
    char *policy = NULL;
    azkm_rc rc = azkm_rotation_policy_read(v, rowid, canon, &policy);

    *doc = NULL;
    if (rc == AZKM_OK && policy != NULL)
        *doc = json_loads(policy, 0, NULL);
    if (rc == AZKM_OK && policy != NULL && !json_is_object(*doc))
        rc = azkm_fail(AZKM_E_CORRUPT, "vault %s: the rotation policy of key %s is not a JSON object", v->name,
                       canon);
    OPENSSL_free(policy);
    return rc;
}

/* The backup document of a key as JSON text (free), before sealing. */
static azkm_rc backup_text(azkm_vault *v, const char *name, char **text)
{
    azkm_catalog_version_row *rows = NULL;
    size_t n = 0;
    int64_t rowid;
    char canon[AZKM_NAME_MAX + 1];
    azkm_kty kty = 0;
    azkm_protection protection = 0;
    json_t *doc, *arr, *policy_doc = NULL;
    azkm_rc rc = azkm_find_key(v, name, 0, &rowid, canon, NULL, NULL);

    if (rc == AZKM_OK)
        rc = check_backupable(v, name, &kty, &protection);
    if (rc == AZKM_OK)
        rc = policy_json(v, rowid, canon, &policy_doc);
    if (rc == AZKM_OK)
        rc = azkm_catalog_versions_of_key(v->cat, rowid, &rows, &n);
    if (rc != AZKM_OK) {
        json_decref(policy_doc);
        return rc;
    }
    doc = json_object();
    arr = json_array();
    json_object_set_new(doc, "format", json_string("azkm-key-backup-1"));
    json_object_set_new(doc, "name", json_string(canon));
    json_object_set_new(doc, "kty", json_integer(kty));
    json_object_set_new(doc, "protection", json_integer(protection));
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, version_json(&rows[i]));
    json_object_set_new(doc, "versions", arr);
    /* optional: blobs made before policies were backed up have none */
    if (policy_doc != NULL)
        json_object_set_new(doc, "rotation_policy", policy_doc);
    *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    azkm_catalog_version_rows_free(rows, n);
    return *text != NULL ? AZKM_OK : azkm_fail(AZKM_E_NOMEM, "out of memory");
}

static azkm_rc key_backup_impl(azkm_vault *v, const char *name, unsigned char **blob, size_t *len)
{
    char *text = NULL;
    unsigned char hdr[BACKUP_HDR_LEN], *sealed = NULL;
    size_t sealed_len = 0;
    azkm_rc rc;

    *blob = NULL;
    *len = 0;
    rc = backup_text(v, name, &text);
    if (rc == AZKM_OK) {
        backup_header(v, hdr);
        rc = azkm_seal(v->ks->libctx, v->backup_key, hdr, sizeof(hdr), (unsigned char *)text, strlen(text), &sealed,
                       &sealed_len);
    }
    free(text);
    if (rc != AZKM_OK)
        return rc;
    *blob = OPENSSL_malloc(BACKUP_HDR_LEN + sealed_len);
    if (*blob == NULL) {
        OPENSSL_free(sealed);
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    }
    memcpy(*blob, hdr, BACKUP_HDR_LEN);
    memcpy(*blob + BACKUP_HDR_LEN, sealed, sealed_len);
    *len = BACKUP_HDR_LEN + sealed_len;
    OPENSSL_free(sealed);
    return AZKM_OK;
}

static int get_int(json_t *o, const char *k, int64_t *out)
{
    json_t *x = json_object_get(o, k);

    if (!json_is_integer(x))
        return 0;
    *out = json_integer_value(x);
    return 1;
}

/* Reads one version object of a backup into info and material. */
static azkm_rc parse_version(azkm_vault *v, json_t *o, const char *name, azkm_key_info *info,
                             unsigned char **material, size_t *material_len)
{
    int64_t size, curve, enabled, nbf, exp, ops, created, updated;
    json_t *ver = json_object_get(o, "version"), *mat = json_object_get(o, "material");
    json_t *pub = json_object_get(o, "public_der"), *tags = json_object_get(o, "tags");

    if (!json_is_string(ver) || !azkm_version_valid(json_string_value(ver)) || !json_is_string(mat) ||
        !json_is_string(tags) || !get_int(o, "size", &size) || !get_int(o, "curve", &curve) ||
        !get_int(o, "enabled", &enabled) || !get_int(o, "nbf", &nbf) || !get_int(o, "exp", &exp) ||
        !get_int(o, "key_ops", &ops) || !get_int(o, "created", &created) || !get_int(o, "updated", &updated))
        return azkm_fail(AZKM_E_CORRUPT, "backup of key %s: a version record is incomplete", name);
    snprintf(info->name, sizeof(info->name), "%s", name);
    snprintf(info->version, sizeof(info->version), "%s", json_string_value(ver));
    info->size = (unsigned)size;
    info->curve = (azkm_curve)curve;
    info->attrs.enabled = enabled ? 1 : 0;
    info->attrs.not_before = nbf;
    info->attrs.expires = exp;
    info->attrs.key_ops = (unsigned)ops & AZKM_OP_ALL;
    info->attrs.created = created;
    info->attrs.updated = updated;
    if (azkm_tags_from_json(json_string_value(tags), &info->attrs) != AZKM_OK)
        return azkm_fail(AZKM_E_CORRUPT, "backup of key %s: tags are damaged", name);
    if (json_is_string(pub)) {
        size_t len = 0;
        unsigned char *der = unb64(json_string_value(pub), &len);

        if (der == NULL || len == 0 || len > sizeof(info->public_der)) {
            azkm_free(der);
            return azkm_fail(AZKM_E_CORRUPT, "backup of key %s: public key is damaged", name);
        }
        memcpy(info->public_der, der, len);
        info->public_der_len = len;
        azkm_free(der);
    }
    *material = unb64(json_string_value(mat), material_len);
    if (*material == NULL)
        return azkm_fail(AZKM_E_CORRUPT, "backup of key %s: key material is damaged", name);
    (void)v;
    return AZKM_OK;
}

/* An RSA-PSS version's public key is its material's made into the id-RSASSA-PSS key that the version records. */
static azkm_rc as_stored_pss(azkm_vault *v, const azkm_key_info *info, unsigned char **pub, size_t *pub_len)
{
    azkm_rsa_pss pss;
    unsigned char *der = NULL;
    size_t len = 0;
    azkm_rc rc = azkm_spki_rsa_pss_read(v->ks->libctx, info->public_der, info->public_der_len, &pss);

    if (rc != AZKM_OK || !pss.enabled)
        return rc;
    rc = azkm_spki_rsa_pss_make(v->ks->libctx, *pub, *pub_len, &pss, &der, &len);
    if (rc == AZKM_OK) {
        OPENSSL_free(*pub);
        *pub = der;
        *pub_len = len;
    }
    return rc;
}

/* A backup is authenticated, but what it says is still checked before it becomes catalog rows: the material must
 * open under this version's binding, and the public key, size and curve must be the material's own. */
static azkm_rc check_version(azkm_vault *v, const azkm_key_info *info, const unsigned char *material, size_t len)
{
    unsigned char aad[256], *plain = NULL, *pub = NULL;
    size_t aad_len, plain_len = 0, pub_len = 0;
    EVP_PKEY *pkey = NULL;
    azkm_kty kty;
    unsigned size = 0;
    azkm_curve curve = AZKM_CURVE_NONE;
    azkm_rc rc;

    /* What create and update would refuse, a restore refuses too: the key_ops must apply to the key's type. */
    if (azkm_attrs_validate(v, info->name, info->kty, info->protection, AZKM_ATTR_KEY_OPS | AZKM_ATTR_TAGS,
                            &info->attrs) != AZKM_OK)
        return azkm_fail(AZKM_E_CORRUPT, "backup of key %s: version %s: %s", info->name, info->version,
                         azkm_last_error());
    aad_len = azkm_material_aad(v, info->name, info->version, info->kty, info->protection, aad, sizeof(aad));
    rc = azkm_unseal(v->ks->libctx, v->seal_key, aad, aad_len, material, len, &plain, &plain_len);
    if (rc != AZKM_OK)
        return azkm_fail(AZKM_E_INTEGRITY, "backup of key %s: version %s's material does not belong to it",
                         info->name, info->version);
    if (info->kty == AZKM_KTY_OCT) {
        if (plain_len * 8 != info->size || info->public_der_len != 0)
            rc = azkm_fail(AZKM_E_CORRUPT, "backup of key %s: version %s's size does not match its material",
                           info->name, info->version);
    } else {
        rc = azkm_pkey_from_material(v->ks->libctx, v->ks->propq, info->kty, plain, plain_len, &pkey);
        if (rc == AZKM_OK)
            rc = azkm_pkey_describe(pkey, &kty, &size, &curve);
        if (rc == AZKM_OK)
            rc = azkm_pkey_public_der(pkey, &pub, &pub_len);
        if (rc == AZKM_OK)
            rc = as_stored_pss(v, info, &pub, &pub_len);
        if (rc == AZKM_OK &&
            (kty != info->kty || size != info->size || curve != info->curve || info->public_der_len == 0 ||
             pub_len != info->public_der_len || memcmp(pub, info->public_der, pub_len) != 0))
            rc = azkm_fail(
                AZKM_E_CORRUPT,
                "backup of key %s: version %s's type, size, curve or public key does not match its material",
                info->name, info->version);
    }
    OPENSSL_free(pub);
    EVP_PKEY_free(pkey);
    OPENSSL_clear_free(plain, plain_len);
    return rc;
}

/* The key's rotation policy, when the blob has one (blobs made before policies were backed up do not). */
static azkm_rc restore_policy(azkm_vault *v, json_t *doc, int64_t rowid, const char *name)
{
    json_t *policy = json_object_get(doc, "rotation_policy");
    char *text;
    azkm_rc rc;

    if (policy == NULL)
        return AZKM_OK;
    if (!json_is_object(policy))
        return azkm_fail(AZKM_E_CORRUPT, "backup of key %s: the rotation policy is not a JSON object", name);
    if ((text = json_dumps(policy, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    rc = azkm_rotation_policy_restore(v, rowid, name, text);
    free(text);
    if (rc == AZKM_E_INVALID)
        rc = azkm_fail(AZKM_E_CORRUPT, "backup of key %s: %s", name, azkm_last_error());
    return rc;
}

/* Material sealed for a version in the vault src, sealed again for the same version in v (its binding names the
 * vault). *material is replaced. */
static azkm_rc reseal(azkm_vault *src, azkm_vault *v, const azkm_key_info *info, unsigned char **material,
                      size_t *len)
{
    unsigned char aad[256], *plain = NULL, *sealed = NULL;
    size_t aad_len, plain_len = 0, sealed_len = 0;
    azkm_rc rc;

    aad_len = azkm_material_aad(src, info->name, info->version, info->kty, info->protection, aad, sizeof(aad));
    rc = azkm_unseal(src->ks->libctx, src->seal_key, aad, aad_len, *material, *len, &plain, &plain_len);
    if (rc != AZKM_OK)
        return azkm_fail(AZKM_E_INTEGRITY, "backup of key %s: version %s's material does not belong to it",
                         info->name, info->version);
    aad_len = azkm_material_aad(v, info->name, info->version, info->kty, info->protection, aad, sizeof(aad));
    rc = azkm_seal(v->ks->libctx, v->seal_key, aad, aad_len, plain, plain_len, &sealed, &sealed_len);
    OPENSSL_clear_free(plain, plain_len);
    if (rc != AZKM_OK)
        return rc;
    OPENSSL_free(*material);
    *material = sealed;
    *len = sealed_len;
    return AZKM_OK;
}

/* Restores the blob's versions (made in the vault src) into the new key row rowid of v: each is checked before it
 * becomes a row. */
static azkm_rc restore_versions(azkm_vault *src, azkm_vault *v, json_t *versions, int64_t rowid, const char *name,
                                azkm_kty kty, azkm_protection protection)
{
    size_t i;
    json_t *o;
    azkm_rc rc = AZKM_OK;

    json_array_foreach(versions, i, o)
    {
        azkm_key_info info;
        unsigned char *material = NULL;
        size_t material_len = 0;

        memset(&info, 0, sizeof(info));
        info.kty = kty;
        info.protection = protection;
        rc = parse_version(v, o, name, &info, &material, &material_len);
        if (rc == AZKM_OK && src != v)
            rc = reseal(src, v, &info, &material, &material_len);
        if (rc == AZKM_OK)
            rc = check_version(v, &info, material, material_len);
        if (rc == AZKM_OK)
            rc = azkm_insert_version(v, rowid, &info, material, material_len);
        OPENSSL_free(material);
        if (rc != AZKM_OK)
            return rc;
    }
    return AZKM_OK;
}

static azkm_rc restore_doc(azkm_vault *src, azkm_vault *v, json_t *doc, char *name_out)
{
    json_t *name = json_object_get(doc, "name"), *versions = json_object_get(doc, "versions");
    int64_t kty, protection, rowid = 0;
    char lname[AZKM_NAME_MAX + 1];
    azkm_rc rc;

    if (!json_is_string(name) || !azkm_key_name_valid(json_string_value(name)) || !json_is_array(versions) ||
        json_array_size(versions) == 0 || !get_int(doc, "kty", &kty) || !get_int(doc, "protection", &protection))
        return azkm_fail(AZKM_E_CORRUPT, "backup blob: the key record is incomplete");
    if (protection != AZKM_PROTECTION_SOFTWARE ||
        (kty != AZKM_KTY_RSA && kty != AZKM_KTY_EC && kty != AZKM_KTY_OKP && kty != AZKM_KTY_OCT))
        return azkm_fail(AZKM_E_CORRUPT, "backup blob: only software RSA, EC, OKP and oct keys have backups");
    snprintf(name_out, AZKM_NAME_MAX + 1, "%s", json_string_value(name));
    rc = azkm_find_key(v, name_out, -1, &rowid, NULL, NULL, NULL);
    if (rc == AZKM_OK)
        return azkm_fail(AZKM_E_CONFLICT,
                         "key %s/%s exists (or is deleted but recoverable): purge it before "
                         "restoring its backup",
                         v->name, name_out);
    if (rc != AZKM_E_NOT_FOUND)
        return rc;
    azkm_clear_error();
    azkm_key_name_lc(name_out, lname);
    rc = azkm_catalog_key_insert(v->cat, name_out, lname, kty, protection, azkm_now(v->ks), &rowid);
    if (rc == AZKM_OK)
        rc = restore_versions(src, v, versions, rowid, name_out, (azkm_kty)kty, (azkm_protection)protection);
    if (rc == AZKM_OK)
        rc = restore_policy(v, doc, rowid, name_out);
    return rc;
}

/* The vault a blob was made in: v itself, or another vault of the keystore with the id the blob's header names.
 * That id is not trusted: it only says which backup key to try, and the blob's authentication under that key (the
 * header is its associated data) is what proves it. A damaged id names no vault, or a vault whose key fails. */
static azkm_rc source_vault(azkm_vault *v, const unsigned char *blob, azkm_vault **src)
{
    azkm_rc rc;

    if (memcmp(blob + BACKUP_MAGIC_LEN, v->vault_id, AZKM_VAULT_ID_LEN) == 0) {
        azkm_vault_ref(v);
        *src = v;
        return AZKM_OK;
    }
    rc = azkm_vault_open_by_id(v->ks, blob + BACKUP_MAGIC_LEN, src);
    if (rc == AZKM_E_NOT_FOUND)
        return azkm_fail(AZKM_E_INTEGRITY,
                         "backup blob: integrity check failed: the blob is damaged or was altered, or it was made "
                         "outside this keystore (no vault of %s has the vault id it names)",
                         v->ks->dir);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "backup blob: the vault it was made in: %s", azkm_last_error());
    return AZKM_OK;
}

/* The blob opened with the backup key of the vault it names; *doc is its JSON document. */
static azkm_rc open_blob(azkm_vault *src, const unsigned char *blob, size_t len, json_t **doc)
{
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    json_error_t jerr;
    azkm_rc rc = azkm_unseal(src->ks->libctx, src->backup_key, blob, BACKUP_HDR_LEN, blob + BACKUP_HDR_LEN,
                             len - BACKUP_HDR_LEN, &plain, &plain_len);

    if (rc == AZKM_E_INTEGRITY)
        return azkm_fail(rc, "backup blob: integrity check failed: the blob is damaged or was altered");
    if (rc != AZKM_OK)
        return rc;
    *doc = json_loadb((const char *)plain, plain_len, 0, &jerr);
    OPENSSL_clear_free(plain, plain_len);
    if (*doc == NULL)
        return azkm_fail(AZKM_E_CORRUPT, "backup blob: its content is not valid");
    return AZKM_OK;
}

static azkm_rc key_restore_impl(azkm_vault *v, const unsigned char *blob, size_t len, azkm_key_info *out)
{
    char name[AZKM_NAME_MAX + 1] = "";
    azkm_vault *src = NULL;
    json_t *doc = NULL;
    azkm_rc rc;

    if (blob == NULL || len < BACKUP_HDR_LEN + AZKM_SEAL_OVERHEAD || len > BACKUP_MAX ||
        memcmp(blob, BACKUP_MAGIC, BACKUP_MAGIC_LEN) != 0)
        return azkm_fail(AZKM_E_INVALID, "backup blob: not an azkm key backup");
    rc = source_vault(v, blob, &src);
    if (rc == AZKM_OK)
        rc = open_blob(src, blob, len, &doc);
    if (rc == AZKM_OK)
        rc = azkm_catalog_begin(v->cat);
    if (rc == AZKM_OK) {
        rc = azkm_vault_expire_deleted(v);
        if (rc == AZKM_OK)
            rc = restore_doc(src, v, doc, name);
        if (rc == AZKM_OK)
            rc = azkm_catalog_commit(v->cat);
        else
            azkm_catalog_rollback(v->cat);
    }
    json_decref(doc);
    azkm_vault_close(src);
    if (rc == AZKM_OK && out != NULL)
        rc = azkm_key_show(v, name, NULL, out);
    return rc;
}

/* ---- the audited API -------------------------------------------------------------------------------------- */

azkm_rc azkm_key_backup(azkm_vault *v, const char *name, unsigned char **blob, size_t *len)
{
    AZKM_AUDITED(v->ks, "KeyBackup", v->name, name,
                 v->remote != NULL ? azkm_remote_key_backup(v->remote, name, blob, len)
                                   : key_backup_impl(v, name, blob, len),
                 NULL);
}

azkm_rc azkm_key_restore(azkm_vault *v, const unsigned char *blob, size_t len, azkm_key_info *out)
{
    azkm_audit_op audit;
    azkm_rc rc;

    /* The key's name is known only once the blob is open. */
    azkm_audit_begin(&audit, v->ks, "KeyRestore", v->name, NULL);
    rc = v->remote != NULL ? azkm_remote_key_restore(v->remote, blob, len, out)
                           : key_restore_impl(v, blob, len, out);
    if (rc == AZKM_OK && out != NULL)
        audit.name = out->name;
    return azkm_audit_end(&audit, rc, rc == AZKM_OK && out ? out->version : NULL);
}
