/* Rotation policies: per key, in Azure's shape (lifetime actions Rotate / Notify triggered by timeAfterCreate or
 * timeBeforeExpiry, an expiryTime for new versions), parsed and checked here and stored in the catalog with an HMAC
 * under the vault's MAC key. The run that applies them is rotation_run.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "keys/records.h"
#include "catalog/policies.h"
#include "keys/rotation_policy.h"
#include "tiers/remote/remote_admin.h"

#define DAY 86400LL
/* Azure Key Vault's minimums, enforced when a policy is set (not on policies stored before they were). */
#define MIN_EXPIRY_DAYS 28
#define MIN_TRIGGER_DAYS 7

/* ---- ISO-8601 durations ------------------------------------------------------------------------------------ */

azkm_rc azkm_duration_parse(const char *text, int64_t *seconds)
{
    /* designators in the order ISO 8601 allows them, before and after the T */
    static const struct {
        char unit;
        int time_part;
        int64_t seconds;
    } units[] = {{'Y', 0, 365 * 86400LL}, {'M', 0, 30 * 86400LL}, {'W', 0, 7 * 86400LL}, {'D', 0, 86400LL},
                 {'H', 1, 3600LL},        {'M', 1, 60LL},         {'S', 1, 1LL}};
    const char *p = text;
    size_t next = 0;
    int64_t total = 0;
    int in_time = 0, parts = 0;

    if (p == NULL || *p++ != 'P')
        return azkm_fail(AZKM_E_INVALID, "'%.64s' is not an ISO-8601 duration such as P90D, P1Y or PT12H",
                         text ? text : "");
    while (*p != '\0') {
        int64_t n = 0;
        int digits = 0;

        if (*p == 'T' && !in_time) {
            in_time = 1;
            p++;
            continue;
        }
        while (*p >= '0' && *p <= '9' && digits < 9) {
            n = n * 10 + (*p++ - '0');
            digits++;
        }
        while (digits > 0 && next < sizeof(units) / sizeof(units[0]) &&
               (units[next].unit != *p || units[next].time_part != in_time))
            next++;
        if (digits == 0 || next == sizeof(units) / sizeof(units[0]))
            return azkm_fail(AZKM_E_INVALID, "'%.64s' is not an ISO-8601 duration such as P90D, P1Y or PT12H",
                             text);
        total += n * units[next++].seconds;
        parts++;
        p++;
    }
    if (parts == 0 || total <= 0)
        return azkm_fail(AZKM_E_INVALID, "'%.64s' is not a positive ISO-8601 duration", text);
    *seconds = total;
    return AZKM_OK;
}

/* ---- policies ------------------------------------------------------------------------------------------------ */

/* One lifetime action as written. */
typedef struct {
    int rotate;       /* Rotate, else Notify */
    int after_create; /* triggered by timeAfterCreate, else timeBeforeExpiry */
    const char *text; /* the trigger's duration as written */
    int64_t seconds;
} lifetime_action;

static azkm_rc expiry_parse(const char *expiry, azkm_rotation_rules *pol, int azure_minimums)
{
    azkm_rc rc;

    if (expiry == NULL)
        return AZKM_OK;
    if ((rc = azkm_duration_parse(expiry, &pol->expiry_time)) != AZKM_OK)
        return azkm_fail(rc, "rotation policy: expiryTime: %s", azkm_last_error());
    if (azure_minimums && pol->expiry_time < MIN_EXPIRY_DAYS * DAY)
        return azkm_fail(AZKM_E_INVALID,
                         "rotation policy: expiryTime %s is shorter than Azure's minimum of %d days", expiry,
                         MIN_EXPIRY_DAYS);
    snprintf(pol->expiry_text, sizeof(pol->expiry_text), "%s", expiry);
    return AZKM_OK;
}

/* lifetimeActions[i] on its own: its type, its one trigger and that trigger's duration. */
static azkm_rc action_parse(json_t *it, size_t i, lifetime_action *a)
{
    json_t *trig = json_object_get(it, "trigger");
    const char *type = json_string_value(json_object_get(json_object_get(it, "action"), "type"));
    const char *after = json_string_value(json_object_get(trig, "timeAfterCreate"));
    const char *before = json_string_value(json_object_get(trig, "timeBeforeExpiry"));
    int notify = type && strcasecmp(type, "Notify") == 0;
    azkm_rc rc;

    a->rotate = type && strcasecmp(type, "Rotate") == 0;
    if (!a->rotate && !notify)
        return azkm_fail(AZKM_E_INVALID,
                         "rotation policy: lifetimeActions[%zu].action.type must be Rotate or Notify", i);
    if ((after == NULL) == (before == NULL))
        return azkm_fail(AZKM_E_INVALID,
                         "rotation policy: lifetimeActions[%zu].trigger needs exactly one of timeAfterCreate and "
                         "timeBeforeExpiry",
                         i);
    a->after_create = after != NULL;
    a->text = after ? after : before;
    a->seconds = 0;
    if ((rc = azkm_duration_parse(a->text, &a->seconds)) != AZKM_OK)
        return azkm_fail(rc, "rotation policy: lifetimeActions[%zu]: %s", i, azkm_last_error());
    if (notify && after != NULL)
        return azkm_fail(AZKM_E_INVALID, "rotation policy: a Notify action is triggered by timeBeforeExpiry only");
    return AZKM_OK;
}

/* Checks an action against the ones before it and the expiry, and adds it to the rules and the normalised list. */
static azkm_rc action_add(const lifetime_action *a, azkm_rotation_rules *pol, const char *expiry,
                          int azure_minimums, int counts[2], json_t *out_acts)
{
    const char *trigger = a->after_create ? "timeAfterCreate" : "timeBeforeExpiry";

    if (counts[a->rotate]++ > 0)
        return azkm_fail(AZKM_E_INVALID, "rotation policy: at most one Rotate and one Notify action");
    if (azure_minimums && a->seconds < MIN_TRIGGER_DAYS * DAY)
        return azkm_fail(AZKM_E_INVALID, "rotation policy: %s %s %s is shorter than Azure's minimum of %d days",
                         a->rotate ? "Rotate" : "Notify", trigger, a->text, MIN_TRIGGER_DAYS);
    if (!a->after_create && pol->expiry_time != 0 && a->seconds >= pol->expiry_time)
        return azkm_fail(AZKM_E_INVALID,
                         "rotation policy: timeBeforeExpiry %s must be shorter than expiryTime %s, or every new "
                         "version would be due at once",
                         a->text, expiry);
    if (a->rotate && a->after_create)
        pol->rotate_after_create = a->seconds;
    else if (a->rotate)
        pol->rotate_before_expiry = a->seconds;
    else
        pol->notify_before_expiry = a->seconds;
    snprintf(a->rotate ? pol->rotate_text : pol->notify_text, sizeof(pol->rotate_text), "%s %s", trigger, a->text);
    json_array_append_new(out_acts, json_pack("{s:{s:s}, s:{s:s}}", "trigger", trigger, a->text, "action", "type",
                                              a->rotate ? "Rotate" : "Notify"));
    return AZKM_OK;
}

/* The policy as stored: the actions as checked, in their order, and the expiry. */
static azkm_rc normalise(json_t *out_acts, const char *expiry, char **normalised)
{
    json_t *norm = json_pack("{s:O, s:{}}", "lifetimeActions", out_acts, "attributes");

    if (expiry != NULL)
        json_object_set_new(json_object_get(norm, "attributes"), "expiryTime", json_string(expiry));
    *normalised = json_dumps(norm, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(norm);
    if (*normalised == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    return AZKM_OK;
}

/* Parses and validates a policy; *normalised (optional, free()) is the JSON stored. azure_minimums: also refuse
 * what Azure Key Vault refuses (a new policy); without it, a stored or restored policy keeps working as stored. */
static azkm_rc policy_parse(const char *text, azkm_rotation_rules *pol, char **normalised, int azure_minimums)
{
    json_error_t err;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &err), *acts, *attrs, *out_acts = json_array(), *it;
    const char *expiry;
    size_t i;
    int counts[2] = {0, 0}; /* Notify, Rotate actions seen */
    azkm_rc rc;

    memset(pol, 0, sizeof(*pol));
    if (normalised != NULL)
        *normalised = NULL;
    acts = json_object_get(doc, "lifetimeActions");
    attrs = json_object_get(doc, "attributes");
    expiry = json_string_value(json_object_get(attrs, "expiryTime"));
    if (doc == NULL || !json_is_object(doc))
        rc = azkm_fail(AZKM_E_INVALID, "rotation policy: not a JSON object (%s)", doc ? "" : err.text);
    else if ((acts != NULL && !json_is_array(acts)) || (attrs != NULL && !json_is_object(attrs)))
        rc = azkm_fail(AZKM_E_INVALID, "rotation policy: lifetimeActions must be an array, attributes an object");
    else
        rc = expiry_parse(expiry, pol, azure_minimums);
    if (rc == AZKM_OK) {
        json_array_foreach(acts, i, it)
        {
            lifetime_action a;

            if ((rc = action_parse(it, i, &a)) != AZKM_OK ||
                (rc = action_add(&a, pol, expiry, azure_minimums, counts, out_acts)) != AZKM_OK)
                break;
        }
    }
    if (rc == AZKM_OK && normalised != NULL)
        rc = normalise(out_acts, expiry, normalised);
    json_decref(out_acts);
    json_decref(doc);
    return rc;
}

/* HMAC over the policy and the identity of its key, under the vault's MAC key. */
static void policy_mac(const azkm_vault *v, int64_t rowid, const char *name, const char *text, int64_t updated,
                       unsigned char mac[32])
{
    size_t nlen = strlen(name), tlen = strlen(text), len = 24 + AZKM_VAULT_ID_LEN + 8 + nlen + 1 + tlen + 1 + 8;
    unsigned char *buf = OPENSSL_malloc(len), *p = buf;

    if (buf == NULL) {
        memset(mac, 0, 32);
        return;
    }
    memcpy(p, "azkm-rotation-policy-v1\0", 24);
    p += 24;
    memcpy(p, v->vault_id, AZKM_VAULT_ID_LEN);
    p += AZKM_VAULT_ID_LEN;
    for (int i = 0; i < 8; i++)
        *p++ = (unsigned char)((uint64_t)rowid >> (56 - 8 * i));
    for (size_t i = 0; i <= nlen; i++)
        *p++ = (unsigned char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    memcpy(p, text, tlen + 1);
    p += tlen + 1;
    for (int i = 0; i < 8; i++)
        *p++ = (unsigned char)((uint64_t)updated >> (56 - 8 * i));
    azkm_hmac(v->mac_key, buf, len, mac);
    OPENSSL_free(buf);
}

/* Reads and authenticates the stored policy of a key; *text is NULL (and AZKM_OK) when there is none. */
static azkm_rc policy_read(azkm_vault *v, int64_t rowid, const char *name, char **text,
                           char notified[AZKM_VERSION_LEN + 1])
{
    azkm_catalog_policy_row row;
    unsigned char mac[32];
    azkm_rc rc = azkm_catalog_policy_get(v->cat, rowid, &row);

    *text = NULL;
    if (rc == AZKM_E_NOT_FOUND)
        return AZKM_OK;
    if (rc != AZKM_OK)
        return rc;
    policy_mac(v, rowid, name, row.policy ? row.policy : "", row.updated, mac);
    if (row.policy == NULL || row.mac_len != 32 || CRYPTO_memcmp(row.mac, mac, 32) != 0) {
        rc = azkm_fail(AZKM_E_INTEGRITY,
                       "vault %s: integrity check failed for the rotation policy of key %s: it was changed "
                       "outside azkm",
                       v->name, name);
    } else {
        *text = row.policy; /* OPENSSL_malloc'd: the caller's now */
        row.policy = NULL;
    }
    if (notified != NULL)
        snprintf(notified, AZKM_VERSION_LEN + 1, "%s", row.notified_version);
    azkm_catalog_policy_row_clear(&row);
    return rc;
}

/* Writes (norm) or removes (NULL) a key's policy row, inside the caller's write transaction. */
static azkm_rc policy_write(azkm_vault *v, int64_t rowid, const char *name, const char *norm)
{
    int64_t now = azkm_now(v->ks);
    unsigned char mac[32];

    if (norm == NULL)
        return azkm_catalog_policy_delete(v->cat, rowid);
    policy_mac(v, rowid, name, norm, now, mac);
    return azkm_catalog_policy_put(v->cat, rowid, norm, now, mac, sizeof(mac));
}

/* A Rotate action triggered before expiry needs the current version to expire, or it never fires: refused, as Key
 * Vault refuses it, rather than accepted and silently idle. */
static azkm_rc check_rotate_before_expiry(azkm_vault *v, int64_t rowid, const char *name,
                                          const azkm_rotation_rules *pol)
{
    azkm_key_info cur;
    azkm_rc rc;

    if (pol->rotate_before_expiry == 0)
        return AZKM_OK;
    rc = azkm_read_version(v, rowid, NULL, &cur, NULL);
    if (rc == AZKM_E_NOT_FOUND) {
        azkm_clear_error(); /* no enabled version: nothing to rotate yet, and nothing to check */
        return AZKM_OK;
    }
    if (rc == AZKM_OK && cur.attrs.expires == 0)
        rc = azkm_fail(
            AZKM_E_INVALID,
            "key %s/%s: a Rotate action triggered by timeBeforeExpiry (%s) needs the key to expire, and its "
            "current version has no expiry, so it would never rotate: set one first (key set-attributes "
            "--expires), or trigger the rotation with timeAfterCreate",
            v->name, name, pol->rotate_text);
    return rc;
}

static azkm_rc policy_set_impl(azkm_vault *v, const char *name, const char *text, char **stored)
{
    int64_t rowid;
    char canon[AZKM_NAME_MAX + 1], *norm = NULL;
    azkm_rotation_rules pol;
    azkm_rc rc = AZKM_OK;

    if (stored != NULL)
        *stored = NULL;
    if (text != NULL && *text != '\0' && (rc = policy_parse(text, &pol, &norm, 1)) != AZKM_OK)
        return azkm_fail(rc, "key %s/%s: %s", v->name, name ? name : "", azkm_last_error());
    if ((rc = azkm_catalog_begin(v->cat)) != AZKM_OK) {
        free(norm);
        return rc;
    }
    rc = azkm_find_key(v, name, 0, &rowid, canon, NULL, NULL);
    if (rc == AZKM_OK && norm != NULL)
        rc = check_rotate_before_expiry(v, rowid, canon, &pol);
    if (rc == AZKM_OK)
        rc = policy_write(v, rowid, canon, norm);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    else
        azkm_catalog_rollback(v->cat);
    if (rc == AZKM_OK && stored != NULL && norm != NULL && (*stored = OPENSSL_strdup(norm)) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    free(norm);
    return rc;
}

/* ---- for rotate, backup, restore, verify (records.h), update and the run (rotation_policy.h) ----------------- */

azkm_rc azkm_rotation_policy_check_no_expiry(azkm_vault *v, int64_t rowid, const char *name)
{
    azkm_rotation_rules pol;
    azkm_rc rc = azkm_rotation_policy_rules(v, rowid, name, &pol, NULL);

    if (rc == AZKM_E_NOT_FOUND)
        return AZKM_OK;
    if (rc == AZKM_OK && pol.rotate_before_expiry != 0)
        rc = azkm_fail(AZKM_E_INVALID,
                       "key %s/%s: its rotation policy rotates it before it expires (%s): its current version's "
                       "expiry cannot be removed (change the policy first)",
                       v->name, name, pol.rotate_text);
    return rc;
}

azkm_rc azkm_rotation_policy_read(azkm_vault *v, int64_t rowid, const char *name, char **text)
{
    return policy_read(v, rowid, name, text, NULL);
}

azkm_rc azkm_rotation_policy_restore(azkm_vault *v, int64_t rowid, const char *name, const char *text)
{
    char *norm = NULL;
    azkm_rotation_rules pol;
    azkm_rc rc = policy_parse(text, &pol, &norm, 0);

    if (rc == AZKM_OK)
        rc = policy_write(v, rowid, name, norm);
    free(norm);
    return rc;
}

azkm_rc azkm_rotation_policy_rules(azkm_vault *v, int64_t rowid, const char *name, azkm_rotation_rules *rules,
                                   char notified[AZKM_VERSION_LEN + 1])
{
    char *text = NULL;
    azkm_rc rc = policy_read(v, rowid, name, &text, notified);

    if (rc == AZKM_OK && text == NULL)
        return AZKM_E_NOT_FOUND;
    if (rc == AZKM_OK)
        rc = policy_parse(text, rules, NULL, 0);
    OPENSSL_free(text);
    return rc;
}

azkm_rc azkm_rotation_policy_expiry(azkm_vault *v, int64_t rowid, const char *name, int64_t *seconds)
{
    azkm_rotation_rules pol;
    azkm_rc rc = azkm_rotation_policy_rules(v, rowid, name, &pol, NULL);

    *seconds = 0;
    if (rc == AZKM_E_NOT_FOUND)
        return AZKM_OK;
    if (rc == AZKM_OK)
        *seconds = pol.expiry_time;
    return rc;
}

/* ---- the audited API ------------------------------------------------------------------------------------ */

static azkm_rc policy_get_impl(azkm_vault *v, const char *name, char **out)
{
    int64_t rowid;
    char canon[AZKM_NAME_MAX + 1];
    azkm_rc rc = azkm_find_key(v, name, 0, &rowid, canon, NULL, NULL);

    *out = NULL;
    if (rc != AZKM_OK)
        return rc;
    return azkm_rotation_policy_read(v, rowid, canon, out);
}

azkm_rc azkm_rotation_policy_get(azkm_vault *v, const char *name, char **policy)
{
    AZKM_AUDITED(v->ks, "KeyRotationPolicyGet", v->name, name,
                 v->remote != NULL ? azkm_remote_policy_get(v->remote, name, policy)
                                   : policy_get_impl(v, name, policy),
                 NULL);
}

azkm_rc azkm_rotation_policy_set(azkm_vault *v, const char *name, const char *policy, char **stored)
{
    AZKM_AUDITED(v->ks, "KeyRotationPolicyUpdate", v->name, name,
                 v->remote != NULL ? azkm_remote_policy_set(v->remote, name, policy, stored)
                                   : policy_set_impl(v, name, policy, stored),
                 NULL);
}
