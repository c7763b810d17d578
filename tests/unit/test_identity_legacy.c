/* Service principals registered before azkm kept certificates' public keys: such a row (written here with the
 * first MAC layout of keystore/rbac/service_principals.c, which a row without a public key must keep verifying
 * with) still authenticates, lists and shows, and a client assertion's key lookup asks to re-add the certificate;
 * a credential reset with the certificate makes it usable. Built with the keystore's internal headers: no public
 * call writes an old-format row. */
#include <openssl/crypto.h>

#include "rbac/rbac.h"
#include "testutil.h"

static unsigned char *put_str(unsigned char *p, const char *s)
{
    size_t n = strlen(s) + 1;

    memcpy(p, s, n);
    return p + n;
}

static unsigned char *put_i64(unsigned char *p, int64_t x)
{
    for (int i = 0; i < 8; i++)
        *p++ = (unsigned char)((uint64_t)x >> (56 - 8 * i));
    return p;
}

/* The row MAC as the first identity stores wrote it (no certificate key). */
static void v1_mac(const azkm_vault *v, const azkm_catalog_sp_row *r, unsigned char mac[32])
{
    unsigned char buf[4096], *p = buf;

    p = put_str(p, "azkm-service-principal-v1");
    memcpy(p, v->vault_id, AZKM_VAULT_ID_LEN);
    p += AZKM_VAULT_ID_LEN;
    p = put_str(p, r->app_id);
    p = put_str(p, r->display_name);
    p = put_str(p, r->secret_kdf);
    memcpy(p, r->secret_salt, 16);
    memcpy(p + 16, r->secret_hash, 32);
    p = put_i64(p + 48, r->secret_created);
    *p++ = (unsigned char)(r->has_cert != 0);
    memcpy(p, r->cert_sha256, 32);
    p = put_str(p + 32, r->cert_issuer);
    p = put_str(p, r->cert_subject);
    p = put_i64(p, r->created);
    azkm_hmac(v->mac_key, buf, (size_t)(p - buf), mac);
}

/* Rewrites the only row as an old identity store held it: no SHA-1 thumbprint, no public key, the old MAC. */
static void make_legacy(fixture *f)
{
    azkm_vault *v = NULL;
    azkm_catalog_sp_row *rows = NULL;
    size_t n = 0;
    azkm_catalog_set_mac set = {"service_principals_mac", {0}, 0};
    azkm_record_ref ref;

    assert_ok(azkm_identity_store_open(f->ks, &v));
    assert_ok(azkm_catalog_sps_all(v->cat, &rows, &n, &set));
    assert_int_equal(n, 1);
    assert_true(rows[0].cert_spki_len > 0);
    rows[0].cert_spki_len = 0;
    memset(rows[0].cert_sha1, 0, sizeof(rows[0].cert_sha1));
    v1_mac(v, &rows[0], rows[0].mac);
    ref = (azkm_record_ref){rows[0].app_id, rows[0].mac};
    assert_ok(azkm_catalog_begin(v->cat));
    assert_ok(azkm_catalog_sp_put(v->cat, &rows[0]));
    assert_ok(azkm_record_set_write(v, "service_principals_mac", "azkm-service-principals-v1", &ref, 1));
    assert_ok(azkm_catalog_commit(v->cat));
    OPENSSL_clear_free(rows, n * sizeof(*rows));
    azkm_vault_close(v);
}

static void an_old_registration_asks_to_readd_the_certificate(void **state)
{
    fixture *f = *state;
    azkm_sp_credentials creds = {0, NULL, 0};
    azkm_service_principal sp, shown;
    unsigned char *pem = NULL, *spki = NULL, fp[32];
    size_t pem_len = 0, spki_len = 0;
    char path[512];
    FILE *fp_in;

    assert_int_equal(sh("cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout c.key -subj /CN=old -days 2 "
                        "-out c.pem 2>/dev/null",
                        f->dir),
                     0);
    snprintf(path, sizeof(path), "%s/c.pem", f->dir);
    assert_non_null(fp_in = fopen(path, "rb"));
    pem = malloc(8192);
    pem_len = fread(pem, 1, 8192, fp_in);
    fclose(fp_in);
    creds.cert = pem;
    creds.cert_len = pem_len;
    assert_ok(azkm_sp_create(f->ks, "old", &creds, &sp, NULL));
    assert_true(sp.has_certificate_key);
    for (size_t i = 0; i < 32; i++)
        sscanf(sp.cert_sha256 + 2 * i, "%2hhx", &fp[i]);
    make_legacy(f);

    assert_ok(azkm_sp_show(f->ks, sp.app_id, &shown));
    assert_true(shown.has_certificate && !shown.has_certificate_key);
    assert_rc(azkm_sp_certificate_key(f->ks, sp.app_id, fp, 32, &spki, &spki_len), AZKM_E_UNSUPPORTED,
              "re-add the certificate");
    assert_null(spki);

    assert_ok(azkm_sp_credential_reset(f->ks, sp.app_id, &creds, &shown, NULL));
    assert_true(shown.has_certificate_key);
    assert_ok(azkm_sp_certificate_key(f->ks, sp.app_id, fp, 32, &spki, &spki_len));
    assert_true(spki_len > 200);
    azkm_free(spki);
    free(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(an_old_registration_asks_to_readd_the_certificate, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
