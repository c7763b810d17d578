/* Rotation policies with an injected clock: policies in Azure's shape are stored and read back, invalid ones and
 * those below Azure's minimum durations are refused, `rotation run` rotates what is due (after creation or before
 * expiry) and notifies once per version, a second run at the same time does nothing, every rotation (by hand too)
 * gives the new version the policy's expiryTime, backups carry the policy, an edited policy is an integrity error
 * that `vault verify` reports, and vaults made before rotation policies existed get the table when opened. */
#include <openssl/crypto.h>

#include "testutil.h"

#define DAY 86400

static void make_key(fixture *f, const char *name, int64_t expires)
{
    azkm_keyspec s;

    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_EC;
    if (expires) {
        s.fields = AZKM_ATTR_EXPIRES;
        s.attrs.expires = expires;
    }
    assert_ok(azkm_key_create(f->v, name, &s, NULL));
}

static size_t run(fixture *f, azkm_rotation_event **ev)
{
    size_t n = 0;

    assert_ok(azkm_rotation_run(f->v, ev, &n));
    return n;
}

static void expect_nothing_due(fixture *f)
{
    azkm_rotation_event *ev = NULL;

    assert_int_equal(run(f, &ev), 0);
    OPENSSL_free(ev);
}

static void durations_are_iso_8601(void **state)
{
    int64_t s = 0;

    (void)state;
    assert_ok(azkm_duration_parse("P90D", &s));
    assert_int_equal(s, 90 * DAY);
    assert_ok(azkm_duration_parse("P1Y", &s));
    assert_int_equal(s, 365 * DAY);
    assert_ok(azkm_duration_parse("P2M", &s));
    assert_int_equal(s, 60 * DAY);
    assert_ok(azkm_duration_parse("P1W", &s));
    assert_int_equal(s, 7 * DAY);
    assert_ok(azkm_duration_parse("PT12H", &s));
    assert_int_equal(s, 12 * 3600);
    assert_ok(azkm_duration_parse("P1DT2H3M4S", &s));
    assert_int_equal(s, DAY + 2 * 3600 + 3 * 60 + 4);
    assert_ok(azkm_duration_parse("P1Y2M", &s));
    assert_int_equal(s, 425 * DAY);
    assert_rc(azkm_duration_parse("90D", &s), AZKM_E_INVALID, "ISO-8601");
    assert_rc(azkm_duration_parse("P", &s), AZKM_E_INVALID, "ISO-8601");
    assert_rc(azkm_duration_parse("PD", &s), AZKM_E_INVALID, "ISO-8601");
    assert_rc(azkm_duration_parse("P1H", &s), AZKM_E_INVALID, "ISO-8601"); /* hours need the T */
    assert_rc(azkm_duration_parse("P1D1Y", &s), AZKM_E_INVALID, "ISO-8601");
    assert_rc(azkm_duration_parse("P0D", &s), AZKM_E_INVALID, "positive");
}

static void policy_is_stored_in_azure_shape(void **state)
{
    fixture *f = *state;
    char *stored = NULL, *got = NULL;

    make_key(f, "web-tls", 0);
    assert_ok(azkm_rotation_policy_get(f->v, "web-tls", &got));
    assert_null(got);
    assert_ok(
        azkm_rotation_policy_set(f->v, "WEB-TLS",
                                 "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P90D\"},"
                                 "\"action\":{\"type\":\"rotate\"}},{\"trigger\":{\"timeBeforeExpiry\":\"P30D\"},"
                                 "\"action\":{\"type\":\"Notify\"}}],\"attributes\":{\"expiryTime\":\"P1Y\"}}",
                                 &stored));
    assert_ok(azkm_rotation_policy_get(f->v, "web-tls", &got));
    assert_string_equal(got, stored);
    assert_string_equal(got,
                        "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P90D\"},\"action\":{\"type\":"
                        "\"Rotate\"}},{\"trigger\":{\"timeBeforeExpiry\":\"P30D\"},\"action\":{\"type\":"
                        "\"Notify\"}}],\"attributes\":{\"expiryTime\":\"P1Y\"}}");
    OPENSSL_free(got);
    OPENSSL_free(stored);
    assert_ok(azkm_rotation_policy_set(f->v, "web-tls", NULL, NULL));
    assert_ok(azkm_rotation_policy_get(f->v, "web-tls", &got));
    assert_null(got);
    assert_rc(azkm_rotation_policy_set(f->v, "missing", "{}", NULL), AZKM_E_NOT_FOUND, "missing");
}

static void invalid_policies_are_refused(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"not json", "not a JSON object"},
        {"{\"lifetimeActions\":{}}", "must be an array"},
        {"{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P9\"},\"action\":{\"type\":\"Rotate\"}}]}",
         "ISO-8601"},
        {"{\"lifetimeActions\":[{\"trigger\":{},\"action\":{\"type\":\"Rotate\"}}]}", "exactly one of"},
        {"{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P9D\"},\"action\":{\"type\":\"Delete\"}}]}",
         "Rotate or Notify"},
        {"{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P9D\"},\"action\":{\"type\":\"Notify\"}}]}",
         "timeBeforeExpiry only"},
        {"{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P9D\"},\"action\":{\"type\":\"Rotate\"}},"
         "{\"trigger\":{\"timeBeforeExpiry\":\"P9D\"},\"action\":{\"type\":\"Rotate\"}}]}",
         "at most one Rotate"},
        {"{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"P60D\"},\"action\":{\"type\":\"Rotate\"}}],"
         "\"attributes\":{\"expiryTime\":\"P30D\"}}",
         "shorter than expiryTime"},
    };

    make_key(f, "k", 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rc(azkm_rotation_policy_set(f->v, "k", bad[i].json, NULL), AZKM_E_INVALID, bad[i].why);
}

static void rotates_after_creation_once_per_period(void **state)
{
    fixture *f = *state;
    azkm_rotation_event *ev = NULL;
    azkm_key_info cur;
    int64_t t0 = f->now;

    make_key(f, "web-tls", 0);
    make_key(f, "no-policy", 0);
    assert_ok(
        azkm_rotation_policy_set(f->v, "web-tls",
                                 "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P30D\"},"
                                 "\"action\":{\"type\":\"Rotate\"}}],\"attributes\":{\"expiryTime\":\"P90D\"}}",
                                 NULL));
    expect_nothing_due(f);
    f->now = t0 + 29 * DAY;
    expect_nothing_due(f);

    f->now = t0 + 30 * DAY;
    assert_int_equal(run(f, &ev), 1);
    assert_int_equal(ev[0].action, AZKM_ROTATION_ROTATED);
    assert_string_equal(ev[0].name, "web-tls");
    assert_non_null(strstr(ev[0].message, "timeAfterCreate P30D"));
    assert_int_equal(ev[0].expires, f->now + 90 * DAY);
    assert_ok(azkm_key_show(f->v, "web-tls", NULL, &cur));
    assert_string_equal(cur.version, ev[0].new_version);
    assert_int_equal(cur.attrs.expires, f->now + 90 * DAY);
    assert_int_equal(cur.attrs.created, f->now);
    OPENSSL_free(ev);

    /* idempotent: the same time, and until 30 days after the new version */
    expect_nothing_due(f);
    f->now = t0 + 59 * DAY;
    expect_nothing_due(f);
    f->now = t0 + 60 * DAY;
    assert_int_equal(run(f, &ev), 1);
    OPENSSL_free(ev);
    {
        azkm_key_info *all = NULL;
        size_t n = 0;

        assert_ok(azkm_key_list_versions(f->v, "web-tls", &all, &n));
        assert_int_equal(n, 3);
        azkm_free(all);
        assert_ok(azkm_key_list_versions(f->v, "no-policy", &all, &n));
        assert_int_equal(n, 1);
        azkm_free(all);
    }
}

static void notifies_once_then_rotates_before_expiry(void **state)
{
    fixture *f = *state;
    azkm_rotation_event *ev = NULL;
    int64_t t0 = f->now;
    char old[AZKM_VERSION_LEN + 1];

    make_key(f, "signer", t0 + 40 * DAY);
    assert_ok(azkm_rotation_policy_set(
        f->v, "signer",
        "{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"P7D\"},\"action\":{\"type\":\"Rotate\"}},"
        "{\"trigger\":{\"timeBeforeExpiry\":\"P30D\"},\"action\":{\"type\":\"Notify\"}}],"
        "\"attributes\":{\"expiryTime\":\"P60D\"}}",
        NULL));
    f->now = t0 + 9 * DAY;
    expect_nothing_due(f);

    f->now = t0 + 11 * DAY; /* 29 days left */
    assert_int_equal(run(f, &ev), 1);
    assert_int_equal(ev[0].action, AZKM_ROTATION_NOTIFIED);
    assert_non_null(strstr(ev[0].message, "timeBeforeExpiry P30D"));
    snprintf(old, sizeof(old), "%s", ev[0].version);
    OPENSSL_free(ev);
    f->now = t0 + 12 * DAY;
    expect_nothing_due(f); /* once per version */

    f->now = t0 + 34 * DAY; /* 6 days left */
    assert_int_equal(run(f, &ev), 1);
    assert_int_equal(ev[0].action, AZKM_ROTATION_ROTATED);
    assert_string_equal(ev[0].version, old);
    assert_int_equal(ev[0].expires, f->now + 60 * DAY);
    OPENSSL_free(ev);
    expect_nothing_due(f);

    /* the new version gets its own notice, 30 days before its own expiry */
    f->now = t0 + 34 * DAY + 31 * DAY;
    assert_int_equal(run(f, &ev), 1);
    assert_int_equal(ev[0].action, AZKM_ROTATION_NOTIFIED);
    assert_string_not_equal(ev[0].version, old);
    OPENSSL_free(ev);
}

static void edited_policy_is_an_integrity_error(void **state)
{
    fixture *f = *state;
    azkm_rotation_event *ev = NULL;
    char *got = NULL;
    size_t n = 0;

    make_key(f, "a-key", 0);
    make_key(f, "b-key", 0);
    assert_ok(azkm_rotation_policy_set(f->v, "a-key",
                                       "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P300D\"},"
                                       "\"action\":{\"type\":\"Rotate\"}}]}",
                                       NULL));
    assert_ok(azkm_rotation_policy_set(f->v, "b-key",
                                       "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P7D\"},"
                                       "\"action\":{\"type\":\"Rotate\"}}]}",
                                       NULL));
    /* someone shortens a-key's period in the database */
    assert_int_equal(sh("sqlite3 '%s/vault1/vault.db' \"UPDATE rotation_policies SET policy = "
                        "replace(policy, 'P300D', 'P1D') WHERE policy LIKE '%%P300D%%'\"",
                        f->dir),
                     0);
    assert_rc(azkm_rotation_policy_get(f->v, "a-key", &got), AZKM_E_INTEGRITY, "rotation policy of key a-key");
    f->now += 8 * DAY;
    /* the run reports a-key and still rotates b-key */
    assert_rc(azkm_rotation_run(f->v, &ev, &n), AZKM_E_INTEGRITY, "a-key");
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].action, AZKM_ROTATION_FAILED);
    assert_int_equal(ev[1].action, AZKM_ROTATION_ROTATED);
    assert_string_equal(ev[1].name, "b-key");
    OPENSSL_free(ev);

    /* a policy moved to another key does not authenticate either */
    assert_int_equal(
        sh("sqlite3 '%s/vault1/vault.db' \"DELETE FROM rotation_policies WHERE key_id = (SELECT id FROM "
           "keys WHERE name_lc = 'a-key'); UPDATE rotation_policies SET key_id = (SELECT id FROM keys "
           "WHERE name_lc = 'a-key')\"",
           f->dir),
        0);
    assert_rc(azkm_rotation_policy_get(f->v, "a-key", &got), AZKM_E_INTEGRITY, "changed outside azkm");
}

static void azure_minimum_durations_are_enforced(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"{\"attributes\":{\"expiryTime\":\"P7D\"}}",
         "rotation policy: expiryTime P7D is shorter than Azure's minimum of 28 days"},
        {"{\"attributes\":{\"expiryTime\":\"P27DT23H\"}}",
         "expiryTime P27DT23H is shorter than Azure's minimum of 28"},
        {"{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P6D\"},\"action\":{\"type\":\"Rotate\"}}]}",
         "rotation policy: Rotate timeAfterCreate P6D is shorter than Azure's minimum of 7 days"},
        {"{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"PT144H\"},\"action\":{\"type\":\"Rotate\"}}],"
         "\"attributes\":{\"expiryTime\":\"P90D\"}}",
         "Rotate timeBeforeExpiry PT144H is shorter than Azure's minimum of 7 days"},
        {"{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"P1D\"},\"action\":{\"type\":\"Notify\"}}]}",
         "Notify timeBeforeExpiry P1D is shorter than Azure's minimum of 7 days"},
        /* no time left between a new version and its action; a month counts 30 days, a year 365 */
        {"{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"P1M\"},\"action\":{\"type\":\"Rotate\"}}],"
         "\"attributes\":{\"expiryTime\":\"P30D\"}}",
         "timeBeforeExpiry P1M must be shorter than expiryTime P30D"},
        {"{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"P1Y\"},\"action\":{\"type\":\"Notify\"}}],"
         "\"attributes\":{\"expiryTime\":\"P12M\"}}",
         "timeBeforeExpiry P1Y must be shorter than expiryTime P12M"},
        {"{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"P30D\"},\"action\":{\"type\":\"Notify\"}},"
         "{\"trigger\":{\"timeBeforeExpiry\":\"P10D\"},\"action\":{\"type\":\"Notify\"}}]}",
         "at most one Rotate and one Notify"},
    };
    static const char *const good[] = {
        "{\"attributes\":{\"expiryTime\":\"P28D\"}}",
        "{\"attributes\":{\"expiryTime\":\"P4W\"}}",
        "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P7D\"},\"action\":{\"type\":\"Rotate\"}}]}",
        "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P1W\"},\"action\":{\"type\":\"Rotate\"}}]}",
        "{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"P7D\"},\"action\":{\"type\":\"Rotate\"}},"
        "{\"trigger\":{\"timeBeforeExpiry\":\"PT168H\"},\"action\":{\"type\":\"Notify\"}}],"
        "\"attributes\":{\"expiryTime\":\"P28D\"}}",
        "{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"P1M\"},\"action\":{\"type\":\"Notify\"}}],"
        "\"attributes\":{\"expiryTime\":\"P31D\"}}",
    };
    char *got = NULL;

    make_key(f, "k", f->now + 90 * DAY);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rc(azkm_rotation_policy_set(f->v, "k", bad[i].json, NULL), AZKM_E_INVALID, bad[i].why);
    /* a refused policy leaves none behind */
    assert_ok(azkm_rotation_policy_get(f->v, "k", &got));
    assert_null(got);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_ok(azkm_rotation_policy_set(f->v, "k", good[i], NULL));
}

/* As in Key Vault, a Rotate action before expiry needs a key that expires: on one that does not it would never
 * fire, so it is refused, and so is removing the expiry while such a policy holds. A Notify action is accepted. */
static void rotate_before_expiry_needs_a_key_that_expires(void **state)
{
    fixture *f = *state;
    static const char *const rotate =
        "{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"P30D\"},"
        "\"action\":{\"type\":\"Rotate\"}}],\"attributes\":{\"expiryTime\":\"P90D\"}}";
    static const char *const notify = "{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":\"P30D\"},"
                                      "\"action\":{\"type\":\"Notify\"}}]}";
    azkm_attributes a;
    char *got = NULL;

    make_key(f, "forever", 0);
    assert_rc(azkm_rotation_policy_set(f->v, "forever", rotate, NULL), AZKM_E_INVALID,
              "current version has no expiry, so it would never rotate");
    assert_ok(azkm_rotation_policy_get(f->v, "forever", &got));
    assert_null(got);
    assert_ok(azkm_rotation_policy_set(f->v, "forever", notify, NULL));
    memset(&a, 0, sizeof(a));
    a.expires = f->now + 60 * DAY;
    assert_ok(azkm_key_set_attributes(f->v, "forever", NULL, AZKM_ATTR_EXPIRES, &a, NULL));
    assert_ok(azkm_rotation_policy_set(f->v, "forever", rotate, NULL));
    a.expires = 0;
    assert_rc(azkm_key_set_attributes(f->v, "forever", NULL, AZKM_ATTR_EXPIRES, &a, NULL), AZKM_E_INVALID,
              "expiry cannot be removed");
    a.expires = f->now + 45 * DAY;
    assert_ok(azkm_key_set_attributes(f->v, "forever", NULL, AZKM_ATTR_EXPIRES, &a, NULL));
}

static void manual_rotation_gives_the_new_version_the_policy_expiry(void **state)
{
    fixture *f = *state;
    azkm_key_info made, shown;
    azkm_rotation_event *ev = NULL;
    int64_t t0 = f->now;

    make_key(f, "web-tls", t0 + 10 * DAY);
    make_key(f, "no-policy", t0 + 10 * DAY);
    /* an expiryTime without lifetime actions: only rotations by hand, as in Key Vault */
    assert_ok(azkm_rotation_policy_set(f->v, "web-tls", "{\"attributes\":{\"expiryTime\":\"P90D\"}}", NULL));
    f->now = t0 + 3 * DAY;
    assert_ok(azkm_key_rotate(f->v, "web-tls", &made));
    assert_int_equal(made.attrs.created, f->now);
    assert_int_equal(made.attrs.expires, f->now + 90 * DAY);
    assert_ok(azkm_key_show(f->v, "web-tls", NULL, &shown));
    assert_string_equal(shown.version, made.version);
    assert_int_equal(shown.attrs.expires, f->now + 90 * DAY);
    /* without a policy the new version has no expiry, whatever the old one had */
    assert_ok(azkm_key_rotate(f->v, "no-policy", &made));
    assert_int_equal(made.attrs.expires, 0);
    expect_nothing_due(f);

    /* `rotation run` takes the same path: its event reports the expiry the version got */
    assert_ok(
        azkm_rotation_policy_set(f->v, "web-tls",
                                 "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P30D\"},"
                                 "\"action\":{\"type\":\"Rotate\"}}],\"attributes\":{\"expiryTime\":\"P1Y\"}}",
                                 NULL));
    f->now = t0 + 33 * DAY;
    assert_int_equal(run(f, &ev), 1);
    assert_int_equal(ev[0].action, AZKM_ROTATION_ROTATED);
    assert_int_equal(ev[0].expires, f->now + 365 * DAY);
    assert_ok(azkm_key_show(f->v, "web-tls", NULL, &shown));
    assert_string_equal(shown.version, ev[0].new_version);
    assert_int_equal(shown.attrs.expires, ev[0].expires);
    OPENSSL_free(ev);

    /* a policy edited in the database stops a rotation by hand instead of being ignored */
    assert_int_equal(sh("sqlite3 '%s/vault1/vault.db' \"UPDATE rotation_policies SET policy = "
                        "replace(policy, 'P1Y', 'P9Y')\"",
                        f->dir),
                     0);
    assert_rc(azkm_key_rotate(f->v, "web-tls", NULL), AZKM_E_INTEGRITY, "rotation policy of key web-tls");
}

static void backup_carries_the_rotation_policy(void **state)
{
    fixture *f = *state;
    static const char policy[] = "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P90D\"},\"action\":{"
                                 "\"type\":\"Rotate\"}},{\"trigger\":{\"timeBeforeExpiry\":\"P30D\"},\"action\":{"
                                 "\"type\":\"Notify\"}}],\"attributes\":{\"expiryTime\":\"P1Y\"}}";
    unsigned char *blob = NULL, *plain_blob = NULL;
    size_t len = 0, plain_len = 0;
    azkm_key_info made;
    char *got = NULL;

    make_key(f, "web-tls", 0);
    make_key(f, "plain", 0);
    assert_ok(azkm_rotation_policy_set(f->v, "web-tls", policy, NULL));
    assert_ok(azkm_key_backup(f->v, "web-tls", &blob, &len));
    assert_ok(azkm_key_backup(f->v, "plain", &plain_blob, &plain_len));
    assert_ok(azkm_key_delete(f->v, "web-tls", NULL));
    assert_ok(azkm_key_purge(f->v, "web-tls"));
    assert_ok(azkm_key_delete(f->v, "plain", NULL));
    assert_ok(azkm_key_purge(f->v, "plain"));

    assert_ok(azkm_key_restore(f->v, blob, len, NULL));
    assert_ok(azkm_rotation_policy_get(f->v, "web-tls", &got));
    assert_non_null(got);
    assert_string_equal(got, policy);
    OPENSSL_free(got);
    /* the restored policy is authenticated under the restored key's identity, and in force */
    assert_ok(azkm_key_rotate(f->v, "web-tls", &made));
    assert_int_equal(made.attrs.expires, f->now + 365 * DAY);
    {
        size_t checked = 0;

        assert_ok(azkm_vault_verify(f->v, &checked));
    }
    /* a blob without a policy (as every blob made before policies were backed up) restores without one */
    assert_ok(azkm_key_restore(f->v, plain_blob, plain_len, NULL));
    assert_ok(azkm_rotation_policy_get(f->v, "plain", &got));
    assert_null(got);

    /* a tampered policy is not carried into a backup */
    OPENSSL_free(blob);
    blob = NULL;
    assert_int_equal(sh("sqlite3 '%s/vault1/vault.db' \"UPDATE rotation_policies SET policy = "
                        "replace(policy, 'P90D', 'P9D')\"",
                        f->dir),
                     0);
    assert_rc(azkm_key_backup(f->v, "web-tls", &blob, &len), AZKM_E_INTEGRITY, "rotation policy of key web-tls");
    assert_null(blob);
    OPENSSL_free(plain_blob);
}

static int sql(fixture *f, const char *stmt)
{
    return sh("sqlite3 '%s/vault1/vault.db' \"%s\"", f->dir, stmt);
}

static void vault_verify_reports_a_tampered_policy_by_key(void **state)
{
    fixture *f = *state;
    static const char policy[] =
        "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P300D\"},\"action\":{\"type\":\"Rotate\"}}]}";
    size_t checked = 0;

    make_key(f, "a-key", 0);
    make_key(f, "b-key", 0);
    make_key(f, "gone", 0);
    assert_ok(azkm_rotation_policy_set(f->v, "a-key", policy, NULL));
    assert_ok(azkm_rotation_policy_set(f->v, "b-key", policy, NULL));
    assert_ok(azkm_rotation_policy_set(f->v, "gone", policy, NULL));
    assert_ok(azkm_key_delete(f->v, "gone", NULL));
    assert_ok(azkm_vault_verify(f->v, &checked));
    assert_int_equal(checked, 3);

    /* b-key's rotation period shortened in the database, then put back */
    assert_int_equal(sql(f, "UPDATE rotation_policies SET policy = replace(policy, 'P300D', 'P7D') WHERE key_id = "
                            "(SELECT id FROM keys WHERE name_lc = 'b-key')"),
                     0);
    assert_rc(azkm_vault_verify(f->v, &checked), AZKM_E_INTEGRITY,
              "vault vault1: integrity check failed for the rotation policy of key b-key");
    assert_int_equal(sql(f, "UPDATE rotation_policies SET policy = replace(policy, 'P7D', 'P300D') WHERE key_id = "
                            "(SELECT id FROM keys WHERE name_lc = 'b-key')"),
                     0);
    assert_ok(azkm_vault_verify(f->v, &checked));

    /* a soft-deleted key's policy is checked too: it comes back on recovery */
    assert_int_equal(sql(f,
                         "UPDATE rotation_policies SET updated = updated - 1 WHERE key_id = (SELECT id FROM keys "
                         "WHERE name_lc = 'gone')"),
                     0);
    assert_rc(azkm_vault_verify(f->v, &checked), AZKM_E_INTEGRITY, "rotation policy of key gone");
    assert_int_equal(sql(f,
                         "UPDATE rotation_policies SET updated = updated + 1 WHERE key_id = (SELECT id FROM keys "
                         "WHERE name_lc = 'gone')"),
                     0);
    assert_ok(azkm_vault_verify(f->v, &checked));

    /* a policy moved to no key at all */
    assert_int_equal(sql(f, "UPDATE rotation_policies SET key_id = 4242 WHERE key_id = (SELECT id FROM keys WHERE "
                            "name_lc = 'a-key')"),
                     0);
    assert_rc(azkm_vault_verify(f->v, &checked), AZKM_E_INTEGRITY, "a rotation policy belongs to no key");
    assert_int_equal(
        sql(f, "UPDATE rotation_policies SET key_id = (SELECT id FROM keys WHERE name_lc = 'a-key') WHERE key_id = "
               "4242"),
        0);
    assert_ok(azkm_vault_verify(f->v, &checked));

    /* a policy moved from one key to another names the key it now claims to belong to */
    assert_int_equal(sql(f, "DELETE FROM rotation_policies WHERE key_id = (SELECT id FROM keys WHERE name_lc = "
                            "'a-key'); UPDATE rotation_policies SET key_id = (SELECT id FROM keys WHERE name_lc = "
                            "'a-key') WHERE key_id = (SELECT id FROM keys WHERE name_lc = 'b-key')"),
                     0);
    assert_rc(azkm_vault_verify(f->v, &checked), AZKM_E_INTEGRITY, "rotation policy of key a-key");
}

static void deleted_keys_are_skipped_and_purge_removes_the_policy(void **state)
{
    fixture *f = *state;
    azkm_rotation_event *ev = NULL;

    make_key(f, "old", 0);
    assert_ok(azkm_rotation_policy_set(f->v, "old",
                                       "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P7D\"},"
                                       "\"action\":{\"type\":\"Rotate\"}}]}",
                                       NULL));
    /* due 7 days after its creation, but deleted on day 6 (and recoverable until day 13) */
    f->now += 6 * DAY;
    assert_ok(azkm_key_delete(f->v, "old", NULL));
    f->now += 2 * DAY;
    expect_nothing_due(f);
    assert_ok(azkm_key_purge(f->v, "old"));
    assert_int_equal(
        sh("test \"$(sqlite3 '%s/vault1/vault.db' 'SELECT count(*) FROM rotation_policies')\" = 0", f->dir), 0);
    (void)ev;
}

static void vaults_made_before_policies_get_the_table_when_opened(void **state)
{
    fixture *f = *state;
    azkm_vault *again = NULL;

    make_key(f, "k", 0);
    azkm_vault_close(f->v);
    f->v = NULL;
    assert_int_equal(sh("sqlite3 '%s/vault1/vault.db' 'DROP TABLE rotation_policies'", f->dir), 0);
    assert_ok(azkm_vault_open(f->ks, "vault1", &again));
    f->v = again;
    assert_ok(azkm_rotation_policy_set(f->v, "k",
                                       "{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P7D\"},"
                                       "\"action\":{\"type\":\"Rotate\"}}]}",
                                       NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations_are_iso_8601),
        cmocka_unit_test_setup_teardown(policy_is_stored_in_azure_shape, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(invalid_policies_are_refused, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(rotates_after_creation_once_per_period, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(notifies_once_then_rotates_before_expiry, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(edited_policy_is_an_integrity_error, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(azure_minimum_durations_are_enforced, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(rotate_before_expiry_needs_a_key_that_expires, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(manual_rotation_gives_the_new_version_the_policy_expiry, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(backup_carries_the_rotation_policy, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(vault_verify_reports_a_tampered_policy_by_key, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(deleted_keys_are_skipped_and_purge_removes_the_policy, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(vaults_made_before_policies_get_the_table_when_opened, fixture_setup,
                                        fixture_teardown),
    };

    return cmocka_run_group_tests_name("rotation", tests, NULL, NULL);
}
