/* Shared by the HSM process scenarios: signing and checking, a cross-process barrier, a shared failure log. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/rand.h>

#include "hsmproc.h"

#define MAX_FAILURES 20

struct hp_barrier {
    pthread_barrier_t b;
};

typedef struct {
    pthread_mutex_t mu;
    unsigned count;
    char text[MAX_FAILURES][512];
} failure_log;

static failure_log *failures;

azkm_keystore *hp_keystore(void)
{
    azkm_options opt;
    azkm_keystore *ks = NULL;

    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = getenv("AZKM_KEYSTORE_DIR");
    if (azkm_keystore_open(&opt, &ks) != AZKM_OK) {
        fprintf(stderr, "keystore %s: %s\n", opt.keystore_dir ? opt.keystore_dir : "(AZKM_KEYSTORE_DIR unset)",
                azkm_last_error());
        return NULL;
    }
    return ks;
}

static const char *alg_of(const azkm_key_info *info, size_t *dlen)
{
    if (info->kty == AZKM_KTY_RSA) {
        *dlen = 32;
        return "RS256";
    }
    *dlen = info->curve == AZKM_CURVE_P521 ? 64 : info->curve == AZKM_CURVE_P384 ? 48 : 32;
    return info->curve == AZKM_CURVE_P521 ? "ES512" : info->curve == AZKM_CURVE_P384 ? "ES384" : "ES256";
}

int hp_sign_and_verify(azkm_key *k, const char *what, char *err, size_t errlen)
{
    azkm_sign_params p;
    unsigned char d[64], sig[1024];
    size_t dlen, siglen = 0;
    int valid = 0;
    const char *alg = alg_of(azkm_key_get_info(k), &dlen);

    if (RAND_bytes(d, (int)dlen) != 1 || azkm_sign_params_from_alg(alg, &p) != AZKM_OK) {
        snprintf(err, errlen, "%s: cannot prepare %s", what, alg);
        return 1;
    }
    if (azkm_key_sign(k, &p, d, dlen, sig, &siglen) != AZKM_OK) {
        snprintf(err, errlen, "%s: sign: %s", what, azkm_last_error());
        return 1;
    }
    if (azkm_key_verify(k, &p, d, dlen, sig, siglen, &valid) != AZKM_OK || !valid) {
        snprintf(err, errlen, "%s: the signature does not verify: %s", what, azkm_last_error());
        return 1;
    }
    return 0;
}

int hp_sign_uri_once(const char *uri, char *err, size_t errlen)
{
    azkm_keystore *ks = hp_keystore();
    azkm_key *k = NULL;
    int r = 1;

    if (ks == NULL) {
        snprintf(err, errlen, "%s: cannot open the keystore", uri);
        return 1;
    }
    if (azkm_key_load_uri(ks, uri, &k) != AZKM_OK)
        snprintf(err, errlen, "%s: load: %s", uri, azkm_last_error());
    else
        r = hp_sign_and_verify(k, uri, err, errlen);
    azkm_key_free(k);
    azkm_keystore_free(ks);
    return r;
}

static void *shared(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

hp_barrier *hp_barrier_new(unsigned n)
{
    hp_barrier *b = shared(sizeof(*b));
    pthread_barrierattr_t a;

    pthread_barrierattr_init(&a);
    pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_barrier_init(&b->b, &a, n);
    pthread_barrierattr_destroy(&a);
    return b;
}

void hp_barrier_wait(hp_barrier *b)
{
    pthread_barrier_wait(&b->b);
}

void hp_failures_init(void)
{
    pthread_mutexattr_t a;

    failures = shared(sizeof(*failures));
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&failures->mu, &a);
    pthread_mutexattr_destroy(&a);
}

void hp_failed(const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&failures->mu);
    if (failures->count < MAX_FAILURES) {
        va_start(ap, fmt);
        vsnprintf(failures->text[failures->count], sizeof(failures->text[0]), fmt, ap);
        va_end(ap);
    }
    failures->count++;
    pthread_mutex_unlock(&failures->mu);
}

unsigned hp_report(void)
{
    for (unsigned i = 0; i < failures->count && i < MAX_FAILURES; i++)
        fprintf(stderr, "failure: %s\n", failures->text[i]);
    return failures->count;
}

int hp_wait(pid_t pid)
{
    int st = 0;

    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

long long hp_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
