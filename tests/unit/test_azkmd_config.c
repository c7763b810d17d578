/* azkmd's configuration file: settings and listeners read over the defaults, and each kind of mistake refused with
 * the file, the line and the setting named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char path[64];

static azkm_rc load_text(const char *text, azkmd_config *cfg)
{
    FILE *f;
    int fd;

    snprintf(path, sizeof(path), "/tmp/azkmd-conf-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    azkmd_config_defaults(cfg);
    azkm_rc rc = azkmd_config_load(path, cfg);
    unlink(path);
    return rc;
}

static void test_settings_and_listeners(void **state)
{
    azkmd_config cfg;

    assert_int_equal(load_text("# comment\n"
                               "domain = kv.example.test   # trailing comment\n"
                               "listen_unix = /run/a.sock mode=0666 vault=web\n"
                               "listen_tls = [::1]:8443\n"
                               "listen_tls = 0.0.0.0:0 vault=other\n"
                               "tls_certificate = /c.pem\ntls_key = azkm://web/keys/tls\n"
                               "threads = 3\nmax_body_size = 2048\nmax_headers = 10\ntimeout = 5\n",
                               &cfg),
                     AZKM_OK);
    assert_string_equal(cfg.domain, "kv.example.test");
    assert_int_equal(cfg.n_listeners, 3);
    assert_int_equal(cfg.listeners[0].kind, AZKMD_LISTEN_UNIX);
    assert_int_equal(cfg.listeners[0].mode, 0666);
    assert_string_equal(cfg.listeners[0].vault, "web");
    assert_string_equal(cfg.listeners[1].address, "[::1]:8443");
    assert_string_equal(cfg.listeners[1].vault, "");
    assert_string_equal(cfg.listeners[2].vault, "other");
    assert_string_equal(cfg.tls_key, "azkm://web/keys/tls");
    assert_int_equal(cfg.threads, 3);
    assert_int_equal(cfg.max_body_size, 2048);
    assert_int_equal(cfg.max_headers, 10);
    assert_int_equal(cfg.timeout, 5);
    assert_int_equal(cfg.max_header_size, 16 * 1024); /* default kept */
    assert_int_equal(azkmd_config_check(&cfg), AZKM_OK);
}

static void expect_error(const char *text, const char *message)
{
    azkmd_config cfg;

    assert_int_equal(load_text(text, &cfg), AZKM_E_INVALID);
    if (strstr(azkm_last_error(), message) == NULL || strstr(azkm_last_error(), path) == NULL)
        fail_msg("'%s' does not say '%s' and the file", azkm_last_error(), message);
}

static void test_mistakes_name_line_and_setting(void **state)
{
    expect_error("\n\nthreads = -1\n", ":3: threads must be a number from 0 to 256, not '-1'");
    expect_error("timeout = 10s\n", ":1: timeout must be a number");
    expect_error("listen_tls = 8443\n", ":1: listen_tls needs host:port");
    expect_error("listen_unix = /a.sock mode=rw\n", ":1: mode must be octal");
    expect_error("listen_unix = /a.sock vault=-bad\n", ":1: vault '-bad' is not a valid vault name");
    expect_error("listen_unix = /a.sock user=x\n", ":1: unknown listener option 'user=x'");
    expect_error("colour = blue\n", ":1: unknown setting 'colour'");
    expect_error("listen_unix\n", ":1: expected 'name = value'");
    expect_error("domain =\n", ":1: domain has no value");
}

static void test_check_needs_listeners_and_tls_files(void **state)
{
    azkmd_config cfg;

    assert_int_equal(load_text("threads = 1\n", &cfg), AZKM_OK);
    assert_int_equal(azkmd_config_check(&cfg), AZKM_E_INVALID);
    assert_non_null(strstr(azkm_last_error(), "no listener"));
    assert_int_equal(load_text("listen_tls = 127.0.0.1:1\ntls_certificate = /c.pem\n", &cfg), AZKM_OK);
    assert_int_equal(azkmd_config_check(&cfg), AZKM_E_INVALID);
    assert_non_null(strstr(azkm_last_error(), "tls_certificate and tls_key"));
}

static void test_limits(void **state)
{
    azkmd_config cfg;

    assert_int_equal(load_text("listen_unix = /a.sock\n", &cfg), AZKM_OK);
    assert_int_equal(cfg.max_connections, 512); /* defaults: generous, finite */
    assert_true(cfg.rate_limit == 1000);
    assert_int_equal(cfg.rate_burst, 2000);
    assert_true(cfg.token_rate_limit == 5);
    assert_int_equal(cfg.token_rate_burst, 10);
    assert_int_equal(load_text("max_connections = 0\nrate_limit = 50\ntoken_rate_limit = 2 burst=7\n", &cfg),
                     AZKM_OK);
    assert_int_equal(cfg.max_connections, 0);
    assert_true(cfg.rate_limit == 50);
    assert_int_equal(cfg.rate_burst, 100); /* twice the rate unless given */
    assert_true(cfg.token_rate_limit == 2);
    assert_int_equal(cfg.token_rate_burst, 7);
    assert_int_equal(load_text("rate_limit = 0\n", &cfg), AZKM_OK);
    assert_true(cfg.rate_limit == 0);
    assert_int_equal(load_text("token_rate_limit = 0.1\n", &cfg), AZKM_OK); /* one every 10 s */
    assert_true(cfg.token_rate_limit == 0.1);
    assert_int_equal(cfg.token_rate_burst, 1);
    expect_error("rate_limit = fast\n",
                 ":1: rate_limit must be requests per second, a number from 0 to 1000000, not 'fast'");
    expect_error("rate_limit = nan\n", ":1: rate_limit must be requests per second");
    expect_error("rate_limit = -1\n", ":1: rate_limit must be requests per second");
    expect_error("rate_limit = 10 burst=0\n", ":1: burst must be a number from 1 to 10000000, not '0'");
    expect_error("rate_limit = 10 bust=3\n", ":1: rate_limit: unknown option 'bust=3' (burst=)");
    expect_error("token_rate_limit = 1 burst=2 x\n", ":1: token_rate_limit: unexpected 'x' after the burst");
    expect_error("max_connections = -1\n", ":1: max_connections must be a number from 0 to 1000000, not '-1'");
}

/* SIGHUP: which settings changed, and which of them only a restart applies. */
static void test_reload_diff(void **state)
{
    azkmd_config a, b;
    char out[256];

    assert_int_equal(load_text("listen_unix = /a.sock\nthreads = 2\nrate_limit = 10\n", &a), AZKM_OK);
    assert_int_equal(load_text("listen_unix = /b.sock\nthreads = 4\nrate_limit = 10 burst=3\ntimeout = 9\n"
                               "tls_certificate = /c.pem\n",
                               &b),
                     AZKM_OK);
    azkmd_config_diff(&a, &b, 1, out, sizeof(out));
    assert_string_equal(out, "listen_unix/listen_tls, threads");
    azkmd_config_diff(&a, &b, 0, out, sizeof(out));
    assert_string_equal(out, "tls_certificate, timeout, rate_limit");
    azkmd_config_keep_restart_only(&a, &b);
    assert_string_equal(b.listeners[0].address, "/a.sock");
    assert_int_equal(b.threads, 2);
    assert_int_equal(b.timeout, 9);
    azkmd_config_diff(&a, &b, 1, out, sizeof(out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_and_listeners),
        cmocka_unit_test(test_mistakes_name_line_and_setting),
        cmocka_unit_test(test_check_needs_listeners_and_tls_files),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_reload_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
