/* One process holding one loaded key of a remote vault, driven line by line from stdin by a scenario script, so
 * that the key stays loaded across what the script does to azkmd (stop, restart) and across fork:
 *   sign  - one ES256/RS256 signature, verified with the public key; prints "ok <ms>" or "error <ms> <message>"
 *   refresh - re-reads the key's attributes (azkm_key_refresh); prints "ok enabled=0|1" or "error <message>"
 *   premaster - a TLS 1.2 premaster encrypted with the public key, decrypted in the TLS padding mode (RSA keys);
 *           prints "ok" when it comes back, or "error <message>"
 *   switch - THREADS threads signing at once (without verifying: a key following its rotation may switch versions
 *           between one thread's sign and its verify), while one of them switches the key to a new version;
 *           prints "ok" or "error <n> failed: <message>"
 *   signfile PATH - one ES256/RS256 signature of SHA-256("azkm rotation") into PATH (DER for ECDSA), for openssl to
 *           verify with a public key of the script's choice; prints "ok <version signed with>" or "error <message>"
 *   fork  - sign, fork; the child and the parent each sign once and then from THREADS threads at once; the child's
 *           result is its exit status; prints "ok" or "error <message>"
 *   quit
 * Usage: remote_driver KEYSTORE_DIR azkm://VAULT/keys/NAME */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "azkm/keystore.h"

#define THREADS 4
#define SIGNS_PER_THREAD 5

static azkm_key *key;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One signature of a fresh digest, verified with the key's public key: 0 when both work. */
static int sign_once(void)
{
    const azkm_key_info *info = azkm_key_get_info(key);
    unsigned char digest[32], sig[1024];
    azkm_sign_params p;
    size_t siglen = 0;
    int valid = 0;

    azkm_sign_params_from_alg(info->kty == AZKM_KTY_EC ? "ES256" : "RS256", &p);
    SHA256((const unsigned char *)&siglen, sizeof(siglen), digest);
    if (azkm_key_sign(key, &p, digest, sizeof(digest), sig, &siglen) != AZKM_OK)
        return -1;
    if (azkm_key_verify(key, &p, digest, sizeof(digest), sig, siglen, &valid) != AZKM_OK || !valid)
        return -1;
    return 0;
}

/* One signature only; 0 when it was made. */
static int sign_only(void)
{
    unsigned char digest[32] = {1}, sig[1024];
    azkm_sign_params p;
    size_t siglen = 0;

    azkm_sign_params_from_alg(azkm_key_get_info(key)->kty == AZKM_KTY_EC ? "ES256" : "RS256", &p);
    return azkm_key_sign(key, &p, digest, sizeof(digest), sig, &siglen) == AZKM_OK ? 0 : -1;
}

static void *signer(void *arg)
{
    long failed = 0;

    for (int i = 0; i < SIGNS_PER_THREAD; i++)
        failed += (arg != NULL ? sign_only() : sign_once()) != 0;
    return (void *)failed;
}

/* THREADS threads signing at once: the number of failures. */
static long threads_sign(int verify)
{
    pthread_t t[THREADS];
    long failed = 0;

    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, signer, verify ? NULL : (void *)1);
    for (int i = 0; i < THREADS; i++) {
        void *r;

        pthread_join(t[i], &r);
        failed += (long)r;
    }
    return failed;
}

static void cmd_sign(void)
{
    double start = now_ms();
    int rc = sign_once();

    if (rc == 0)
        printf("ok %.0f\n", now_ms() - start);
    else
        printf("error %.0f %s\n", now_ms() - start, azkm_last_error());
}

static void cmd_premaster(void)
{
    unsigned char pm[48], ct[1024], out[1024];
    size_t ctlen = 0, outlen = 0;
    azkm_cipher_params p = {.scheme = AZKM_ENC_RSA_PKCS1};

    RAND_bytes(pm, sizeof(pm));
    pm[0] = pm[1] = 3;
    if (azkm_key_encrypt(key, &p, pm, sizeof(pm), ct, &ctlen) != AZKM_OK) {
        printf("error encrypt: %s\n", azkm_last_error());
        return;
    }
    p.scheme = AZKM_ENC_RSA_TLS;
    p.tls_client_version = 0x0303;
    if (azkm_key_decrypt(key, &p, ct, ctlen, out, &outlen) != AZKM_OK)
        printf("error %s\n", azkm_last_error());
    else if (outlen != sizeof(pm) || memcmp(out, pm, sizeof(pm)) != 0)
        printf("error another premaster (%zu bytes)\n", outlen);
    else
        printf("ok\n");
}

static void cmd_refresh(void)
{
    if (azkm_key_refresh(key) == AZKM_OK)
        printf("ok enabled=%d\n", azkm_key_get_info(key)->attrs.enabled);
    else
        printf("error %s\n", azkm_last_error());
}

static void cmd_signfile(const char *path)
{
    static const char msg[] = "azkm rotation";
    unsigned char digest[32], sig[1024];
    azkm_sign_params p;
    size_t siglen = 0;
    FILE *f;

    azkm_sign_params_from_alg(azkm_key_get_info(key)->kty == AZKM_KTY_EC ? "ES256" : "RS256", &p);
    SHA256((const unsigned char *)msg, sizeof(msg) - 1, digest);
    if (azkm_key_sign(key, &p, digest, sizeof(digest), sig, &siglen) != AZKM_OK) {
        printf("error %s\n", azkm_last_error());
        return;
    }
    if ((f = fopen(path, "wb")) == NULL) {
        printf("error cannot open %s\n", path);
        return;
    }
    if ((fwrite(sig, 1, siglen, f) != siglen) | (fclose(f) != 0)) {
        printf("error cannot write %s\n", path);
        return;
    }
    printf("ok %s\n", azkm_key_get_info(key)->version);
}

static void cmd_switch(void)
{
    long failed = threads_sign(0);

    if (failed != 0)
        printf("error %ld failed: %s\n", failed, azkm_last_error());
    else
        printf("ok\n");
}

static void cmd_fork(void)
{
    int status = 0;
    long failed;
    pid_t pid;

    if (sign_once() != 0) {
        printf("error before fork: %s\n", azkm_last_error());
        return;
    }
    fflush(stdout);
    if ((pid = fork()) == 0)
        _exit(sign_once() == 0 && threads_sign(1) == 0 ? 0 : 1);
    failed = (sign_once() != 0) + threads_sign(1);
    waitpid(pid, &status, 0);
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("error the child failed (status %d)\n", status);
    else if (failed != 0)
        printf("error %ld signatures failed in the parent: %s\n", failed, azkm_last_error());
    else
        printf("ok\n");
}

int main(int argc, char **argv)
{
    azkm_options opt = {0};
    azkm_keystore *ks = NULL;
    char line[4200];

    if (argc != 3)
        return 2;
    opt.keystore_dir = argv[1];
    if (azkm_keystore_open(&opt, &ks) != AZKM_OK || azkm_key_load_uri(ks, argv[2], &key) != AZKM_OK) {
        printf("error load: %s\n", azkm_last_error());
        return 1;
    }
    printf("loaded\n");
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin) != NULL && strcmp(line, "quit\n") != 0) {
        if (strcmp(line, "sign\n") == 0)
            cmd_sign();
        else if (strcmp(line, "fork\n") == 0)
            cmd_fork();
        else if (strcmp(line, "switch\n") == 0)
            cmd_switch();
        else if (strcmp(line, "refresh\n") == 0)
            cmd_refresh();
        else if (strcmp(line, "premaster\n") == 0)
            cmd_premaster();
        else if (strncmp(line, "signfile ", 9) == 0 && line[strlen(line) - 1] == '\n') {
            line[strlen(line) - 1] = '\0';
            cmd_signfile(line + 9);
        } else
            printf("error unknown command\n");
        fflush(stdout);
    }
    azkm_key_free(key);
    azkm_keystore_free(ks);
    return 0;
}
