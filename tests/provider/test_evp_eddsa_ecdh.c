/* EdDSA and ECDH with vault keys through the EVP and CMS APIs as applications use them: one-shot EVP_DigestSign
 * with Ed25519/Ed448 keys, EVP_PKEY_derive with and without the X9.63 KDF, CMS_decrypt for an EC recipient. Each
 * result is checked against the default provider alone, in a library context of its own, and a success leaves
 * the error queue empty (libssl and servers look at it). Run by with_keystore.sh on both tiers (setup_keystore.c
 * makes the keys: ed1, ed448, ecdh1 with key_ops deriveBits only, ec1 without it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/x509.h>

static OSSL_LIB_CTX *plain; /* the default provider alone: the independent cross-check */

static int append_err(const char *str, size_t len, void *u)
{
    strncat(u, str, 4095 - strlen(u));
    return 1;
}

/* The error queue as text (and cleared). */
static const char *errors(void)
{
    static char buf[4096];

    buf[0] = '\0';
    ERR_print_errors_cb(append_err, buf);
    return buf;
}

static EVP_PKEY *load(const char *uri)
{
    OSSL_STORE_CTX *ctx = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *pkey = NULL;

    while (ctx != NULL && pkey == NULL && !OSSL_STORE_eof(ctx)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(ctx);

        if (info == NULL)
            break;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(ctx);
    if (pkey == NULL)
        fail_msg("cannot load %s: %s", uri, errors());
    return pkey;
}

/* The public key, re-read by the default provider alone. */
static EVP_PKEY *plain_public(EVP_PKEY *pkey)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    int len = i2d_PUBKEY(pkey, &der);
    EVP_PKEY *pub;

    assert_true(len > 0);
    p = der;
    pub = d2i_PUBKEY_ex(NULL, &p, len, plain, NULL);
    OPENSSL_free(der);
    assert_non_null(pub);
    return pub;
}

static const unsigned char msg[] = "a message for the vault key, signed whole";

static void eddsa_signs_through_one_shot_digest_sign(void **state)
{
    static const struct {
        const char *uri, *type;
        size_t siglen;
    } keys[] = {{"azkm://vault1/keys/ed1", "ED25519", 64}, {"azkm://vault1/keys/ed448", "ED448", 114}};

    for (int i = 0; i < 2; i++) {
        EVP_PKEY *pkey = load(keys[i].uri), *pub = plain_public(pkey);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new(), *vctx = EVP_MD_CTX_new();
        unsigned char sig[114];
        size_t siglen = 0;

        ERR_clear_error();
        assert_true(EVP_PKEY_is_a(pkey, keys[i].type));
        assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(pkey)), "azkm");
        assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, pkey, NULL), 1);
        assert_int_equal(EVP_DigestSign(ctx, NULL, &siglen, msg, sizeof(msg)), 1);
        assert_int_equal(siglen, keys[i].siglen);
        assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg)), 1);
        assert_int_equal(ERR_peek_error(), 0);
        assert_int_equal(EVP_DigestVerifyInit_ex(vctx, NULL, NULL, plain, NULL, pub, NULL), 1);
        assert_int_equal(EVP_DigestVerify(vctx, sig, siglen, msg, sizeof(msg)), 1);
        /* A digest is refused, naming the reason. */
        assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, pkey, NULL), 0);
        if (strstr(errors(), "EdDSA signs the message itself") == NULL)
            fail_msg("a digest with an EdDSA key is not refused with the reason");
        EVP_MD_CTX_free(vctx);
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(pub);
        EVP_PKEY_free(pkey);
    }
}

/* Derives with ctx's key and peer, after kdf_md (when not NULL) sets the X9.63 KDF to 32 bytes with ukm. */
static size_t derive(EVP_PKEY *key, EVP_PKEY *peer, OSSL_LIB_CTX *libctx, const EVP_MD *kdf_md, unsigned char *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(libctx, key, NULL);
    static unsigned char ukm[] = "shared info";
    unsigned char *ukm_copy = OPENSSL_memdup(ukm, sizeof(ukm));
    size_t len = 0;

    assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(ctx, peer), 1);
    if (kdf_md != NULL) {
        assert_int_equal(EVP_PKEY_CTX_set_ecdh_kdf_type(ctx, EVP_PKEY_ECDH_KDF_X9_63), 1);
        assert_int_equal(EVP_PKEY_CTX_set_ecdh_kdf_md(ctx, kdf_md), 1);
        assert_int_equal(EVP_PKEY_CTX_set_ecdh_kdf_outlen(ctx, 32), 1);
        assert_int_equal(EVP_PKEY_CTX_set0_ecdh_kdf_ukm(ctx, ukm_copy, (int)sizeof(ukm)), 1);
        ukm_copy = NULL;
    }
    assert_int_equal(EVP_PKEY_derive(ctx, NULL, &len), 1);
    assert_int_equal(EVP_PKEY_derive(ctx, out, &len), 1);
    OPENSSL_free(ukm_copy);
    EVP_PKEY_CTX_free(ctx);
    return len;
}

static void ecdh_agrees_with_the_default_provider(void **state)
{
    EVP_PKEY *key = load("azkm://vault1/keys/ecdh1"), *pub = plain_public(key);
    EVP_PKEY *peer = EVP_PKEY_Q_keygen(plain, NULL, "EC", "P-256"), *peer_pub = plain_public(peer);
    EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    unsigned char z[80], want[80];
    size_t zlen, wlen;

    ERR_clear_error();
    zlen = derive(key, peer_pub, NULL, NULL, z);
    wlen = derive(peer, pub, plain, NULL, want);
    assert_int_equal(zlen, 32);
    assert_int_equal(wlen, zlen);
    assert_memory_equal(z, want, zlen);
    /* With the KDF CMS asks for: X9.63 over Z with shared info. */
    zlen = derive(key, peer_pub, NULL, sha256, z);
    wlen = derive(peer, pub, plain, sha256, want);
    assert_int_equal(zlen, 32);
    assert_int_equal(wlen, zlen);
    assert_memory_equal(z, want, zlen);
    assert_int_equal(ERR_peek_error(), 0);
    EVP_MD_free(sha256);
    EVP_PKEY_free(peer_pub);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
}

static void derive_without_derive_bits_is_refused(void **state)
{
    EVP_PKEY *key = load("azkm://vault1/keys/ec1");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);

    ERR_clear_error();
    assert_true(EVP_PKEY_derive_init(ctx) <= 0);
    if (strstr(errors(), "does not permit deriveBits") == NULL)
        fail_msg("derive with a key without deriveBits is not refused with the reason");
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(key);
}

/* A certificate carrying the vault key's public key, signed by a throwaway key: ecdh1 cannot sign. */
static X509 *recipient_cert(EVP_PKEY *pub)
{
    EVP_PKEY *signer = EVP_PKEY_Q_keygen(plain, NULL, "EC", "P-256");
    X509 *x = X509_new_ex(plain, NULL);

    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (unsigned char *)"ecdh1", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    assert_int_equal(X509_set_pubkey(x, pub), 1);
    assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
    EVP_PKEY_free(signer);
    return x;
}

static void cms_decrypts_for_an_ec_recipient(void **state)
{
    static const char text[] = "for the vault key only";
    EVP_PKEY *key = load("azkm://vault1/keys/ecdh1"), *pub = plain_public(key);
    X509 *cert = recipient_cert(pub);
    STACK_OF(X509) *certs = sk_X509_new_null();
    BIO *in = BIO_new_mem_buf(text, sizeof(text) - 1), *out = BIO_new(BIO_s_mem());
    CMS_ContentInfo *cms;
    char *got = NULL;
    long len;

    sk_X509_push(certs, cert);
    cms = CMS_encrypt_ex(certs, in, EVP_aes_128_cbc(), CMS_BINARY, plain, NULL);
    assert_non_null(cms);
    ERR_clear_error();
    if (CMS_decrypt(cms, key, cert, NULL, out, CMS_BINARY) != 1)
        fail_msg("CMS_decrypt with the vault key failed: %s", errors());
    assert_int_equal(ERR_peek_error(), 0);
    len = BIO_get_mem_data(out, &got);
    assert_int_equal(len, sizeof(text) - 1);
    assert_memory_equal(got, text, sizeof(text) - 1);
    CMS_ContentInfo_free(cms);
    BIO_free(out);
    BIO_free(in);
    sk_X509_free(certs);
    X509_free(cert);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eddsa_signs_through_one_shot_digest_sign),
        cmocka_unit_test(ecdh_agrees_with_the_default_provider),
        cmocka_unit_test(derive_without_derive_bits_is_refused),
        cmocka_unit_test(cms_decrypts_for_an_ec_recipient),
    };
    OSSL_PROVIDER *deflt;
    int rc;

    plain = OSSL_LIB_CTX_new();
    deflt = OSSL_PROVIDER_load(plain, "default");
    if (plain == NULL || deflt == NULL || OSSL_PROVIDER_available(NULL, "azkm") != 1) {
        fprintf(stderr, "test_evp_eddsa_ecdh: azkm is not active (OPENSSL_CONF=%s)\n", getenv("OPENSSL_CONF"));
        return 1;
    }
    rc = cmocka_run_group_tests_name("test_evp_eddsa_ecdh", tests, NULL, NULL);
    OSSL_PROVIDER_unload(deflt);
    OSSL_LIB_CTX_free(plain);
    return rc;
}
