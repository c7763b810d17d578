/* A token that disappears and comes back (a SoftHSM token directory moved away and back, as when a token is
 * unplugged, or a store remounted): while it is gone, a new process fails quickly with an error that says the token
 * is not found, and processes that were using it fail clearly or go on with what they hold, never hang or crash;
 * once it is back, every one of them works again without a restart: the process that loaded the keys, a worker
 * forked from it before the token went, and new processes.
 *
 * usage: token_disappears_and_returns TOKEN_DIR AWAY_PATH URI... (keystore: AZKM_KEYSTORE_DIR) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsmproc.h"

#define MAX_KEYS 8
/* A process must give up on a missing token in this time (the tier's backoff is about 1 s). */
#define GIVE_UP_MS 5000

static azkm_key *keys[MAX_KEYS];
static int n_keys;
static char **uris;

/* What a process is asked to do: sign with every loaded key, or load every key again and sign with it. */
enum { SIGN = 'S', RELOAD = 'L', QUIT = 'Q' };

static int sign_loaded(char *err, size_t len)
{
    for (int i = 0; i < n_keys; i++)
        if (hp_sign_and_verify(keys[i], uris[i], err, len) != 0)
            return 1;
    return 0;
}

static int reload_and_sign(char *err, size_t len)
{
    for (int i = 0; i < n_keys; i++)
        if (hp_sign_uri_once(uris[i], err, len) != 0)
            return 1;
    return 0;
}

static int act(int what, char *err, size_t len)
{
    err[0] = '\0';
    return what == SIGN ? sign_loaded(err, len) : reload_and_sign(err, len);
}

typedef struct {
    int rc;
    long long ms;
    char err[512];
} answer;

/* The worker forked before the token went: does what the pipe asks, answers on the other. */
static void worker(int in, int out)
{
    char what;

    while (read(in, &what, 1) == 1 && what != QUIT) {
        answer a;
        long long t0 = hp_now_ms();

        a.rc = act(what, a.err, sizeof(a.err));
        a.ms = hp_now_ms() - t0;
        if (write(out, &a, sizeof(a)) != (ssize_t)sizeof(a))
            break;
    }
    _exit(0);
}

static int to_worker[2], from_worker[2];

static answer ask_worker(char what)
{
    answer a = {-1, 0, "the worker did not answer"};

    if (write(to_worker[1], &what, 1) != 1 || read(from_worker[0], &a, sizeof(a)) != (ssize_t)sizeof(a))
        a.rc = -1;
    return a;
}

static answer ask_self(char what)
{
    answer a;
    long long t0 = hp_now_ms();

    a.rc = act(what, a.err, sizeof(a.err));
    a.ms = hp_now_ms() - t0;
    return a;
}

/* A process forked now, from a parent that never touched the keystore (a new process). */
static answer ask_new_process(void)
{
    int fds[2];
    pid_t pid;
    answer r = {-1, 0, "no answer"};

    if (pipe(fds) != 0)
        return r;
    pid = fork();
    if (pid == 0) {
        long long t0 = hp_now_ms();

        close(fds[0]);
        r.err[0] = '\0';
        r.rc = reload_and_sign(r.err, sizeof(r.err));
        r.ms = hp_now_ms() - t0;
        _exit(write(fds[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
    }
    close(fds[1]);
    if (read(fds[0], &r, sizeof(r)) != (ssize_t)sizeof(r))
        r.rc = -1;
    close(fds[0]);
    hp_wait(pid);
    return r;
}

static int bad;

static void expect(const char *who, answer a, int want_ok, const char *want_text)
{
    int good = want_ok ? a.rc == 0 : a.rc > 0 && a.ms < GIVE_UP_MS && strstr(a.err, want_text) != NULL;

    printf("%s %s: %s in %lld ms%s%s\n", good ? "ok  " : "FAIL", who, a.rc == 0 ? "signed" : "failed", a.ms,
           a.err[0] ? ": " : "", a.err);
    bad += !good;
}

int main(int argc, char **argv)
{
    const char *token_dir, *away;
    azkm_keystore *ks;
    pid_t pid;
    char err[512];

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 4 || argc - 3 > MAX_KEYS) {
        fprintf(stderr, "usage: token_disappears_and_returns TOKEN_DIR AWAY_PATH URI...\n");
        return 2;
    }
    token_dir = argv[1];
    away = argv[2];
    uris = argv + 3;
    /* A new process first, while the parent has not touched the module (it is forked from here). */
    expect("a new process, token present", ask_new_process(), 1, NULL);
    if ((ks = hp_keystore()) == NULL)
        return 1;
    for (n_keys = 0; n_keys < argc - 3; n_keys++)
        if (azkm_key_load_uri(ks, uris[n_keys], &keys[n_keys]) != AZKM_OK) {
            fprintf(stderr, "%s: %s\n", uris[n_keys], azkm_last_error());
            return 1;
        }
    if (pipe(to_worker) != 0 || pipe(from_worker) != 0)
        return 1;
    if ((pid = fork()) == 0) {
        close(to_worker[1]);
        close(from_worker[0]);
        worker(to_worker[0], from_worker[1]);
    }
    close(to_worker[0]);
    close(from_worker[1]);
    expect("the loading process, token present", ask_self(SIGN), 1, NULL);
    expect("its forked worker, token present", ask_worker(SIGN), 1, NULL);

    if (rename(token_dir, away) != 0) {
        perror("rename");
        return 1;
    }
    printf("-- the token's directory is gone\n");
    expect("a new process, token gone", ask_new_process(), 0, "not found");
    /* Processes that hold keys may go on signing with the copies they hold, or fail: either way quickly and
     * clearly; loading a key needs the token. */
    {
        answer a = ask_self(SIGN);

        printf("info the loading process signs with what it holds: %s in %lld ms%s%s\n",
               a.rc == 0 ? "signed" : "failed", a.ms, a.err[0] ? ": " : "", a.err);
        bad += a.rc < 0 || a.ms >= GIVE_UP_MS;
    }
    expect("the loading process, loading again, token gone", ask_self(RELOAD), 0, "not found");
    expect("its worker, loading again, token gone", ask_worker(RELOAD), 0, "not found");

    if (rename(away, token_dir) != 0) {
        perror("rename back");
        return 1;
    }
    printf("-- the token's directory is back\n");
    expect("the loading process, token back", ask_self(SIGN), 1, NULL);
    expect("the loading process, loading again, token back", ask_self(RELOAD), 1, NULL);
    expect("its worker, token back", ask_worker(SIGN), 1, NULL);
    expect("its worker, loading again, token back", ask_worker(RELOAD), 1, NULL);
    expect("a new process, token back", ask_new_process(), 1, NULL);
    if ((pid = fork()) == 0) {
        int r = sign_loaded(err, sizeof(err));

        printf("%s a worker forked after the token came back%s%s\n", r == 0 ? "ok  " : "FAIL", r ? ": " : "",
               r ? err : "");
        _exit(r);
    }
    bad += hp_wait(pid) != 0;
    ask_worker(QUIT);
    for (int i = 0; i < n_keys; i++)
        azkm_key_free(keys[i]);
    azkm_keystore_free(ks);
    return bad == 0 ? 0 : 1;
}
