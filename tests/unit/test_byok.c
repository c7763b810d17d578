/* Bring your own key in Azure's transfer format, on a SoftHSMv2 token: blobs built independently with the openssl
 * CLI import and work, azkm_byok_wrap round-trips RSA, EC and AES keys, and a KEK without the import operation, a
 * blob for another KEK and a damaged blob are refused with the right error class and a clear message. */
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsmutil.h"

static char store[256] = "/tmp/azkm-byok-XXXXXX";
static int token_seq;

#define N_TOKENS 8

static int setup(void **state)
{
    fixture *f;
    char label[32];

    if (fixture_setup(state) != 0)
        return -1;
    f = *state;
    snprintf(label, sizeof(label), "azkm-byok-%02d", ++token_seq);
    if (token_seq > N_TOKENS || sh("cp '%s/%s.pin' '%s/'", store, label, f->dir) != 0)
        return -1;
    if (hsm_bind(f, label) != AZKM_OK) {
        fprintf(stderr, "bind: %s\n", azkm_last_error());
        return -1;
    }
    return 0;
}

/* A key exchange key: RSA-HSM with key_ops exactly [import]. kid receives its id with version. */
static void make_kek(fixture *f, const char *name, unsigned ops, azkm_key_info *info, char kid[AZKM_URI_MAX])
{
    azkm_keyspec s;
    azkm_uri u;

    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_RSA;
    s.protection = AZKM_PROTECTION_HSM;
    s.fields = AZKM_ATTR_KEY_OPS;
    s.attrs.key_ops = ops;
    assert_ok(azkm_key_create(f->v, name, &s, info));
    memset(&u, 0, sizeof(u));
    strcpy(u.vault, info->vault);
    strcpy(u.name, info->name);
    strcpy(u.version, info->version);
    assert_int_equal(azkm_uri_format(&u, kid, AZKM_URI_MAX), AZKM_OK);
}

static void write_file(const char *path, const unsigned char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = malloc(1 << 20);

    assert_non_null(fp);
    *len = fread(buf, 1, 1 << 20, fp);
    fclose(fp);
    return buf;
}

static void write_kek_pem(const azkm_key_info *kek, const char *path)
{
    const unsigned char *p = kek->public_der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)kek->public_der_len);
    FILE *fp = fopen(path, "w");

    assert_non_null(pub);
    assert_non_null(fp);
    assert_true(PEM_write_PUBKEY(fp, pub));
    fclose(fp);
    EVP_PKEY_free(pub);
}

/* The Azure recipe, step by step with the openssl CLI: RSA-OAEP-SHA1 of a fresh AES-256 key, then AES key wrap
 * with padding of the target's PKCS#8 DER; concatenated, base64url, in the JSON blob. */
static void openssl_cli_blob(const fixture *f, const char *kid, const char *target_pem)
{
    assert_int_equal(sh("cd '%s' && openssl pkcs8 -topk8 -nocrypt -in %s -outform DER -out target.der && "
                        "openssl rand 32 >aes.bin && "
                        "openssl pkeyutl -encrypt -pubin -inkey kek.pem -in aes.bin -out rsa.bin "
                        "-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1 && "
                        "openssl enc -id-aes256-wrap-pad -K $(od -An -tx1 -v aes.bin | tr -d ' \\n') -iv A65959A6 "
                        "-in target.der -out kw.bin && "
                        "printf '{\"schema_version\":\"1.0.0\",\"header\":{\"kid\":\"%s\",\"alg\":\"dir\","
                        "\"enc\":\"CKM_RSA_AES_KEY_WRAP\"},\"ciphertext\":\"%%s\",\"generator\":\"openssl cli\"}' "
                        "$(cat rsa.bin kw.bin | base64 -w0 | tr '+/' '-_' | tr -d '=') >blob.json",
                        f->dir, target_pem, kid),
                     0);
}

static void import_blob_file(fixture *f, const char *name, azkm_kty kty, azkm_key_info *out)
{
    char path[512];
    size_t len;
    unsigned char *blob;

    snprintf(path, sizeof(path), "%s/blob.json", f->dir);
    blob = read_all(path, &len);
    assert_ok(azkm_key_import_byok(f->v, name, kty, blob, len, 0, NULL, out));
    free(blob);
}

static void assert_same_public(const fixture *f, const azkm_key_info *info, const char *target_pem)
{
    char path[512];
    size_t len;
    unsigned char *der;

    assert_int_equal(
        sh("cd '%s' && openssl pkey -in %s -pubout -outform DER -out target.pub.der", f->dir, target_pem), 0);
    snprintf(path, sizeof(path), "%s/target.pub.der", f->dir);
    der = read_all(path, &len);
    assert_int_equal(len, info->public_der_len);
    assert_memory_equal(der, info->public_der, len);
    free(der);
}

static void sign_and_verify(fixture *f, const char *name, const char *alg, const char *target_pem)
{
    azkm_key *k = NULL;
    azkm_sign_params p;
    unsigned char d[32], sig[1024];
    size_t siglen = 0;
    char path[512];

    memset(d, 0x42, sizeof(d));
    assert_ok(azkm_key_load(f->v, name, NULL, &k));
    assert_ok(azkm_sign_params_from_alg(alg, &p));
    assert_ok(azkm_key_sign(k, &p, d, sizeof(d), sig, &siglen));
    azkm_key_free(k);
    snprintf(path, sizeof(path), "%s/sig.bin", f->dir);
    write_file(path, sig, siglen);
    snprintf(path, sizeof(path), "%s/digest.bin", f->dir);
    write_file(path, d, sizeof(d));
    assert_int_equal(
        sh("cd '%s' && openssl pkeyutl -verify -inkey %s -in digest.bin -sigfile sig.bin %s >/dev/null", f->dir,
           target_pem, strcmp(alg, "RS256") == 0 ? "-pkeyopt digest:sha256" : ""),
        0);
}

static void openssl_cli_rsa_blob_imports_and_signs(void **state)
{
    fixture *f = *state;
    azkm_key_info kek, info;
    char kid[AZKM_URI_MAX], path[512];

    make_kek(f, "kek", AZKM_OP_IMPORT, &kek, kid);
    snprintf(path, sizeof(path), "%s/kek.pem", f->dir);
    write_kek_pem(&kek, path);
    assert_int_equal(sh("cd '%s' && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa.pem "
                        "2>/dev/null",
                        f->dir),
                     0);
    openssl_cli_blob(f, kid, "rsa.pem");
    import_blob_file(f, "web-tls", AZKM_KTY_RSA, &info);
    assert_int_equal(info.kty, AZKM_KTY_RSA);
    assert_int_equal(info.protection, AZKM_PROTECTION_HSM);
    assert_int_equal(info.size, 3072);
    assert_same_public(f, &info, "rsa.pem");
    sign_and_verify(f, "web-tls", "RS256", "rsa.pem");
}

static void openssl_cli_ec_blob_imports_with_its_public_key(void **state)
{
    fixture *f = *state;
    azkm_key_info kek, info;
    char kid[AZKM_URI_MAX], path[512];

    make_kek(f, "kek", AZKM_OP_IMPORT, &kek, kid);
    snprintf(path, sizeof(path), "%s/kek.pem", f->dir);
    write_kek_pem(&kek, path);
    assert_int_equal(
        sh("cd '%s' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem", f->dir), 0);
    openssl_cli_blob(f, kid, "ec.pem");
    import_blob_file(f, "signer", AZKM_KTY_EC, &info);
    assert_int_equal(info.curve, AZKM_CURVE_P256);
    /* the token keeps no public point for an unwrapped EC key: azkm recovers it from two signatures */
    assert_same_public(f, &info, "ec.pem");
    sign_and_verify(f, "signer", "ES256", "ec.pem");
}

static EVP_PKEY *gen(const char *alg, const char *param, const char *value)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    EVP_PKEY *k = NULL;

    assert_true(EVP_PKEY_keygen_init(ctx) > 0);
    if (param != NULL)
        assert_true(EVP_PKEY_CTX_ctrl_str(ctx, param, value) > 0);
    assert_true(EVP_PKEY_keygen(ctx, &k) > 0);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

static void wrap_for(const azkm_key_info *kek, const char *kid, const azkm_material *m, char **blob)
{
    assert_ok(azkm_byok_wrap(NULL, m, kek->public_der, kek->public_der_len, kid, "test", blob));
}

static void byok_wrap_round_trips_rsa_ec_and_aes(void **state)
{
    fixture *f = *state;
    azkm_key_info kek, info;
    char kid[AZKM_URI_MAX], *blob = NULL;
    const char *algs[2][3] = {{"RSA", "rsa_keygen_bits", "2048"}, {"EC", "group", "P-384"}};
    unsigned char aes[32], pt[16], ct[16], tag[16], iv[12];
    azkm_key *k = NULL;
    azkm_cipher_params cp;
    size_t n = 0;
    int outl = 0;

    make_kek(f, "kek", AZKM_OP_IMPORT, &kek, kid);
    for (int i = 0; i < 2; i++) {
        EVP_PKEY *pk = gen(algs[i][0], algs[i][1], algs[i][2]);
        unsigned char *der = NULL, *pub = NULL;
        PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk); /* PKCS#8, as Azure wants it */
        int len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der), publen = i2d_PUBKEY(pk, &pub);
        azkm_material m;
        char name[32];

        PKCS8_PRIV_KEY_INFO_free(p8);
        m.kty = i == 0 ? AZKM_KTY_RSA : AZKM_KTY_EC;
        m.der = der;
        m.der_len = (size_t)len;
        wrap_for(&kek, kid, &m, &blob);
        snprintf(name, sizeof(name), "moved-%d", i);
        assert_ok(azkm_key_import_byok(f->v, name, m.kty, (unsigned char *)blob, strlen(blob), 0, NULL, &info));
        assert_int_equal(info.public_der_len, (size_t)publen);
        assert_memory_equal(info.public_der, pub, (size_t)publen);
        OPENSSL_free(blob);
        OPENSSL_clear_free(der, (size_t)len);
        OPENSSL_free(pub);
        EVP_PKEY_free(pk);
    }

    /* oct: the imported AES key encrypts what libcrypto decrypts with the original bytes */
    {
        azkm_material m = {AZKM_KTY_OCT, aes, sizeof(aes)};
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        unsigned char back[16];

        memset(aes, 0x17, sizeof(aes));
        memset(pt, 0x33, sizeof(pt));
        wrap_for(&kek, kid, &m, &blob);
        assert_ok(azkm_key_import_byok(f->v, "data-key", AZKM_KTY_OCT, (unsigned char *)blob, strlen(blob), 0, NULL,
                                       &info));
        assert_int_equal(info.size, 256);
        OPENSSL_free(blob);
        assert_ok(azkm_key_load(f->v, "data-key", NULL, &k));
        assert_ok(azkm_cipher_params_from_alg("A256GCM", &cp));
        cp.iv_out = iv;
        cp.tag = tag;
        assert_ok(azkm_key_encrypt(k, &cp, pt, sizeof(pt), ct, &n));
        azkm_key_free(k);
        assert_true(EVP_DecryptInit_ex2(c, EVP_aes_256_gcm(), aes, iv, NULL));
        assert_true(EVP_DecryptUpdate(c, back, &outl, ct, (int)n));
        assert_true(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag));
        assert_true(EVP_DecryptFinal_ex(c, back + outl, &outl));
        assert_memory_equal(back, pt, sizeof(pt));
        EVP_CIPHER_CTX_free(c);
    }
}

static char *blob_for(fixture *f, const azkm_key_info *kek, const char *kid)
{
    EVP_PKEY *pk = gen("EC", "group", "P-256");
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
    unsigned char *der = NULL;
    int len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
    azkm_material m = {AZKM_KTY_EC, der, (size_t)len};
    char *blob = NULL;

    (void)f;
    wrap_for(kek, kid, &m, &blob);
    PKCS8_PRIV_KEY_INFO_free(p8);
    OPENSSL_clear_free(der, (size_t)len);
    EVP_PKEY_free(pk);
    return blob;
}

static azkm_rc import_text(fixture *f, const char *text)
{
    return azkm_key_import_byok(f->v, "target", AZKM_KTY_EC, (const unsigned char *)text, strlen(text), 0, NULL,
                                NULL);
}

static void kek_without_the_import_operation_is_refused(void **state)
{
    fixture *f = *state;
    azkm_key_info kek;
    char kid[AZKM_URI_MAX], *blob;

    make_kek(f, "not-a-kek", AZKM_OP_SIGN | AZKM_OP_DECRYPT | AZKM_OP_UNWRAP, &kek, kid);
    blob = blob_for(f, &kek, kid);
    assert_rc(import_text(f, blob), AZKM_E_FORBIDDEN, "exactly [import]");
    OPENSSL_free(blob);

    /* a disabled KEK is refused too */
    make_kek(f, "kek", AZKM_OP_IMPORT, &kek, kid);
    {
        azkm_attributes a;

        memset(&a, 0, sizeof(a));
        assert_ok(azkm_key_set_attributes(f->v, "kek", NULL, AZKM_ATTR_ENABLED, &a, NULL));
    }
    blob = blob_for(f, &kek, kid);
    assert_rc(import_text(f, blob), AZKM_E_FORBIDDEN, "disabled");
    OPENSSL_free(blob);
    assert_rc(azkm_key_show(f->v, "target", NULL, NULL), AZKM_E_NOT_FOUND, "target");
}

static void blob_for_another_kek_is_refused(void **state)
{
    fixture *f = *state;
    azkm_key_info kek, other;
    char kid[AZKM_URI_MAX], other_kid[AZKM_URI_MAX], bad_kid[AZKM_URI_MAX + 32], *blob;

    make_kek(f, "kek", AZKM_OP_IMPORT, &kek, kid);
    make_kek(f, "kek2", AZKM_OP_IMPORT, &other, other_kid);

    /* encrypted to kek2's public key, but naming kek: the transfer key does not decrypt */
    blob = blob_for(f, &other, kid);
    assert_rc(import_text(f, blob), AZKM_E_INTEGRITY, "another KEK");
    OPENSSL_free(blob);

    /* a KEK of another vault */
    snprintf(bad_kid, sizeof(bad_kid), "azkm://elsewhere/keys/kek/%s", kek.version);
    blob = blob_for(f, &kek, bad_kid);
    assert_rc(import_text(f, blob), AZKM_E_NOT_FOUND, "not in vault vault1");
    OPENSSL_free(blob);

    /* a version this vault does not have (Azure's id form) */
    blob = blob_for(f, &kek, "https://other.vault.azure.net/keys/kek/0123456789abcdef0123456789abcdef");
    assert_rc(import_text(f, blob), AZKM_E_NOT_FOUND, "no such key version");
    OPENSSL_free(blob);

    /* but Azure's id form for the right version imports */
    snprintf(bad_kid, sizeof(bad_kid), "https://vault1.vault.azure.net/keys/kek/%s", kek.version);
    blob = blob_for(f, &kek, bad_kid);
    assert_ok(import_text(f, blob));
    OPENSSL_free(blob);
}

/* Replaces one member of the blob's JSON, or flips a character of the ciphertext. */
static char *edit_blob(const char *blob, const char *path, const char *value, int flip_at)
{
    json_t *doc = json_loads(blob, 0, NULL), *obj = doc;
    char *text, key[64];
    const char *dot = strchr(path, '.');

    if (dot != NULL) {
        snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
        obj = json_object_get(doc, key);
        path = dot + 1;
    }
    if (flip_at >= 0) {
        char *ct = strdup(json_string_value(json_object_get(obj, path)));
        size_t at = flip_at < 100000 ? (size_t)flip_at : strlen(ct) - 3;

        ct[at] = ct[at] == 'A' ? 'B' : 'A';
        json_object_set_new(obj, path, json_string(ct));
        free(ct);
    } else if (value == NULL) {
        json_object_del(obj, path);
    } else {
        json_object_set_new(obj, path, json_string(value));
    }
    text = json_dumps(doc, 0);
    json_decref(doc);
    return text;
}

static void damaged_blob_is_refused(void **state)
{
    fixture *f = *state;
    azkm_key_info kek;
    char kid[AZKM_URI_MAX], *blob, *bad;

    make_kek(f, "kek", AZKM_OP_IMPORT, &kek, kid);
    blob = blob_for(f, &kek, kid);

    assert_rc(import_text(f, "not json"), AZKM_E_INVALID, "not a JSON object");
    assert_rc(import_text(f, "[1,2]"), AZKM_E_INVALID, "not a JSON object");
    bad = edit_blob(blob, "schema_version", "2.0.0", -1);
    assert_rc(import_text(f, bad), AZKM_E_INVALID, "schema_version");
    free(bad);
    bad = edit_blob(blob, "header.enc", "CKM_AES_KEY_WRAP", -1);
    assert_rc(import_text(f, bad), AZKM_E_UNSUPPORTED, "CKM_RSA_AES_KEY_WRAP");
    free(bad);
    bad = edit_blob(blob, "header.kid", NULL, -1);
    assert_rc(import_text(f, bad), AZKM_E_INVALID, "header with kid");
    free(bad);
    bad = edit_blob(blob, "ciphertext", "not*base64", -1);
    assert_rc(import_text(f, bad), AZKM_E_INVALID, "base64url");
    free(bad);
    bad = edit_blob(blob, "ciphertext", "AAAA", -1);
    assert_rc(import_text(f, bad), AZKM_E_INVALID, "too short");
    free(bad);
    /* a byte changed in the RSA-OAEP part, then in the AES key wrap part */
    bad = edit_blob(blob, "ciphertext", NULL, 10);
    assert_rc(import_text(f, bad), AZKM_E_INTEGRITY, "does not decrypt");
    free(bad);
    bad = edit_blob(blob, "ciphertext", NULL, 100000);
    assert_rc(import_text(f, bad), AZKM_E_INTEGRITY, "damaged");
    free(bad);
    /* an EC key imported as RSA: the token refuses the PKCS#8 */
    assert_rc(
        azkm_key_import_byok(f->v, "target", AZKM_KTY_RSA, (unsigned char *)blob, strlen(blob), 0, NULL, NULL),
        AZKM_E_INTEGRITY, "of another type");
    /* nothing was left behind; the intact blob still imports */
    assert_rc(azkm_key_show(f->v, "target", NULL, NULL), AZKM_E_NOT_FOUND, "target");
    assert_ok(import_text(f, blob));
    OPENSSL_free(blob);
}

static void vault_without_a_token_cannot_import(void **state)
{
    fixture *f = *state;
    azkm_vault_params vp = {7, 0, AZKM_PROTECTOR_PLATFORM, NULL};
    azkm_vault *plain = NULL;
    const char *blob = "{\"schema_version\":\"1.0.0\"}";

    assert_ok(azkm_vault_create(f->ks, "plain", &vp));
    assert_ok(azkm_vault_open(f->ks, "plain", &plain));
    assert_rc(
        azkm_key_import_byok(plain, "k", AZKM_KTY_RSA, (const unsigned char *)blob, strlen(blob), 0, NULL, NULL),
        AZKM_E_UNSUPPORTED, "plain");
    azkm_vault_close(plain);
}

static int group_setup(void **state)
{
    char label[32];

    (void)state;
    if (mkdtemp(store) == NULL || hsm_store_setup(store) != 0)
        return -1;
    for (int i = 1; i <= N_TOKENS; i++) {
        snprintf(label, sizeof(label), "azkm-byok-%02d", i);
        if (hsm_token_create(store, label, "123456") != 0)
            return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    sh("rm -rf '%s'", store);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(openssl_cli_rsa_blob_imports_and_signs, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(openssl_cli_ec_blob_imports_with_its_public_key, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(byok_wrap_round_trips_rsa_ec_and_aes, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(kek_without_the_import_operation_is_refused, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(blob_for_another_kek_is_refused, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(damaged_blob_is_refused, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(vault_without_a_token_cannot_import, setup, fixture_teardown),
    };

    return cmocka_run_group_tests_name("byok", tests, group_setup, group_teardown);
}
