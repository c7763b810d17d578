/* Keys on stdout: Azure's KeyBundle and KeyItem shapes in JSON (times as epoch seconds, as in Azure's
 * attributes), a vertical table or a list in ISO-8601 otherwise (see output.h). */
#include <stdio.h>
#include <string.h>

#include "jwk.h"
#include "output.h"
#include "report.h"

static json_t *tags_json(const azkm_attributes *a)
{
    json_t *obj = json_object();

    for (size_t i = 0; obj != NULL && i < a->n_tags; i++)
        json_object_set_new(obj, a->tags[i].name, json_string(a->tags[i].value));
    return obj;
}

static void set_time(json_t *obj, const char *field, int64_t t)
{
    json_object_set_new(obj, field, t ? json_integer(t) : json_null());
}

static json_t *attributes_json(const azkm_key_info *info)
{
    json_t *obj = json_object();

    if (obj == NULL)
        return NULL;
    json_object_set_new(obj, "enabled", json_boolean(info->attrs.enabled));
    set_time(obj, "nbf", info->attrs.not_before);
    set_time(obj, "exp", info->attrs.expires);
    set_time(obj, "created", info->attrs.created);
    set_time(obj, "updated", info->attrs.updated);
    json_object_set_new(obj, "recoveryLevel", json_string(info->recovery_level));
    json_object_set_new(obj, "recoverableDays", json_integer(info->recoverable_days));
    json_object_set_new(obj, "exportable", json_false());
    return obj;
}

static void add_deleted(json_t *obj, const azkm_key_info *info)
{
    char rid[AZKM_URI_MAX + 32];

    if (info->deleted_on == 0)
        return;
    snprintf(rid, sizeof(rid), "azkm://%s/deletedkeys/%s", info->vault, info->name);
    json_object_set_new(obj, "recoveryId", json_string(rid));
    set_time(obj, "deletedDate", info->deleted_on);
    set_time(obj, "scheduledPurgeDate", info->scheduled_purge);
}

/* An RSA-PSS key (not in Azure's model: its JWK is an RSA key) also has "rsaPss", its restrictions or {}. */
static void add_rsa_pss(json_t *obj, const azkm_key_info *info)
{
    json_t *pss;

    if (!info->pss.enabled || (pss = json_object()) == NULL)
        return;
    if (info->pss.restricted) {
        json_object_set_new(pss, "digest", json_string(info->pss.digest));
        json_object_set_new(pss, "mgf1Digest", json_string(info->pss.mgf1_digest));
        json_object_set_new(pss, "minSaltLength", json_integer(info->pss.min_salt_len));
    }
    json_object_set_new(obj, "rsaPss", pss);
}

/* Azure KeyBundle: {"key":JWK,"attributes":{...},"tags":{...}} plus deletedDate/... for deleted keys. */
static json_t *key_bundle_json(const azkm_key_info *info)
{
    json_t *obj = json_object(), *jwk = jwk_from_info(info, 0);

    if (obj == NULL || jwk == NULL) {
        json_decref(obj);
        json_decref(jwk);
        return NULL;
    }
    json_object_set_new(obj, "key", jwk);
    json_object_set_new(obj, "attributes", attributes_json(info));
    json_object_set_new(obj, "tags", tags_json(&info->attrs));
    add_rsa_pss(obj, info);
    add_deleted(obj, info);
    return obj;
}

/* A list item, as in Azure's KeyItem: the kid without key material, plus name and type for convenience. */
static json_t *key_item_json(const azkm_key_info *info)
{
    char kid[AZKM_URI_MAX];
    json_t *obj = json_object();

    if (obj == NULL || jwk_kid(info, kid, sizeof(kid)) != 0) {
        json_decref(obj);
        return NULL;
    }
    json_object_set_new(obj, "kid", json_string(kid));
    json_object_set_new(obj, "name", json_string(info->name));
    json_object_set_new(obj, "kty", json_string(azkm_kty_name(info->kty, info->protection)));
    json_object_set_new(obj, "current", json_boolean(info->current));
    json_object_set_new(obj, "attributes", attributes_json(info));
    json_object_set_new(obj, "tags", tags_json(&info->attrs));
    add_deleted(obj, info);
    return obj;
}

static const char *size_text(const azkm_key_info *info, char *buf, size_t len)
{
    if (info->kty == AZKM_KTY_EC || info->kty == AZKM_KTY_OKP)
        snprintf(buf, len, "%s", azkm_curve_name(info->curve));
    else
        snprintf(buf, len, "%u", info->size);
    return buf;
}

static const char *pss_text(const azkm_rsa_pss *pss, char *buf, size_t len)
{
    if (pss->restricted)
        snprintf(buf, len, "RSA-PSS only: %s, MGF1 with %s, salt of %d bytes or more", pss->digest,
                 pss->mgf1_digest, pss->min_salt_len);
    else
        snprintf(buf, len, "RSA-PSS only, any digest");
    return buf;
}

static const char *ops_text(unsigned ops, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned bit = 1; bit & AZKM_OP_ALL; bit <<= 1)
        if ((ops & bit) && used < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", azkm_op_name(bit));
    if (used == 0)
        snprintf(buf, len, "-");
    return buf;
}

static const char *tags_text(const azkm_attributes *a, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < a->n_tags && used < len; i++)
        used +=
            (size_t)snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "", a->tags[i].name, a->tags[i].value);
    if (used == 0)
        snprintf(buf, len, "-");
    return buf;
}

int out_key(int json, const azkm_key_info *info)
{
    char kid[AZKM_URI_MAX], t[32], text[AZKM_MAX_TAGS * (AZKM_TAG_NAME_MAX + AZKM_TAG_VALUE_MAX + 2) + 1];

    if (json)
        return out_json(key_bundle_json(info));
    if (jwk_kid(info, kid, sizeof(kid)) != 0)
        return cli_failf(AZKM_E_INVALID, "cannot format the key id");
    out_row("Key ID", "%s", kid);
    out_row("Name", "%s", info->name);
    out_row("Version", "%s%s", info->version, info->current ? " (current)" : "");
    out_row("Type", "%s %s%s", azkm_kty_name(info->kty, info->protection), size_text(info, t, sizeof(t)),
            info->pss.enabled ? " (RSA-PSS)" : "");
    if (info->pss.enabled)
        out_row("Signatures", "%s", pss_text(&info->pss, text, sizeof(text)));
    out_row("Operations", "%s", ops_text(info->attrs.key_ops, text, sizeof(text)));
    out_row("Enabled", "%s", info->attrs.enabled ? "true" : "false");
    out_row("Not before", "%s", out_time(info->attrs.not_before, t, sizeof(t)));
    out_row("Expires", "%s", out_time(info->attrs.expires, t, sizeof(t)));
    out_row("Created", "%s", out_time(info->attrs.created, t, sizeof(t)));
    out_row("Updated", "%s", out_time(info->attrs.updated, t, sizeof(t)));
    out_row("Recovery level", "%s (%d days)", info->recovery_level, info->recoverable_days);
    out_row("Tags", "%s", tags_text(&info->attrs, text, sizeof(text)));
    if (info->deleted_on != 0) {
        out_row("Deleted", "%s", out_time(info->deleted_on, t, sizeof(t)));
        out_row("Scheduled purge", "%s", out_time(info->scheduled_purge, t, sizeof(t)));
    }
    return 0;
}

int out_key_list(int json, const azkm_key_info *arr, size_t n, int deleted)
{
    char sz[32], t1[32], t2[32];

    if (json) {
        json_t *list = json_array();

        for (size_t i = 0; list != NULL && i < n; i++)
            json_array_append_new(list, key_item_json(&arr[i]));
        return out_json(list);
    }
    if (deleted)
        printf("%-32s %-8s %-7s %-20s %s\n", "NAME", "KTY", "SIZE", "DELETED", "SCHEDULED PURGE");
    else
        printf("%-32s %-8s %-7s %-7s %-20s %s\n", "NAME", "KTY", "SIZE", "ENABLED", "EXPIRES", "VERSION");
    for (size_t i = 0; i < n; i++) {
        const azkm_key_info *k = &arr[i];
        const char *kty = azkm_kty_name(k->kty, k->protection);

        if (deleted)
            printf("%-32s %-8s %-7s %-20s %s\n", k->name, kty, size_text(k, sz, sizeof(sz)),
                   out_time(k->deleted_on, t1, sizeof(t1)), out_time(k->scheduled_purge, t2, sizeof(t2)));
        else
            printf("%-32s %-8s %-7s %-7s %-20s %s\n", k->name, kty, size_text(k, sz, sizeof(sz)),
                   k->attrs.enabled ? "true" : "false", out_time(k->attrs.expires, t1, sizeof(t1)), k->version);
    }
    return 0;
}

int out_key_versions(int json, const azkm_key_info *arr, size_t n)
{
    char t1[32], t2[32], t3[32];

    if (json)
        return out_key_list(json, arr, n, 0);
    printf("%-32s %-7s %-7s %-20s %-20s %s\n", "VERSION", "CURRENT", "ENABLED", "CREATED", "NOT BEFORE", "EXPIRES");
    for (size_t i = 0; i < n; i++)
        printf("%-32s %-7s %-7s %-20s %-20s %s\n", arr[i].version, arr[i].current ? "yes" : "no",
               arr[i].attrs.enabled ? "true" : "false", out_time(arr[i].attrs.created, t1, sizeof(t1)),
               out_time(arr[i].attrs.not_before, t2, sizeof(t2)), out_time(arr[i].attrs.expires, t3, sizeof(t3)));
    return 0;
}

int out_key_result(int json, azkm_rc rc, azkm_key_info *info)
{
    int ret = rc == AZKM_OK ? out_key(json, info) : cli_fail(rc);

    return ret;
}
