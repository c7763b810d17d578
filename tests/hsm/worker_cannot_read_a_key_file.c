/* A worker that cannot read the file of one key: the server's master (root) loads its keys and forks a worker that
 * drops to an unprivileged user, as nginx does, after a key was made by root without handing its file to that user
 * (docs/keyless-tls.md: the token store belongs to the worker user). The worker re-initialises the module as that
 * user; SoftHSM then leaves the unreadable file out, as if the key did not exist. The worker's error must say that
 * the token store has files it cannot read, naming its uid, never "the key object is missing"; the key it can read
 * keeps working, and once the file is handed over, a new worker signs with both.
 *
 * usage: worker_cannot_read_a_key_file USER TOKEN_DIR READABLE_URI HIDDEN_URI (keystore: AZKM_KEYSTORE_DIR) */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsmproc.h"

static azkm_key *readable, *hidden;

/* A worker as nginx makes one: fork, drop to the user, sign with both keys. Returns the hidden key's error in err
 * ("" when it signed); exit status: 0 both signed, 1 only the readable key signed, 2 the readable one failed. */
static int worker(const struct passwd *pw, char *err, size_t len)
{
    int fds[2], st;
    pid_t pid;
    ssize_t n;

    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        char e[512] = "";
        int r = 0;

        close(fds[0]);
        if (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
            _exit(3);
        if (hp_sign_and_verify(readable, "readable key", e, sizeof(e)) != 0)
            r = 2;
        else if (hp_sign_and_verify(hidden, "key made by root", e, sizeof(e)) != 0)
            r = 1;
        if (write(fds[1], e, strlen(e) + 1) < 0)
            r = 3;
        _exit(r);
    }
    close(fds[1]);
    n = read(fds[0], err, len - 1);
    err[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    st = hp_wait(pid);
    return st;
}

int main(int argc, char **argv)
{
    const struct passwd *pw;
    azkm_keystore *ks;
    char err[1024], cmd[4096];
    int st, bad = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 5 || (pw = getpwnam(argv[1])) == NULL) {
        fprintf(stderr, "usage: worker_cannot_read_a_key_file USER TOKEN_DIR READABLE_URI HIDDEN_URI\n");
        return 2;
    }
    if ((ks = hp_keystore()) == NULL || azkm_key_load_uri(ks, argv[3], &readable) != AZKM_OK ||
        azkm_key_load_uri(ks, argv[4], &hidden) != AZKM_OK) {
        fprintf(stderr, "loading the keys as root: %s\n", azkm_last_error());
        return 1;
    }
    st = worker(pw, err, sizeof(err));
    printf("worker as %s: status %d: %s\n", pw->pw_name, st, err);
    if (st != 1) {
        printf("FAIL: expected the readable key to sign and the other to fail\n");
        bad++;
    }
    if (strstr(err, "key object is missing") != NULL || strstr(err, "not readable and writable by uid") == NULL) {
        printf("FAIL: the error does not name the unreadable token store and the uid\n");
        bad++;
    }
    snprintf(cmd, sizeof(cmd), "chown -R %s '%s'", pw->pw_name, argv[2]);
    if (system(cmd) != 0)
        return 1;
    st = worker(pw, err, sizeof(err));
    printf("worker after chown: status %d%s%s\n", st, err[0] ? ": " : "", err);
    bad += st != 0;
    azkm_key_free(readable);
    azkm_key_free(hidden);
    azkm_keystore_free(ks);
    printf("%s\n", bad ? "FAIL" : "ok");
    return bad ? 1 : 0;
}
