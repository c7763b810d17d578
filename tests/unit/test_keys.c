/* Key lifecycle through the keystore API: create, show, list, rotate, attributes, soft-delete, recover, purge. */
#include "testutil.h"

static azkm_keyspec spec_of(azkm_kty kty, unsigned size, azkm_curve curve)
{
    azkm_keyspec s;

    memset(&s, 0, sizeof(s));
    s.kty = kty;
    s.size = size;
    s.curve = curve;
    return s;
}

static void create_show_list_each_type(void **state)
{
    fixture *f = *state;
    azkm_keyspec rsa = spec_of(AZKM_KTY_RSA, 2048, 0), ec = spec_of(AZKM_KTY_EC, 0, AZKM_CURVE_P384),
                 oct = spec_of(AZKM_KTY_OCT, 128, 0);
    azkm_key_info info, *list = NULL;
    size_t n = 0;

    assert_ok(azkm_key_create(f->v, "Web-TLS", &rsa, &info));
    assert_string_equal(info.name, "Web-TLS");
    assert_int_equal(strlen(info.version), 32);
    assert_int_equal(info.size, 2048);
    assert_true(info.current);
    assert_true(info.attrs.enabled);
    assert_int_equal(info.attrs.key_ops, azkm_ops_default(AZKM_KTY_RSA));
    assert_true(info.public_der_len > 0);
    assert_int_equal(info.attrs.created, f->now);

    assert_ok(azkm_key_create(f->v, "signer", &ec, &info));
    assert_int_equal(info.curve, AZKM_CURVE_P384);
    assert_int_equal(info.size, 384);
    assert_ok(azkm_key_create(f->v, "kek", &oct, &info));
    assert_int_equal(info.public_der_len, 0);
    assert_int_equal(info.size, 128);

    /* names are case-insensitive */
    assert_ok(azkm_key_show(f->v, "web-tls", NULL, &info));
    assert_string_equal(info.name, "Web-TLS");
    assert_rc(azkm_key_create(f->v, "WEB-TLS", &rsa, NULL), AZKM_E_CONFLICT, "already exists");

    assert_ok(azkm_key_list(f->v, 0, &list, &n));
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "kek");
    assert_string_equal(list[2].name, "Web-TLS");
    azkm_free(list);
}

static void invalid_names_and_specs_are_refused(void **state)
{
    fixture *f = *state;
    azkm_keyspec rsa = spec_of(AZKM_KTY_RSA, 1024, 0), ec = spec_of(AZKM_KTY_EC, 0, 0),
                 oct = spec_of(AZKM_KTY_OCT, 0, 0);
    char longname[200];

    assert_rc(azkm_key_create(f->v, "bad_name", &ec, NULL), AZKM_E_INVALID, "bad_name");
    assert_rc(azkm_key_create(f->v, "", &ec, NULL), AZKM_E_INVALID, "invalid");
    memset(longname, 'a', 128);
    longname[128] = '\0';
    assert_rc(azkm_key_create(f->v, longname, &ec, NULL), AZKM_E_INVALID, "invalid");
    assert_rc(azkm_key_create(f->v, "k", &rsa, NULL), AZKM_E_UNSUPPORTED, "RSA size 1024");
    ec.fields = AZKM_ATTR_KEY_OPS;
    ec.attrs.key_ops = AZKM_OP_SIGN | AZKM_OP_DECRYPT;
    assert_rc(azkm_key_create(f->v, "k", &ec, NULL), AZKM_E_INVALID, "decrypt does not apply");
    oct.fields = AZKM_ATTR_NOT_BEFORE | AZKM_ATTR_EXPIRES;
    oct.attrs.not_before = 200;
    oct.attrs.expires = 100;
    assert_rc(azkm_key_create(f->v, "k", &oct, NULL), AZKM_E_INVALID, "not-before");
    assert_rc(azkm_key_show(f->v, "missing", NULL, NULL), AZKM_E_NOT_FOUND, "vault1/missing not found");
}

/* RSA-PSS keys: the restriction is in the public key, survives rotation, import as a new version and backup, and
 * the keystore enforces it on sign, verify and encryption; bad restrictions are refused by name. */
static void rsa_pss_keys_keep_and_enforce_their_restrictions(void **state)
{
    fixture *f = *state;
    azkm_keyspec pss = spec_of(AZKM_KTY_RSA, 2048, 0);
    azkm_sign_params ps256 = {AZKM_SIG_RSA_PSS, "SHA256", AZKM_PSS_SALT_DIGEST, NULL}, p = ps256;
    azkm_cipher_params oaep;
    unsigned char digest[32] = {1}, sig[512], out[512];
    size_t siglen = 0, outlen = 0;
    azkm_key_info info, rotated;
    unsigned char *blob = NULL;
    size_t bloblen = 0;
    azkm_key *k = NULL;

    pss.pss = (azkm_rsa_pss){1, 1, "sha2-256", "SHA256", 32};
    assert_ok(azkm_key_create(f->v, "pss", &pss, &info));
    assert_true(info.pss.enabled && info.pss.restricted);
    assert_string_equal(info.pss.digest, "SHA256");
    assert_string_equal(info.pss.mgf1_digest, "SHA256");
    assert_int_equal(info.pss.min_salt_len, 32);
    assert_int_equal(info.attrs.key_ops, AZKM_OP_SIGN | AZKM_OP_VERIFY);
    assert_ok(azkm_key_rotate(f->v, "pss", &rotated));
    assert_true(rotated.pss.restricted && rotated.pss.min_salt_len == 32);
    assert_ok(azkm_key_backup(f->v, "pss", &blob, &bloblen));
    assert_ok(azkm_key_delete(f->v, "pss", NULL));
    assert_ok(azkm_key_purge(f->v, "pss"));
    assert_ok(azkm_key_restore(f->v, blob, bloblen, &info));
    assert_true(info.pss.restricted);
    azkm_free(blob);

    assert_ok(azkm_key_load(f->v, "pss", NULL, &k));
    assert_ok(azkm_key_sign(k, &ps256, digest, sizeof(digest), sig, &siglen));
    p.scheme = AZKM_SIG_RSA_PKCS1;
    assert_rc(azkm_key_sign(k, &p, digest, sizeof(digest), sig, &siglen), AZKM_E_FORBIDDEN, "RSASSA-PSS only");
    p = ps256;
    p.pss_saltlen = 20;
    assert_rc(azkm_key_sign(k, &p, digest, sizeof(digest), sig, &siglen), AZKM_E_FORBIDDEN, "32 bytes or more");
    p = ps256;
    p.mgf1_digest = "SHA1";
    assert_rc(azkm_key_sign(k, &p, digest, sizeof(digest), sig, &siglen), AZKM_E_FORBIDDEN, "MGF1 with SHA256");
    assert_ok(azkm_cipher_params_from_alg("RSA-OAEP-256", &oaep));
    assert_rc(azkm_key_decrypt(k, &oaep, sig, siglen, out, &outlen), AZKM_E_FORBIDDEN, "decrypt");
    azkm_key_free(k);

    pss.pss = (azkm_rsa_pss){1, 1, "MD5", "SHA256", 32};
    assert_rc(azkm_key_create(f->v, "k", &pss, NULL), AZKM_E_UNSUPPORTED, "digest 'MD5' is not supported");
    pss.pss = (azkm_rsa_pss){1, 1, "SHA512", "SHA512", 200};
    assert_rc(azkm_key_create(f->v, "k", &pss, NULL), AZKM_E_INVALID, "0 to 190");
    pss.pss = (azkm_rsa_pss){1, 0, "", "", 0};
    pss.fields = AZKM_ATTR_KEY_OPS;
    pss.attrs.key_ops = AZKM_OP_SIGN | AZKM_OP_DECRYPT;
    assert_rc(azkm_key_create(f->v, "k", &pss, NULL), AZKM_E_INVALID, "signs and verifies only");
    pss.kty = AZKM_KTY_EC;
    pss.fields = 0;
    assert_rc(azkm_key_create(f->v, "k", &pss, NULL), AZKM_E_INVALID, "only an RSA key");
    assert_rc(azkm_key_show(f->v, "k", NULL, NULL), AZKM_E_NOT_FOUND, "not found");
}

static void rotate_makes_current_version_and_keeps_old(void **state)
{
    fixture *f = *state;
    azkm_keyspec ec = spec_of(AZKM_KTY_EC, 0, AZKM_CURVE_P256);
    azkm_key_info first, second, *list = NULL;
    size_t n = 0;

    ec.fields = AZKM_ATTR_TAGS | AZKM_ATTR_KEY_OPS;
    ec.attrs.key_ops = AZKM_OP_SIGN;
    assert_ok(azkm_tags_parse("env=prod team=web", &ec.attrs));
    assert_ok(azkm_key_create(f->v, "rot", &ec, &first));
    f->now += 10;
    assert_ok(azkm_key_rotate(f->v, "rot", &second));
    assert_string_not_equal(first.version, second.version);
    assert_true(second.current);
    assert_int_equal(second.attrs.key_ops, AZKM_OP_SIGN);
    assert_int_equal(second.attrs.n_tags, 2);
    assert_ok(azkm_key_list_versions(f->v, "rot", &list, &n));
    assert_int_equal(n, 2);
    assert_string_equal(list[0].version, first.version);
    assert_false(list[0].current);
    assert_true(list[1].current);
    azkm_free(list);

    /* disabling the newest version makes the older one current */
    {
        azkm_attributes a;
        azkm_key_info cur;

        memset(&a, 0, sizeof(a));
        assert_ok(azkm_key_set_attributes(f->v, "rot", second.version, AZKM_ATTR_ENABLED, &a, NULL));
        assert_ok(azkm_key_show(f->v, "rot", NULL, &cur));
        assert_string_equal(cur.version, first.version);
    }
}

static void set_attributes_updates_and_is_persisted(void **state)
{
    fixture *f = *state;
    azkm_keyspec oct = spec_of(AZKM_KTY_OCT, 256, 0);
    azkm_attributes a;
    azkm_key_info info;
    azkm_keystore *ks2;
    azkm_vault *v2;

    assert_ok(azkm_key_create(f->v, "attrs", &oct, NULL));
    memset(&a, 0, sizeof(a));
    a.expires = f->now + 3600;
    a.key_ops = AZKM_OP_WRAP | AZKM_OP_UNWRAP;
    assert_ok(azkm_tags_parse("a=1", &a));
    f->now += 5;
    assert_ok(azkm_key_set_attributes(f->v, "attrs", NULL, AZKM_ATTR_EXPIRES | AZKM_ATTR_KEY_OPS | AZKM_ATTR_TAGS,
                                      &a, &info));
    assert_int_equal(info.attrs.expires, f->now - 5 + 3600);
    assert_int_equal(info.attrs.updated, f->now);

    ks2 = fixture_reopen(f);
    assert_ok(azkm_vault_open(ks2, "VAULT1", &v2));
    assert_ok(azkm_key_show(v2, "ATTRS", NULL, &info));
    assert_int_equal(info.attrs.key_ops, AZKM_OP_WRAP | AZKM_OP_UNWRAP);
    assert_int_equal(info.attrs.n_tags, 1);
    assert_string_equal(info.attrs.tags[0].name, "a");
    assert_string_equal(info.attrs.tags[0].value, "1");
    a.key_ops = AZKM_OP_SIGN;
    assert_rc(azkm_key_set_attributes(v2, "attrs", NULL, AZKM_ATTR_KEY_OPS, &a, NULL), AZKM_E_INVALID,
              "sign does not apply");
    assert_rc(azkm_key_set_attributes(v2, "attrs", "0123456789abcdef0123456789abcdef", AZKM_ATTR_KEY_OPS, &a, NULL),
              AZKM_E_NOT_FOUND, "not found");
    azkm_vault_close(v2);
    azkm_keystore_free(ks2);
}

static void soft_delete_recover_purge(void **state)
{
    fixture *f = *state;
    azkm_keyspec ec = spec_of(AZKM_KTY_EC, 0, 0);
    azkm_key_info info, *list = NULL;
    size_t n = 0;

    assert_ok(azkm_key_create(f->v, "gone", &ec, NULL));
    assert_ok(azkm_key_delete(f->v, "gone", &info));
    assert_int_equal(info.deleted_on, f->now);
    assert_int_equal(info.scheduled_purge, f->now + 7 * 86400);
    assert_rc(azkm_key_show(f->v, "gone", NULL, NULL), AZKM_E_NOT_FOUND, "is deleted");
    assert_rc(azkm_key_create(f->v, "gone", &ec, NULL), AZKM_E_CONFLICT, "ObjectIsDeletedButRecoverable");
    assert_rc(azkm_key_delete(f->v, "gone", NULL), AZKM_E_NOT_FOUND, "is deleted");
    assert_ok(azkm_key_list(f->v, 1, &list, &n));
    assert_int_equal(n, 1);
    azkm_free(list);
    assert_ok(azkm_key_list(f->v, 0, &list, &n));
    assert_int_equal(n, 0);
    azkm_free(list);

    assert_ok(azkm_key_recover(f->v, "gone", NULL));
    assert_ok(azkm_key_show(f->v, "gone", NULL, &info));
    assert_rc(azkm_key_recover(f->v, "gone", NULL), AZKM_E_NOT_FOUND, "not deleted");
    assert_rc(azkm_key_purge(f->v, "gone"), AZKM_E_NOT_FOUND, "not deleted");

    assert_ok(azkm_key_delete(f->v, "gone", NULL));
    assert_ok(azkm_key_purge(f->v, "gone"));
    assert_rc(azkm_key_recover(f->v, "gone", NULL), AZKM_E_NOT_FOUND, "not found");
    assert_ok(azkm_key_create(f->v, "gone", &ec, NULL));
}

static void purge_protection_and_retention(void **state)
{
    fixture *f = *state;
    azkm_keyspec ec = spec_of(AZKM_KTY_EC, 0, 0);
    azkm_key_info *list = NULL;
    size_t n = 0;

    assert_ok(azkm_vault_enable_purge_protection(f->v));
    assert_ok(azkm_key_create(f->v, "kept", &ec, NULL));
    assert_ok(azkm_key_delete(f->v, "kept", NULL));
    assert_rc(azkm_key_purge(f->v, "kept"), AZKM_E_FORBIDDEN, "purge protection");
    /* dates in ISO 8601, like every other message */
    assert_rc(azkm_key_purge(f->v, "kept"), AZKM_E_FORBIDDEN, "retention ends at 2027-01-22T08:00:00Z");
    assert_rc(azkm_vault_delete(f->ks, "vault1"), AZKM_E_FORBIDDEN, "purge protection");
    /* after the retention the key is purged by the next write */
    f->now += 7 * 86400;
    assert_ok(azkm_key_create(f->v, "other", &ec, NULL));
    assert_ok(azkm_key_list(f->v, 1, &list, &n));
    assert_int_equal(n, 0);
    azkm_free(list);
}

/* Azure purges a deleted key at its scheduledPurgeDate: from that second on, every path sees it as purged, not
 * only the next write that happens to sweep it. */
static void deleted_keys_past_their_purge_date_are_purged_everywhere(void **state)
{
    fixture *f = *state;
    azkm_keyspec ec = spec_of(AZKM_KTY_EC, 0, 0);
    azkm_key_info info, *list = NULL;
    azkm_vault_info vi;
    size_t n = 0;

    assert_ok(azkm_key_create(f->v, "old", &ec, NULL));
    assert_ok(azkm_key_create(f->v, "older", &ec, NULL));
    assert_ok(azkm_key_delete(f->v, "old", NULL));
    assert_ok(azkm_key_delete(f->v, "older", NULL));
    /* one second before the date it is still recoverable */
    f->now += 7 * 86400 - 1;
    assert_ok(azkm_key_list(f->v, 1, &list, &n));
    assert_int_equal(n, 2);
    azkm_free(list);
    f->now += 1;
    assert_ok(azkm_key_list(f->v, 1, &list, &n));
    assert_int_equal(n, 0);
    azkm_free(list);
    assert_ok(azkm_vault_show(f->v, &vi));
    assert_int_equal(vi.n_deleted, 0);
    assert_rc(azkm_key_show(f->v, "old", NULL, &info), AZKM_E_NOT_FOUND, "purged at its scheduled purge date");
    assert_rc(azkm_key_list_versions(f->v, "old", &list, &n), AZKM_E_NOT_FOUND, "purged");
    /* the name is free at once: the create that takes it sweeps both */
    assert_ok(azkm_key_create(f->v, "old", &ec, &info));
    assert_int_equal(info.deleted_on, 0);
    assert_rc(azkm_key_recover(f->v, "older", NULL), AZKM_E_NOT_FOUND, "not found");
    assert_rc(azkm_key_purge(f->v, "older"), AZKM_E_NOT_FOUND, "not found");
    assert_ok(azkm_key_create(f->v, "older", &ec, NULL));
    assert_ok(azkm_key_list(f->v, 0, &list, &n));
    assert_int_equal(n, 2);
    azkm_free(list);
}

/* The first write after the date may be the recover itself. */
static void recover_after_the_purge_date_finds_nothing(void **state)
{
    fixture *f = *state;
    azkm_keyspec ec = spec_of(AZKM_KTY_EC, 0, 0);

    assert_ok(azkm_key_create(f->v, "late", &ec, NULL));
    assert_ok(azkm_key_delete(f->v, "late", NULL));
    f->now += 30 * 86400;
    assert_rc(azkm_key_recover(f->v, "late", NULL), AZKM_E_NOT_FOUND, "not found");
    assert_rc(azkm_key_show(f->v, "late", NULL, NULL), AZKM_E_NOT_FOUND, "not found");
}

/* With purge protection, a vault whose keys are all past their purge date can be deleted. */
static void vault_with_only_expired_deleted_keys_can_be_deleted(void **state)
{
    fixture *f = *state;
    azkm_keyspec ec = spec_of(AZKM_KTY_EC, 0, 0);

    assert_ok(azkm_vault_enable_purge_protection(f->v));
    assert_ok(azkm_key_create(f->v, "kept", &ec, NULL));
    assert_ok(azkm_key_delete(f->v, "kept", NULL));
    assert_rc(azkm_vault_delete(f->ks, "vault1"), AZKM_E_FORBIDDEN, "purge protection");
    f->now += 7 * 86400;
    assert_ok(azkm_vault_delete(f->ks, "vault1"));
}

/* A batch is one transaction: its keys are seen by others only after the commit, a failed create in it undoes only
 * itself, and an abort drops every key of the batch. */
static void batches_commit_together_and_abort_together(void **state)
{
    fixture *f = *state;
    azkm_keyspec ec = spec_of(AZKM_KTY_EC, 0, 0);
    azkm_key_info info;
    azkm_keystore *other = fixture_reopen(f);
    azkm_vault *ov = NULL;

    assert_ok(azkm_key_batch_begin(f->v));
    assert_rc(azkm_key_batch_begin(f->v), AZKM_E_INVALID, "a batch is open already");
    assert_ok(azkm_key_create(f->v, "b-1", &ec, NULL));
    assert_rc(azkm_key_create(f->v, "b-1", &ec, NULL), AZKM_E_CONFLICT, "already exists");
    assert_ok(azkm_key_create(f->v, "b-2", &ec, &info));
    assert_ok(azkm_key_batch_commit(f->v));
    assert_rc(azkm_key_batch_commit(f->v), AZKM_E_INVALID, "no batch is open");
    assert_ok(azkm_vault_open(other, "vault1", &ov));
    assert_ok(azkm_key_show(ov, "b-1", NULL, &info));
    assert_ok(azkm_key_show(ov, "b-2", NULL, &info));

    assert_ok(azkm_key_batch_begin(f->v));
    assert_ok(azkm_key_create(f->v, "c-1", &ec, NULL));
    assert_ok(azkm_key_show(f->v, "c-1", NULL, &info));
    azkm_key_batch_abort(f->v);
    assert_rc(azkm_key_show(f->v, "c-1", NULL, &info), AZKM_E_NOT_FOUND, "c-1");
    assert_rc(azkm_key_show(ov, "c-1", NULL, &info), AZKM_E_NOT_FOUND, "c-1");
    /* after a batch, writes are their own transactions again */
    assert_ok(azkm_key_create(f->v, "d-1", &ec, NULL));
    assert_ok(azkm_key_show(ov, "d-1", NULL, &info));
    azkm_vault_close(ov);
    azkm_keystore_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_show_list_each_type, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(invalid_names_and_specs_are_refused, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(rsa_pss_keys_keep_and_enforce_their_restrictions, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(rotate_makes_current_version_and_keeps_old, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(set_attributes_updates_and_is_persisted, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(soft_delete_recover_purge, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(purge_protection_and_retention, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(deleted_keys_past_their_purge_date_are_purged_everywhere, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(recover_after_the_purge_date_finds_nothing, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(vault_with_only_expired_deleted_keys_can_be_deleted, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(batches_commit_together_and_abort_together, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
