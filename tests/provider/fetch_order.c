/* Which provider a fetch lands in once azkm is loaded: fetches that do not ask for azkm get the other provider's
 * implementation, fetches that ask for azkm get azkm's, also when eight threads make the process's very first
 * fetches at once. Usage: fetch_order [provider names to load, in order]; none: OPENSSL_CONF's providers. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

typedef struct {
    const char *what;     /* keymgmt, signature, asym-cipher or keyexch */
    const char *name;     /* algorithm */
    const char *propq;    /* property query, NULL for none */
    const char *expected; /* provider */
} CASE;

static const CASE cases[] = {
    {"keymgmt", "EC", NULL, "default"},
    {"keymgmt", "RSA", NULL, "default"},
    {"keymgmt", "RSA-PSS", NULL, "default"},
    {"keymgmt", "EC", "provider!=fips", "default"}, /* stunnel's query */
    {"keymgmt", "RSA", "fips!=yes", "default"},
    {"keymgmt", "EC", "provider=azkm", "azkm"},
    {"keymgmt", "RSA-PSS", "?provider=azkm", "azkm"},
    {"signature", "RSA", NULL, "default"},
    {"signature", "ECDSA", NULL, "default"},
    {"signature", "AZKM-ECDSA", NULL, "azkm"},
    {"asym-cipher", "RSA", NULL, "default"},
    {"asym-cipher", "RSA", "provider=azkm", "azkm"},
    {"keymgmt", "ED25519", NULL, "default"},
    {"keymgmt", "ED448", "provider!=fips", "default"},
    {"keymgmt", "ED25519", "?provider=azkm", "azkm"},
    {"signature", "ED25519", NULL, "default"},
    {"signature", "ED448", NULL, "default"},
    {"signature", "AZKM-EDDSA", NULL, "azkm"},
    {"keyexch", "ECDH", NULL, "default"},
    {"keyexch", "ECDH", "provider!=fips", "default"},
    {"keyexch", "X25519", NULL, "default"},
    {"keyexch", "AZKM-ECDH", NULL, "azkm"},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))
#define NTHREADS 8

static pthread_barrier_t start;

/* The provider that answered, or "none". */
static const char *fetch(const CASE *c)
{
    const OSSL_PROVIDER *prov = NULL;
    const char *name;

    if (strcmp(c->what, "keymgmt") == 0) {
        EVP_KEYMGMT *m = EVP_KEYMGMT_fetch(NULL, c->name, c->propq);
        prov = m != NULL ? EVP_KEYMGMT_get0_provider(m) : NULL;
        EVP_KEYMGMT_free(m);
    } else if (strcmp(c->what, "signature") == 0) {
        EVP_SIGNATURE *m = EVP_SIGNATURE_fetch(NULL, c->name, c->propq);
        prov = m != NULL ? EVP_SIGNATURE_get0_provider(m) : NULL;
        EVP_SIGNATURE_free(m);
    } else if (strcmp(c->what, "keyexch") == 0) {
        EVP_KEYEXCH *m = EVP_KEYEXCH_fetch(NULL, c->name, c->propq);
        prov = m != NULL ? EVP_KEYEXCH_get0_provider(m) : NULL;
        EVP_KEYEXCH_free(m);
    } else {
        EVP_ASYM_CIPHER *m = EVP_ASYM_CIPHER_fetch(NULL, c->name, c->propq);
        prov = m != NULL ? EVP_ASYM_CIPHER_get0_provider(m) : NULL;
        EVP_ASYM_CIPHER_free(m);
    }
    ERR_clear_error();
    /* The providers live as long as the process: their names may be returned. */
    name = prov != NULL ? OSSL_PROVIDER_get0_name(prov) : "none";
    return name;
}

static int check(const CASE *c, int thread)
{
    const char *got = fetch(c);

    if (strcmp(got, c->expected) == 0)
        return 1;
    fprintf(stderr, "FAIL (thread %d): %s %s with %s came from %s, not %s\n", thread, c->what, c->name,
            c->propq != NULL ? c->propq : "no property query", got, c->expected);
    return 0;
}

/* Each thread starts at a different case, so that the first fetch of each operation is made by several threads
 * with different queries at once. */
static void *worker(void *arg)
{
    int id = (int)(size_t)arg, ok = 1;

    pthread_barrier_wait(&start);
    for (size_t i = 0; i < NCASES; i++)
        ok &= check(&cases[(i + (size_t)id * 3) % NCASES], id);
    return ok ? (void *)1 : NULL;
}

int main(int argc, char **argv)
{
    pthread_t threads[NTHREADS];
    OSSL_PROVIDER *loaded[8] = {NULL};
    int nloaded = 0;
    void *ret;
    int ok = 1;

    for (int i = 1; i < argc && nloaded < 8; i++) {
        if ((loaded[nloaded++] = OSSL_PROVIDER_load(NULL, argv[i])) == NULL) {
            fprintf(stderr, "fetch_order: cannot load provider %s\n", argv[i]);
            ERR_print_errors_fp(stderr);
            return 1;
        }
    }
    if (argc == 1)
        OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
    /* Applications look providers up by name (stunnel does): OpenSSL then sorts its list, azkm first. */
    if (OSSL_PROVIDER_available(NULL, "azkm") != 1 || OSSL_PROVIDER_available(NULL, "default") != 1) {
        fprintf(stderr, "fetch_order: azkm and default must both be loaded\n");
        return 1;
    }
    pthread_barrier_init(&start, NULL, NTHREADS);
    for (size_t i = 0; i < NTHREADS; i++)
        pthread_create(&threads[i], NULL, worker, (void *)i);
    for (size_t i = 0; i < NTHREADS; i++) {
        pthread_join(threads[i], &ret);
        ok &= ret != NULL;
    }
    pthread_barrier_destroy(&start);
    /* The providers loaded here are unloaded here (the names the threads saw are no longer used). */
    for (int i = nloaded - 1; i >= 0; i--)
        OSSL_PROVIDER_unload(loaded[i]);
    puts(ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
