/* OKP keys (Ed25519, Ed448) and ECDH through the keystore API, each scenario on both tiers (software, and the HSM
 * tier on a SoftHSM token): create, import, sign as EdDSA, derive, all checked against libcrypto alone; key_ops
 * and the attribute MAC covering the new type and operation; rotation and backup of OKP keys. */
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsmutil.h"

static char store[256] = "/tmp/azkm-okp-XXXXXX";
static int token_seq;
static char token_label[32]; /* the token of the running HSM scenario */

static int hsm_setup(void **state)
{
    fixture *f;

    if (fixture_setup(state) != 0)
        return -1;
    f = *state;
    snprintf(token_label, sizeof(token_label), "azkm-okp-%02d", ++token_seq);
    if (sh("cp '%s/%s.pin' '%s/'", store, token_label, f->dir) != 0 || hsm_bind(f, token_label) != AZKM_OK)
        return -1;
    return 0;
}

/* The tier a scenario runs on: HSM when the fixture's vault is bound to a token. */
static azkm_protection tier_of(fixture *f)
{
    azkm_vault_info vi;

    assert_ok(azkm_vault_show(f->v, &vi));
    return vi.hsm_module[0] != '\0' ? AZKM_PROTECTION_HSM : AZKM_PROTECTION_SOFTWARE;
}

static void create(fixture *f, const char *name, azkm_kty kty, azkm_curve curve, unsigned ops, azkm_key_info *out)
{
    azkm_keyspec s;

    memset(&s, 0, sizeof(s));
    s.kty = kty;
    s.protection = tier_of(f);
    s.curve = curve;
    if (ops != 0) {
        s.fields = AZKM_ATTR_KEY_OPS;
        s.attrs.key_ops = ops;
    }
    assert_ok(azkm_key_create(f->v, name, &s, out));
}

static EVP_PKEY *public_of(const azkm_key_info *info)
{
    const unsigned char *p = info->public_der;

    return d2i_PUBKEY(NULL, &p, (long)info->public_der_len);
}

/* EdDSA over msg with the vault key, verified by libcrypto with the public key alone. */
static void eddsa_round_trip(fixture *f, const char *name, const azkm_key_info *info)
{
    unsigned char msg[1000], sig[114];
    size_t siglen = 0;
    azkm_sign_params p;
    azkm_key *k = NULL;
    EVP_PKEY *pub = public_of(info);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int valid = 0;

    memset(msg, 0x5a, sizeof(msg));
    assert_ok(azkm_sign_params_from_alg("EdDSA", &p));
    assert_ok(azkm_key_load(f->v, name, NULL, &k));
    assert_int_equal(azkm_key_max_output(k), info->curve == AZKM_CURVE_ED448 ? 114 : 64);
    assert_ok(azkm_key_sign(k, &p, msg, sizeof(msg), sig, &siglen));
    assert_int_equal(siglen, azkm_key_max_output(k));
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub), 1);
    assert_int_equal(EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg)), 1);
    assert_ok(azkm_key_verify(k, &p, msg, sizeof(msg), sig, siglen, &valid));
    assert_int_equal(valid, 1);
    msg[10] ^= 1;
    assert_ok(azkm_key_verify(k, &p, msg, sizeof(msg), sig, siglen, &valid));
    assert_int_equal(valid, 0);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
    azkm_key_free(k);
}

static void okp_keys_sign_as_eddsa(void **state)
{
    fixture *f = *state;
    azkm_key_info info;
    azkm_sign_params p;
    azkm_key *k = NULL;
    unsigned char d[32] = {0}, sig[114];
    size_t siglen = 0;

    create(f, "ed", AZKM_KTY_OKP, AZKM_CURVE_NONE, 0, &info);
    assert_int_equal(info.kty, AZKM_KTY_OKP);
    assert_int_equal(info.curve, AZKM_CURVE_ED25519); /* the default curve */
    assert_int_equal(info.size, 256);
    assert_int_equal(info.attrs.key_ops, AZKM_OP_SIGN | AZKM_OP_VERIFY);
    assert_string_equal(azkm_kty_name(info.kty, info.protection), tier_of(f) ? "OKP-HSM" : "OKP");
    eddsa_round_trip(f, "ed", &info);
    create(f, "ed448", AZKM_KTY_OKP, AZKM_CURVE_ED448, 0, &info);
    assert_int_equal(info.size, 456);
    eddsa_round_trip(f, "ed448", &info);
    /* The key type decides the scheme, and EdDSA takes the message, not a digest. */
    assert_ok(azkm_key_load(f->v, "ed", NULL, &k));
    assert_ok(azkm_sign_params_from_alg("ES256", &p));
    assert_rc(azkm_key_sign(k, &p, d, sizeof(d), sig, &siglen), AZKM_E_INVALID, "OKP");
    assert_ok(azkm_sign_params_from_alg("EdDSA", &p));
    p.digest = "SHA256";
    assert_rc(azkm_key_sign(k, &p, d, sizeof(d), sig, &siglen), AZKM_E_INVALID, "signs the message itself");
    assert_rc(azkm_key_derive(k, d, sizeof(d), sig, &siglen), AZKM_E_FORBIDDEN, "does not permit deriveBits");
    azkm_key_free(k);
    create(f, "ec", AZKM_KTY_EC, AZKM_CURVE_P256, 0, &info);
    assert_ok(azkm_key_load(f->v, "ec", NULL, &k));
    assert_ok(azkm_sign_params_from_alg("EdDSA", &p));
    assert_rc(azkm_key_sign(k, &p, d, sizeof(d), sig, &siglen), AZKM_E_INVALID, "EC");
    azkm_key_free(k);
}

/* PKCS#8 made by libcrypto, parsed and imported: the vault's signatures verify with the original public key. */
static void okp_keys_import_from_pkcs8(void **state)
{
    static const char *const types[] = {"ED25519", "ED448"};
    fixture *f = *state;

    for (int i = 0; i < 2; i++) {
        EVP_PKEY *orig = EVP_PKEY_Q_keygen(NULL, NULL, types[i]);
        unsigned char *der = NULL, *pub = NULL;
        int len = i2d_PrivateKey(orig, &der), publen = i2d_PUBKEY(orig, &pub);
        azkm_material m;
        azkm_key_info info;

        assert_true(len > 0 && publen > 0);
        assert_ok(azkm_material_parse(NULL, der, (size_t)len, NULL, &m));
        assert_int_equal(m.kty, AZKM_KTY_OKP);
        assert_ok(azkm_key_import(f->v, types[i], &m, tier_of(f), 0, NULL, &info));
        assert_int_equal(info.curve, i == 0 ? AZKM_CURVE_ED25519 : AZKM_CURVE_ED448);
        assert_int_equal(info.public_der_len, (size_t)publen);
        assert_memory_equal(info.public_der, pub, (size_t)publen);
        eddsa_round_trip(f, types[i], &info);
        azkm_material_clear(&m);
        OPENSSL_clear_free(der, (size_t)len);
        OPENSSL_free(pub);
        EVP_PKEY_free(orig);
    }
}

/* Z computed by libcrypto from the peer's private key and the vault key's public key. */
static size_t libcrypto_z(EVP_PKEY *peer, const azkm_key_info *info, unsigned char *z)
{
    EVP_PKEY *pub = public_of(info);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(peer, NULL);
    size_t len = 133;

    assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(ctx, pub), 1);
    assert_int_equal(EVP_PKEY_derive(ctx, z, &len), 1);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pub);
    return len;
}

static void ecdh_agrees_with_libcrypto(void **state)
{
    static const struct {
        azkm_curve curve;
        const char *group;
        size_t zlen;
    } curves[] = {{AZKM_CURVE_P256, "P-256", 32}, {AZKM_CURVE_P384, "P-384", 48}, {AZKM_CURVE_P521, "P-521", 66}};
    fixture *f = *state;

    for (int i = 0; i < 3; i++) {
        EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i].group);
        unsigned char *peer_der = NULL, z[139], want[139];
        int peer_len = i2d_PUBKEY(peer, &peer_der);
        size_t zlen = 0, wlen;
        azkm_key_info info;
        azkm_key *k = NULL;
        char name[16];

        snprintf(name, sizeof(name), "dh%d", i);
        create(f, name, AZKM_KTY_EC, curves[i].curve, AZKM_OP_SIGN | AZKM_OP_VERIFY | AZKM_OP_DERIVE, &info);
        assert_int_equal(info.attrs.key_ops, AZKM_OP_SIGN | AZKM_OP_VERIFY | AZKM_OP_DERIVE);
        assert_ok(azkm_key_load(f->v, name, NULL, &k));
        assert_true(azkm_key_max_output(k) >= curves[i].zlen);
        assert_ok(azkm_key_derive(k, peer_der, (size_t)peer_len, z, &zlen));
        wlen = libcrypto_z(peer, &info, want);
        assert_int_equal(zlen, curves[i].zlen);
        assert_int_equal(wlen, zlen);
        assert_memory_equal(z, want, zlen);
        /* A point off the curve is refused: y changed in its last bit. */
        peer_der[peer_len - 1] ^= 1;
        assert_rc(azkm_key_derive(k, peer_der, (size_t)peer_len, z, &zlen), AZKM_E_INVALID, "peer's public key");
        /* A compressed point is the same peer: each tier gets it uncompressed. */
        OPENSSL_free(peer_der);
        peer_der = NULL;
        assert_int_equal(EVP_PKEY_set_utf8_string_param(peer, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                                        OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
                         1);
        peer_len = i2d_PUBKEY(peer, &peer_der);
        assert_int_equal(peer_der[peer_len - (int)zlen - 1] & 0xfe, 0x02);
        assert_ok(azkm_key_derive(k, peer_der, (size_t)peer_len, z, &zlen));
        assert_memory_equal(z, want, zlen);
        /* A peer on another curve, or not a public key at all, is refused before the tier sees it. */
        peer_der[peer_len - (int)zlen - 1] = 0x05; /* no point encoding starts with 05 */
        assert_rc(azkm_key_derive(k, peer_der, (size_t)peer_len, z, &zlen), AZKM_E_INVALID, "peer's public key");
        azkm_key_free(k);
        OPENSSL_free(peer_der);
        EVP_PKEY_free(peer);
    }
}

static void derive_needs_derive_bits_and_the_same_curve(void **state)
{
    fixture *f = *state;
    EVP_PKEY *peer384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *peer256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *der = NULL, *der256 = NULL, z[139];
    int len = i2d_PUBKEY(peer384, &der), len256 = i2d_PUBKEY(peer256, &der256);
    size_t zlen = 0;
    azkm_key_info info;
    azkm_attributes a;
    azkm_key *k = NULL;

    /* An EC key made without key_ops does not derive: deriveBits is given only when asked for. */
    create(f, "plain", AZKM_KTY_EC, AZKM_CURVE_P256, 0, &info);
    assert_int_equal(info.attrs.key_ops, AZKM_OP_SIGN | AZKM_OP_VERIFY);
    assert_ok(azkm_key_load(f->v, "plain", NULL, &k));
    assert_rc(azkm_key_derive(k, der, (size_t)len, z, &zlen), AZKM_E_FORBIDDEN, "does not permit deriveBits");
    azkm_key_free(k);
    /* Adding it later is an attribute update like any other. */
    memset(&a, 0, sizeof(a));
    a.key_ops = AZKM_OP_DERIVE;
    assert_ok(azkm_key_set_attributes(f->v, "plain", NULL, AZKM_ATTR_KEY_OPS, &a, &info));
    assert_ok(azkm_key_load(f->v, "plain", NULL, &k));
    assert_rc(azkm_key_derive(k, der, (size_t)len, z, &zlen), AZKM_E_INVALID, "not on the key's curve, P-256");
    /* ... and reaches the tier: on a token the private key object now allows derivation (CKA_DERIVE). */
    zlen = sizeof(z);
    assert_ok(azkm_key_derive(k, der256, (size_t)len256, z, &zlen));
    assert_int_equal(zlen, 32);
    azkm_key_free(k);
    /* deriveBits applies to EC keys only. */
    a.key_ops = AZKM_OP_SIGN | AZKM_OP_DERIVE;
    create(f, "ed", AZKM_KTY_OKP, AZKM_CURVE_ED25519, 0, &info);
    assert_rc(azkm_key_set_attributes(f->v, "ed", NULL, AZKM_ATTR_KEY_OPS, &a, &info), AZKM_E_INVALID,
              "operation deriveBits does not apply to an OKP");
    OPENSSL_free(der);
    OPENSSL_free(der256);
    EVP_PKEY_free(peer384);
    EVP_PKEY_free(peer256);
}

/* A token key made without CKA_DERIVE (by another program, or by azkm before it offered ECDH) is refused by the
 * token; the error says why and what to do. */
static void token_key_without_derive_is_explained(void **state)
{
    fixture *f = *state;
    EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *der = NULL, z[139];
    int len = i2d_PUBKEY(peer, &der);
    size_t zlen = 0;
    azkm_attributes a;
    azkm_key *k = NULL;
    char uri[128];

    assert_int_equal(sh("pkcs11-tool --module %s --token-label %s --login --pin 123456 --keypairgen --key-type "
                        "EC:prime256v1 --id 0a0b --label legacy --usage-sign >/dev/null 2>&1",
                        SOFTHSM_MODULE, token_label),
                     0);
    memset(&a, 0, sizeof(a));
    a.key_ops = AZKM_OP_SIGN | AZKM_OP_DERIVE;
    snprintf(uri, sizeof(uri), "pkcs11:token=%s;id=%%0a%%0b;type=private", token_label);
    assert_ok(azkm_key_adopt(f->v, "legacy", uri, AZKM_ATTR_KEY_OPS, &a, NULL));
    assert_ok(azkm_key_load(f->v, "legacy", NULL, &k));
    assert_rc(azkm_key_derive(k, der, (size_t)len, z, &zlen), AZKM_E_FORBIDDEN, "CKA_DERIVE is false");
    azkm_key_free(k);
    OPENSSL_free(der);
    EVP_PKEY_free(peer);
}

static void curve_and_type_must_agree(void **state)
{
    fixture *f = *state;
    azkm_keyspec s;
    unsigned ops = 0;

    memset(&s, 0, sizeof(s));
    s.kty = AZKM_KTY_OKP;
    s.curve = AZKM_CURVE_P256;
    assert_rc(azkm_key_create(f->v, "bad", &s, NULL), AZKM_E_INVALID, "curve P-256 is not for OKP keys");
    s.kty = AZKM_KTY_EC;
    s.curve = AZKM_CURVE_ED448;
    assert_rc(azkm_key_create(f->v, "bad", &s, NULL), AZKM_E_INVALID, "curve Ed448 is not for EC keys");
    s.kty = AZKM_KTY_OKP;
    s.curve = AZKM_CURVE_ED25519;
    s.fields = AZKM_ATTR_KEY_OPS;
    s.attrs.key_ops = AZKM_OP_ENCRYPT;
    assert_rc(azkm_key_create(f->v, "bad", &s, NULL), AZKM_E_INVALID, "encrypt does not apply to an OKP key");
    assert_ok(azkm_ops_parse("sign, deriveBits", &ops));
    assert_int_equal(ops, AZKM_OP_SIGN | AZKM_OP_DERIVE);
    assert_string_equal(azkm_op_name(AZKM_OP_DERIVE), "deriveBits");
    assert_rc(azkm_ops_parse("deriveKey", &ops), AZKM_E_INVALID, "deriveBits");
}

static int edit_version(fixture *f, const char *set, const char *name)
{
    return sh("sqlite3 '%s/vault1/vault.db' \"UPDATE versions SET %s WHERE key_id = (SELECT id FROM keys WHERE "
              "name = '%s')\"",
              f->dir, set, name);
}

/* The attribute MAC covers the new operation and curves: deriveBits added behind azkm's back, or an Ed25519 record
 * relabelled Ed448, is detected like any other edit. */
static void derive_bits_and_okp_curves_are_authenticated(void **state)
{
    fixture *f = *state;
    azkm_key_info info;
    azkm_key *k = NULL;
    char set[64];

    create(f, "dh", AZKM_KTY_EC, AZKM_CURVE_P256, 0, &info);
    snprintf(set, sizeof(set), "key_ops = key_ops | %u", (unsigned)AZKM_OP_DERIVE);
    assert_int_equal(edit_version(f, set, "dh"), 0);
    assert_rc(azkm_key_load(f->v, "dh", NULL, &k), AZKM_E_INTEGRITY, "dh");
    create(f, "ed", AZKM_KTY_OKP, AZKM_CURVE_ED25519, 0, &info);
    snprintf(set, sizeof(set), "curve = %d, size = 456", (int)AZKM_CURVE_ED448);
    assert_int_equal(edit_version(f, set, "ed"), 0);
    assert_rc(azkm_key_load(f->v, "ed", NULL, &k), AZKM_E_INTEGRITY, "ed");
}

static void okp_keys_rotate_and_back_up(void **state)
{
    fixture *f = *state;
    azkm_key_info first, second, restored;
    unsigned char *blob = NULL;
    size_t len = 0;

    create(f, "ed", AZKM_KTY_OKP, AZKM_CURVE_ED448, 0, &first);
    assert_ok(azkm_key_rotate(f->v, "ed", &second));
    assert_int_equal(second.kty, AZKM_KTY_OKP);
    assert_int_equal(second.curve, AZKM_CURVE_ED448);
    assert_string_not_equal(first.version, second.version);
    eddsa_round_trip(f, "ed", &second);
    if (tier_of(f) == AZKM_PROTECTION_HSM) {
        assert_rc(azkm_key_backup(f->v, "ed", &blob, &len), AZKM_E_FORBIDDEN, "is an HSM key");
        return;
    }
    assert_ok(azkm_key_backup(f->v, "ed", &blob, &len));
    assert_ok(azkm_key_delete(f->v, "ed", NULL));
    assert_ok(azkm_key_purge(f->v, "ed"));
    assert_ok(azkm_key_restore(f->v, blob, len, &restored));
    assert_string_equal(restored.version, second.version);
    assert_memory_equal(restored.public_der, second.public_der, second.public_der_len);
    eddsa_round_trip(f, "ed", &restored);
    azkm_free(blob);
}

static int group_setup(void **state)
{
    char label[32];

    if (mkdtemp(store) == NULL || hsm_store_setup(store) != 0)
        return -1;
    for (int i = 1; i <= 6; i++) {
        snprintf(label, sizeof(label), "azkm-okp-%02d", i);
        if (hsm_token_create(store, label, "123456") != 0)
            return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    sh("rm -rf '%s'", store);
    return 0;
}

#define BOTH_TIERS(t)                                                                                              \
    cmocka_unit_test_setup_teardown(t, fixture_setup, fixture_teardown),                                           \
        cmocka_unit_test_setup_teardown(t, hsm_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH_TIERS(okp_keys_sign_as_eddsa),
        BOTH_TIERS(okp_keys_import_from_pkcs8),
        BOTH_TIERS(ecdh_agrees_with_libcrypto),
        BOTH_TIERS(derive_needs_derive_bits_and_the_same_curve),
        BOTH_TIERS(okp_keys_rotate_and_back_up),
        cmocka_unit_test_setup_teardown(curve_and_type_must_agree, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(derive_bits_and_okp_curves_are_authenticated, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(token_key_without_derive_is_explained, hsm_setup, fixture_teardown),
    };
    return cmocka_run_group_tests_name("okp_ecdh", tests, group_setup, group_teardown);
}
