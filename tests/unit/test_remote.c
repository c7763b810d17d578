/* Remote vaults without a server: azkm_vault_connect's checks, the entry as list, show and open see it, every call
 * that is not served remotely refused by name (none reaching the absent catalog), each administration call sent as
 * its Key Vault request, and a missing socket named. */
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"

static azkm_rc connect1(fixture *f, const char *name, const char *url, const char *remote_vault, const char *domain)
{
    const char *urls[] = {url};
    azkm_remote_params p = {.urls = urls, .n_urls = 1, .remote_vault = remote_vault, .domain = domain};

    return azkm_vault_connect(f->ks, name, &p);
}

static void connect_checks_every_field(void **state)
{
    fixture *f = *state;
    const char *nine[9] = {"unix:/a", "unix:/a", "unix:/a", "unix:/a", "unix:/a",
                           "unix:/a", "unix:/a", "unix:/a", "unix:/a"};
    azkm_remote_params many = {.urls = nine, .n_urls = 9};
    azkm_remote_params slow = {.urls = nine, .n_urls = 1, .connect_timeout_ms = 5};
    azkm_remote_params tls = {.urls = nine, .n_urls = 1, .ca_file = "/etc/hostname"};
    azkm_remote_params eager = {.urls = nine, .n_urls = 1, .refresh_s = -5};
    azkm_remote_params lazy = {.urls = nine, .n_urls = 1, .refresh_s = 86401};
    struct stat st;
    char path[512];

    assert_rc(connect1(f, "web", "unix:sock", NULL, NULL), AZKM_E_INVALID, "the socket path must be absolute");
    assert_rc(connect1(f, "web", "tcp://x", NULL, NULL), AZKM_E_INVALID, "neither unix:");
    assert_rc(connect1(f, "web", "unix:/a b", NULL, NULL), AZKM_E_INVALID, "space or control character");
    assert_rc(connect1(f, "web", "https://kv.example:0", NULL, NULL), AZKM_E_INVALID, "port must be 1-65535");
    assert_rc(connect1(f, "web", "https://-kv.example", NULL, NULL), AZKM_E_INVALID,
              "DNS name, an IPv4 address or");
    assert_rc(connect1(f, "web", "https://[::1", NULL, NULL), AZKM_E_INVALID, "an IPv6 address in brackets");
    assert_rc(connect1(f, "web", "https://[1.2.3.4]:1", NULL, NULL), AZKM_E_INVALID, "an IPv6 address in brackets");
    assert_rc(connect1(f, "web", "https://[::1]:0", NULL, NULL), AZKM_E_INVALID, "port must be 1-65535");
    assert_rc(connect1(f, "web", "https://::1:8443", NULL, NULL), AZKM_E_INVALID, "IPv6 address goes in brackets");
    /* an IPv6 address in brackets passes the URL's checks, and only then needs the certificate */
    assert_rc(connect1(f, "web", "https://[::1]:8443", NULL, NULL), AZKM_E_INVALID, "need a client certificate");
    assert_rc(connect1(f, "web", "https://[2001:db8::7]", NULL, NULL), AZKM_E_INVALID, "need a client certificate");
    assert_rc(connect1(f, "web", "https://kv.example", NULL, NULL), AZKM_E_INVALID, "need a client certificate");
    assert_rc(connect1(f, "web", "unix:/s", "x", NULL), AZKM_E_INVALID, "vault name on the server 'x' is invalid");
    assert_rc(connect1(f, "web", "unix:/s", NULL, "a..b"), AZKM_E_INVALID, "domain 'a..b' is not a DNS name");
    assert_rc(connect1(f, "web", "unix:/s", NULL, "-a.b"), AZKM_E_INVALID, "not a DNS name");
    assert_rc(connect1(f, "w", "unix:/s", NULL, NULL), AZKM_E_INVALID, "vault name 'w' is invalid");
    assert_rc(connect1(f, "vault1", "unix:/s", NULL, NULL), AZKM_E_CONFLICT, "vault vault1 already exists");
    assert_rc(azkm_vault_connect(f->ks, "web", &many), AZKM_E_INVALID, "1 to 8 azkmd URLs");
    assert_rc(azkm_vault_connect(f->ks, "web", &slow), AZKM_E_INVALID, "timeouts out of range");
    assert_rc(azkm_vault_connect(f->ks, "web", &tls), AZKM_E_INVALID, "is for https URLs");
    assert_rc(azkm_vault_connect(f->ks, "web", &eager), AZKM_E_INVALID, "refresh_s -5 out of range (0-86400");
    assert_rc(azkm_vault_connect(f->ks, "web", &lazy), AZKM_E_INVALID, "refresh_s 86401 out of range");
    snprintf(path, sizeof(path), "%s/web", f->dir);
    assert_int_not_equal(stat(path, &st), 0); /* nothing left behind by a refusal */
}

static void entry_is_listed_shown_and_opened(void **state)
{
    fixture *f = *state;
    azkm_vault_info info;
    azkm_vault *v;
    char **names = NULL;
    size_t n = 0;

    assert_ok(connect1(f, "Web", "unix:/run/azkm/azkmd.sock", "prod", NULL));
    assert_ok(azkm_vault_list(f->ks, &names, &n));
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "vault1");
    assert_string_equal(names[1], "web");
    azkm_free(names);
    assert_ok(azkm_vault_open(f->ks, "web", &v)); /* contacts nothing */
    assert_ok(azkm_vault_show(v, &info));
    assert_int_equal(info.remote, 1);
    assert_string_equal(info.remote_vault, "prod");
    assert_int_equal(info.n_remote_urls, 1);
    assert_string_equal(info.remote_urls[0], "unix:/run/azkm/azkmd.sock");
    assert_int_equal(azkm_vault_get_data_version(v), 0);
    azkm_vault_close(v);
    assert_ok(azkm_vault_delete(f->ks, "web"));
    assert_rc(azkm_vault_open(f->ks, "web", &v), AZKM_E_NOT_FOUND, "vault web not found");
}

#define REFUSED(call, what) assert_rc((call), AZKM_E_UNSUPPORTED, "vault web is remote: " what " through azkmd")

static void calls_not_served_remotely_are_refused_by_name(void **state)
{
    fixture *f = *state;
    azkm_attributes attrs = {0};
    azkm_role_assignment ra;
    const char *principals[] = {"uid:0"};
    azkm_rotation_event *events = NULL;
    size_t n = 0, checked = 0;
    azkm_vault *v;

    assert_ok(connect1(f, "web", "unix:/nonexistent/azkmd.sock", NULL, NULL));
    assert_ok(azkm_vault_open(f->ks, "web", &v));
    assert_rc(azkm_key_adopt(v, "k", "pkcs11:", 0, &attrs, NULL), AZKM_E_UNSUPPORTED,
              "vault web is remote: key adopt through azkmd is not supported: it takes a PKCS#11 object of the "
              "token azkmd's vault is on; run `azkm key adopt` on azkmd's host");
    /* a batch is nothing on a remote vault: each creation in it is its own request */
    assert_ok(azkm_key_batch_begin(v));
    assert_ok(azkm_key_batch_commit(v));
    azkm_key_batch_abort(v);
    REFUSED(azkm_rotation_run(v, &events, &n), "rotation run");
    REFUSED(azkm_role_assignment_create(v, "uid:1", "Key Vault Crypto User", "/", &ra), "role assignment create");
    REFUSED(azkm_role_assignment_list(v, NULL, &n), "role assignment list");
    REFUSED(azkm_role_assignment_delete(v, "x"), "role assignment delete");
    REFUSED(azkm_rbac_authorize(v, principals, 1, "Microsoft.KeyVault/vaults/keys/read", "k"), "authorization");
    REFUSED(azkm_envelope_encrypt(v, "k", stdin, stdout, NULL), "envelope encryption");
    REFUSED(azkm_vault_bind_hsm(v, NULL), "binding a token");
    REFUSED(azkm_vault_enable_purge_protection(v), "vault update");
    REFUSED(azkm_vault_verify(v, &checked), "vault verify");
    azkm_vault_close(v);
}

#define SENT(call, what)                                                                                           \
    assert_rc((call), AZKM_E_IO,                                                                                   \
              "remote vault web: azkmd at unix:/nonexistent/azkmd.sock: " what ": cannot connect")

/* Each administration call is its Key Vault request to azkmd (here unreachable, so the error names it); what the
 * remote tier could not use afterwards, or cannot express in Key Vault's API, is refused before anything is sent.
 */
static void administration_goes_to_azkmd(void **state)
{
    fixture *f = *state;
    azkm_keyspec spec = {.kty = AZKM_KTY_EC}, oct = {.kty = AZKM_KTY_OCT}, pss = {.kty = AZKM_KTY_RSA};
    azkm_attributes attrs = {.enabled = 1};
    unsigned char *blob = NULL, byte = 0, rnd[16];
    azkm_material raw = {AZKM_KTY_OCT, &byte, 1}, okp = {AZKM_KTY_OKP, &byte, 1};
    azkm_key_info info, *list = NULL;
    char *policy = NULL;
    size_t n = 0;
    azkm_vault *v;

    pss.pss.enabled = 1;
    assert_ok(connect1(f, "web", "unix:/nonexistent/azkmd.sock", NULL, NULL));
    assert_ok(azkm_vault_open(f->ks, "web", &v));
    SENT(azkm_key_create(v, "k", &spec, &info), "POST /keys/k/create");
    SENT(azkm_key_set_attributes(v, "k", NULL, AZKM_ATTR_ENABLED, &attrs, &info), "PATCH /keys/k");
    SENT(azkm_key_set_attributes(v, "k", "0123456789abcdef0123456789abcdef", AZKM_ATTR_ENABLED, &attrs, NULL),
         "PATCH /keys/k/0123456789abcdef0123456789abcdef");
    SENT(azkm_key_rotate(v, "k", &info), "POST /keys/k/rotate");
    SENT(azkm_key_delete(v, "k", &info), "DELETE /keys/k");
    SENT(azkm_key_recover(v, "k", &info), "POST /deletedkeys/k/recover");
    SENT(azkm_key_purge(v, "k"), "DELETE /deletedkeys/k");
    SENT(azkm_key_list(v, 1, &list, &n), "GET /deletedkeys?maxresults=25");
    SENT(azkm_key_list_versions(v, "k", &list, &n), "GET /keys/k/versions?maxresults=25");
    SENT(azkm_key_backup(v, "k", &blob, &n), "POST /keys/k/backup");
    SENT(azkm_key_restore(v, &byte, 1, &info), "POST /keys/restore");
    SENT(azkm_rotation_policy_get(v, "k", &policy), "GET /keys/k/rotationpolicy");
    SENT(azkm_rotation_policy_set(v, "k", "{}", &policy), "PUT /keys/k/rotationpolicy");
    SENT(azkm_key_import_byok(v, "k", AZKM_KTY_RSA, &byte, 1, 0, &attrs, &info), "PUT /keys/k");
    SENT(azkm_key_random(v, rnd, sizeof(rnd)), "POST /rng");
    assert_rc(azkm_key_random(v, rnd, 0), AZKM_E_INVALID, "random bytes: 0 is not a count from 1 to 128");
    assert_null(list);
    assert_null(blob);
    assert_null(policy);
    SENT(azkm_key_create(v, "k", &oct, &info), "POST /keys/k/create");
    SENT(azkm_key_import(v, "k", &raw, AZKM_PROTECTION_SOFTWARE, 0, &attrs, &info), "PUT /keys/k");
    SENT(azkm_key_import_byok(v, "k", AZKM_KTY_OCT, &byte, 1, 0, &attrs, &info), "PUT /keys/k");
    assert_rc(azkm_key_create(v, "k", &pss, &info), AZKM_E_UNSUPPORTED,
              "RSA-PSS keys cannot be made through azkmd");
    assert_rc(azkm_key_import(v, "k", &okp, AZKM_PROTECTION_SOFTWARE, 0, &attrs, &info), AZKM_E_UNSUPPORTED,
              "vault web is remote: key k: azkmd does not import OKP keys");
    assert_rc(azkm_key_create(v, "bad name", &spec, &info), AZKM_E_INVALID, "key name 'bad name' is invalid");
    assert_rc(azkm_key_delete(v, "bad/name", &info), AZKM_E_INVALID, "key name 'bad/name' is invalid");
    assert_rc(azkm_rotation_policy_set(v, "k", "[1", &policy), AZKM_E_INVALID,
              "key web/k: the rotation policy is not a JSON object");
    azkm_vault_close(v);
}

static void missing_socket_is_named_fast(void **state)
{
    fixture *f = *state;
    struct timespec a, b;
    azkm_key_info info;
    azkm_vault *v;
    azkm_key *k = NULL;

    assert_ok(connect1(f, "web", "unix:/nonexistent/azkmd.sock", NULL, NULL));
    assert_ok(azkm_vault_open(f->ks, "web", &v));
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_rc(azkm_key_show(v, "k1", NULL, &info), AZKM_E_IO,
              "remote vault web: azkmd at unix:/nonexistent/azkmd.sock: GET /keys/k1/: cannot connect");
    assert_rc(azkm_key_load(v, "k1", NULL, &k), AZKM_E_IO, "cannot connect");
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_true(b.tv_sec - a.tv_sec < 2);
    assert_rc(azkm_key_show(v, "bad name", NULL, &info), AZKM_E_INVALID, "key name 'bad name' is invalid");
    assert_rc(azkm_key_show(v, "k1", "xyz", &info), AZKM_E_INVALID, "version 'xyz' is invalid");
    azkm_vault_close(v);
    assert_rc(azkm_key_load_uri(f->ks, "azkm://web/keys/k1", &k), AZKM_E_IO, "cannot connect");
}

/* A service principal's entry: remote.json names the secret's file, never the secret; a token is asked for first,
 * at the token endpoint named in the error; the file's mode is checked again at each use. */
static void service_principal_entry_names_its_secret_file_only(void **state)
{
    fixture *f = *state;
    const char *urls[] = {"unix:/nonexistent/azkmd.sock"};
    azkm_remote_params p = {.urls = urls, .n_urls = 1, .client_id = "6f1c2a3e-0b1d-4c5e-8f90-123456789abc"};
    char secret[300], entry[300], text[4096];
    size_t len;
    azkm_key_info info;
    azkm_vault *v;
    FILE *fp;

    snprintf(secret, sizeof(secret), "%s/app.secret", f->dir);
    assert_non_null(fp = fopen(secret, "w"));
    fputs("s3cret-value\n", fp);
    fclose(fp);
    assert_int_equal(chmod(secret, 0600), 0);
    p.client_secret_file = secret;
    p.client_assertion_key = secret;
    assert_rc(azkm_vault_connect(f->ks, "web", &p), AZKM_E_INVALID, "is --client-id with either");
    p.client_assertion_key = NULL;
    assert_ok(azkm_vault_connect(f->ks, "web", &p));
    snprintf(entry, sizeof(entry), "%s/web/remote.json", f->dir);
    assert_non_null(fp = fopen(entry, "r"));
    len = fread(text, 1, sizeof(text) - 1, fp);
    fclose(fp);
    text[len] = '\0';
    assert_non_null(strstr(text, "\"auth\": \"secret\""));
    assert_non_null(strstr(text, "\"tenant\": \"azkm\""));
    assert_null(strstr(text, "s3cret"));
    assert_ok(azkm_vault_open(f->ks, "web", &v));
    assert_rc(azkm_key_show(v, "k1", NULL, &info), AZKM_E_IO,
              "remote vault web: azkmd's token endpoint at unix:/nonexistent/azkmd.sock: POST "
              "/azkm/oauth2/v2.0/token: cannot connect");
    assert_int_equal(chmod(secret, 0640), 0);
    assert_rc(azkm_key_show(v, "k1", NULL, &info), AZKM_E_PERMISSION, "has mode 0640");
    azkm_vault_close(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(connect_checks_every_field, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(entry_is_listed_shown_and_opened, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(calls_not_served_remotely_are_refused_by_name, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(administration_goes_to_azkmd, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(missing_socket_is_named_fast, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(service_principal_entry_names_its_secret_file_only, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
