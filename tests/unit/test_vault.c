/* Vaults: create, list, show, delete; passphrase protection; refusal of unsafe or damaged keystore files. */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static int pass_cb(char *buf, size_t len, const char *purpose, void *arg)
{
    snprintf(buf, len, "%s", (const char *)arg);
    return 1;
}

static void create_list_show_delete(void **state)
{
    fixture *f = *state;
    azkm_vault_params vp = {30, 0, AZKM_PROTECTOR_PLATFORM, NULL};
    azkm_vault_info info;
    azkm_vault *v;
    char **names = NULL, path[512];
    size_t n = 0;
    struct stat st;

    assert_ok(azkm_vault_create(f->ks, "Prod-West", &vp));
    assert_rc(azkm_vault_create(f->ks, "prod-west", &vp), AZKM_E_CONFLICT, "already exists");
    assert_ok(azkm_vault_list(f->ks, &names, &n));
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "prod-west");
    assert_string_equal(names[1], "vault1");
    azkm_free(names);
    assert_ok(azkm_vault_open(f->ks, "PROD-WEST", &v));
    assert_ok(azkm_vault_show(v, &info));
    assert_string_equal(info.name, "Prod-West");
    assert_int_equal(info.retention_days, 30);
    assert_int_equal(info.n_keys, 0);
    azkm_vault_close(v);
    /* private files: directory 0700, database and master key 0600 */
    snprintf(path, sizeof(path), "%s/prod-west", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/prod-west/master.key", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/prod-west/vault.db", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_ok(azkm_vault_delete(f->ks, "prod-west"));
    assert_rc(azkm_vault_open(f->ks, "prod-west", &v), AZKM_E_NOT_FOUND, "vault prod-west not found");
}

static void bad_vault_parameters(void **state)
{
    fixture *f = *state;
    azkm_vault_params vp = {6, 0, AZKM_PROTECTOR_PLATFORM, NULL};
    azkm_vault *v;

    assert_rc(azkm_vault_create(f->ks, "short-retention", &vp), AZKM_E_INVALID, "7 to 90 days");
    vp.retention_days = 91;
    assert_rc(azkm_vault_create(f->ks, "long-retention", &vp), AZKM_E_INVALID, "7 to 90 days");
    vp.retention_days = 0;
    assert_rc(azkm_vault_create(f->ks, "ab", &vp), AZKM_E_INVALID, "vault name 'ab' is invalid");
    assert_rc(azkm_vault_create(f->ks, "1abc", &vp), AZKM_E_INVALID, "invalid");
    assert_rc(azkm_vault_create(f->ks, "a--b", &vp), AZKM_E_INVALID, "invalid");
    assert_rc(azkm_vault_create(f->ks, "../etc", &vp), AZKM_E_INVALID, "invalid");
    assert_rc(azkm_vault_open(f->ks, "nosuch", &v), AZKM_E_NOT_FOUND, "vault nosuch not found");
}

static void passphrase_vault_needs_the_right_passphrase(void **state)
{
    fixture *f = *state;
    azkm_vault_params vp = {0, 0, AZKM_PROTECTOR_PASSPHRASE, NULL};
    azkm_options opt;
    azkm_keystore *ks;
    azkm_vault *v;
    azkm_keyspec s;

    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = f->dir;
    opt.passphrase_cb = pass_cb;
    opt.passphrase_arg = "short";
    assert_ok(azkm_keystore_open(&opt, &ks));
    assert_rc(azkm_vault_create(ks, "locked", &vp), AZKM_E_INVALID, "at least 8 characters");
    azkm_keystore_free(ks);
    opt.passphrase_arg = "correct horse battery";
    assert_ok(azkm_keystore_open(&opt, &ks));
    assert_ok(azkm_vault_create(ks, "locked", &vp));
    assert_ok(azkm_vault_open(ks, "locked", &v));
    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_EC;
    assert_ok(azkm_key_create(v, "k1", &s, NULL));
    azkm_vault_close(v);
    azkm_keystore_free(ks);

    opt.passphrase_arg = "wrong horse battery";
    assert_ok(azkm_keystore_open(&opt, &ks));
    assert_rc(azkm_vault_open(ks, "locked", &v), AZKM_E_AUTH, "vault locked: wrong passphrase");
    azkm_keystore_free(ks);

    /* without a callback the environment is consulted; without either the error says how to give one */
    opt.passphrase_cb = NULL;
    unsetenv("AZKM_PASSPHRASE");
    unsetenv("AZKM_PASSPHRASE_FILE");
    assert_ok(azkm_keystore_open(&opt, &ks));
    assert_rc(azkm_vault_open(ks, "locked", &v), AZKM_E_AUTH, "AZKM_PASSPHRASE_FILE");
    setenv("AZKM_PASSPHRASE", "correct horse battery", 1);
    assert_ok(azkm_vault_open(ks, "locked", &v));
    unsetenv("AZKM_PASSPHRASE");
    azkm_vault_close(v);
    azkm_keystore_free(ks);
}

static void unsafe_or_missing_files_are_refused(void **state)
{
    fixture *f = *state;
    azkm_vault *v;
    char path[512];

    azkm_vault_close(f->v);
    f->v = NULL;
    snprintf(path, sizeof(path), "%s/vault1/vault.db", f->dir);
    chmod(path, 0644);
    assert_rc(azkm_vault_open(f->ks, "vault1", &v), AZKM_E_PERMISSION, "must not be accessible to others");
    chmod(path, 0600);
    snprintf(path, sizeof(path), "%s/vault1/master.key", f->dir);
    chmod(path, 0640);
    assert_rc(azkm_vault_open(f->ks, "vault1", &v), AZKM_E_PERMISSION, "master key file");
    chmod(path, 0600);
    snprintf(path, sizeof(path), "%s/vault1", f->dir);
    chmod(path, 0707);
    assert_rc(azkm_vault_open(f->ks, "vault1", &v), AZKM_E_PERMISSION, "vault directory");
    chmod(path, 0700);
    assert_int_equal(sh("mv '%s/vault1/master.key' '%s/mk.saved'", f->dir, f->dir), 0);
    assert_rc(azkm_vault_open(f->ks, "vault1", &v), AZKM_E_NOT_FOUND, "master key file");
    assert_int_equal(sh("mv '%s/mk.saved' '%s/vault1/master.key'", f->dir, f->dir), 0);
    assert_ok(azkm_vault_open(f->ks, "vault1", &f->v));
}

static void damaged_master_key_and_database(void **state)
{
    fixture *f = *state;
    azkm_vault *v;
    azkm_keyspec s;

    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_EC;
    assert_ok(azkm_key_create(f->v, "k1", &s, NULL));
    azkm_vault_close(f->v);
    f->v = NULL;
    /* a flipped byte in the master key file: every bit of byte 20 inverted (a constant could already be there) */
    assert_int_equal(sh("cp -p '%s/vault1/master.key' '%s/mk.saved' && printf \"$(printf '\\\\%%03o' "
                        "$(( $(od -An -tu1 -j20 -N1 '%s/mk.saved') ^ 255 )))\" | dd of='%s/vault1/master.key' "
                        "bs=1 seek=20 conv=notrunc status=none",
                        f->dir, f->dir, f->dir, f->dir),
                     0);
    assert_rc(azkm_vault_open(f->ks, "vault1", &v), AZKM_E_INTEGRITY, "master key file");
    assert_int_equal(sh("cp -p '%s/mk.saved' '%s/vault1/master.key'", f->dir, f->dir), 0);
    /* a truncated master key file */
    assert_int_equal(sh("truncate -s 20 '%s/vault1/master.key'", f->dir), 0);
    assert_rc(azkm_vault_open(f->ks, "vault1", &v), AZKM_E_CORRUPT, "truncated or damaged");
    assert_int_equal(sh("cp -p '%s/mk.saved' '%s/vault1/master.key'", f->dir, f->dir), 0);

    /* a database overwritten with garbage, then truncated */
    assert_int_equal(sh("cp -p '%s/vault1/vault.db' '%s/db.saved' && head -c 4096 /dev/urandom | dd "
                        "of='%s/vault1/vault.db' conv=notrunc status=none",
                        f->dir, f->dir, f->dir),
                     0);
    assert_rc(azkm_vault_open(f->ks, "vault1", &v), AZKM_E_CORRUPT, "damaged");
    assert_int_equal(sh("cp -p '%s/db.saved' '%s/vault1/vault.db' && truncate -s 100 '%s/vault1/vault.db'", f->dir,
                        f->dir, f->dir),
                     0);
    assert_rc(azkm_vault_open(f->ks, "vault1", &v), AZKM_E_CORRUPT, "empty or truncated");
    assert_int_equal(sh("truncate -s 0 '%s/vault1/vault.db'", f->dir), 0);
    assert_rc(azkm_vault_open(f->ks, "vault1", &v), AZKM_E_CORRUPT, "empty or truncated");
    /* opening a damaged file does not change it */
    assert_int_equal(sh("test ! -s '%s/vault1/vault.db'", f->dir), 0);
    assert_int_equal(sh("cp -p '%s/db.saved' '%s/vault1/vault.db'", f->dir, f->dir), 0);
    assert_ok(azkm_vault_open(f->ks, "vault1", &f->v));
    assert_ok(azkm_key_show(f->v, "k1", NULL, NULL));
}

static void config_file_and_environment_choose_the_directory(void **state)
{
    fixture *f = *state;
    azkm_options opt;
    azkm_keystore *ks;
    char conf[512], other[600];
    FILE *fp;

    snprintf(conf, sizeof(conf), "%s/azkm.conf", f->dir);
    snprintf(other, sizeof(other), "%s/from-config", f->dir);
    fp = fopen(conf, "w");
    fprintf(fp, "# test\nkeystore_dir = %s\n", other);
    fclose(fp);
    memset(&opt, 0, sizeof(opt));
    opt.config_file = conf;
    unsetenv("AZKM_KEYSTORE_DIR");
    assert_ok(azkm_keystore_open(&opt, &ks));
    assert_string_equal(azkm_keystore_get_dir(ks), other);
    azkm_keystore_free(ks);
    setenv("AZKM_KEYSTORE_DIR", "/tmp/from-env", 1);
    assert_ok(azkm_keystore_open(&opt, &ks));
    assert_string_equal(azkm_keystore_get_dir(ks), "/tmp/from-env");
    azkm_keystore_free(ks);
    unsetenv("AZKM_KEYSTORE_DIR");
    fp = fopen(conf, "w");
    fprintf(fp, "keystore_dri = /x\n");
    fclose(fp);
    assert_rc(azkm_keystore_open(&opt, &ks), AZKM_E_INVALID, "unknown setting 'keystore_dri'");
    opt.config_file = "/nonexistent/azkm.conf";
    assert_rc(azkm_keystore_open(&opt, &ks), AZKM_E_IO, "/nonexistent/azkm.conf");
}

/* The data version moves with every commit, through this handle or another connection, and only then: asked
 * many times in a row (its statement is kept prepared between calls) it stays put, and holds no read transaction
 * between calls that would keep another connection's commit out of view. */
static void data_version_moves_with_every_commit(void **state)
{
    fixture *f = *state;
    azkm_keystore *ks2 = fixture_reopen(f);
    azkm_keyspec spec = {.kty = AZKM_KTY_EC, .curve = AZKM_CURVE_P256};
    azkm_key_info info;
    azkm_vault *v2 = NULL;
    int64_t dv, dv2;

    assert_ok(azkm_vault_open(ks2, "vault1", &v2));
    dv = azkm_vault_get_data_version(f->v);
    for (int i = 0; i < 100; i++)
        assert_true(azkm_vault_get_data_version(f->v) == dv);
    assert_ok(azkm_key_create(v2, "by-the-other-connection", &spec, &info));
    dv2 = azkm_vault_get_data_version(f->v);
    assert_true(dv2 != dv);
    assert_true(azkm_vault_get_data_version(f->v) == dv2);
    assert_ok(azkm_key_create(f->v, "by-this-one", &spec, &info));
    assert_true(azkm_vault_get_data_version(f->v) != dv2);
    dv = azkm_vault_get_data_version(v2);
    assert_ok(azkm_key_create(f->v, "seen-by-the-other", &spec, &info));
    assert_true(azkm_vault_get_data_version(v2) != dv);
    azkm_vault_close(v2); /* closes a connection whose statement was prepared: nothing left open (ASan, valgrind) */
    azkm_keystore_free(ks2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_list_show_delete, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(bad_vault_parameters, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(passphrase_vault_needs_the_right_passphrase, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(unsafe_or_missing_files_are_refused, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(damaged_master_key_and_database, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(config_file_and_environment_choose_the_directory, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(data_version_moves_with_every_commit, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests_name("vaults", tests, NULL, NULL);
}
