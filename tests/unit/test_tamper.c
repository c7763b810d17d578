/* Tamper evidence: edits made to the catalog behind azkm's back are detected and name the key, while the rest of
 * the vault keeps working. Also backups: restore after purge, refusal of tampered or foreign blobs. */
#include <openssl/crypto.h>

#include "testutil.h"

static void make_ec(fixture *f, const char *name, azkm_key_info *info)
{
    azkm_keyspec s;

    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_EC;
    assert_ok(azkm_key_create(f->v, name, &s, info));
}

static int sql(fixture *f, const char *vault, const char *stmt)
{
    return sh("sqlite3 '%s/%s/vault.db' \"%s\"", f->dir, vault, stmt);
}

static void can_sign(fixture *f, const char *name)
{
    azkm_key *k = NULL;
    azkm_sign_params p;
    unsigned char d[32] = {9}, sig[128];
    size_t n;

    assert_ok(azkm_key_load(f->v, name, NULL, &k));
    assert_ok(azkm_sign_params_from_alg("ES256", &p));
    assert_ok(azkm_key_sign(k, &p, d, 32, sig, &n));
    azkm_key_free(k);
}

static void enabling_a_disabled_key_in_the_database_is_detected(void **state)
{
    fixture *f = *state;
    azkm_attributes a;
    azkm_key *k = NULL;

    make_ec(f, "victim", NULL);
    make_ec(f, "bystander", NULL);
    memset(&a, 0, sizeof(a));
    assert_ok(azkm_key_set_attributes(f->v, "victim", NULL, AZKM_ATTR_ENABLED, &a, NULL));
    assert_int_equal(sql(f, "vault1", "UPDATE versions SET enabled = 1"), 0);
    assert_rc(azkm_key_load(f->v, "victim", NULL, &k), AZKM_E_INTEGRITY,
              "integrity check failed for key victim version");
    assert_rc(azkm_key_show(f->v, "victim", NULL, NULL), AZKM_E_INTEGRITY, "victim");
    /* the bystander's row was also rewritten with its own value: its MAC still holds */
    can_sign(f, "bystander");
    /* a list still shows every key, the tampered one flagged; a full check names it */
    {
        azkm_key_info *list = NULL;
        size_t n = 0, checked = 0;

        assert_ok(azkm_key_list(f->v, 0, &list, &n));
        assert_int_equal(n, 2);
        assert_string_equal(list[0].name, "bystander");
        assert_false(list[0].integrity_error);
        assert_true(list[1].integrity_error);
        azkm_free(list);
        assert_rc(azkm_vault_verify(f->v, &checked), AZKM_E_INTEGRITY, "key victim");
        assert_rc(azkm_key_rotate(f->v, "victim", NULL), AZKM_E_INTEGRITY, "victim");
    }
}

static void widening_key_ops_or_expiry_is_detected(void **state)
{
    fixture *f = *state;
    azkm_key *k = NULL;

    make_ec(f, "ops", NULL);
    assert_int_equal(sql(f, "vault1",
                         "UPDATE versions SET key_ops = 127 WHERE key_id = (SELECT id FROM keys WHERE "
                         "name = 'ops')"),
                     0);
    assert_rc(azkm_key_load(f->v, "ops", NULL, &k), AZKM_E_INTEGRITY, "ops");
    make_ec(f, "exp", NULL);
    assert_int_equal(sql(f, "vault1",
                         "UPDATE versions SET exp = 99999999999 WHERE key_id = (SELECT id FROM keys "
                         "WHERE name = 'exp')"),
                     0);
    assert_rc(azkm_key_load(f->v, "exp", NULL, &k), AZKM_E_INTEGRITY, "exp");
}

static void flipped_ciphertext_bit_is_detected(void **state)
{
    fixture *f = *state;
    azkm_key *k = NULL;

    make_ec(f, "flip", NULL);
    make_ec(f, "fine", NULL);
    /* Change one byte in the middle of the sealed material (inside the ciphertext: after the 12-byte nonce) to a
     * value it certainly did not have. The byte is random; text functions such as unicode() cannot be used on it
     * (a 0x00 byte reads as the empty string, and the "changed" byte came out the same once in 256 runs). */
    assert_int_equal(sql(f, "vault1",
                         "UPDATE versions SET material = CAST(substr(material, 1, 20) || "
                         "CASE WHEN substr(material, 21, 1) = x'00' THEN x'01' ELSE x'00' END || "
                         "substr(material, 22) AS BLOB) WHERE key_id = (SELECT id FROM keys WHERE name = 'flip')"),
                     0);
    assert_rc(azkm_key_load(f->v, "flip", NULL, &k), AZKM_E_INTEGRITY, "key material was altered");
    can_sign(f, "fine");
}

static void material_swapped_between_keys_is_detected(void **state)
{
    fixture *f = *state;
    azkm_key *k = NULL;

    make_ec(f, "alice", NULL);
    make_ec(f, "bob", NULL);
    assert_int_equal(
        sql(f, "vault1",
            "UPDATE versions SET material = (SELECT material FROM versions WHERE key_id = (SELECT id "
            "FROM keys WHERE name = 'bob')) WHERE key_id = (SELECT id FROM keys WHERE name = 'alice')"),
        0);
    assert_rc(azkm_key_load(f->v, "alice", NULL, &k), AZKM_E_INTEGRITY, "moved from another key");
    can_sign(f, "bob");
}

static void record_copied_from_another_vault_is_detected(void **state)
{
    fixture *f = *state;
    azkm_vault_params vp = {0, 0, AZKM_PROTECTOR_PLATFORM, NULL};
    azkm_vault *v2;
    azkm_keyspec s;
    azkm_key *k = NULL;

    assert_ok(azkm_vault_create(f->ks, "vault2", &vp));
    assert_ok(azkm_vault_open(f->ks, "vault2", &v2));
    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_EC;
    assert_ok(azkm_key_create(v2, "same", &s, NULL));
    azkm_vault_close(v2);
    make_ec(f, "same", NULL);
    assert_int_equal(sh("sqlite3 '%s/vault1/vault.db' \"ATTACH '%s/vault2/vault.db' AS o; UPDATE versions SET "
                        "material = (SELECT material FROM o.versions), version = (SELECT version FROM o.versions), "
                        "mac = (SELECT mac FROM o.versions)\"",
                        f->dir, f->dir),
                     0);
    assert_rc(azkm_key_load(f->v, "same", NULL, &k), AZKM_E_INTEGRITY, "integrity check failed for key same");
}

static void rolled_back_version_and_undeleted_key_are_detected(void **state)
{
    fixture *f = *state;
    azkm_attributes a;
    azkm_key *k = NULL;

    make_ec(f, "rollback", NULL);
    make_ec(f, "undelete", NULL);
    make_ec(f, "steady", NULL);
    /* keep a copy of the enabled record, disable the key, then put the old record back */
    assert_int_equal(sql(f, "vault1",
                         "CREATE TABLE saved AS SELECT * FROM versions WHERE key_id = (SELECT id FROM keys "
                         "WHERE name = 'rollback')"),
                     0);
    memset(&a, 0, sizeof(a));
    assert_ok(azkm_key_set_attributes(f->v, "rollback", NULL, AZKM_ATTR_ENABLED, &a, NULL));
    assert_int_equal(sql(f, "vault1",
                         "DELETE FROM versions WHERE key_id = (SELECT id FROM keys WHERE name = "
                         "'rollback'); INSERT INTO versions SELECT * FROM saved; DROP TABLE saved"),
                     0);
    assert_rc(azkm_key_load(f->v, "rollback", NULL, &k), AZKM_E_INTEGRITY, "version rolled back");
    /* a deleted key brought back by editing its row */
    assert_ok(azkm_key_delete(f->v, "undelete", NULL));
    assert_int_equal(
        sql(f, "vault1", "UPDATE keys SET deleted_on = 0, scheduled_purge = 0 WHERE name = 'undelete'"), 0);
    assert_rc(azkm_key_load(f->v, "undelete", NULL, &k), AZKM_E_INTEGRITY, "deleted state");
    /* a version removed */
    assert_ok(azkm_key_rotate(f->v, "steady", NULL));
    can_sign(f, "steady");
    assert_int_equal(sql(f, "vault1",
                         "DELETE FROM versions WHERE seq = 2 AND key_id = (SELECT id FROM keys WHERE "
                         "name = 'steady')"),
                     0);
    assert_rc(azkm_key_load(f->v, "steady", NULL, &k), AZKM_E_INTEGRITY, "steady");
}

static void vault_settings_edit_is_detected(void **state)
{
    fixture *f = *state;
    azkm_vault *v;

    assert_ok(azkm_vault_enable_purge_protection(f->v));
    assert_int_equal(sql(f, "vault1", "UPDATE meta SET v = '0' WHERE k = 'purge_protection'"), 0);
    assert_rc(azkm_vault_open(f->ks, "vault1", &v), AZKM_E_INTEGRITY, "purge protection");
}

static void backup_restores_after_purge_with_all_versions(void **state)
{
    fixture *f = *state;
    azkm_key_info v1, v2, restored, *list = NULL;
    unsigned char *blob = NULL;
    size_t len = 0, n = 0;

    make_ec(f, "saved", &v1);
    assert_ok(azkm_key_rotate(f->v, "saved", &v2));
    assert_ok(azkm_key_backup(f->v, "saved", &blob, &len));
    /* no key material in the clear: the blob does not contain the public key either */
    assert_null(memmem(blob, len, v1.public_der + 30, 32));
    assert_rc(azkm_key_restore(f->v, blob, len, NULL), AZKM_E_CONFLICT, "exists");
    assert_ok(azkm_key_delete(f->v, "saved", NULL));
    assert_rc(azkm_key_restore(f->v, blob, len, NULL), AZKM_E_CONFLICT, "purge it");
    assert_ok(azkm_key_purge(f->v, "saved"));
    assert_ok(azkm_key_restore(f->v, blob, len, &restored));
    assert_string_equal(restored.version, v2.version);
    assert_ok(azkm_key_list_versions(f->v, "saved", &list, &n));
    assert_int_equal(n, 2);
    assert_string_equal(list[0].version, v1.version);
    azkm_free(list);
    can_sign(f, "saved");
    {
        azkm_key *k = NULL;

        assert_ok(azkm_key_load(f->v, "saved", v1.version, &k));
        azkm_key_free(k);
    }

    /* tampered blob, truncated blob, garbage */
    assert_ok(azkm_key_delete(f->v, "saved", NULL));
    assert_ok(azkm_key_purge(f->v, "saved"));
    blob[len / 2] ^= 1;
    assert_rc(azkm_key_restore(f->v, blob, len, NULL), AZKM_E_INTEGRITY, "integrity check failed");
    blob[len / 2] ^= 1;
    assert_rc(azkm_key_restore(f->v, blob, 30, NULL), AZKM_E_INVALID, "not an azkm key backup");
    assert_rc(azkm_key_restore(f->v, (const unsigned char *)"hello world, not a backup at all", 32, NULL),
              AZKM_E_INVALID, "not an azkm key backup");
    assert_ok(azkm_key_restore(f->v, blob, len, NULL));
    OPENSSL_free(blob);
}

/* The vault id in a blob's header is not trusted before the blob authenticates: damage there is an integrity error
 * like damage anywhere else, whichever vault the blob is restored into. */
static void a_damaged_vault_id_in_a_backup_is_an_integrity_error(void **state)
{
    fixture *f = *state;
    azkm_vault_params vp = {0, 0, AZKM_PROTECTOR_PLATFORM, NULL};
    azkm_vault *other = NULL;
    unsigned char *blob = NULL;
    size_t len = 0;

    make_ec(f, "saved", NULL);
    assert_ok(azkm_key_backup(f->v, "saved", &blob, &len));
    assert_ok(azkm_key_delete(f->v, "saved", NULL));
    assert_ok(azkm_key_purge(f->v, "saved"));
    assert_ok(azkm_vault_create(f->ks, "other", &vp));
    assert_ok(azkm_vault_open(f->ks, "other", &other));
    for (size_t off = 8; off < 24; off++) {
        blob[off] ^= 1;
        assert_rc(azkm_key_restore(f->v, blob, len, NULL), AZKM_E_INTEGRITY, "integrity check failed");
        assert_rc(azkm_key_restore(other, blob, len, NULL), AZKM_E_INTEGRITY, "integrity check failed");
        blob[off] ^= 1;
    }
    /* the magic is what says whether it is a backup at all */
    blob[3] ^= 1;
    assert_rc(azkm_key_restore(f->v, blob, len, NULL), AZKM_E_INVALID, "not an azkm key backup");
    blob[3] ^= 1;
    assert_ok(azkm_key_restore(f->v, blob, len, NULL));
    azkm_vault_close(other);
    OPENSSL_free(blob);
}

/* As Key Vault restores into any vault of the subscription, a blob restores into any vault of the keystore, with
 * the checks of a restore into its own vault, its material sealed again for the vault it joins. */
static void backup_restores_into_another_vault_of_the_keystore(void **state)
{
    fixture *f = *state;
    azkm_vault_params vp = {0, 0, AZKM_PROTECTOR_PLATFORM, NULL};
    azkm_key_info v1, v2, restored, *list = NULL;
    azkm_vault *other = NULL;
    unsigned char *blob = NULL;
    size_t len = 0, n = 0, checked = 0;

    make_ec(f, "moved", &v1);
    assert_ok(azkm_key_rotate(f->v, "moved", &v2));
    assert_ok(azkm_key_backup(f->v, "moved", &blob, &len));
    assert_ok(azkm_vault_create(f->ks, "other", &vp));
    assert_ok(azkm_vault_open(f->ks, "other", &other));
    assert_ok(azkm_key_restore(other, blob, len, &restored));
    assert_string_equal(restored.vault, "other");
    assert_string_equal(restored.version, v2.version);
    assert_memory_equal(restored.public_der, v2.public_der, v2.public_der_len);
    assert_ok(azkm_key_list_versions(other, "moved", &list, &n));
    assert_int_equal(n, 2);
    azkm_free(list);
    {
        azkm_key *k = NULL;
        azkm_sign_params sp;
        unsigned char dgst[32] = {1}, sig[128];
        size_t siglen = sizeof(sig);
        int valid = 0;

        assert_ok(azkm_sign_params_from_alg("ES256", &sp));
        assert_ok(azkm_key_load(other, "moved", v1.version, &k));
        assert_ok(azkm_key_sign(k, &sp, dgst, sizeof(dgst), sig, &siglen));
        assert_ok(azkm_key_verify(k, &sp, dgst, sizeof(dgst), sig, siglen, &valid));
        assert_true(valid);
        azkm_key_free(k);
    }
    assert_ok(azkm_vault_verify(other, &checked));
    assert_int_equal(checked, 2);
    /* the same checks: the name is taken now */
    assert_rc(azkm_key_restore(other, blob, len, NULL), AZKM_E_CONFLICT, "purge it before restoring");
    /* the source is untouched */
    can_sign(f, "moved");
    azkm_vault_close(other);
    OPENSSL_free(blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(enabling_a_disabled_key_in_the_database_is_detected, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(widening_key_ops_or_expiry_is_detected, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(flipped_ciphertext_bit_is_detected, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(material_swapped_between_keys_is_detected, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(record_copied_from_another_vault_is_detected, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(vault_settings_edit_is_detected, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(rolled_back_version_and_undeleted_key_are_detected, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(backup_restores_after_purge_with_all_versions, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_damaged_vault_id_in_a_backup_is_an_integrity_error, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(backup_restores_into_another_vault_of_the_keystore, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests_name("tamper", tests, NULL, NULL);
}
