/* Data-plane operations through the keystore API: sign/verify, encrypt/decrypt, wrap/unwrap, with policy checks,
 * and AES key wrap against the RFC 3394 and RFC 5649 test vectors. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "testutil.h"

static size_t unhex(const char *hex, unsigned char *out)
{
    size_t n = 0;

    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;

        if (hex[0] == ' ') {
            hex--;
            continue;
        }
        sscanf(hex, "%2x", &v);
        out[n++] = (unsigned char)v;
    }
    return n;
}

static void import_oct(fixture *f, const char *name, const char *hex, unsigned ops)
{
    unsigned char raw[32];
    azkm_material m = {AZKM_KTY_OCT, raw, unhex(hex, raw)};
    azkm_attributes a;

    memset(&a, 0, sizeof(a));
    a.key_ops = ops;
    assert_ok(azkm_key_import(f->v, name, &m, AZKM_PROTECTION_SOFTWARE, AZKM_ATTR_KEY_OPS, &a, NULL));
}

static void check_wrap_vector(fixture *f, const char *name, const char *alg, const char *plain_hex,
                              const char *wrapped_hex)
{
    unsigned char plain[64], wrapped[64], out[80];
    size_t plain_len = unhex(plain_hex, plain), wrapped_len = unhex(wrapped_hex, wrapped), out_len = 0;
    azkm_cipher_params p;
    azkm_key *k = NULL;

    assert_ok(azkm_cipher_params_from_alg(alg, &p));
    assert_ok(azkm_key_load(f->v, name, NULL, &k));
    assert_ok(azkm_key_wrap(k, &p, plain, plain_len, out, &out_len));
    assert_int_equal(out_len, wrapped_len);
    assert_memory_equal(out, wrapped, wrapped_len);
    assert_ok(azkm_key_unwrap(k, &p, wrapped, wrapped_len, out, &out_len));
    assert_int_equal(out_len, plain_len);
    assert_memory_equal(out, plain, plain_len);
    /* one flipped bit fails the integrity check */
    wrapped[3] ^= 1;
    assert_rc(azkm_key_unwrap(k, &p, wrapped, wrapped_len, out, &out_len), AZKM_E_INTEGRITY, "decryption failed");
    azkm_key_free(k);
}

static void aes_key_wrap_matches_rfc_vectors(void **state)
{
    fixture *f = *state;

    import_oct(f, "kek128", "000102030405060708090A0B0C0D0E0F", AZKM_OP_WRAP | AZKM_OP_UNWRAP);
    check_wrap_vector(f, "kek128", "A128KW", "00112233445566778899AABBCCDDEEFF",
                      "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5");
    import_oct(f, "kek256", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
               AZKM_OP_WRAP | AZKM_OP_UNWRAP);
    check_wrap_vector(f, "kek256", "A256KW", "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
                      "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21");
    import_oct(f, "kek192pad", "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", AZKM_OP_WRAP | AZKM_OP_UNWRAP);
    check_wrap_vector(f, "kek192pad", "CKM_AES_KEY_WRAP_PAD", "c37b7e6492584340bed12207808941155068f738",
                      "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
    check_wrap_vector(f, "kek192pad", "CKM_AES_KEY_WRAP_PAD", "466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f");
    {
        azkm_key *k = NULL;
        azkm_cipher_params p;
        unsigned char in[16] = {0}, out[64];
        size_t n;

        assert_ok(azkm_key_load(f->v, "kek128", NULL, &k));
        assert_ok(azkm_cipher_params_from_alg("A256KW", &p));
        assert_rc(azkm_key_wrap(k, &p, in, 16, out, &n), AZKM_E_INVALID, "256-bit key");
        assert_ok(azkm_cipher_params_from_alg("A128KW", &p));
        assert_rc(azkm_key_encrypt(k, &p, in, 16, out, &n), AZKM_E_FORBIDDEN, "does not permit encrypt");
        azkm_key_free(k);
    }
}

static void aes_gcm_round_trip_and_tamper(void **state)
{
    fixture *f = *state;
    azkm_keyspec s;
    azkm_key *k = NULL;
    azkm_cipher_params p;
    unsigned char iv[12], tag[16], ct[64], pt[64];
    const char *msg = "attack at dawn";
    size_t ctlen, ptlen;

    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_OCT;
    assert_ok(azkm_key_create(f->v, "gcm", &s, NULL));
    assert_ok(azkm_key_load(f->v, "gcm", NULL, &k));
    assert_ok(azkm_cipher_params_from_alg("A256GCM", &p));
    p.iv_out = iv;
    p.tag = tag;
    p.aad = (const unsigned char *)"hdr";
    p.aad_len = 3;
    assert_ok(azkm_key_encrypt(k, &p, (const unsigned char *)msg, strlen(msg), ct, &ctlen));
    assert_int_equal(ctlen, strlen(msg));
    p.iv = iv;
    p.iv_len = 12;
    assert_ok(azkm_key_decrypt(k, &p, ct, ctlen, pt, &ptlen));
    assert_memory_equal(pt, msg, strlen(msg));
    tag[0] ^= 0x80;
    assert_rc(azkm_key_decrypt(k, &p, ct, ctlen, pt, &ptlen), AZKM_E_INTEGRITY, "altered");
    /* as in Key Vault, GCM is encrypt/decrypt and key wrap is wrapKey/unwrapKey: each key_op its own mechanism */
    assert_rc(azkm_key_wrap(k, &p, ct, 16, pt, &ptlen), AZKM_E_INVALID, "AES-GCM is an encrypt/decrypt algorithm");
    assert_rc(azkm_key_unwrap(k, &p, ct, 16, pt, &ptlen), AZKM_E_INVALID, "unwrapKey takes A128KW");
    assert_ok(azkm_cipher_params_from_alg("A256KW", &p));
    assert_rc(azkm_key_encrypt(k, &p, ct, 16, pt, &ptlen), AZKM_E_INVALID, "wrapKey/unwrapKey algorithm");
    assert_rc(azkm_key_decrypt(k, &p, ct, 24, pt, &ptlen), AZKM_E_INVALID, "decrypt takes A128GCM");
    azkm_key_free(k);
}

static EVP_PKEY *public_key(const azkm_key *k)
{
    const azkm_key_info *info = azkm_key_get_info(k);
    const unsigned char *p = info->public_der;

    return d2i_PUBKEY(NULL, &p, (long)info->public_der_len);
}

static void sign_verifies_with_libcrypto(void **state)
{
    int valid = 0;
    fixture *f = *state;
    static const char *const algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"};
    azkm_keyspec s;
    azkm_key *k = NULL;
    unsigned char digest[64], sig[512];
    size_t siglen;

    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_RSA;
    assert_ok(azkm_key_create(f->v, "rsa", &s, NULL));
    assert_ok(azkm_key_load(f->v, "rsa", NULL, &k));
    assert_int_equal(azkm_key_max_output(k), 256);
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        azkm_sign_params p;
        EVP_PKEY *pub = public_key(k);
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
        unsigned int dlen = 0;
        const EVP_MD *md;

        assert_ok(azkm_sign_params_from_alg(algs[i], &p));
        md = EVP_get_digestbyname(p.digest);
        EVP_Digest("hello", 5, digest, &dlen, md, NULL);
        assert_ok(azkm_key_sign(k, &p, digest, dlen, sig, &siglen));
        assert_int_equal(siglen, 256);
        assert_ok(azkm_key_verify(k, &p, digest, dlen, sig, siglen, &valid));
        assert_int_equal(valid, 1);
        /* independent check with libcrypto alone */
        assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
        EVP_PKEY_CTX_set_rsa_padding(ctx, p.scheme == AZKM_SIG_RSA_PSS ? 6 : 1);
        EVP_PKEY_CTX_set_signature_md(ctx, md);
        assert_int_equal(EVP_PKEY_verify(ctx, sig, siglen, digest, dlen), 1);
        digest[0] ^= 1;
        assert_ok(azkm_key_verify(k, &p, digest, dlen, sig, siglen, &valid));
        assert_int_equal(valid, 0);
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(pub);
    }
    azkm_key_free(k);
}

static void ecdsa_and_scheme_mismatch(void **state)
{
    int valid = 0;
    fixture *f = *state;
    azkm_keyspec s;
    azkm_key *k = NULL;
    azkm_sign_params p;
    unsigned char digest[48] = {1, 2, 3}, sig[160];
    size_t siglen;

    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_EC;
    s.curve = AZKM_CURVE_P384;
    assert_ok(azkm_key_create(f->v, "ec", &s, NULL));
    assert_ok(azkm_key_load(f->v, "ec", NULL, &k));
    assert_ok(azkm_sign_params_from_alg("ES384", &p));
    assert_ok(azkm_key_sign(k, &p, digest, 48, sig, &siglen));
    assert_true(siglen <= azkm_key_max_output(k));
    assert_ok(azkm_key_verify(k, &p, digest, 48, sig, siglen, &valid));
    assert_int_equal(valid, 1);
    assert_ok(azkm_sign_params_from_alg("RS256", &p));
    assert_rc(azkm_key_sign(k, &p, digest, 32, sig, &siglen), AZKM_E_INVALID, "EC key");
    azkm_key_free(k);
}

static void rsa_encrypt_decrypt_each_padding(void **state)
{
    fixture *f = *state;
    static const char *const algs[] = {"RSA1_5", "RSA-OAEP", "RSA-OAEP-256"};
    azkm_keyspec s;
    azkm_key *k = NULL;
    unsigned char ct[512], pt[512];
    size_t ctlen, ptlen;

    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_RSA;
    s.size = 3072;
    assert_ok(azkm_key_create(f->v, "enc", &s, NULL));
    assert_ok(azkm_key_load(f->v, "enc", NULL, &k));
    for (size_t i = 0; i < 3; i++) {
        azkm_cipher_params p;

        assert_ok(azkm_cipher_params_from_alg(algs[i], &p));
        assert_ok(azkm_key_encrypt(k, &p, (const unsigned char *)"secret", 6, ct, &ctlen));
        assert_int_equal(ctlen, 384);
        assert_ok(azkm_key_decrypt(k, &p, ct, ctlen, pt, &ptlen));
        assert_int_equal(ptlen, 6);
        assert_memory_equal(pt, "secret", 6);
        assert_ok(azkm_key_wrap(k, &p, (const unsigned char *)"secret", 6, ct, &ctlen));
        assert_ok(azkm_key_unwrap(k, &p, ct, ctlen, pt, &ptlen));
    }
    azkm_key_free(k);
}

static void policy_is_enforced_on_every_operation(void **state)
{
    int valid = 0;
    fixture *f = *state;
    azkm_keyspec s;
    azkm_key *k = NULL;
    azkm_sign_params p;
    azkm_attributes a;
    unsigned char d[32] = {0}, sig[128];
    size_t siglen;
    azkm_key_info info;

    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_EC;
    s.fields = AZKM_ATTR_NOT_BEFORE | AZKM_ATTR_EXPIRES | AZKM_ATTR_KEY_OPS;
    s.attrs.not_before = f->now + 100;
    s.attrs.expires = f->now + 200;
    s.attrs.key_ops = AZKM_OP_SIGN;
    assert_ok(azkm_key_create(f->v, "pol", &s, &info));
    assert_ok(azkm_sign_params_from_alg("ES256", &p));
    assert_ok(azkm_key_load(f->v, "pol", NULL, &k));
    assert_rc(azkm_key_sign(k, &p, d, 32, sig, &siglen), AZKM_E_FORBIDDEN,
              "is not valid before 2027-01-15T08:01:40Z");
    f->now += 150;
    assert_ok(azkm_key_sign(k, &p, d, 32, sig, &siglen));
    assert_rc(azkm_key_verify(k, &p, d, 32, sig, siglen, &valid), AZKM_E_FORBIDDEN, "");
    assert_int_equal(valid, 0);
    f->now += 100;
    assert_rc(azkm_key_sign(k, &p, d, 32, sig, &siglen), AZKM_E_FORBIDDEN, "expired at");
    f->now -= 100;

    /* disabling in the catalog reaches a loaded key through refresh */
    memset(&a, 0, sizeof(a));
    assert_ok(azkm_key_set_attributes(f->v, "pol", NULL, AZKM_ATTR_ENABLED, &a, NULL));
    assert_ok(azkm_key_refresh(k));
    assert_rc(azkm_key_sign(k, &p, d, 32, sig, &siglen), AZKM_E_FORBIDDEN, "is disabled");
    azkm_key_free(k);

    /* a deleted key cannot be loaded */
    assert_ok(azkm_key_delete(f->v, "pol", NULL));
    assert_rc(azkm_key_load(f->v, "pol", NULL, &k), AZKM_E_NOT_FOUND, "is deleted");
    {
        char uri[200];

        snprintf(uri, sizeof(uri), "azkm://vault1/keys/pol/%s", info.version);
        assert_rc(azkm_key_load_uri(f->ks, uri, &k), AZKM_E_NOT_FOUND, "is deleted");
    }
}

static void load_by_uri_and_version(void **state)
{
    fixture *f = *state;
    azkm_keyspec s;
    azkm_key_info v1, v2;
    azkm_key *k = NULL;
    char uri[200];

    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_EC;
    assert_ok(azkm_key_create(f->v, "byuri", &s, &v1));
    assert_ok(azkm_key_rotate(f->v, "byuri", &v2));
    assert_ok(azkm_key_load_uri(f->ks, "azkm://vault1/keys/byuri", &k));
    assert_string_equal(azkm_key_get_info(k)->version, v2.version);
    snprintf(uri, sizeof(uri), "azkm://vault1/keys/byuri/%s", v2.version);
    assert_string_equal(azkm_key_get_uri(k), uri);
    azkm_key_free(k);
    snprintf(uri, sizeof(uri), "azkm://VAULT1/keys/BYURI/%s", v1.version);
    assert_ok(azkm_key_load_uri(f->ks, uri, &k));
    assert_string_equal(azkm_key_get_info(k)->version, v1.version);
    azkm_key_free(k);
    assert_rc(azkm_key_load_uri(f->ks, "azkm://vault1/keys/byuri/00000000000000000000000000000000", &k),
              AZKM_E_NOT_FOUND, "not found");
    assert_rc(azkm_key_load_uri(f->ks, "azkm://nosuch/keys/byuri", &k), AZKM_E_NOT_FOUND, "vault nosuch not found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(aes_key_wrap_matches_rfc_vectors, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(aes_gcm_round_trip_and_tamper, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(sign_verifies_with_libcrypto, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(ecdsa_and_scheme_mismatch, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(rsa_encrypt_decrypt_each_padding, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(policy_is_enforced_on_every_operation, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(load_by_uri_and_version, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests_name("operations", tests, NULL, NULL);
}
