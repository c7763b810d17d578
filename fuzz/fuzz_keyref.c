/* Fuzzes the key reference decoder: the keyref DER and PEM functions directly, and, when the azkm provider module
 * was built, PEM_read_bio_PrivateKey in a library context with the default and azkm providers loaded from this
 * build, over a private copy of the seed keystore (so seed references name real keys). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>

#include "fuzz_util.h"
#include "azkm/keyref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#ifdef AZKM_FUZZ_PROVIDER_DIR
static OSSL_LIB_CTX *libctx;
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
#ifdef AZKM_FUZZ_PROVIDER_DIR
    {
        const char *dir = fuzz_tmpdir("keyref");

        FUZZ_CHECK(fuzz_copy_seed_keystore(dir) == 0, "cannot copy the seed keystore into %s", dir);
        setenv("AZKM_KEYSTORE_DIR", dir, 1);
        setenv("AZKM_PASSPHRASE", FUZZ_PASSPHRASE, 1);
        libctx = OSSL_LIB_CTX_new();
        FUZZ_CHECK(libctx != NULL, "OSSL_LIB_CTX_new");
        FUZZ_CHECK(OSSL_PROVIDER_set_default_search_path(libctx, AZKM_FUZZ_PROVIDER_DIR) == 1, "search path");
        FUZZ_CHECK(OSSL_PROVIDER_load(libctx, "default") != NULL, "loading the default provider");
        if (OSSL_PROVIDER_load(libctx, "azkm") == NULL) {
            ERR_print_errors_fp(stderr);
            FUZZ_CHECK(0, "cannot load azkm.so from %s", AZKM_FUZZ_PROVIDER_DIR);
        }
    }
#endif
    return 0;
}

/* Encrypted PEM in the input must not make OpenSSL prompt on the terminal. */
static int no_prompt(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static void check_uri(const char *uri)
{
    unsigned char *der = NULL;
    size_t der_len = 0;
    char *again = NULL;

    FUZZ_CHECK(strncmp(uri, "azkm://", 7) == 0, "decoded key reference '%.80s' is not an azkm: URI", uri);
    FUZZ_CHECK(strlen(uri) <= AZKM_KEYREF_URI_MAX, "decoded URI of %zu characters", strlen(uri));
    FUZZ_CHECK(azkm_keyref_encode_der(uri, &der, &der_len) == AZKM_KEYREF_OK, "cannot re-encode '%.80s'", uri);
    FUZZ_CHECK(azkm_keyref_decode_der(der, der_len, &again) == AZKM_KEYREF_OK && strcmp(again, uri) == 0,
               "key reference round trip changed '%.80s'", uri);
    OPENSSL_free(again);
    OPENSSL_free(der);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *uri = NULL;
    BIO *bio;

    if (size > 64 * 1024)
        return 0;
    if (azkm_keyref_decode_der(data, size, &uri) == AZKM_KEYREF_OK) {
        check_uri(uri);
        OPENSSL_free(uri);
        uri = NULL;
    }
    bio = BIO_new_mem_buf(data, (int)size);
    FUZZ_CHECK(bio != NULL, "BIO_new_mem_buf");
    if (azkm_keyref_read_pem(bio, &uri) == AZKM_KEYREF_OK) {
        check_uri(uri);
        OPENSSL_free(uri);
    }
    BIO_free(bio);
#ifdef AZKM_FUZZ_PROVIDER_DIR
    {
        EVP_PKEY *pkey;

        bio = BIO_new_mem_buf(data, (int)size);
        FUZZ_CHECK(bio != NULL, "BIO_new_mem_buf");
        pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, no_prompt, NULL, libctx, NULL);
        if (getenv("AZKM_FUZZ_VERBOSE") != NULL) {
            fprintf(stderr, "PEM_read_bio_PrivateKey: %s\n", pkey ? EVP_PKEY_get0_type_name(pkey) : "no key");
            ERR_print_errors_fp(stderr);
        }
        if (pkey != NULL) {
            FUZZ_CHECK(EVP_PKEY_get_bits(pkey) > 0, "a loaded key has no size");
            EVP_PKEY_free(pkey);
        }
        BIO_free(bio);
    }
#endif
    ERR_clear_error();
    return 0;
}
