/* The audit log: one JSON line per administrative call, and per private-key operation when enabled, with
 * Azure's operation names, the outcome, the caller and a correlation id; never any key material. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"

static azkm_keystore *open_audited(fixture *f, const char *log, int key_ops)
{
    azkm_options opt;
    azkm_keystore *ks = NULL;

    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = f->dir;
    opt.audit_log = log;
    opt.audit_key_operations = key_ops;
    assert_ok(azkm_keystore_open(&opt, &ks));
    return ks;
}

/* Reads the log into an array of records. */
static json_t *read_log(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[8192];
    json_t *all = json_array();

    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        json_error_t err;
        json_t *rec = json_loads(line, 0, &err);

        if (rec == NULL)
            fail_msg("audit line is not JSON: %s (%s)", line, err.text);
        json_array_append_new(all, rec);
    }
    fclose(fp);
    return all;
}

static const char *str(json_t *rec, const char *k)
{
    json_t *v = json_object_get(rec, k);

    return json_is_string(v) ? json_string_value(v) : "";
}

static void administrative_calls_are_logged_once_each(void **state)
{
    fixture *f = *state;
    char log[512];
    azkm_keystore *ks;
    azkm_vault *v;
    azkm_keyspec s;
    azkm_key_info info;
    json_t *recs, *rec;
    struct stat st;

    snprintf(log, sizeof(log), "%s/audit.jsonl", f->dir);
    ks = open_audited(f, log, 0);
    assert_ok(azkm_vault_open(ks, "vault1", &v));
    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_EC;
    assert_ok(azkm_key_create(v, "audited", &s, &info));
    assert_rc(azkm_key_create(v, "audited", &s, NULL), AZKM_E_CONFLICT, "already exists");
    assert_ok(azkm_key_delete(v, "audited", NULL));
    setenv("AZKM_CORRELATION_ID", "req-42", 1);
    assert_ok(azkm_key_recover(v, "audited", NULL));
    unsetenv("AZKM_CORRELATION_ID");
    azkm_vault_close(v);
    azkm_keystore_free(ks);

    assert_int_equal(stat(log, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    recs = read_log(log);
    /* create (its internal show is not logged again), failed create, delete, recover */
    assert_int_equal(json_array_size(recs), 4);
    rec = json_array_get(recs, 0);
    assert_string_equal(str(rec, "operationName"), "KeyCreate");
    assert_string_equal(str(rec, "resultType"), "Success");
    assert_string_equal(str(rec, "vault"), "vault1");
    assert_string_equal(str(rec, "key"), "audited");
    assert_string_equal(str(rec, "version"), info.version);
    assert_true(json_is_real(json_object_get(rec, "durationMs")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "callerIdentity"), "pid")), getpid());
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "callerIdentity"), "uid")), getuid());
    assert_int_equal(strlen(str(rec, "correlationId")), 32);
    assert_int_equal(strlen(str(rec, "time")), 24);
    rec = json_array_get(recs, 1);
    assert_string_equal(str(rec, "resultType"), "Failure");
    assert_string_equal(str(rec, "resultSignature"), "Conflict");
    assert_non_null(strstr(str(rec, "resultDescription"), "already exists"));
    assert_string_equal(str(json_array_get(recs, 2), "operationName"), "KeyDelete");
    assert_string_equal(str(json_array_get(recs, 3), "operationName"), "KeyRecover");
    assert_string_equal(str(json_array_get(recs, 3), "correlationId"), "req-42");
    json_decref(recs);
}

static void key_operations_are_logged_when_enabled_and_never_hold_material(void **state)
{
    fixture *f = *state;
    static const unsigned char secret[32] = "0123456789abcdef0123456789abcde";
    char log[512], quiet[512];
    azkm_material m = {AZKM_KTY_OCT, secret, sizeof(secret)};
    azkm_cipher_params p;
    azkm_keystore *ks;
    azkm_vault *v;
    azkm_key *k = NULL;
    azkm_attributes a;
    unsigned char out[64], data[16] = {1};
    size_t n;
    json_t *recs;

    snprintf(quiet, sizeof(quiet), "%s/quiet.jsonl", f->dir);
    ks = open_audited(f, quiet, 0);
    assert_ok(azkm_vault_open(ks, "vault1", &v));
    assert_ok(azkm_key_import(v, "kek", &m, AZKM_PROTECTION_SOFTWARE, 0, NULL, NULL));
    assert_ok(azkm_key_load(v, "kek", NULL, &k));
    assert_ok(azkm_cipher_params_from_alg("A256KW", &p));
    assert_ok(azkm_key_wrap(k, &p, data, 16, out, &n));
    azkm_key_free(k);
    azkm_vault_close(v);
    azkm_keystore_free(ks);
    recs = read_log(quiet);
    assert_int_equal(json_array_size(recs), 1); /* the import only */
    json_decref(recs);

    snprintf(log, sizeof(log), "%s/ops.jsonl", f->dir);
    ks = open_audited(f, log, 1);
    assert_ok(azkm_vault_open(ks, "vault1", &v));
    assert_ok(azkm_key_load(v, "kek", NULL, &k));
    assert_ok(azkm_key_wrap(k, &p, data, 16, out, &n));
    memset(&a, 0, sizeof(a));
    assert_ok(azkm_key_set_attributes(v, "kek", NULL, AZKM_ATTR_ENABLED, &a, NULL));
    assert_ok(azkm_key_refresh(k));
    assert_rc(azkm_key_unwrap(k, &p, out, n, data, &n), AZKM_E_FORBIDDEN, "is disabled");
    azkm_key_free(k);
    azkm_vault_close(v);
    azkm_keystore_free(ks);
    recs = read_log(log);
    assert_int_equal(json_array_size(recs), 3);
    assert_string_equal(str(json_array_get(recs, 0), "operationName"), "KeyWrap");
    assert_string_equal(str(json_array_get(recs, 1), "operationName"), "KeyUpdate");
    assert_string_equal(str(json_array_get(recs, 2), "operationName"), "KeyUnwrap");
    assert_string_equal(str(json_array_get(recs, 2), "resultSignature"), "Forbidden");
    json_decref(recs);
    /* the secret is in neither log, in raw, hex or base64 form */
    assert_int_not_equal(sh("grep -a -q -e '0123456789abcdef0123456789abcde' -e 'MDEyMzQ1Njc4OWFiY2RlZjAx' "
                            "-e '3031323334353637' '%s' '%s'",
                            log, quiet),
                         0);
}

static int pass_cb(char *buf, size_t len, const char *purpose, void *arg)
{
    (void)purpose;
    snprintf(buf, len, "%s", (const char *)arg);
    return 1;
}

/* The record of (op, result) at index i, checked; returns the record. */
static json_t *expect_record(json_t *recs, size_t i, const char *op, const char *sig, const char *reason)
{
    json_t *rec = json_array_get(recs, i);

    if (rec == NULL)
        fail_msg("no audit record %zu (want %s %s)", i, op, sig);
    assert_string_equal(str(rec, "operationName"), op);
    assert_string_equal(str(rec, "resultType"), "Failure");
    assert_string_equal(str(rec, "resultSignature"), sig);
    if (strstr(str(rec, "resultDescription"), reason) == NULL)
        fail_msg("audit record %zu: '%s' does not say '%s'", i, str(rec, "resultDescription"), reason);
    return rec;
}

/* Guessing and probing leave a trace: a wrong passphrase, a vault or key that is not there, an operation the key
 * refuses are each one record with the reason, even with key operations not logged; the secret never is. */
static void failed_authentication_authorisation_and_lookups_are_logged(void **state)
{
    fixture *f = *state;
    azkm_vault_params vp = {0, 0, AZKM_PROTECTOR_PASSPHRASE, NULL};
    azkm_options opt;
    azkm_keystore *ks;
    azkm_vault *v = NULL;
    azkm_key *k = NULL;
    azkm_keyspec s;
    azkm_sign_params sp;
    unsigned char d[32] = {0}, sig[128];
    size_t n;
    char log[512];
    json_t *recs;

    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = f->dir;
    opt.passphrase_cb = pass_cb;
    opt.passphrase_arg = "correct horse battery";
    assert_ok(azkm_keystore_open(&opt, &ks));
    assert_ok(azkm_vault_create(ks, "locked", &vp));
    azkm_keystore_free(ks);
    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_EC;
    s.fields = AZKM_ATTR_KEY_OPS;
    s.attrs.key_ops = AZKM_OP_VERIFY;
    assert_ok(azkm_key_create(f->v, "verifier", &s, NULL));

    snprintf(log, sizeof(log), "%s/failures.jsonl", f->dir);
    opt.audit_log = log;
    opt.passphrase_arg = "wrong guess 12345";
    assert_ok(azkm_keystore_open(&opt, &ks));
    assert_rc(azkm_vault_open(ks, "locked", &v), AZKM_E_AUTH, "wrong passphrase");
    assert_rc(azkm_vault_open(ks, "nosuch", &v), AZKM_E_NOT_FOUND, "not found");
    assert_ok(azkm_vault_open(ks, "vault1", &v));
    assert_rc(azkm_key_load(v, "missing", NULL, &k), AZKM_E_NOT_FOUND, "not found");
    assert_rc(azkm_key_load_uri(ks, "azkm://vault1/keys/missing2", &k), AZKM_E_NOT_FOUND, "not found");
    assert_ok(azkm_key_load(v, "verifier", NULL, &k));
    assert_ok(azkm_sign_params_from_alg("ES256", &sp));
    assert_rc(azkm_key_sign(k, &sp, d, sizeof(d), sig, &n), AZKM_E_FORBIDDEN, "does not permit sign");
    azkm_key_free(k);
    azkm_vault_close(v);
    azkm_keystore_free(ks);

    recs = read_log(log);
    /* successes (the open of vault1, the load of verifier) are not logged with key operations off */
    assert_int_equal(json_array_size(recs), 5);
    expect_record(recs, 0, "VaultOpen", "Unauthorized", "vault locked: wrong passphrase");
    assert_string_equal(str(json_array_get(recs, 0), "vault"), "locked");
    expect_record(recs, 1, "VaultOpen", "NotFound", "vault nosuch not found");
    expect_record(recs, 2, "KeyLoad", "NotFound", "key vault1/missing not found");
    assert_string_equal(str(json_array_get(recs, 2), "key"), "missing");
    expect_record(recs, 3, "KeyLoad", "NotFound", "missing2 not found");
    expect_record(recs, 4, "KeySign", "Forbidden", "does not permit sign");
    assert_string_equal(str(json_array_get(recs, 4), "key"), "verifier");
    json_decref(recs);
    assert_int_not_equal(sh("grep -a -q -e 'wrong guess' -e 'correct horse' '%s'", log), 0);
}

/* An audit log others can read is refused, not appended to: it names every key and caller. */
static void an_audit_log_others_can_read_is_refused(void **state)
{
    fixture *f = *state;
    azkm_options opt;
    azkm_keystore *ks = NULL;
    char log[512];

    snprintf(log, sizeof(log), "%s/open.jsonl", f->dir);
    assert_int_equal(sh("touch '%s' && chmod 644 '%s'", log, log), 0);
    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = f->dir;
    opt.audit_log = log;
    assert_rc(azkm_keystore_open(&opt, &ks), AZKM_E_PERMISSION, "has mode 0644");
    assert_rc(azkm_keystore_open(&opt, &ks), AZKM_E_PERMISSION, "chmod 600");
    assert_int_equal(sh("chmod 640 '%s'", log), 0);
    assert_rc(azkm_keystore_open(&opt, &ks), AZKM_E_PERMISSION, "has mode 0640");
    assert_int_equal(sh("chmod 600 '%s'", log), 0);
    assert_ok(azkm_keystore_open(&opt, &ks));
    azkm_keystore_free(ks);
}

/* A front end's record (azkmd's per-request line) goes to the log as given, one line, beside the keystore's own;
 * a record with a newline is refused; without a log it is a no-op. */
static void front_end_records_are_appended_as_one_line(void **state)
{
    fixture *f = *state;
    azkm_keystore *ks, *quiet = fixture_reopen(f);
    char log[512];
    json_t *recs;

    snprintf(log, sizeof(log), "%s/front.jsonl", f->dir);
    ks = open_audited(f, log, 0);
    assert_ok(azkm_audit_record(ks, "{\"category\":\"AuditEvent\",\"operationName\":\"KeySign\"}"));
    assert_rc(azkm_audit_record(ks, "{\"a\":1}\n{\"b\":2}"), AZKM_E_INVALID, "one non-empty line");
    assert_rc(azkm_audit_record(ks, ""), AZKM_E_INVALID, "one non-empty line");
    assert_ok(azkm_audit_record(quiet, "{\"not\":\"logged\"}"));
    recs = read_log(log);
    assert_int_equal(json_array_size(recs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "operationName")), "KeySign");
    json_decref(recs);
    azkm_keystore_free(ks);
    azkm_keystore_free(quiet);
}

static void unwritable_log_is_an_error_at_open(void **state)
{
    azkm_options opt;
    azkm_keystore *ks = NULL;

    (void)state;
    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = "/tmp";
    opt.audit_log = "/nonexistent-dir/audit.jsonl";
    assert_rc(azkm_keystore_open(&opt, &ks), AZKM_E_IO, "audit log /nonexistent-dir/audit.jsonl cannot be opened");
}

/* A forked child (a server's worker) reopens the log; when it cannot (a user that may not open it), the failed
 * operation's own error stands, not the log's. */
static void a_child_that_cannot_reopen_the_log_keeps_the_error(void **state)
{
    fixture *f = *state;
    char log[512], moved[600];
    azkm_keystore *ks;
    azkm_vault *v;
    azkm_keyspec s;
    pid_t pid;
    int status;

    snprintf(log, sizeof(log), "%s/audit.jsonl", f->dir);
    snprintf(moved, sizeof(moved), "%s.moved", log);
    ks = open_audited(f, log, 0);
    assert_ok(azkm_vault_open(ks, "vault1", &v));
    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_EC;
    assert_ok(azkm_key_create(v, "twice", &s, NULL));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A directory where the log was: open() fails, whoever the test runs as. */
        int bad = rename(log, moved) != 0 || mkdir(log, 0700) != 0 ||
                  azkm_key_create(v, "twice", &s, NULL) != AZKM_E_CONFLICT ||
                  strstr(azkm_last_error(), "already exists") == NULL;

        if (bad)
            fprintf(stderr, "child: %s\n", azkm_last_error());
        _exit(bad);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    azkm_vault_close(v);
    azkm_keystore_free(ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(administrative_calls_are_logged_once_each, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(key_operations_are_logged_when_enabled_and_never_hold_material,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(failed_authentication_authorisation_and_lookups_are_logged, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(an_audit_log_others_can_read_is_refused, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(front_end_records_are_appended_as_one_line, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_child_that_cannot_reopen_the_log_keeps_the_error, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test(unwritable_log_is_an_error_at_open),
    };
    return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
