/* Remote vaults without a server: azkm_vault_connect's checks, the entry as list, show and open see it, every call
 * that is not served remotely refused by name (none reaching the absent catalog), and a missing socket named. */
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"

static azkm_rc connect1(fixture *f, const char *name, const char *url, const char *remote_vault, const char *domain)
{
    const char *urls[] = {url};
    azkm_remote_params p = {urls, 1, remote_vault, domain, 0, 0, NULL, NULL, NULL, 0};

    return azkm_vault_connect(f->ks, name, &p);
}

static void connect_checks_every_field(void **state)
{
    fixture *f = *state;
    const char *nine[9] = {"unix:/a", "unix:/a", "unix:/a", "unix:/a", "unix:/a",
                           "unix:/a", "unix:/a", "unix:/a", "unix:/a"};
    azkm_remote_params many = {nine, 9, NULL, NULL, 0, 0, NULL, NULL, NULL, 0};
    azkm_remote_params slow = {nine, 1, NULL, NULL, 5, 0, NULL, NULL, NULL, 0};
    azkm_remote_params tls = {nine, 1, NULL, NULL, 0, 0, "/etc/hostname", NULL, NULL, 0};
    azkm_remote_params eager = {nine, 1, NULL, NULL, 0, 0, NULL, NULL, NULL, -5};
    azkm_remote_params lazy = {nine, 1, NULL, NULL, 0, 0, NULL, NULL, NULL, 86401};
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
    azkm_keyspec spec = {.kty = AZKM_KTY_EC};
    azkm_attributes attrs = {0};
    azkm_role_assignment ra;
    const char *principals[] = {"uid:0"};
    unsigned char *blob = NULL, byte = 0;
    azkm_key_info info, *list = NULL;
    azkm_rotation_event *events = NULL;
    char *policy = NULL;
    size_t n = 0, checked = 0;
    azkm_vault *v;

    assert_ok(connect1(f, "web", "unix:/nonexistent/azkmd.sock", NULL, NULL));
    assert_ok(azkm_vault_open(f->ks, "web", &v));
    REFUSED(azkm_key_create(v, "k", &spec, &info), "key create");
    REFUSED(azkm_key_import(v, "k", NULL, AZKM_PROTECTION_SOFTWARE, 0, &attrs, &info), "key import");
    REFUSED(azkm_key_adopt(v, "k", "pkcs11:", 0, &attrs, &info), "key adopt");
    REFUSED(azkm_key_import_byok(v, "k", AZKM_KTY_EC, &byte, 1, 0, &attrs, &info), "BYOK import");
    REFUSED(azkm_key_batch_begin(v), "a batch of key creations");
    REFUSED(azkm_key_batch_commit(v), "a batch of key creations");
    azkm_key_batch_abort(v);
    REFUSED(azkm_key_set_attributes(v, "k", NULL, 0, &attrs, &info), "key update");
    REFUSED(azkm_key_rotate(v, "k", &info), "key rotate");
    REFUSED(azkm_key_delete(v, "k", &info), "key delete");
    REFUSED(azkm_key_recover(v, "k", &info), "key recover");
    REFUSED(azkm_key_purge(v, "k"), "key purge");
    REFUSED(azkm_key_backup(v, "k", &blob, &n), "key backup");
    REFUSED(azkm_key_restore(v, &byte, 1, &info), "key restore");
    REFUSED(azkm_key_list_versions(v, "k", &list, &n), "listing key versions");
    REFUSED(azkm_key_list(v, 1, &list, &n), "listing deleted keys");
    REFUSED(azkm_rotation_policy_get(v, "k", &policy), "rotation-policy show");
    REFUSED(azkm_rotation_policy_set(v, "k", "{}", &policy), "rotation-policy set");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(connect_checks_every_field, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(entry_is_listed_shown_and_opened, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(calls_not_served_remotely_are_refused_by_name, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(missing_socket_is_named_fast, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
