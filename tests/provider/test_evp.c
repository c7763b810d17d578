/* The azkm provider through the EVP, OSSL_STORE and PEM APIs as an application uses them: key reference
 * hand-off, match, params, dupctx, fork (also into an unprivileged user), threads, refusals and reference files.
 * Every signature is verified with the default provider alone, in a library context of its own. Run by
 * with_keystore.sh, which makes the keystore (vault1 and its keys, see setup_keystore.c) and activates azkm through
 * conf/azkm-provider.cnf. AZKM_TEST_TIER=hsm: vault1's keys live on a SoftHSM token, and the token error cases
 * (wrong PIN, token missing, module missing) run against the extra vaults lib.sh breaks (HSM_ERROR_VAULTS). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "azkm/keyref.h"

static OSSL_LIB_CTX *plain; /* the default provider alone: the independent cross-check */
static int hsm;             /* AZKM_TEST_TIER=hsm: vault1's keys are on a SoftHSM token */

/* ---- helpers ------------------------------------------------------------------------------------------- */

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

static void assert_error_mentions(const char *what)
{
    const char *e = errors();

    if (strstr(e, what) == NULL)
        fail_msg("expected an error mentioning \"%s\", got: %s", what, e);
}

static EVP_PKEY *load_expect(const char *uri, int expect)
{
    OSSL_STORE_CTX *ctx = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *pkey = NULL;

    if (ctx == NULL)
        return NULL;
    if (expect != 0)
        OSSL_STORE_expect(ctx, expect);
    while (pkey == NULL && !OSSL_STORE_eof(ctx)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(ctx);

        if (info == NULL)
            break;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        else if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PUBKEY)
            pkey = OSSL_STORE_INFO_get1_PUBKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(ctx);
    return pkey;
}

static EVP_PKEY *load(const char *uri)
{
    EVP_PKEY *pkey = load_expect(uri, 0);

    if (pkey == NULL)
        fail_msg("cannot load %s: %s", uri, errors());
    return pkey;
}

static const char *provider_of(const EVP_PKEY *pkey)
{
    return OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(pkey));
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

static int sign(EVP_PKEY *pkey, const char *md, int pss, const unsigned char *data, size_t len, unsigned char *sig,
                size_t *siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, pkey, NULL) == 1 &&
             (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)) &&
             EVP_DigestSign(ctx, sig, siglen, data, len) == 1;

    EVP_MD_CTX_free(ctx);
    return ok;
}

static int plain_verify(EVP_PKEY *pub, const char *md, int pss, const unsigned char *data, size_t len,
                        const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestVerifyInit_ex(ctx, &pctx, md, plain, NULL, pub, NULL) == 1 &&
             (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)) &&
             EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;

    EVP_MD_CTX_free(ctx);
    return ok;
}

static const unsigned char msg[] = "a message for the vault key";

/* Signs with the key and verifies with the default provider alone; returns 1 when both worked. */
static int sign_and_check(EVP_PKEY *pkey, EVP_PKEY *pub, const char *md, int pss)
{
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);

    return sign(pkey, md, pss, msg, sizeof(msg), sig, &siglen) &&
           plain_verify(pub, md, pss, msg, sizeof(msg), sig, siglen);
}

/* ---- tests --------------------------------------------------------------------------------------------- */

static void store_hands_off_a_reference_that_signs(void **state)
{
    static const char *const uris[] = {"azkm://vault1/keys/rsa1", "azkm://vault1/keys/ec1",
                                       "azkm://vault1/keys/ec384"};

    for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
        EVP_PKEY *pkey = load(uris[i]), *pub = plain_public(pkey);

        assert_string_equal(provider_of(pkey), "azkm");
        assert_true(sign_and_check(pkey, pub, "SHA256", 0));
        assert_true(sign_and_check(pkey, pub, "SHA384", 0));
        if (EVP_PKEY_is_a(pkey, "RSA"))
            assert_true(sign_and_check(pkey, pub, "SHA256", 1));
        EVP_PKEY_free(pub);
        EVP_PKEY_free(pkey);
    }
}

/* libssl and servers look at the error queue: a successful load and signature must leave it empty, even though
 * OpenSSL 3.0 first tries (and fails) to export the key to the default provider. */
/* The key name in what -text prints of an azkm private key: "azkm private key azkm://vault1/keys/<name>/...". */
static void listed_name(EVP_PKEY *pkey, char *name, size_t len)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *text, *p;

    assert_int_equal(EVP_PKEY_print_private(mem, pkey, 0, NULL), 1);
    BIO_write(mem, "", 1);
    BIO_get_mem_data(mem, &text);
    p = strstr(text, "azkm://vault1/keys/");
    assert_non_null(p);
    p += strlen("azkm://vault1/keys/");
    snprintf(name, len, "%.*s", (int)strcspn(p, "/"), p);
    BIO_free(mem);
}

static int listed_as(const char *name, const char *const *names)
{
    for (; *names != NULL; names++)
        if (strcmp(name, *names) == 0)
            return 1;
    return 0;
}

/* azkm://vault1 lists the vault's keys (current versions), one EVP_PKEY each, usable one by one: those that may
 * sign now sign (Ed25519 and Ed448 pure EdDSA, without a digest); the disabled, expired and sign-less ones (a
 * derive-only EC key among them) are listed too, and refused with the reason when used. */
static void vault_listing_yields_every_key_usable_one_by_one(void **state)
{
    static const char *const signers[] = {"ec1", "ec384",         "ecdh384", "ed1", "ed448",
                                          "rot", "rsa-nodecrypt", "rsa1",    NULL};
    static const char *const refused[] = {"ec-expired", "ecdh1", "rsa-nosign", "rsa-off", NULL};
    OSSL_STORE_CTX *ctx = OSSL_STORE_open("azkm://vault1", NULL, NULL, NULL, NULL);
    OSSL_STORE_INFO *info;
    size_t n = 0;

    assert_non_null(ctx);
    assert_int_equal(OSSL_STORE_expect(ctx, OSSL_STORE_INFO_PKEY), 1);
    while ((info = OSSL_STORE_load(ctx)) != NULL) {
        EVP_PKEY *pkey = OSSL_STORE_INFO_get1_PKEY(info), *pub;
        const char *md = EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448") ? NULL : "SHA256";
        char name[128];

        assert_non_null(pkey);
        OSSL_STORE_INFO_free(info);
        listed_name(pkey, name, sizeof(name));
        pub = plain_public(pkey);
        if (listed_as(name, signers)) {
            if (!sign_and_check(pkey, pub, md, 0))
                fail_msg("listed key %s does not sign: %s", name, errors());
        } else {
            assert_true(listed_as(name, refused));
            assert_false(sign_and_check(pkey, pub, md, 0));
            assert_error_mentions(name);
        }
        EVP_PKEY_free(pub);
        EVP_PKEY_free(pkey);
        n++;
    }
    assert_true(OSSL_STORE_eof(ctx));
    assert_false(OSSL_STORE_error(ctx));
    assert_int_equal(n, 12);
    OSSL_STORE_close(ctx);
}

static void vault_listing_honours_expect_and_alias(void **state)
{
    OSSL_STORE_CTX *ctx = OSSL_STORE_open("azkm://vault1/keys", NULL, NULL, NULL, NULL);
    OSSL_STORE_SEARCH *alias = OSSL_STORE_SEARCH_by_alias("EC384");
    OSSL_STORE_INFO *info;
    size_t n = 0;

    assert_non_null(ctx);
    assert_int_equal(OSSL_STORE_expect(ctx, OSSL_STORE_INFO_PUBKEY), 1);
    assert_int_equal(OSSL_STORE_supports_search(ctx, OSSL_STORE_SEARCH_BY_ALIAS), 1);
    assert_int_equal(OSSL_STORE_find(ctx, alias), 1);
    while ((info = OSSL_STORE_load(ctx)) != NULL) {
        EVP_PKEY *pub = OSSL_STORE_INFO_get1_PUBKEY(info);

        assert_non_null(pub);
        assert_int_equal(EVP_PKEY_get_bits(pub), 384);
        EVP_PKEY_free(pub);
        OSSL_STORE_INFO_free(info);
        n++;
    }
    assert_true(OSSL_STORE_eof(ctx));
    assert_int_equal(n, 1);
    OSSL_STORE_close(ctx);
    OSSL_STORE_SEARCH_free(alias);
    /* certificates: there are none */
    ctx = OSSL_STORE_open("azkm://vault1", NULL, NULL, NULL, NULL);
    assert_int_equal(OSSL_STORE_expect(ctx, OSSL_STORE_INFO_CERT), 1);
    assert_null(OSSL_STORE_load(ctx));
    assert_true(OSSL_STORE_eof(ctx));
    assert_false(OSSL_STORE_error(ctx));
    OSSL_STORE_close(ctx);
}

static void successful_operations_leave_no_errors(void **state)
{
    EVP_PKEY *pkey, *pub;
    EVP_PKEY_CTX *ctx;

    ERR_clear_error();
    pkey = load("azkm://vault1/keys/rsa1");
    assert_int_equal(ERR_peek_error(), 0);
    pub = plain_public(pkey);
    assert_true(sign_and_check(pkey, pub, "SHA256", 0));
    assert_true(sign_and_check(pkey, pub, "SHA256", 1));
    assert_int_equal(ERR_peek_error(), 0);
    ctx = EVP_PKEY_CTX_new(pkey, NULL);
    assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
    assert_int_equal(ERR_peek_error(), 0);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pkey);
}

static void store_honours_expected_public_key(void **state)
{
    EVP_PKEY *pub = load_expect("azkm://vault1/keys/ec1", OSSL_STORE_INFO_PUBKEY);
    unsigned char sig[256];
    size_t siglen = sizeof(sig);

    assert_non_null(pub);
    assert_false(sign(pub, "SHA256", 0, msg, sizeof(msg), sig, &siglen));
    ERR_clear_error();
    EVP_PKEY_free(pub);
    /* Nothing but keys behind a key URI. */
    assert_null(load_expect("azkm://vault1/keys/ec1", OSSL_STORE_INFO_CERT));
    ERR_clear_error();
}

/* A server may load the same key again while it holds it (a second virtual host, a reload): both copies sign.
 * On the HSM tier this runs after the first signature made a session copy of the token object. */
static void a_key_in_use_loads_and_signs_again(void **state)
{
    static const char *const uris[] = {"azkm://vault1/keys/ec1", "azkm://vault1/keys/rsa1"};

    for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
        EVP_PKEY *first = load(uris[i]), *pub = plain_public(first), *again;

        assert_true(sign_and_check(first, pub, "SHA256", 0));
        again = load(uris[i]);
        assert_true(sign_and_check(again, pub, "SHA256", 0));
        assert_true(sign_and_check(first, pub, "SHA256", 0));
        EVP_PKEY_free(again);
        EVP_PKEY_free(pub);
        EVP_PKEY_free(first);
    }
}

static void keys_match_on_public_values(void **state)
{
    EVP_PKEY *rsa = load("azkm://vault1/keys/rsa1"), *ec = load("azkm://vault1/keys/ec1");
    EVP_PKEY *rsa_pub = plain_public(rsa), *ec_pub = plain_public(ec);
    EVP_PKEY *rsa_again = load("azkm://vault1/keys/rsa1");

    assert_int_equal(EVP_PKEY_eq(rsa, rsa_pub), 1);
    assert_int_equal(EVP_PKEY_eq(rsa_pub, rsa), 1);
    assert_int_equal(EVP_PKEY_eq(ec, ec_pub), 1);
    assert_int_equal(EVP_PKEY_eq(rsa, rsa_again), 1);
    assert_int_not_equal(EVP_PKEY_eq(rsa, ec_pub), 1);
    assert_int_not_equal(EVP_PKEY_eq(ec, rsa), 1);
    ERR_clear_error();
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa_pub);
    EVP_PKEY_free(ec_pub);
    EVP_PKEY_free(rsa_again);
}

static void keys_answer_the_params_libssl_needs(void **state)
{
    EVP_PKEY *rsa = load("azkm://vault1/keys/rsa1"), *ec = load("azkm://vault1/keys/ec1");
    EVP_PKEY *ec384 = load("azkm://vault1/keys/ec384");
    char name[64];
    unsigned char point[200];
    size_t len = 0;
    BIGNUM *n = NULL, *e = NULL;
    int nid = 0;

    assert_int_equal(EVP_PKEY_get_bits(rsa), 2048);
    assert_int_equal(EVP_PKEY_get_security_bits(rsa), 112);
    assert_int_equal(EVP_PKEY_get_size(rsa), 256);
    assert_true(EVP_PKEY_get_default_digest_name(rsa, name, sizeof(name)) > 0);
    assert_string_equal(name, "SHA256");
    assert_true(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n));
    assert_true(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_E, &e));
    assert_int_equal(BN_num_bits(n), 2048);
    assert_true(BN_is_word(e, 65537));

    assert_int_equal(EVP_PKEY_get_bits(ec), 256);
    assert_int_equal(EVP_PKEY_get_security_bits(ec), 128);
    assert_true(EVP_PKEY_get_group_name(ec, name, sizeof(name), &len));
    assert_string_equal(name, "prime256v1");
    assert_true(
        EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point), &len));
    assert_int_equal(len, 65);
    assert_int_equal(EVP_PKEY_get_ec_point_conv_form(ec), POINT_CONVERSION_UNCOMPRESSED);
    assert_true(EVP_PKEY_get_group_name(ec384, name, sizeof(name), &len));
    assert_string_equal(name, "secp384r1");
    assert_int_equal(EVP_PKEY_get_bits(ec384), 384);
    assert_true(EVP_PKEY_get_default_digest_nid(ec384, &nid) > 0);
    assert_true(EVP_PKEY_can_sign(rsa) && EVP_PKEY_can_sign(ec));
    BN_free(n);
    BN_free(e);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ec384);
}

/* OpenSSL 3.0 duplicates the signature context in EVP_DigestSignFinal; copies made mid-stream must work too. */
static void digest_sign_context_survives_duplication(void **state)
{
    const char *const uris[] = {"azkm://vault1/keys/rsa1", "azkm://vault1/keys/ec1"};

    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *pkey = load(uris[i]), *pub = plain_public(pkey);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new(), *copy = EVP_MD_CTX_new();
        unsigned char sig1[512], sig2[512], sig3[512];
        size_t l1 = sizeof(sig1), l2 = sizeof(sig2), l3 = sizeof(sig3);

        assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
        assert_int_equal(EVP_DigestSignUpdate(ctx, msg, 10), 1);
        assert_int_equal(EVP_MD_CTX_copy_ex(copy, ctx), 1);
        assert_int_equal(EVP_DigestSignUpdate(ctx, msg + 10, sizeof(msg) - 10), 1);
        assert_int_equal(EVP_DigestSignUpdate(copy, msg + 10, sizeof(msg) - 10), 1);
        assert_int_equal(EVP_DigestSignFinal(ctx, sig1, &l1), 1);
        assert_int_equal(EVP_DigestSignFinal(ctx, sig2, &l2), 1); /* final again: the 3.0 dupctx path */
        assert_int_equal(EVP_DigestSignFinal(copy, sig3, &l3), 1);
        assert_true(plain_verify(pub, "SHA256", 0, msg, sizeof(msg), sig1, l1));
        assert_true(plain_verify(pub, "SHA256", 0, msg, sizeof(msg), sig2, l2));
        assert_true(plain_verify(pub, "SHA256", 0, msg, sizeof(msg), sig3, l3));
        EVP_MD_CTX_free(ctx);
        EVP_MD_CTX_free(copy);
        EVP_PKEY_free(pub);
        EVP_PKEY_free(pkey);
    }
}

/* A forked child ends here: it frees its copies of the keys (memcheck checks every process at exit) and exits
 * without running the parent's atexit handlers or cmocka's. */
static void child_exit(int code, EVP_PKEY *k1, EVP_PKEY *k2, EVP_PKEY *k3, EVP_PKEY *k4)
{
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
    EVP_PKEY_free(k4);
    _exit(code);
}

/* In a child: sign with keys loaded by an ancestor; depth > 1 forks again first. Returns the exit status. */
static int sign_in_child(EVP_PKEY *rsa, EVP_PKEY *rsa_pub, EVP_PKEY *ec, EVP_PKEY *ec_pub, int depth)
{
    pid_t pid = fork();
    int status = 0;

    assert_true(pid >= 0);
    if (pid == 0) {
        int ok;

        if (depth > 1)
            child_exit(sign_in_child(rsa, rsa_pub, ec, ec_pub, depth - 1) == 0 ? 0 : 1, rsa, rsa_pub, ec, ec_pub);
        ok = sign_and_check(rsa, rsa_pub, "SHA256", 0) && sign_and_check(rsa, rsa_pub, "SHA256", 1) &&
             sign_and_check(ec, ec_pub, "SHA256", 0);
        if (!ok)
            ERR_print_errors_fp(stderr);
        child_exit(ok ? 0 : 1, rsa, rsa_pub, ec, ec_pub);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

static void keys_work_after_fork_and_double_fork(void **state)
{
    EVP_PKEY *rsa = load("azkm://vault1/keys/rsa1"), *ec = load("azkm://vault1/keys/ec1");
    EVP_PKEY *rsa_pub = plain_public(rsa), *ec_pub = plain_public(ec);

    assert_int_equal(sign_in_child(rsa, rsa_pub, ec, ec_pub, 1), 0);
    assert_int_equal(sign_in_child(rsa, rsa_pub, ec, ec_pub, 2), 0);
    /* and the parent still signs */
    assert_true(sign_and_check(ec, ec_pub, "SHA256", 0));
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa_pub);
    EVP_PKEY_free(ec_pub);
}

/* What nginx and Apache do: the master (root) loads the key, a forked worker drops to an unprivileged user and
 * signs with it. The token store is readable to that user (lib.sh), the keystore and the PIN file are not. */
static void keys_work_in_a_child_that_dropped_privileges(void **state)
{
    EVP_PKEY *rsa = load("azkm://vault1/keys/rsa1"), *ec = load("azkm://vault1/keys/ec1");
    EVP_PKEY *rsa_pub = plain_public(rsa), *ec_pub = plain_public(ec);
    const struct passwd *nobody = getpwnam("nobody");
    pid_t pid;
    int status = 0;

    if (geteuid() != 0)
        fail_msg("this test forks into user nobody and needs to run as root (ctest runs as root in CI)");
    assert_non_null(nobody);
    /* the parent has used its keys (and logged in) before the fork, as a server master does for its checks */
    assert_true(sign_and_check(ec, ec_pub, "SHA256", 0));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int ok;

        if (setgid(nobody->pw_gid) != 0 || setuid(nobody->pw_uid) != 0 || geteuid() != nobody->pw_uid)
            child_exit(2, rsa, rsa_pub, ec, ec_pub);
        ok = sign_and_check(ec, ec_pub, "SHA256", 0) && sign_and_check(rsa, rsa_pub, "SHA256", 1) &&
             sign_in_child(rsa, rsa_pub, ec, ec_pub, 1) == 0;
        if (!ok)
            ERR_print_errors_fp(stderr);
        child_exit(ok ? 0 : 1, rsa, rsa_pub, ec, ec_pub);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa_pub);
    EVP_PKEY_free(ec_pub);
}

/* The same worker, when the token store is not readable to it: a clear error that names the user and the token
 * store, not "invalid handle". */
static void unreadable_token_store_in_an_unprivileged_child_is_a_clear_error(void **state)
{
    EVP_PKEY *ec = load("azkm://vault1/keys/ec1"), *ec_pub = plain_public(ec);
    const struct passwd *nobody = getpwnam("nobody");
    const char *conf = getenv("SOFTHSM2_CONF");
    char tokens[4096], uid[32], *slash;
    int fds[2];
    pid_t pid;
    int status = 0;

    if (geteuid() != 0)
        fail_msg("this test forks into user nobody and needs to run as root (ctest runs as root in CI)");
    assert_non_null(nobody);
    assert_non_null(conf);
    snprintf(tokens, sizeof(tokens), "%s", conf);
    assert_non_null(slash = strrchr(tokens, '/'));
    snprintf(slash, sizeof(tokens) - (size_t)(slash - tokens), "/tokens");
    assert_true(sign_and_check(ec, ec_pub, "SHA256", 0));
    assert_int_equal(chmod(tokens, 0700), 0);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned char sig[256];
        size_t siglen = sizeof(sig);
        const char *e;

        close(fds[0]);
        if (setgid(nobody->pw_gid) != 0 || setuid(nobody->pw_uid) != 0)
            child_exit(2, ec, ec_pub, NULL, NULL);
        if (sign(ec, "SHA256", 0, msg, sizeof(msg), sig, &siglen))
            child_exit(3, ec, ec_pub, NULL, NULL);
        e = errors();
        if (write(fds[1], e, strlen(e)) < 0)
            child_exit(4, ec, ec_pub, NULL, NULL);
        child_exit(0, ec, ec_pub, NULL, NULL);
    }
    close(fds[1]);
    {
        static char out[4096];
        ssize_t n, len = 0;

        while ((n = read(fds[0], out + len, sizeof(out) - 1 - (size_t)len)) > 0)
            len += n;
        out[len] = '\0';
        close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(chmod(tokens, 0755), 0);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 3)
            fail_msg("signed as nobody without access to the token store");
        assert_int_equal(WEXITSTATUS(status), 0);
        snprintf(uid, sizeof(uid), "uid %u", (unsigned)nobody->pw_uid);
        if (strstr(out, uid) == NULL || strstr(out, "token store") == NULL)
            fail_msg("the error does not name the user and the token store: %s", out);
    }
    /* and the parent still signs */
    assert_true(sign_and_check(ec, ec_pub, "SHA256", 0));
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ec_pub);
}

struct thread_arg {
    EVP_PKEY *pkey, *pub;
    int n, failures;
};

static void *signer(void *p)
{
    struct thread_arg *a = p;

    for (int i = 0; i < a->n; i++)
        if (!sign_and_check(a->pkey, a->pub, "SHA256", 0))
            a->failures++;
    return NULL;
}

static void threads_sign_with_one_key(const char *uri, int per_thread)
{
    EVP_PKEY *pkey = load(uri), *pub = plain_public(pkey);
    pthread_t t[8];
    struct thread_arg args[8];
    int failures = 0;

    for (int i = 0; i < 8; i++) {
        args[i] = (struct thread_arg){pkey, pub, per_thread, 0};
        assert_int_equal(pthread_create(&t[i], NULL, signer, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        failures += args[i].failures;
    }
    if (failures != 0)
        fail_msg("%s: %d of %d signatures failed: %s", uri, failures, 8 * per_thread, errors());
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pkey);
}

static void eight_threads_sign_1000_times_with_one_ec_key(void **state)
{
    threads_sign_with_one_key("azkm://vault1/keys/ec1", 1000);
}

static void eight_threads_sign_with_one_rsa_key(void **state)
{
    threads_sign_with_one_key("azkm://vault1/keys/rsa1", 150);
}

static void refusals_name_the_key_and_the_reason(void **state)
{
    static const struct {
        const char *uri, *reason;
    } unusable[] = {
        {"azkm://vault1/keys/rsa-off", "rsa-off"},
        {"azkm://vault1/keys/rsa-off", "is disabled"},
        {"azkm://vault1/keys/ec-expired", "expired"},
    };

    /* A private key that cannot work now is refused at load, so that a server refuses to start. */
    for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++) {
        assert_null(load_expect(unusable[i].uri, OSSL_STORE_INFO_PKEY));
        assert_error_mentions(unusable[i].reason);
    }
    /* Its public half stays readable. */
    {
        EVP_PKEY *pub = load_expect("azkm://vault1/keys/rsa-off", OSSL_STORE_INFO_PUBKEY);

        assert_non_null(pub);
        EVP_PKEY_free(pub);
    }
    /* A key that may decrypt but not sign loads, and refuses the signature. */
    {
        EVP_PKEY *pkey = load("azkm://vault1/keys/rsa-nosign");
        unsigned char sig[512];
        size_t siglen = sizeof(sig);

        assert_false(sign(pkey, "SHA256", 0, msg, sizeof(msg), sig, &siglen));
        assert_error_mentions("does not permit sign");
        EVP_PKEY_free(pkey);
    }
    {
        EVP_PKEY *pkey = load("azkm://vault1/keys/rsa-nodecrypt");
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);

        assert_int_not_equal(EVP_PKEY_decrypt_init(ctx), 1);
        assert_error_mentions("does not permit decrypt");
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(pkey);
    }
}

/* (azkm://vault1 and azkm://vault1/keys name the vault's keys: vault_listing_* above.) */
static void malformed_uris_are_refused_clearly(void **state)
{
    static const char *const bad[] = {
        "azkm://",
        "azkm://vault1/keyz",
        "azkm://vault1/keys//",
        "azkm://vault1/secrets/rsa1",
        "azkm://vault1/keys/bad_name",
        "azkm://v/keys/rsa1",
        "azkm://1vault/keys/rsa1",
        "azkm://vault1/keys/rsa1/xyz",
        "azkm://vault1/keys/rsa1/0123456789abcdef0123456789abcdeg",
        "azkm://vault1/keys/rsa1/0123456789abcdef0123456789abcdef/more",
        "azkm://vault1/keys/rsa1?x=1",
        "azkm://vault1/keys/"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (load_expect(bad[i], 0) != NULL)
            fail_msg("%s was accepted", bad[i]);
        assert_error_mentions("invalid azkm URI");
    }
}

static void unknown_vault_key_and_version_are_not_found(void **state)
{
    static const char *const missing[] = {
        "azkm://nosuchvault/keys/rsa1",
        "azkm://vault1/keys/nosuchkey",
        "azkm://vault1/keys/rsa1/0123456789abcdef0123456789abcdef",
    };

    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        assert_null(load_expect(missing[i], 0));
        assert_error_mentions("not found");
    }
}

static EVP_PKEY *read_pem(const char *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);

    BIO_free(b);
    return pkey;
}

/* A reference PEM whose DER body is given in hex. */
static EVP_PKEY *read_ref_der(const char *hex)
{
    long len = 0;
    unsigned char *der = OPENSSL_hexstr2buf(hex, &len);
    BIO *mem = BIO_new(BIO_s_mem());
    char *pem;
    long pemlen;
    EVP_PKEY *pkey;

    assert_non_null(der);
    assert_true(PEM_write_bio(mem, AZKM_KEYREF_PEM_LABEL, "", der, len) > 0);
    pemlen = BIO_get_mem_data(mem, &pem);
    pkey = read_pem(pem, (size_t)pemlen);
    BIO_free(mem);
    OPENSSL_free(der);
    return pkey;
}

static void reference_files_load_and_damaged_ones_fail_clearly(void **state)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *pem;
    long len;
    EVP_PKEY *pkey, *pub;

    /* What `azkm key ref` writes, read by the PEM API nginx and Apache use. */
    assert_int_equal(azkm_keyref_write_pem(mem, "azkm://vault1/keys/rsa1"), AZKM_KEYREF_OK);
    len = BIO_get_mem_data(mem, &pem);
    pkey = read_pem(pem, (size_t)len);
    if (pkey == NULL)
        fail_msg("reference file not loaded: %s", errors());
    assert_string_equal(provider_of(pkey), "azkm");
    pub = plain_public(pkey);
    assert_true(sign_and_check(pkey, pub, "SHA256", 1));
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pkey);
    BIO_free(mem);

    /* "azkm://vault1/keys/ec1" = 61 7a 6b 6d 3a 2f 2f 76 61 75 6c 74 31 2f 6b 65 79 73 2f 65 63 31 (22 bytes) */
#define URI_EC1 "0c16617a6b6d3a2f2f7661756c74312f6b6579732f656331"
    pkey = read_ref_der("301b020101" URI_EC1);
    if (pkey == NULL)
        fail_msg("hand-made reference not loaded: %s", errors());
    assert_true(EVP_PKEY_is_a(pkey, "EC"));
    EVP_PKEY_free(pkey);

    assert_null(read_ref_der("301b020102" URI_EC1));
    assert_error_mentions("unknown version");
    assert_null(read_ref_der("301e020401000001" URI_EC1));
    assert_error_mentions("unknown version");
    assert_null(read_ref_der("301d020101" URI_EC1 "0500")); /* trailing field */
    assert_error_mentions("bad azkm key reference file");
    assert_null(read_ref_der("301b020101" URI_EC1 "00")); /* trailing byte */
    assert_error_mentions("bad azkm key reference file");
    assert_null(read_ref_der("3010020101")); /* truncated */
    assert_error_mentions("bad azkm key reference file");
    assert_null(read_ref_der("300e0201010c0968747470733a2f2f78")); /* https://x */
    assert_error_mentions("no valid azkm:// URI");
    assert_null(read_ref_der("301b0201011616617a6b6d3a2f2f7661756c74312f6b6579732f656331")); /* IA5String */
    assert_error_mentions("bad azkm key reference file");
    /* "azkm://vault1/keys/nokey" */
    assert_null(read_ref_der("301d0201010c18617a6b6d3a2f2f7661756c74312f6b6579732f6e6f6b6579"));
    assert_error_mentions("not found");
}

static void private_keys_are_never_exported(void **state)
{
    EVP_PKEY *pkey = load("azkm://vault1/keys/rsa1"), *dup;
    OSSL_PARAM *params = NULL;
    unsigned char *der = NULL;
    BIO *mem = BIO_new(BIO_s_mem());
    char *pem;
    long len;

    assert_int_not_equal(EVP_PKEY_todata(pkey, EVP_PKEY_KEYPAIR, &params), 1);
    assert_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_D));
    OSSL_PARAM_free(params);
    params = NULL;
    assert_int_equal(EVP_PKEY_todata(pkey, EVP_PKEY_PUBLIC_KEY, &params), 1);
    assert_non_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_N));
    assert_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_D));
    OSSL_PARAM_free(params);
    assert_true(i2d_PrivateKey(pkey, &der) <= 0);
    ERR_clear_error();
    /* PEM output of the private key is the key reference, nothing more. */
    assert_int_equal(PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_get_mem_data(mem, &pem);
    assert_non_null(
        memmem(pem, (size_t)len, "BEGIN " AZKM_KEYREF_PEM_LABEL, strlen("BEGIN " AZKM_KEYREF_PEM_LABEL)));
    assert_null(memmem(pem, (size_t)len, "PRIVATE KEY-----", 16));
    BIO_free(mem);
    /* DER PKCS#8 is refused with the reason. */
    mem = BIO_new(BIO_s_mem());
    assert_int_not_equal(i2d_PKCS8PrivateKey_bio(mem, pkey, NULL, NULL, 0, NULL, NULL), 1);
    ERR_clear_error();
    BIO_free(mem);
    /* A duplicate still signs. */
    dup = EVP_PKEY_dup(pkey);
    assert_non_null(dup);
    {
        EVP_PKEY *pub = plain_public(pkey);

        assert_true(sign_and_check(dup, pub, "SHA256", 0));
        EVP_PKEY_free(pub);
    }
    EVP_PKEY_free(dup);
    EVP_PKEY_free(pkey);
}

static void pem_keys_stay_with_the_default_provider(void **state)
{
    EVP_PKEY *soft = EVP_PKEY_Q_keygen(plain, NULL, "EC", "P-256"), *loaded, *gen;
    BIO *mem = BIO_new(BIO_s_mem());
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    char *pem;
    long len;
    unsigned char sig[128];
    size_t siglen = sizeof(sig);

    assert_int_equal(PEM_write_bio_PrivateKey(mem, soft, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_get_mem_data(mem, &pem);
    loaded = read_pem(pem, (size_t)len);
    assert_non_null(loaded);
    assert_string_equal(provider_of(loaded), "default");
    assert_int_equal(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, loaded), 1);
    assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_CTX_get0_provider(pctx)), "default");
    assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg)), 1);
    assert_true(plain_verify(soft, "SHA256", 0, msg, sizeof(msg), sig, siglen));
    /* Key generation without azkm parameters (e.g. TLS ephemeral keys) stays with the default provider. */
    gen = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(gen);
    assert_string_equal(provider_of(gen), "default");
    EVP_PKEY_free(gen);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(loaded);
    EVP_PKEY_free(soft);
    BIO_free(mem);
}

static void rsa_decrypts_pkcs1_oaep_and_tls_premaster(void **state)
{
    EVP_PKEY *pkey = load("azkm://vault1/keys/rsa1"), *pub = plain_public(pkey);
    unsigned char pms[48], ct[256], out[256];
    size_t ctlen, outlen;
    unsigned int client_version = 0x0303;
    unsigned char label[] = "azkm label";
    EVP_PKEY_CTX *enc, *dec;
    OSSL_PARAM params[2];

    assert_int_equal(RAND_bytes(pms, sizeof(pms)), 1);
    pms[0] = 0x03;
    pms[1] = 0x03;
    /* TLS 1.2 RSA key exchange */
    enc = EVP_PKEY_CTX_new_from_pkey(plain, pub, NULL);
    ctlen = sizeof(ct);
    assert_int_equal(EVP_PKEY_encrypt_init(enc), 1);
    assert_int_equal(EVP_PKEY_encrypt(enc, ct, &ctlen, pms, sizeof(pms)), 1);
    dec = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    assert_int_equal(EVP_PKEY_decrypt_init(dec), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(dec, RSA_PKCS1_WITH_TLS_PADDING), 1);
    params[0] = OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, &client_version);
    params[1] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_PKEY_CTX_set_params(dec, params), 1);
    outlen = 48;
    assert_int_equal(EVP_PKEY_decrypt(dec, out, &outlen, ct, ctlen), 1);
    assert_int_equal(outlen, 48);
    assert_memory_equal(out, pms, 48);
    /* A wrong client version gives a random premaster, not an error (no padding oracle). */
    client_version = 0x0302;
    assert_int_equal(EVP_PKEY_CTX_set_params(dec, params), 1);
    outlen = 48;
    assert_int_equal(EVP_PKEY_decrypt(dec, out, &outlen, ct, ctlen), 1);
    assert_memory_not_equal(out, pms, 48);
    EVP_PKEY_CTX_free(dec);
    EVP_PKEY_CTX_free(enc);

    /* OAEP SHA-1, no label: every tier */
    enc = EVP_PKEY_CTX_new_from_pkey(plain, pub, NULL);
    assert_int_equal(EVP_PKEY_encrypt_init(enc), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(enc, RSA_PKCS1_OAEP_PADDING), 1);
    ctlen = sizeof(ct);
    assert_int_equal(EVP_PKEY_encrypt(enc, ct, &ctlen, msg, sizeof(msg)), 1);
    dec = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    assert_int_equal(EVP_PKEY_decrypt_init(dec), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(dec, RSA_PKCS1_OAEP_PADDING), 1);
    outlen = sizeof(out);
    assert_int_equal(EVP_PKEY_decrypt(dec, out, &outlen, ct, ctlen), 1);
    assert_int_equal(outlen, sizeof(msg));
    assert_memory_equal(out, msg, sizeof(msg));
    EVP_PKEY_CTX_free(dec);
    EVP_PKEY_CTX_free(enc);

    /* OAEP SHA-256 with a label: every tier (SoftHSM 2.6's own OAEP takes SHA-1 only: the HSM tier decodes OAEP in
     * software around the token's raw RSA) */
    enc = EVP_PKEY_CTX_new_from_pkey(plain, pub, NULL);
    assert_int_equal(EVP_PKEY_encrypt_init(enc), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(enc, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md_name(enc, "SHA256", NULL), 1);
    assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(enc, OPENSSL_memdup(label, sizeof(label)), sizeof(label)), 1);
    ctlen = sizeof(ct);
    assert_int_equal(EVP_PKEY_encrypt(enc, ct, &ctlen, msg, sizeof(msg)), 1);
    dec = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    assert_int_equal(EVP_PKEY_decrypt_init(dec), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(dec, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md_name(dec, "SHA256", NULL), 1);
    assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(dec, OPENSSL_memdup(label, sizeof(label)), sizeof(label)), 1);
    outlen = sizeof(out);
    assert_int_equal(EVP_PKEY_decrypt(dec, out, &outlen, ct, ctlen), 1);
    assert_int_equal(outlen, sizeof(msg));
    assert_memory_equal(out, msg, sizeof(msg));
    EVP_PKEY_CTX_free(dec);
    EVP_PKEY_CTX_free(enc);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pkey);
}

static void pss_algorithm_identifier_matches_the_signature(void **state)
{
    EVP_PKEY *pkey = load("azkm://vault1/keys/rsa1");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char aid[256];
    OSSL_PARAM params[2];
    X509_ALGOR *alg;
    const unsigned char *p = aid;
    const ASN1_OBJECT *obj;
    char oid[64];

    assert_int_equal(EVP_DigestSignInit_ex(ctx, &pctx, "SHA384", NULL, NULL, pkey, NULL), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid, sizeof(aid));
    params[1] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_PKEY_CTX_get_params(pctx, params), 1);
    alg = d2i_X509_ALGOR(NULL, &p, (long)params[0].return_size);
    assert_non_null(alg);
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    OBJ_obj2txt(oid, sizeof(oid), obj, 1);
    assert_string_equal(oid, "1.2.840.113549.1.1.10");
    X509_ALGOR_free(alg);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
}

/* ---- HSM tier: token errors (vaults broken by lib.sh after setup) ----------------------------------------- */

/* Loads the vault's key "k" and signs with it, expecting a failure at the load or at the signature; returns the
 * error text. */
static const char *use_broken_vault(const char *vault)
{
    char uri[128];
    EVP_PKEY *pkey;
    unsigned char sig[256];
    size_t siglen = sizeof(sig);
    static char e[4096];

    snprintf(uri, sizeof(uri), "azkm://%s/keys/k", vault);
    ERR_clear_error();
    pkey = load_expect(uri, 0);
    if (pkey != NULL) {
        if (sign(pkey, "SHA256", 0, msg, sizeof(msg), sig, &siglen))
            fail_msg("%s signed", uri);
        EVP_PKEY_free(pkey);
    }
    snprintf(e, sizeof(e), "%s", errors());
    return e;
}

static void expect_text(const char *text, const char *what)
{
    if (strstr(text, what) == NULL)
        fail_msg("expected an error mentioning \"%s\", got: %s", what, text);
}

/* Runs a shell command (pkcs11-tool, openssl) in a fresh process; returns its exit status. */
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static void wrong_pin_is_refused_clearly_never_retried_and_locks_nothing(void **state)
{
    const char *module = getenv("HSM_MODULE"), *pin = getenv("HSM_PIN"), *pinfile = getenv("HSM_BADPIN_FILE");
    const char *e;

    assert_non_null(module);
    assert_non_null(pin);
    assert_non_null(pinfile);
    e = use_broken_vault("badpin");
    expect_text(e, "token azkm-badpin rejected the PIN (CKR_PIN_INCORRECT); azkm will not retry it");
    /* the same process does not try the PIN again, however often the application asks */
    for (int i = 0; i < 5; i++) {
        e = use_broken_vault("badpin");
        expect_text(e, "token azkm-badpin rejected the PIN earlier in this process; azkm does not retry");
    }
    /* other processes each try it once and fail the same way */
    for (int i = 0; i < 3; i++)
        assert_int_not_equal(
            run("openssl pkey -in azkm://badpin/keys/k -pubout >/dev/null 2>&1 && "
                "openssl dgst -sha256 -sign azkm://badpin/keys/k -out /dev/null /dev/null 2>/dev/null"),
            0);
    /* the token is not locked: its user PIN still logs in, and its flags show no PIN trouble */
    assert_int_equal(run("OPENSSL_CONF=/dev/null pkcs11-tool --module %s --token-label azkm-badpin --login --pin "
                         "%s --list-objects >/dev/null 2>&1",
                         module, pin),
                     0);
    assert_int_not_equal(run("OPENSSL_CONF=/dev/null pkcs11-tool --module %s --list-token-slots 2>/dev/null | "
                             "grep -A12 'label *: azkm-badpin' | grep -Ei 'locked|final try|count low'",
                             module),
                         0);
    /* with the PIN source fixed, a new process works */
    assert_int_equal(run("printf '%%s\\n' %s >%s && openssl dgst -sha256 -sign azkm://badpin/keys/k -out /dev/null "
                         "/dev/null",
                         pin, pinfile),
                     0);
}

static void missing_token_is_a_clear_error(void **state)
{
    const char *e = use_broken_vault("notoken");

    expect_text(e, "PKCS#11 token 'azkm-gone' not found in module");
    /* the vault with a token still works in the same process */
    {
        EVP_PKEY *ec = load("azkm://vault1/keys/ec1"), *pub = plain_public(ec);

        assert_true(sign_and_check(ec, pub, "SHA256", 0));
        EVP_PKEY_free(pub);
        EVP_PKEY_free(ec);
    }
}

static void missing_module_is_a_clear_error(void **state)
{
    const char *e = use_broken_vault("nomodule");

    expect_text(e, "libsofthsm2.so cannot be loaded");
    expect_text(e, "No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(store_hands_off_a_reference_that_signs),
        cmocka_unit_test(vault_listing_yields_every_key_usable_one_by_one),
        cmocka_unit_test(vault_listing_honours_expect_and_alias),
        cmocka_unit_test(successful_operations_leave_no_errors),
        cmocka_unit_test(store_honours_expected_public_key),
        cmocka_unit_test(a_key_in_use_loads_and_signs_again),
        cmocka_unit_test(keys_match_on_public_values),
        cmocka_unit_test(keys_answer_the_params_libssl_needs),
        cmocka_unit_test(digest_sign_context_survives_duplication),
        cmocka_unit_test(keys_work_after_fork_and_double_fork),
        cmocka_unit_test(keys_work_in_a_child_that_dropped_privileges),
        cmocka_unit_test(eight_threads_sign_1000_times_with_one_ec_key),
        cmocka_unit_test(eight_threads_sign_with_one_rsa_key),
        cmocka_unit_test(refusals_name_the_key_and_the_reason),
        cmocka_unit_test(malformed_uris_are_refused_clearly),
        cmocka_unit_test(unknown_vault_key_and_version_are_not_found),
        cmocka_unit_test(reference_files_load_and_damaged_ones_fail_clearly),
        cmocka_unit_test(private_keys_are_never_exported),
        cmocka_unit_test(pem_keys_stay_with_the_default_provider),
        cmocka_unit_test(rsa_decrypts_pkcs1_oaep_and_tls_premaster),
        cmocka_unit_test(pss_algorithm_identifier_matches_the_signature),
    };
    const struct CMUnitTest hsm_tests[] = {
        cmocka_unit_test(unreadable_token_store_in_an_unprivileged_child_is_a_clear_error),
        cmocka_unit_test(wrong_pin_is_refused_clearly_never_retried_and_locks_nothing),
        cmocka_unit_test(missing_token_is_a_clear_error),
        cmocka_unit_test(missing_module_is_a_clear_error),
    };
    const char *tier = getenv("AZKM_TEST_TIER");
    OSSL_PROVIDER *deflt;
    int rc;

    plain = OSSL_LIB_CTX_new();
    deflt = OSSL_PROVIDER_load(plain, "default");
    if (plain == NULL || deflt == NULL || OSSL_PROVIDER_available(NULL, "azkm") != 1) {
        fprintf(stderr, "test_evp: azkm is not active (OPENSSL_CONF=%s)\n", getenv("OPENSSL_CONF"));
        ERR_print_errors_fp(stderr);
        return 1;
    }
    if (tier != NULL && strcmp(tier, "hsm") == 0)
        hsm = 1;
    else if (tier != NULL && strcmp(tier, "software") != 0) {
        fprintf(stderr, "test_evp: AZKM_TEST_TIER must be software or hsm, not '%s'\n", tier);
        return 1;
    }
    rc = cmocka_run_group_tests_name(hsm ? "test_evp (HSM tier)" : "test_evp (software tier)", tests, NULL, NULL);
    if (hsm)
        rc |= cmocka_run_group_tests_name("test_evp (HSM token errors)", hsm_tests, NULL, NULL);
    OSSL_PROVIDER_unload(deflt);
    OSSL_LIB_CTX_free(plain);
    return rc;
}
