/* Service principals: a client secret is given once and kept only as a scrypt hash, a wrong one is refused, a
 * certificate is found by its fingerprint or names, credentials are reset, and the identity store, invisible as a
 * vault, detects rows edited or put back behind azkm's back. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "testutil.h"

static int sql(fixture *f, const char *stmt)
{
    return sh("sqlite3 '%s/_identities/vault.db' \"%s\"", f->dir, stmt);
}

/* A self-signed certificate made by the openssl CLI: PEM in *pem, DER in *der (free both). */
static void make_cert(fixture *f, const char *cn, unsigned char **pem, size_t *pem_len, unsigned char **der,
                      size_t *der_len)
{
    char path[512];
    FILE *fp;

    assert_int_equal(sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
                        "%s.key -subj '/O=azkm tests/CN=%s' -days 2 -out %s.pem 2>/dev/null && openssl x509 -in "
                        "%s.pem -outform DER -out %s.der",
                        f->dir, cn, cn, cn, cn, cn),
                     0);
    for (int i = 0; i < 2; i++) {
        unsigned char **buf = i ? der : pem;
        size_t *len = i ? der_len : pem_len;

        snprintf(path, sizeof(path), "%s/%s.%s", f->dir, cn, i ? "der" : "pem");
        assert_non_null(fp = fopen(path, "rb"));
        *buf = malloc(8192);
        *len = fread(*buf, 1, 8192, fp);
        fclose(fp);
        assert_true(*len > 100);
    }
}

static void a_secret_is_given_once_and_checked_against_its_hash(void **state)
{
    fixture *f = *state;
    azkm_sp_credentials c = {1, NULL, 0};
    azkm_service_principal sp, who;
    char *secret = NULL, wrong[64];

    assert_ok(azkm_sp_create(f->ks, "web app", &c, &sp, &secret));
    assert_non_null(secret);
    assert_int_equal(strlen(secret), 43); /* 32 random bytes, base64url */
    assert_int_equal(strlen(sp.app_id), AZKM_GUID_LEN);
    assert_true(sp.has_secret);
    assert_false(sp.has_certificate);
    assert_ok(azkm_sp_authenticate_secret(f->ks, sp.app_id, secret, &who));
    assert_string_equal(who.app_id, sp.app_id);
    assert_string_equal(who.display_name, "web app");
    /* the secret is nowhere in the store's files */
    assert_int_not_equal(sh("grep -rqF -e '%s' '%s/_identities'", secret, f->dir), 0);
    snprintf(wrong, sizeof(wrong), "%s", secret);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    assert_rc(azkm_sp_authenticate_secret(f->ks, sp.app_id, wrong, NULL), AZKM_E_AUTH, "invalid client secret");
    assert_rc(azkm_sp_authenticate_secret(f->ks, sp.app_id, "", NULL), AZKM_E_AUTH, "invalid client secret");
    assert_rc(azkm_sp_authenticate_secret(f->ks, "0f8fad5b-d9cb-469f-a165-70867728950e", secret, NULL),
              AZKM_E_NOT_FOUND, "service principal 0f8fad5b-d9cb-469f-a165-70867728950e not found");
    OPENSSL_cleanse(secret, strlen(secret));
    azkm_free(secret);
}

static void a_certificate_is_found_by_fingerprint_or_names(void **state)
{
    fixture *f = *state;
    unsigned char *pem, *der, *pem2, *der2;
    size_t pem_len, der_len, pem2_len, der2_len;
    azkm_sp_credentials c = {0, NULL, 0};
    azkm_service_principal sp, who;
    char *secret = (char *)1;

    make_cert(f, "client1", &pem, &pem_len, &der, &der_len);
    make_cert(f, "client2", &pem2, &pem2_len, &der2, &der2_len);
    c.cert = pem;
    c.cert_len = pem_len;
    assert_ok(azkm_sp_create(f->ks, "mtls client", &c, &sp, &secret));
    assert_null(secret);
    assert_true(sp.has_certificate);
    assert_false(sp.has_secret);
    assert_int_equal(strlen(sp.cert_sha256), 64);
    assert_string_equal(sp.cert_subject, "CN=client1,O=azkm tests");
    assert_string_equal(sp.cert_issuer, "CN=client1,O=azkm tests");
    assert_ok(azkm_sp_find_by_certificate(f->ks, der, der_len, &who));
    assert_string_equal(who.app_id, sp.app_id);
    assert_rc(azkm_sp_find_by_certificate(f->ks, der2, der2_len, &who), AZKM_E_NOT_FOUND, "certificate");
    assert_ok(azkm_sp_find_by_subject(f->ks, "CN=client1,O=azkm tests", "CN=client1,O=azkm tests", &who));
    assert_rc(azkm_sp_find_by_subject(f->ks, "CN=client1,O=azkm tests", "CN=client2,O=azkm tests", &who),
              AZKM_E_NOT_FOUND, "CN=client2");
    /* a principal without a secret has none to check */
    assert_rc(azkm_sp_authenticate_secret(f->ks, sp.app_id, "anything", NULL), AZKM_E_AUTH,
              "invalid client secret");
    /* a DER certificate registers the same way; garbage does not */
    c.cert = der2;
    c.cert_len = der2_len;
    assert_ok(azkm_sp_credential_reset(f->ks, sp.app_id, &c, &who, NULL));
    assert_ok(azkm_sp_find_by_certificate(f->ks, der2, der2_len, &who));
    assert_rc(azkm_sp_find_by_certificate(f->ks, der, der_len, &who), AZKM_E_NOT_FOUND, "certificate");
    c.cert = (const unsigned char *)"not a certificate";
    c.cert_len = 17;
    assert_rc(azkm_sp_create(f->ks, "x", &c, NULL, NULL), AZKM_E_INVALID, "not an X.509 certificate");
    free(pem);
    free(der);
    free(pem2);
    free(der2);
}

static void a_credential_reset_retires_the_old_secret(void **state)
{
    fixture *f = *state;
    azkm_sp_credentials c = {1, NULL, 0};
    azkm_service_principal sp;
    char *old = NULL, *new = NULL;

    assert_ok(azkm_sp_create(f->ks, "rotating", &c, &sp, &old));
    assert_ok(azkm_sp_credential_reset(f->ks, sp.app_id, &c, &sp, &new));
    assert_string_not_equal(old, new);
    assert_rc(azkm_sp_authenticate_secret(f->ks, sp.app_id, old, NULL), AZKM_E_AUTH, "invalid client secret");
    assert_ok(azkm_sp_authenticate_secret(f->ks, sp.app_id, new, NULL));
    assert_rc(azkm_sp_credential_reset(f->ks, "0f8fad5b-d9cb-469f-a165-70867728950e", &c, NULL, NULL),
              AZKM_E_NOT_FOUND, "not found");
    azkm_free(old);
    azkm_free(new);
}

static void list_show_and_delete(void **state)
{
    fixture *f = *state;
    azkm_sp_credentials c = {1, NULL, 0};
    azkm_service_principal a, b, *list = NULL;
    size_t n = 5;
    char *secret = NULL;

    assert_ok(azkm_sp_list(f->ks, &list, &n)); /* no store yet */
    assert_int_equal(n, 0);
    assert_ok(azkm_sp_create(f->ks, "a", &c, &a, NULL));
    assert_ok(azkm_sp_create(f->ks, "b", &c, &b, &secret));
    assert_ok(azkm_sp_list(f->ks, &list, &n));
    assert_int_equal(n, 2);
    assert_string_equal(list[0].app_id, strcmp(a.app_id, b.app_id) < 0 ? a.app_id : b.app_id);
    azkm_free(list);
    assert_ok(azkm_sp_show(f->ks, b.app_id, &a));
    assert_string_equal(a.display_name, "b");
    assert_ok(azkm_sp_delete(f->ks, b.app_id));
    assert_rc(azkm_sp_show(f->ks, b.app_id, &a), AZKM_E_NOT_FOUND, b.app_id);
    assert_rc(azkm_sp_delete(f->ks, b.app_id), AZKM_E_NOT_FOUND, b.app_id);
    assert_rc(azkm_sp_authenticate_secret(f->ks, b.app_id, secret, NULL), AZKM_E_NOT_FOUND, "not found");
    azkm_free(secret);
}

static void bad_input_is_refused_by_name(void **state)
{
    fixture *f = *state;
    azkm_sp_credentials none = {0, NULL, 0}, c = {1, NULL, 0};

    assert_rc(azkm_sp_create(f->ks, "x", &none, NULL, NULL), AZKM_E_INVALID, "give a credential");
    assert_rc(azkm_sp_create(f->ks, "", &c, NULL, NULL), AZKM_E_INVALID, "display name must be 1-120");
    assert_rc(azkm_sp_create(f->ks, "a\nb", &c, NULL, NULL), AZKM_E_INVALID, "control character");
    assert_rc(azkm_sp_find_by_subject(f->ks, "CN=x", "", NULL), AZKM_E_INVALID, "issuer and a subject");
}

static void the_identity_store_is_no_vault(void **state)
{
    fixture *f = *state;
    azkm_sp_credentials c = {1, NULL, 0};
    azkm_vault *v = NULL;
    char **names = NULL;
    size_t n = 0;

    assert_ok(azkm_sp_create(f->ks, "a", &c, NULL, NULL));
    assert_ok(azkm_vault_list(f->ks, &names, &n));
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "vault1");
    azkm_free(names);
    assert_rc(azkm_vault_open(f->ks, "_identities", &v), AZKM_E_INVALID, "vault name '_identities' is invalid");
    assert_rc(azkm_vault_delete(f->ks, "_identities"), AZKM_E_INVALID, "is invalid");
    assert_rc(azkm_vault_create(f->ks, "_identities", NULL), AZKM_E_INVALID, "is invalid");
}

static void a_principal_edited_or_put_back_is_detected(void **state)
{
    fixture *f = *state;
    azkm_sp_credentials c = {1, NULL, 0};
    azkm_service_principal a, b;
    azkm_service_principal *list = NULL;
    size_t n = 0;
    char *old = NULL;

    assert_ok(azkm_sp_create(f->ks, "victim", &c, &a, &old));
    assert_ok(azkm_sp_create(f->ks, "other", &c, &b, NULL));
    /* put an old secret hash back after a reset */
    assert_int_equal(sql(f, "CREATE TABLE saved AS SELECT * FROM service_principals"), 0);
    assert_ok(azkm_sp_credential_reset(f->ks, a.app_id, &c, NULL, NULL));
    assert_int_equal(sql(f, "INSERT OR REPLACE INTO service_principals SELECT * FROM saved"), 0);
    assert_rc(azkm_sp_authenticate_secret(f->ks, a.app_id, old, NULL), AZKM_E_INTEGRITY,
              "integrity check failed for the service principals");
    /* rename behind azkm's back */
    assert_int_equal(sql(f, "DELETE FROM service_principals WHERE display_name = 'victim'"), 0);
    assert_int_equal(sql(f, "INSERT INTO service_principals SELECT * FROM saved WHERE display_name = 'victim'"), 0);
    assert_int_equal(sql(f, "UPDATE service_principals SET display_name = 'renamed' WHERE display_name = 'other'"),
                     0);
    assert_rc(azkm_sp_list(f->ks, &list, &n), AZKM_E_INTEGRITY, "integrity check failed for service principal");
    azkm_free(old);
}

/* SHA-1 and SHA-256 of a DER certificate. */
static void thumbprints(const unsigned char *der, size_t len, unsigned char sha1[20], unsigned char sha256[32])
{
    assert_int_equal(EVP_Digest(der, len, sha1, NULL, EVP_sha1(), NULL), 1);
    assert_int_equal(EVP_Digest(der, len, sha256, NULL, EVP_sha256(), NULL), 1);
}

static void a_certificate_key_is_found_by_its_thumbprints(void **state)
{
    fixture *f = *state;
    unsigned char *pem, *der, *pem2, *der2, *spki = NULL, sha1[20], sha256[32], other1[20], other256[32];
    const unsigned char *p;
    size_t pem_len, der_len, pem2_len, der2_len, spki_len = 0;
    azkm_sp_credentials c = {0, NULL, 0};
    azkm_service_principal sp;
    X509 *x;
    unsigned char *want = NULL;
    int want_len;

    make_cert(f, "asserter", &pem, &pem_len, &der, &der_len);
    make_cert(f, "stranger", &pem2, &pem2_len, &der2, &der2_len);
    thumbprints(der, der_len, sha1, sha256);
    thumbprints(der2, der2_len, other1, other256);
    c.cert = pem;
    c.cert_len = pem_len;
    assert_ok(azkm_sp_create(f->ks, "asserter", &c, &sp, NULL));
    assert_true(sp.has_certificate_key);
    /* by x5t#S256 and by x5t: the certificate's SubjectPublicKeyInfo */
    p = der;
    assert_non_null(x = d2i_X509(NULL, &p, (long)der_len));
    want_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &want);
    assert_ok(azkm_sp_certificate_key(f->ks, sp.app_id, sha256, 32, &spki, &spki_len));
    assert_memory_equal(spki, want, (size_t)want_len);
    assert_int_equal(spki_len, (size_t)want_len);
    azkm_free(spki);
    assert_ok(azkm_sp_certificate_key(f->ks, sp.app_id, sha1, 20, &spki, &spki_len));
    azkm_free(spki);
    /* another certificate's thumbprint, an unknown appId, a thumbprint of another length: one answer */
    assert_rc(azkm_sp_certificate_key(f->ks, sp.app_id, other256, 32, &spki, &spki_len), AZKM_E_NOT_FOUND,
              "thumbprint");
    assert_rc(azkm_sp_certificate_key(f->ks, sp.app_id, other1, 20, &spki, &spki_len), AZKM_E_NOT_FOUND,
              "thumbprint");
    assert_rc(azkm_sp_certificate_key(f->ks, "0f8fad5b-d9cb-469f-a165-70867728950e", sha256, 32, &spki, &spki_len),
              AZKM_E_NOT_FOUND, "thumbprint");
    assert_rc(azkm_sp_certificate_key(f->ks, sp.app_id, sha256, 16, &spki, &spki_len), AZKM_E_NOT_FOUND,
              "thumbprint");
    assert_null(spki);
    /* the stored public key is authenticated with the row: replaced by another key, nothing verifies */
    assert_int_equal(sql(f, "UPDATE service_principals SET cert_spki = zeroblob(91)"), 0);
    assert_rc(azkm_sp_certificate_key(f->ks, sp.app_id, sha256, 32, &spki, &spki_len), AZKM_E_INTEGRITY,
              "changed outside azkm");
    OPENSSL_free(want);
    X509_free(x);
    free(pem);
    free(der);
    free(pem2);
    free(der2);
}

/* An identity store from before the certificate key columns: they are added when it is opened, and its rows
 * (here a principal with a secret only) keep authenticating. */
static void an_identity_store_without_the_key_columns_is_migrated(void **state)
{
    fixture *f = *state;
    azkm_sp_credentials c = {1, NULL, 0};
    azkm_service_principal sp;
    azkm_keystore *ks2;
    char *secret = NULL;

    assert_ok(azkm_sp_create(f->ks, "before", &c, &sp, &secret));
    assert_int_equal(sql(f, "ALTER TABLE service_principals DROP COLUMN cert_spki; ALTER TABLE service_principals "
                            "DROP COLUMN cert_sha1"),
                     0);
    assert_non_null(ks2 = fixture_reopen(f));
    assert_ok(azkm_sp_authenticate_secret(ks2, sp.app_id, secret, NULL));
    assert_int_equal(sql(f, "SELECT cert_spki FROM service_principals"), 0);
    azkm_keystore_free(ks2);
    OPENSSL_cleanse(secret, strlen(secret));
    azkm_free(secret);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_secret_is_given_once_and_checked_against_its_hash, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_certificate_is_found_by_fingerprint_or_names, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_credential_reset_retires_the_old_secret, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(list_show_and_delete, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(bad_input_is_refused_by_name, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(the_identity_store_is_no_vault, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(a_principal_edited_or_put_back_is_detected, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_certificate_key_is_found_by_its_thumbprints, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(an_identity_store_without_the_key_columns_is_migrated, fixture_setup,
                                        fixture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
