/* Roles and role assignments: Azure's built-in roles grant exactly their data actions, assignments cover the
 * scopes they name, authorization denies by default and names what is missing, and assignments edited, removed or
 * put back in the database behind azkm's back are detected. */
#include <pthread.h>

#include <openssl/crypto.h>

#include "testutil.h"

#define KV "Microsoft.KeyVault/vaults/"
#define KEYS KV "keys/"

static int sql(fixture *f, const char *vault, const char *stmt)
{
    return sh("sqlite3 '%s/%s/vault.db' \"%s\"", f->dir, vault, stmt);
}

static const azkm_role_definition *role(const char *name)
{
    const azkm_role_definition *r = NULL;

    assert_ok(azkm_role_definition_find(name, &r));
    return r;
}

static void the_built_in_roles_are_azures_with_their_ids(void **state)
{
    size_t n = 0;
    const azkm_role_definition *all = azkm_role_definitions(&n), *r = NULL;

    (void)state;
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++) {
        assert_ok(azkm_role_definition_find(all[i].id, &r));
        assert_ptr_equal(r, &all[i]);
    }
    assert_string_equal(role("key vault crypto user")->id, "12338af0-0e69-4776-bea7-57ae8d297424");
    assert_string_equal(role("Key Vault Administrator")->id, "00482a5a-887f-4fb3-b363-3b7fe8e74483");
    assert_string_equal(role("Key Vault Crypto Officer")->id, "14b46e9e-c2b7-41b4-b07b-48a6ebf60603");
    assert_string_equal(role("Key Vault Crypto Service Encryption User")->id,
                        "e147488a-f6f5-4113-8e2d-b22465e65bf6");
    assert_string_equal(role("Key Vault Crypto Service Release User")->id, "08bbd89e-9f13-488c-ac41-acfcb10c90ab");
    assert_string_equal(role("Key Vault Reader")->id, "21090545-7ca7-4776-b22c-e363652d74d2");
    assert_string_equal(role("Managed HSM Crypto Auditor")->id, "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3");
    assert_string_equal(role("Managed HSM Backup")->id, "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8");
    assert_string_equal(role("Managed HSM Backup User")->id, "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8");
    assert_string_equal(role("12338AF0-0E69-4776-BEA7-57AE8D297424")->name, "Key Vault Crypto User");
    assert_rc(azkm_role_definition_find("Key Vault Superuser", &r), AZKM_E_NOT_FOUND, "Key Vault Superuser");
}

/* The data actions of Azure's keys data plane, and which of them each role grants (1) or not (0), in the order
 * of the columns: Administrator, Crypto Officer, Crypto User, Service Encryption User, Service Release User,
 * Reader, Managed HSM Crypto Auditor, Managed HSM Backup. */
static const struct {
    const char *action;
    int granted[8];
} matrix[] = {
    {KEYS "read", {1, 1, 1, 1, 0, 1, 1, 0}},
    {KEYS "update/action", {1, 1, 1, 0, 0, 0, 0, 0}},
    {KEYS "create/action", {1, 1, 0, 0, 0, 0, 0, 0}},
    {KEYS "import/action", {1, 1, 0, 0, 0, 0, 0, 0}},
    {KEYS "delete", {1, 1, 0, 0, 0, 0, 0, 0}},
    {KEYS "backup/action", {1, 1, 1, 0, 0, 0, 0, 1}},
    {KEYS "restore/action", {1, 1, 0, 0, 0, 0, 0, 0}},
    {KEYS "recover/action", {1, 1, 0, 0, 0, 0, 0, 0}},
    {KEYS "purge/action", {1, 1, 0, 0, 0, 0, 0, 0}},
    {KEYS "encrypt/action", {1, 1, 1, 0, 0, 0, 0, 0}},
    {KEYS "decrypt/action", {1, 1, 1, 0, 0, 0, 0, 0}},
    {KEYS "wrap/action", {1, 1, 1, 1, 0, 0, 0, 0}},
    {KEYS "unwrap/action", {1, 1, 1, 1, 0, 0, 0, 0}},
    {KEYS "sign/action", {1, 1, 1, 0, 0, 0, 0, 0}},
    {KEYS "verify/action", {1, 1, 1, 0, 0, 0, 0, 0}},
    {KEYS "release/action", {1, 1, 0, 0, 1, 0, 0, 0}},
    {KEYS "rotate/action", {1, 1, 0, 0, 0, 0, 0, 0}},
    {KV "keyrotationpolicies/read", {1, 1, 0, 0, 0, 1, 0, 0}},
    {KV "keyrotationpolicies/write", {1, 1, 0, 0, 0, 0, 0, 0}},
    {KV "secrets/getSecret/action", {1, 0, 0, 0, 0, 0, 0, 0}},
    {"Microsoft.KeyVault/managedHsm/backup/start/action", {0, 0, 0, 0, 0, 0, 0, 1}},
    {"Microsoft.KeyVault/managedHsm/keys/deletedKeys/read/action", {0, 0, 0, 0, 0, 0, 1, 0}},
    {"Microsoft.Storage/storageAccounts/read", {0, 0, 0, 0, 0, 0, 0, 0}},
};

static void every_role_grants_exactly_its_data_actions(void **state)
{
    static const char *const names[8] = {"Key Vault Administrator",
                                         "Key Vault Crypto Officer",
                                         "Key Vault Crypto User",
                                         "Key Vault Crypto Service Encryption User",
                                         "Key Vault Crypto Service Release User",
                                         "Key Vault Reader",
                                         "Managed HSM Crypto Auditor",
                                         "Managed HSM Backup"};

    (void)state;
    for (size_t a = 0; a < sizeof(matrix) / sizeof(matrix[0]); a++)
        for (size_t r = 0; r < 8; r++)
            if (azkm_role_grants(role(names[r]), matrix[a].action) != matrix[a].granted[r])
                fail_msg("%s %s %s", names[r], matrix[a].granted[r] ? "should grant" : "should not grant",
                         matrix[a].action);
}

static void actions_match_as_azure_matches_them(void **state)
{
    (void)state;
    /* case-insensitive, '*' across '/' */
    assert_true(azkm_role_grants(role("Key Vault Crypto User"), "microsoft.keyvault/VAULTS/keys/SIGN/action"));
    assert_true(azkm_role_grants(role("Key Vault Administrator"), KV "certificates/issuers/read"));
    assert_true(azkm_role_grants(role("Key Vault Reader"), KEYS "versions/read"));
    /* a wildcard does not stretch a pattern's fixed tail or head */
    assert_false(azkm_role_grants(role("Key Vault Reader"), KEYS "read/action"));
    assert_false(azkm_role_grants(role("Key Vault Crypto Officer"), KV "keys"));
    assert_false(azkm_role_grants(role("Key Vault Crypto User"), KEYS "sign"));
    assert_false(azkm_role_grants(role("Key Vault Crypto User"), ""));
}

static void principals_have_one_canonical_form(void **state)
{
    char out[AZKM_PRINCIPAL_MAX + 1];

    (void)state;
    assert_true(azkm_principal_valid("uid:0"));
    assert_true(azkm_principal_valid("gid:4294967294"));
    assert_true(azkm_principal_valid("sp:0f8fad5b-d9cb-469f-a165-70867728950e"));
    assert_false(azkm_principal_valid("uid:01"));
    assert_false(azkm_principal_valid("uid:-1"));
    assert_false(azkm_principal_valid("uid:4294967295"));
    assert_false(azkm_principal_valid("uid:"));
    assert_false(azkm_principal_valid("sp:0F8FAD5B-D9CB-469F-A165-70867728950E"));
    assert_false(azkm_principal_valid("sp:0f8fad5b-d9cb-469f-a165-70867728950"));
    assert_false(azkm_principal_valid("root"));
    assert_ok(azkm_principal_parse("sp:0F8FAD5B-D9CB-469F-A165-70867728950E", out));
    assert_string_equal(out, "sp:0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_ok(azkm_principal_parse("user:root", out));
    assert_string_equal(out, "uid:0");
    assert_ok(azkm_principal_parse("group:root", out));
    assert_string_equal(out, "gid:0");
    assert_ok(azkm_principal_parse("uid:1000", out));
    assert_string_equal(out, "uid:1000");
    assert_rc(azkm_principal_parse("user:no-such-user-azkm", out), AZKM_E_NOT_FOUND, "no such user");
    assert_rc(azkm_principal_parse("alice", out), AZKM_E_INVALID, "principal 'alice'");
}

static void bad_assignments_are_refused_by_name(void **state)
{
    fixture *f = *state;
    azkm_role_assignment *list = NULL;
    size_t n = 1;

    assert_rc(azkm_role_assignment_create(f->v, "uid:1000", "Key Vault Crypto User", "/key", NULL), AZKM_E_INVALID,
              "scope '/key'");
    assert_rc(azkm_role_assignment_create(f->v, "uid:1000", "Key Vault Crypto User", "/keys/a_b", NULL),
              AZKM_E_INVALID, "scope '/keys/a_b'");
    assert_rc(azkm_role_assignment_create(f->v, "uid:1000", "Key Vault Crypto User", "/keys/", NULL),
              AZKM_E_INVALID, "scope");
    assert_rc(azkm_role_assignment_create(f->v, "bob", "Key Vault Crypto User", "/", NULL), AZKM_E_INVALID,
              "principal 'bob'");
    assert_rc(azkm_role_assignment_create(f->v, "uid:1000", "Owner", "/", NULL), AZKM_E_NOT_FOUND, "role 'Owner'");
    assert_ok(azkm_role_assignment_list(f->v, &list, &n));
    assert_int_equal(n, 0);
    assert_null(list);
}

static void a_duplicate_assignment_conflicts_and_delete_removes_one(void **state)
{
    fixture *f = *state;
    azkm_role_assignment a, b, *list = NULL;
    size_t n = 0;

    assert_ok(azkm_role_assignment_create(f->v, "uid:1000", "Key Vault Crypto User", "/keys/Web", &a));
    assert_int_equal(strlen(a.id), AZKM_GUID_LEN);
    assert_string_equal(a.role_id, "12338af0-0e69-4776-bea7-57ae8d297424");
    /* the same principal, role (by id now) and scope (another case of the key name) */
    assert_rc(
        azkm_role_assignment_create(f->v, "uid:1000", "12338af0-0e69-4776-bea7-57ae8d297424", "/keys/WEB", NULL),
        AZKM_E_CONFLICT, "already has role Key Vault Crypto User at scope /keys/Web");
    assert_ok(azkm_role_assignment_create(f->v, "gid:50", "Key Vault Reader", "/", &b));
    assert_ok(azkm_role_assignment_list(f->v, &list, &n));
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, strcmp(a.id, b.id) < 0 ? a.id : b.id);
    azkm_free(list);
    assert_ok(azkm_role_assignment_delete(f->v, a.id));
    assert_rc(azkm_role_assignment_delete(f->v, a.id), AZKM_E_NOT_FOUND, a.id);
    assert_ok(azkm_role_assignment_list(f->v, &list, &n));
    assert_int_equal(n, 1);
    assert_string_equal(list[0].principal, "gid:50");
    azkm_free(list);
}

static void authorization_denies_by_default_and_names_the_missing_action(void **state)
{
    fixture *f = *state;
    const char *peer[] = {"uid:1000", "gid:1000"};

    assert_rc(azkm_rbac_authorize(f->v, peer, 2, KEYS "sign/action", "web"), AZKM_E_FORBIDDEN,
              "uid:1000, gid:1000 lacks data action " KEYS "sign/action on /keys/web");
    assert_ok(azkm_role_assignment_create(f->v, "uid:2000", "Key Vault Administrator", "/", NULL));
    assert_rc(azkm_rbac_authorize(f->v, peer, 2, KEYS "read", NULL), AZKM_E_FORBIDDEN, KEYS "read on /keys");
    assert_rc(azkm_rbac_authorize(f->v, peer, 0, KEYS "read", NULL), AZKM_E_FORBIDDEN, "no principal");
    assert_rc(azkm_rbac_authorize(f->v, peer, 2, "", NULL), AZKM_E_INVALID, "data action");
    assert_rc(azkm_rbac_authorize(f->v, peer, 2, KEYS "read", "bad/name"), AZKM_E_INVALID, "bad/name");
}

static void a_key_scope_covers_that_key_only_in_any_case(void **state)
{
    fixture *f = *state;
    const char *peer[] = {"uid:1000", "gid:1000"};

    assert_ok(azkm_role_assignment_create(f->v, "gid:1000", "Key Vault Crypto User", "/keys/Web-TLS", NULL));
    assert_ok(azkm_rbac_authorize(f->v, peer, 2, KEYS "sign/action", "web-tls"));
    assert_ok(azkm_rbac_authorize(f->v, peer, 2, KEYS "SIGN/action", "WEB-TLS"));
    assert_rc(azkm_rbac_authorize(f->v, peer, 2, KEYS "sign/action", "web-tls-2"), AZKM_E_FORBIDDEN, "web-tls-2");
    /* listing the keys is on /keys, which a key scope does not cover */
    assert_rc(azkm_rbac_authorize(f->v, peer, 2, KEYS "read", NULL), AZKM_E_FORBIDDEN, "on /keys");
    /* the role still bounds what the scope allows */
    assert_rc(azkm_rbac_authorize(f->v, peer, 2, KEYS "delete", "web-tls"), AZKM_E_FORBIDDEN, KEYS "delete");
}

static void keys_and_vault_scopes_cover_every_key(void **state)
{
    fixture *f = *state;
    const char *app[] = {"sp:0f8fad5b-d9cb-469f-a165-70867728950e"};
    const char *ops[] = {"uid:0"};

    assert_ok(azkm_role_assignment_create(f->v, app[0], "Key Vault Crypto Service Encryption User", "/keys", NULL));
    assert_ok(azkm_rbac_authorize(f->v, app, 1, KEYS "unwrap/action", "any-key"));
    assert_ok(azkm_rbac_authorize(f->v, app, 1, KEYS "read", NULL));
    assert_rc(azkm_rbac_authorize(f->v, app, 1, KEYS "sign/action", "any-key"), AZKM_E_FORBIDDEN,
              KEYS "sign/action");
    /* a vault-level action that is not about keys needs the vault scope */
    assert_rc(azkm_rbac_authorize(f->v, app, 1, KV "keyrotationpolicies/read", NULL), AZKM_E_FORBIDDEN, "on /");
    assert_ok(azkm_role_assignment_create(f->v, ops[0], "Key Vault Crypto Officer", "/", NULL));
    assert_ok(azkm_rbac_authorize(f->v, ops, 1, KV "keyrotationpolicies/read", NULL));
    assert_ok(azkm_rbac_authorize(f->v, ops, 1, KEYS "purge/action", "old"));
    assert_ok(azkm_rbac_authorize(f->v, ops, 1, KEYS "restore/action", NULL));
}

static void an_assignment_edited_in_the_database_is_detected(void **state)
{
    fixture *f = *state;
    const char *peer[] = {"uid:1000"};
    size_t checked = 0;

    assert_ok(azkm_role_assignment_create(f->v, "uid:1000", "Key Vault Reader", "/keys/web", NULL));
    assert_rc(azkm_rbac_authorize(f->v, peer, 1, KEYS "sign/action", "web"), AZKM_E_FORBIDDEN, "sign");
    /* widen the role to Administrator behind azkm's back: nothing is granted, the tamper is named */
    assert_int_equal(
        sql(f, "vault1", "UPDATE role_assignments SET role_id = '00482a5a-887f-4fb3-b363-3b7fe8e74483'"), 0);
    assert_rc(azkm_rbac_authorize(f->v, peer, 1, KEYS "sign/action", "web"), AZKM_E_INTEGRITY,
              "integrity check failed for role assignment");
    assert_rc(azkm_rbac_authorize(f->v, peer, 1, KEYS "read", "web"), AZKM_E_INTEGRITY, "uid:1000");
    assert_rc(azkm_vault_verify(f->v, &checked), AZKM_E_INTEGRITY, "role assignment");
}

static void an_assignment_removed_or_put_back_is_detected(void **state)
{
    fixture *f = *state;
    azkm_role_assignment a;
    const char *peer[] = {"uid:1000"};
    size_t checked = 0;

    assert_ok(azkm_role_assignment_create(f->v, "uid:1000", "Key Vault Crypto User", "/", &a));
    assert_ok(azkm_role_assignment_create(f->v, "uid:7", "Key Vault Reader", "/", NULL));
    assert_ok(azkm_vault_verify(f->v, &checked));
    assert_int_equal(sql(f, "vault1", "CREATE TABLE saved AS SELECT * FROM role_assignments"), 0);
    assert_ok(azkm_role_assignment_delete(f->v, a.id));
    assert_rc(azkm_rbac_authorize(f->v, peer, 1, KEYS "sign/action", "web"), AZKM_E_FORBIDDEN, "sign");
    /* the revoked assignment put back from a copy of its row */
    assert_int_equal(
        sql(f, "vault1", "INSERT INTO role_assignments SELECT * FROM saved WHERE principal='uid:1000'"), 0);
    assert_rc(azkm_rbac_authorize(f->v, peer, 1, KEYS "sign/action", "web"), AZKM_E_INTEGRITY,
              "added, removed or put back");
    assert_rc(azkm_vault_verify(f->v, &checked), AZKM_E_INTEGRITY, "role assignments");
    /* and the other way round: an assignment removed */
    assert_int_equal(sql(f, "vault1", "DELETE FROM role_assignments"), 0);
    assert_rc(azkm_rbac_authorize(f->v, peer, 1, KEYS "sign/action", "web"), AZKM_E_INTEGRITY,
              "added, removed or put back");
}

static void an_assignment_copied_from_another_vault_is_detected(void **state)
{
    fixture *f = *state;
    azkm_vault_params vp;
    azkm_vault *v2 = NULL;
    const char *peer[] = {"uid:1000"};

    memset(&vp, 0, sizeof(vp));
    vp.retention_days = 7;
    assert_ok(azkm_vault_create(f->ks, "vault2", &vp));
    assert_ok(azkm_vault_open(f->ks, "vault2", &v2));
    assert_ok(azkm_role_assignment_create(v2, "uid:1000", "Key Vault Administrator", "/", NULL));
    assert_ok(azkm_role_assignment_create(f->v, "uid:5", "Key Vault Reader", "/", NULL));
    assert_int_equal(sh("sqlite3 '%s/vault1/vault.db' \"ATTACH '%s/vault2/vault.db' AS o; INSERT INTO "
                        "role_assignments SELECT * FROM o.role_assignments\"",
                        f->dir, f->dir),
                     0);
    assert_rc(azkm_rbac_authorize(f->v, peer, 1, KEYS "sign/action", "web"), AZKM_E_INTEGRITY,
              "integrity check failed for role assignment");
    assert_ok(azkm_rbac_authorize(v2, peer, 1, KEYS "sign/action", "web"));
    azkm_vault_close(v2);
}

static void vault_verify_passes_with_intact_assignments(void **state)
{
    fixture *f = *state;
    size_t checked = 0;

    assert_ok(azkm_vault_verify(f->v, &checked));
    assert_ok(azkm_role_assignment_create(f->v, "uid:1000", "Managed HSM Backup", "/keys", NULL));
    assert_ok(azkm_vault_verify(f->v, &checked));
}

/* The handle's cache of authenticated assignments never outlives a change: grants and revocations made through
 * another handle, and edits made behind azkm's back, count from the next decision on. */
static void a_decision_sees_every_change_at_once(void **state)
{
    fixture *f = *state;
    azkm_vault *other = NULL;
    azkm_role_assignment a;
    const char *peer[] = {"uid:1000"};

    assert_ok(azkm_vault_open(f->ks, "vault1", &other));
    for (int i = 0; i < 3; i++) {
        assert_rc(azkm_rbac_authorize(f->v, peer, 1, KEYS "sign/action", "web"), AZKM_E_FORBIDDEN, "sign");
        assert_ok(azkm_role_assignment_create(other, "uid:1000", "Key Vault Crypto User", "/keys/web", &a));
        assert_ok(azkm_rbac_authorize(f->v, peer, 1, KEYS "sign/action", "web"));
        assert_ok(azkm_rbac_authorize(f->v, peer, 1, KEYS "sign/action", "web"));
        assert_ok(azkm_role_assignment_delete(other, a.id));
    }
    assert_ok(azkm_role_assignment_create(f->v, "uid:1000", "Key Vault Reader", "/", NULL));
    assert_ok(azkm_rbac_authorize(f->v, peer, 1, KEYS "read", "web"));
    assert_int_equal(sql(f, "vault1", "UPDATE role_assignments SET scope = '/keys'"), 0);
    assert_rc(azkm_rbac_authorize(f->v, peer, 1, KEYS "read", "web"), AZKM_E_INTEGRITY, "role assignment");
    assert_int_equal(sql(f, "vault1", "UPDATE role_assignments SET scope = '/'"), 0);
    assert_ok(azkm_rbac_authorize(f->v, peer, 1, KEYS "read", "web"));
    azkm_vault_close(other);
}

/* Threads deciding on one vault handle, as a server's workers do, while another connection keeps granting and
 * revoking: every decision is an allow or a deny, never an integrity error from reading the rows and the set MAC
 * across a commit. */
typedef struct {
    azkm_vault *v;
    volatile int *stop;
    int decisions, unexpected;
    char last_error[512];
} decider;

static void *decide_until_stopped(void *arg)
{
    decider *d = arg;
    const char *peer[] = {"uid:1000", "gid:1000"};

    while (!*d->stop || d->decisions < 20) {
        azkm_rc rc = azkm_rbac_authorize(d->v, peer, 2, KEYS "sign/action", "web");

        d->decisions++;
        if (rc != AZKM_OK && rc != AZKM_E_FORBIDDEN && d->unexpected++ == 0)
            snprintf(d->last_error, sizeof(d->last_error), "%s: %s", azkm_rc_name(rc), azkm_last_error());
    }
    return NULL;
}

static void decisions_stay_consistent_while_assignments_change(void **state)
{
    fixture *f = *state;
    azkm_vault *writer = NULL;
    azkm_role_assignment a;
    pthread_t th[3];
    decider d[3];
    volatile int stop = 0;

    assert_ok(azkm_vault_open(f->ks, "vault1", &writer));
    assert_ok(azkm_role_assignment_create(writer, "uid:7", "Key Vault Reader", "/", NULL));
    for (int i = 0; i < 3; i++) {
        d[i] = (decider){f->v, &stop, 0, 0, ""};
        assert_int_equal(pthread_create(&th[i], NULL, decide_until_stopped, &d[i]), 0);
    }
    for (int i = 0; i < 40; i++) {
        assert_ok(azkm_role_assignment_create(writer, i % 2 ? "gid:1000" : "uid:1000", "Key Vault Crypto User",
                                              "/keys/web", &a));
        assert_ok(azkm_role_assignment_delete(writer, a.id));
    }
    stop = 1;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        if (d[i].unexpected)
            fail_msg("thread %d: %d of %d decisions failed, e.g. %s", i, d[i].unexpected, d[i].decisions,
                     d[i].last_error);
    }
    azkm_vault_close(writer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_built_in_roles_are_azures_with_their_ids),
        cmocka_unit_test(every_role_grants_exactly_its_data_actions),
        cmocka_unit_test(actions_match_as_azure_matches_them),
        cmocka_unit_test(principals_have_one_canonical_form),
        cmocka_unit_test_setup_teardown(bad_assignments_are_refused_by_name, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(a_duplicate_assignment_conflicts_and_delete_removes_one, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(authorization_denies_by_default_and_names_the_missing_action, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_key_scope_covers_that_key_only_in_any_case, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(keys_and_vault_scopes_cover_every_key, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(an_assignment_edited_in_the_database_is_detected, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(an_assignment_removed_or_put_back_is_detected, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(an_assignment_copied_from_another_vault_is_detected, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_decision_sees_every_change_at_once, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(decisions_stay_consistent_while_assignments_change, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(vault_verify_passes_with_intact_assignments, fixture_setup,
                                        fixture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
