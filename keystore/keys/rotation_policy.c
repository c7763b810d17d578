/* Rotation policies: per key, in Azure's shape (lifetime actions Rotate / Notify triggered by timeAfterCreate or
 * timeBeforeExpiry, an expiryTime for new versions), stored in their own table with an HMAC under the vault's MAC
 * key, and the run that applies them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "internal.h"
#include "catalog/sqlite.h"

#define DAY 86400LL
/* Azure Key Vault's minimums, enforced when a policy is set (not on policies stored before they were). */
#define MIN_EXPIRY_DAYS 28
#define MIN_TRIGGER_DAYS 7

/* Created with the catalog and, for vaults made before rotation policies existed, whenever a vault is opened. */
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

typedef struct {
    int64_t rotate_after_create; /* seconds, 0 = not set */
    int64_t rotate_before_expiry;
    int64_t notify_before_expiry;
    int64_t expiry_time;
    char rotate_text[32]; /* the durations as written, for reports */
    char notify_text[32];
    char expiry_text[32];
} rot_policy;

/* Parses and validates a policy; *normalised (optional, free()) is the JSON stored. azure_minimums: also refuse
 * what Azure Key Vault refuses (a new policy); without it, a stored or restored policy keeps working as stored. */
static azkm_rc policy_parse(const char *text, rot_policy *pol, char **normalised, int azure_minimums)
{
    json_error_t err;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &err), *acts, *attrs, *out_acts = json_array(), *it;
    const char *expiry;
    size_t i;
    int rotates = 0, notifies = 0;
    azkm_rc rc = AZKM_OK;

    memset(pol, 0, sizeof(*pol));
    if (normalised != NULL)
        *normalised = NULL;
    if (doc == NULL || !json_is_object(doc)) {
        rc = azkm_fail(AZKM_E_INVALID, "rotation policy: not a JSON object (%s)", doc ? "" : err.text);
        goto end;
    }
    acts = json_object_get(doc, "lifetimeActions");
    attrs = json_object_get(doc, "attributes");
    if ((acts != NULL && !json_is_array(acts)) || (attrs != NULL && !json_is_object(attrs))) {
        rc = azkm_fail(AZKM_E_INVALID, "rotation policy: lifetimeActions must be an array, attributes an object");
        goto end;
    }
    expiry = json_string_value(json_object_get(attrs, "expiryTime"));
    if (expiry != NULL) {
        if ((rc = azkm_duration_parse(expiry, &pol->expiry_time)) != AZKM_OK) {
            rc = azkm_fail(rc, "rotation policy: expiryTime: %s", azkm_last_error());
            goto end;
        }
        if (azure_minimums && pol->expiry_time < MIN_EXPIRY_DAYS * DAY) {
            rc = azkm_fail(AZKM_E_INVALID,
                           "rotation policy: expiryTime %s is shorter than Azure's minimum of %d days", expiry,
                           MIN_EXPIRY_DAYS);
            goto end;
        }
        snprintf(pol->expiry_text, sizeof(pol->expiry_text), "%s", expiry);
    }
    json_array_foreach(acts, i, it)
    {
        json_t *trig = json_object_get(it, "trigger");
        const char *type = json_string_value(json_object_get(json_object_get(it, "action"), "type"));
        const char *after = json_string_value(json_object_get(trig, "timeAfterCreate"));
        const char *before = json_string_value(json_object_get(trig, "timeBeforeExpiry"));
        int rotate = type && strcasecmp(type, "Rotate") == 0, notify = type && strcasecmp(type, "Notify") == 0;
        int64_t d = 0;

        if (!rotate && !notify) {
            rc = azkm_fail(AZKM_E_INVALID,
                           "rotation policy: lifetimeActions[%zu].action.type must be Rotate or Notify", i);
            goto end;
        }
        if ((after == NULL) == (before == NULL)) {
            rc = azkm_fail(AZKM_E_INVALID,
                           "rotation policy: lifetimeActions[%zu].trigger needs exactly one of timeAfterCreate and "
                           "timeBeforeExpiry",
                           i);
            goto end;
        }
        if ((rc = azkm_duration_parse(after ? after : before, &d)) != AZKM_OK) {
            rc = azkm_fail(rc, "rotation policy: lifetimeActions[%zu]: %s", i, azkm_last_error());
            goto end;
        }
        if (notify && after != NULL) {
            rc =
                azkm_fail(AZKM_E_INVALID, "rotation policy: a Notify action is triggered by timeBeforeExpiry only");
            goto end;
        }
        if ((rotate && rotates++) || (notify && notifies++)) {
            rc = azkm_fail(AZKM_E_INVALID, "rotation policy: at most one Rotate and one Notify action");
            goto end;
        }
        if (azure_minimums && d < MIN_TRIGGER_DAYS * DAY) {
            rc = azkm_fail(AZKM_E_INVALID, "rotation policy: %s %s %s is shorter than Azure's minimum of %d days",
                           rotate ? "Rotate" : "Notify", after ? "timeAfterCreate" : "timeBeforeExpiry",
                           after ? after : before, MIN_TRIGGER_DAYS);
            goto end;
        }
        if (before != NULL && pol->expiry_time != 0 && d >= pol->expiry_time) {
            rc = azkm_fail(AZKM_E_INVALID,
                           "rotation policy: timeBeforeExpiry %s must be shorter than expiryTime %s, or every new "
                           "version would be due at once",
                           before, expiry);
            goto end;
        }
        if (rotate && after)
            pol->rotate_after_create = d;
        else if (rotate)
            pol->rotate_before_expiry = d;
        else
            pol->notify_before_expiry = d;
        snprintf(rotate ? pol->rotate_text : pol->notify_text, sizeof(pol->rotate_text), "%s %s",
                 after ? "timeAfterCreate" : "timeBeforeExpiry", after ? after : before);
        json_array_append_new(
            out_acts, json_pack("{s:{s:s}, s:{s:s}}", "trigger", after ? "timeAfterCreate" : "timeBeforeExpiry",
                                after ? after : before, "action", "type", rotate ? "Rotate" : "Notify"));
    }
    if (normalised != NULL) {
        json_t *norm = json_pack("{s:O, s:{}}", "lifetimeActions", out_acts, "attributes");

        if (expiry != NULL)
            json_object_set_new(json_object_get(norm, "attributes"), "expiryTime", json_string(expiry));
        *normalised = json_dumps(norm, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(norm);
        if (*normalised == NULL)
            rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    }
end:
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
static azkm_rc policy_read(azkm_vault *v, int64_t rowid, const char *name, char **text, int64_t *updated,
                           char notified[AZKM_VERSION_LEN + 1])
{
    sqlite3_stmt *st = NULL;
    unsigned char mac[32];
    int rc = sqlite3_prepare_v2(
        v->cat->db, "SELECT policy, updated, mac, notified_version FROM rotation_policies WHERE key_id = ?", -1,
        &st, NULL);
    azkm_rc r = AZKM_OK;

    *text = NULL;
    /* A catalog made before rotation policies and opened read-only has no table, hence no policies: rotate,
     * backup and verify keep working on it. */
    if (rc != SQLITE_OK && sqlite3_table_column_metadata(v->cat->db, NULL, "rotation_policies", "policy", NULL,
                                                         NULL, NULL, NULL, NULL) != SQLITE_OK)
        return AZKM_OK;
    if (rc != SQLITE_OK)
        return azkm_catalog_fail(v->cat, "reading a rotation policy");
    sqlite3_bind_int64(st, 1, rowid);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);

        *updated = sqlite3_column_int64(st, 1);
        policy_mac(v, rowid, name, t ? t : "", *updated, mac);
        if (t == NULL || sqlite3_column_bytes(st, 2) != 32 ||
            CRYPTO_memcmp(sqlite3_column_blob(st, 2), mac, 32) != 0)
            r = azkm_fail(AZKM_E_INTEGRITY,
                          "vault %s: integrity check failed for the rotation policy of key %s: it was changed "
                          "outside azkm",
                          v->name, name);
        else if ((*text = OPENSSL_strdup(t)) == NULL)
            r = azkm_fail(AZKM_E_NOMEM, "out of memory");
        if (notified != NULL)
            snprintf(notified, AZKM_VERSION_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 3));
    } else if (rc != SQLITE_DONE) {
        r = azkm_catalog_fail(v->cat, "reading a rotation policy");
    }
    sqlite3_finalize(st);
    return r;
}

/* Writes (norm) or removes (NULL) a key's policy row, inside the caller's write transaction. */
static azkm_rc policy_write(azkm_vault *v, int64_t rowid, const char *name, const char *norm)
{
    int64_t now = azkm_now(v->ks);
    unsigned char mac[32];
    sqlite3_stmt *st = NULL;
    int src;

    if (norm == NULL) {
        src = sqlite3_prepare_v2(v->cat->db, "DELETE FROM rotation_policies WHERE key_id = ?", -1, &st, NULL);
        if (src == SQLITE_OK)
            sqlite3_bind_int64(st, 1, rowid);
    } else {
        policy_mac(v, rowid, name, norm, now, mac);
        src = sqlite3_prepare_v2(v->cat->db,
                                 "INSERT OR REPLACE INTO rotation_policies(key_id, policy, updated, "
                                 "notified_version, mac) VALUES(?, ?, ?, '', ?)",
                                 -1, &st, NULL);
        if (src == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, rowid);
            sqlite3_bind_text(st, 2, norm, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, now);
            sqlite3_bind_blob(st, 4, mac, 32, SQLITE_STATIC);
        }
    }
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(v->cat, "storing a rotation policy");
}

static azkm_rc policy_set_impl(azkm_vault *v, const char *name, const char *text, char **stored)
{
    int64_t rowid;
    char canon[AZKM_NAME_MAX + 1], *norm = NULL;
    rot_policy pol;
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

/* ---- for rotate, backup, restore and verify (internal.h) ----------------------------------------------- */

azkm_rc azkm_rotation_policy_read(azkm_vault *v, int64_t rowid, const char *name, char **text)
{
    int64_t updated = 0;

    return policy_read(v, rowid, name, text, &updated, NULL);
}

azkm_rc azkm_rotation_policy_restore(azkm_vault *v, int64_t rowid, const char *name, const char *text)
{
    char *norm = NULL;
    rot_policy pol;
    azkm_rc rc = policy_parse(text, &pol, &norm, 0);

    if (rc == AZKM_OK)
        rc = policy_write(v, rowid, name, norm);
    free(norm);
    return rc;
}

azkm_rc azkm_rotation_policy_expiry(azkm_vault *v, int64_t rowid, const char *name, int64_t *seconds)
{
    char *text = NULL;
    rot_policy pol;
    azkm_rc rc = azkm_rotation_policy_read(v, rowid, name, &text);

    *seconds = 0;
    if (rc == AZKM_OK && text != NULL && (rc = policy_parse(text, &pol, NULL, 0)) == AZKM_OK)
        *seconds = pol.expiry_time;
    OPENSSL_free(text);
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
    AZKM_AUDITED(v->ks, "KeyRotationPolicyGet", v->name, name, policy_get_impl(v, name, policy), NULL);
}

azkm_rc azkm_rotation_policy_set(azkm_vault *v, const char *name, const char *policy, char **stored)
{
    AZKM_AUDITED(v->ks, "KeyRotationPolicyUpdate", v->name, name, policy_set_impl(v, name, policy, stored), NULL);
}

/* ---- the run ------------------------------------------------------------------------------------------------- */

typedef struct {
    azkm_rotation_event *ev;
    size_t n, cap;
    azkm_rc first_error;
} event_list;

static azkm_rotation_event *event_add(event_list *l, const char *name, azkm_rotation_action action,
                                      const char *version)
{
    azkm_rotation_event *e;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        azkm_rotation_event *ne = OPENSSL_realloc(l->ev, cap * sizeof(*ne));

        if (ne == NULL)
            return NULL;
        l->ev = ne;
        l->cap = cap;
    }
    e = &l->ev[l->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->action = action;
    snprintf(e->version, sizeof(e->version), "%s", version ? version : "");
    return e;
}

static void event_fail(event_list *l, const char *name, azkm_rc rc)
{
    azkm_rotation_event *e = event_add(l, name, AZKM_ROTATION_FAILED, NULL);

    if (e != NULL)
        snprintf(e->message, sizeof(e->message), "%s", azkm_last_error());
    if (l->first_error == AZKM_OK)
        l->first_error = rc;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static azkm_rc set_notified(azkm_vault *v, int64_t rowid, const char *version)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(v->cat->db, "UPDATE rotation_policies SET notified_version = ? WHERE key_id = ?",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, version, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, rowid);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AZKM_OK : azkm_catalog_fail(v->cat, "recording a notification");
}

/* Applies one key's policy at `now`. */
static void apply_policy(azkm_vault *v, int64_t rowid, const char *name, int64_t now, event_list *l)
{
    char *text = NULL, notified[AZKM_VERSION_LEN + 1] = "", when[32], why[256] = "";
    int64_t updated = 0;
    azkm_key_info cur, made;
    azkm_rotation_event *e;
    rot_policy pol;
    azkm_rc rc = policy_read(v, rowid, name, &text, &updated, notified);
    int64_t exp;

    memset(&cur, 0, sizeof(cur));
    memset(&made, 0, sizeof(made));
    if (rc == AZKM_OK && text == NULL)
        return; /* removed meanwhile */
    if (rc == AZKM_OK)
        rc = policy_parse(text, &pol, NULL, 0);
    OPENSSL_free(text);
    if (rc == AZKM_OK)
        rc = azkm_read_version(v, rowid, NULL, &cur, NULL);
    if (rc != AZKM_OK) {
        event_fail(l, name, rc);
        return;
    }
    exp = cur.attrs.expires;
    if (pol.rotate_after_create && now >= cur.attrs.created + pol.rotate_after_create) {
        fmt_time(cur.attrs.created, when, sizeof(when));
        snprintf(why, sizeof(why), "created %s, %s", when, pol.rotate_text);
    } else if (pol.rotate_before_expiry && exp != 0 && now >= exp - pol.rotate_before_expiry) {
        fmt_time(exp, when, sizeof(when));
        snprintf(why, sizeof(why), "expires %s, %s", when, pol.rotate_text);
    }
    if (why[0] != '\0') {
        /* the same rotation as `azkm key rotate`, which gives the new version the policy's expiryTime */
        rc = azkm_key_rotate(v, name, &made);
        if (rc != AZKM_OK) {
            event_fail(l, name, rc);
        } else if ((e = event_add(l, name, AZKM_ROTATION_ROTATED, cur.version)) != NULL) {
            snprintf(e->new_version, sizeof(e->new_version), "%s", made.version);
            e->expires = made.attrs.expires;
            snprintf(e->message, sizeof(e->message), "%s", why);
        }
    } else if (pol.notify_before_expiry && exp != 0 && now >= exp - pol.notify_before_expiry &&
               strcmp(notified, cur.version) != 0) {
        azkm_audit_op a;

        /* once per version: the version notified about is remembered */
        azkm_audit_begin(&a, v->ks, "KeyNearExpiry", v->name, name);
        rc = set_notified(v, rowid, cur.version);
        azkm_audit_end(&a, rc, cur.version);
        if (rc != AZKM_OK) {
            event_fail(l, name, rc);
        } else if ((e = event_add(l, name, AZKM_ROTATION_NOTIFIED, cur.version)) != NULL) {
            fmt_time(exp, when, sizeof(when));
            e->expires = exp;
            snprintf(e->message, sizeof(e->message), "expires %s, %s", when, pol.notify_text);
        }
    }
    azkm_key_info_clear(&cur);
    azkm_key_info_clear(&made);
}

azkm_rc azkm_rotation_run(azkm_vault *v, azkm_rotation_event **events, size_t *n)
{
    sqlite3_stmt *st = NULL;
    event_list l;
    int64_t *ids = NULL, now = azkm_now(v->ks);
    char **names = NULL;
    size_t count = 0, cap = 0;
    int rc;

    memset(&l, 0, sizeof(l));
    *events = NULL;
    *n = 0;
    rc = sqlite3_prepare_v2(v->cat->db,
                            "SELECT k.id, k.name FROM rotation_policies p JOIN keys k ON k.id = p.key_id "
                            "WHERE k.deleted_on = 0 ORDER BY k.name_lc",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return azkm_catalog_fail(v->cat, "listing rotation policies");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            size_t nc = cap ? cap * 2 : 16;
            int64_t *ni = OPENSSL_realloc(ids, nc * sizeof(*ni));
            char **nn = ni ? OPENSSL_realloc(names, nc * sizeof(*nn)) : NULL;

            if (ni != NULL)
                ids = ni;
            if (nn == NULL)
                break;
            names = nn;
            cap = nc;
        }
        ids[count] = sqlite3_column_int64(st, 0);
        names[count] = OPENSSL_strdup((const char *)sqlite3_column_text(st, 1));
        if (names[count] == NULL)
            break;
        count++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        for (size_t i = 0; i < count; i++)
            OPENSSL_free(names[i]);
        OPENSSL_free(names);
        OPENSSL_free(ids);
        return rc == SQLITE_ROW ? azkm_fail(AZKM_E_NOMEM, "out of memory")
                                : azkm_catalog_fail(v->cat, "listing rotation policies");
    }
    for (size_t i = 0; i < count; i++) {
        apply_policy(v, ids[i], names[i], now, &l);
        OPENSSL_free(names[i]);
    }
    OPENSSL_free(names);
    OPENSSL_free(ids);
    *events = l.ev;
    *n = l.n;
    if (l.first_error != AZKM_OK) {
        /* the first failure's message, for callers that print only the class */
        for (size_t i = 0; i < l.n; i++)
            if (l.ev[i].action == AZKM_ROTATION_FAILED)
                return azkm_fail(l.first_error, "vault %s: rotation of key %s failed: %s", v->name, l.ev[i].name,
                                 l.ev[i].message);
    }
    azkm_clear_error();
    return AZKM_OK;
}
