/* The rotation run: every key with a policy, visited by name, is rotated when its policy says it is due (the same
 * rotation as `azkm key rotate`) or noted in the audit log once per version as near its expiry. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "keys/records.h"
#include "catalog/policies.h"
#include "keys/rotation_policy.h"

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

/* Why the current version cur is due for rotation at now; "" when it is not. */
static void rotation_due(const azkm_rotation_rules *pol, const azkm_key_info *cur, int64_t now, char *why,
                         size_t len)
{
    int64_t exp = cur->attrs.expires;
    char when[AZKM_ISO_TIME_LEN];

    if (pol->rotate_after_create && now >= cur->attrs.created + pol->rotate_after_create) {
        azkm_iso_time(cur->attrs.created, when);
        snprintf(why, len, "created %s, %s", when, pol->rotate_text);
    } else if (pol->rotate_before_expiry && exp != 0 && now >= exp - pol->rotate_before_expiry) {
        azkm_iso_time(exp, when);
        snprintf(why, len, "expires %s, %s", when, pol->rotate_text);
    }
}

/* The same rotation as `azkm key rotate`, which gives the new version the policy's expiryTime. */
static void rotate(azkm_vault *v, const char *name, const azkm_key_info *cur, const char *why, event_list *l)
{
    azkm_key_info made;
    azkm_rotation_event *e;
    azkm_rc rc;

    memset(&made, 0, sizeof(made));
    rc = azkm_key_rotate(v, name, &made);
    if (rc != AZKM_OK) {
        event_fail(l, name, rc);
    } else if ((e = event_add(l, name, AZKM_ROTATION_ROTATED, cur->version)) != NULL) {
        snprintf(e->new_version, sizeof(e->new_version), "%s", made.version);
        e->expires = made.attrs.expires;
        snprintf(e->message, sizeof(e->message), "%s", why);
    }
}

/* Once per version: the version notified about is remembered. */
static void notify(azkm_vault *v, int64_t rowid, const char *name, const azkm_key_info *cur,
                   const azkm_rotation_rules *pol, event_list *l)
{
    azkm_rotation_event *e;
    azkm_audit_op a;
    char when[AZKM_ISO_TIME_LEN];
    azkm_rc rc;

    azkm_audit_begin(&a, v->ks, "KeyNearExpiry", v->name, name);
    rc = azkm_catalog_policy_set_notified(v->cat, rowid, cur->version);
    azkm_audit_end(&a, rc, cur->version);
    if (rc != AZKM_OK) {
        event_fail(l, name, rc);
    } else if ((e = event_add(l, name, AZKM_ROTATION_NOTIFIED, cur->version)) != NULL) {
        azkm_iso_time(cur->attrs.expires, when);
        e->expires = cur->attrs.expires;
        snprintf(e->message, sizeof(e->message), "expires %s, %s", when, pol->notify_text);
    }
}

/* Applies one key's policy at `now`. */
static void apply_policy(azkm_vault *v, int64_t rowid, const char *name, int64_t now, event_list *l)
{
    char notified[AZKM_VERSION_LEN + 1] = "", why[256] = "";
    azkm_key_info cur;
    azkm_rotation_rules pol;
    azkm_rc rc = azkm_rotation_policy_rules(v, rowid, name, &pol, notified);
    int64_t exp;

    memset(&cur, 0, sizeof(cur));
    if (rc == AZKM_E_NOT_FOUND)
        return; /* removed meanwhile */
    if (rc == AZKM_OK)
        rc = azkm_read_version(v, rowid, NULL, &cur, NULL);
    if (rc != AZKM_OK) {
        event_fail(l, name, rc);
        return;
    }
    exp = cur.attrs.expires;
    rotation_due(&pol, &cur, now, why, sizeof(why));
    if (why[0] != '\0')
        rotate(v, name, &cur, why, l);
    else if (pol.notify_before_expiry && exp != 0 && now >= exp - pol.notify_before_expiry &&
             strcmp(notified, cur.version) != 0)
        notify(v, rowid, name, &cur, &pol, l);
}

azkm_rc azkm_rotation_run(azkm_vault *v, azkm_rotation_event **events, size_t *n)
{
    azkm_catalog_policy_key *keys = NULL;
    size_t count = 0;
    event_list l;
    int64_t now = azkm_now(v->ks);
    azkm_rc rc;

    if (v->remote != NULL)
        return azkm_vault_local(v, "rotation run");
    memset(&l, 0, sizeof(l));
    *events = NULL;
    *n = 0;
    rc = azkm_catalog_policy_key_list(v->cat, &keys, &count);
    if (rc != AZKM_OK)
        return rc;
    for (size_t i = 0; i < count; i++)
        apply_policy(v, keys[i].key_id, keys[i].name, now, &l);
    azkm_catalog_policy_keys_free(keys, count);
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
