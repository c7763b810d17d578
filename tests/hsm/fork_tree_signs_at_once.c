/* A pre-forking server's life on the HSM tier: the parent loads its keys (logged in, session copies made), then,
 * round after round, forks CHILDREN children that each fork a grandchild, and all of them sign with the inherited
 * keys at the same moment (a barrier releases them): every one re-initialises the module, finds the token and logs
 * in at once. Every signature must verify, and the parent must still sign between rounds. The case was a
 * P-521 key: one child failed with CKR_GENERAL_ERROR at C_Login, or CKR_SLOT_ID_INVALID at C_OpenSession.
 *
 * usage: fork_tree_signs_at_once CHILDREN ROUNDS SIGNATURES URI... (keystore: AZKM_KEYSTORE_DIR) */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hsmproc.h"

#define MAX_KEYS 8

static azkm_key *keys[MAX_KEYS];
static int n_keys;

/* Signs `signatures` times with every key, after the barrier. */
static int sign_all(const char *who, int signatures, hp_barrier *start)
{
    char err[512];

    hp_barrier_wait(start);
    for (int s = 0; s < signatures; s++) {
        for (int i = 0; i < n_keys; i++) {
            if (hp_sign_and_verify(keys[i], azkm_key_get_uri(keys[i]), err, sizeof(err)) != 0) {
                hp_failed("%s: %s", who, err);
                return 1;
            }
        }
    }
    return 0;
}

/* A child: forks its grandchild, then both sign. */
static int child(int id, int round, int signatures, hp_barrier *start)
{
    char who[64];
    pid_t pid = fork();
    int r;

    if (pid == 0) {
        snprintf(who, sizeof(who), "round %d grandchild %d", round, id);
        _exit(sign_all(who, signatures, start));
    }
    snprintf(who, sizeof(who), "round %d child %d", round, id);
    r = sign_all(who, signatures, start);
    if (pid < 0 || hp_wait(pid) != 0)
        r = 1;
    return r;
}

int main(int argc, char **argv)
{
    int children, rounds, signatures, bad = 0;
    azkm_keystore *ks;
    long long t0 = hp_now_ms();
    char err[512];

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 5 || (children = atoi(argv[1])) <= 0 || (rounds = atoi(argv[2])) <= 0 ||
        (signatures = atoi(argv[3])) <= 0 || argc - 4 > MAX_KEYS) {
        fprintf(stderr, "usage: fork_tree_signs_at_once CHILDREN ROUNDS SIGNATURES URI...\n");
        return 2;
    }
    hp_failures_init();
    if ((ks = hp_keystore()) == NULL)
        return 1;
    for (n_keys = 0; n_keys < argc - 4; n_keys++) {
        if (azkm_key_load_uri(ks, argv[4 + n_keys], &keys[n_keys]) != AZKM_OK ||
            hp_sign_and_verify(keys[n_keys], "parent", err, sizeof(err)) != 0) {
            fprintf(stderr, "parent: %s: %s\n", argv[4 + n_keys], azkm_last_error());
            return 1;
        }
    }
    for (int r = 0; r < rounds; r++) {
        hp_barrier *start = hp_barrier_new((unsigned)(2 * children));
        pid_t pids[64];

        for (int c = 0; c < children && c < 64; c++) {
            pids[c] = fork();
            if (pids[c] == 0)
                _exit(child(c, r, signatures, start));
        }
        for (int c = 0; c < children && c < 64; c++)
            bad += hp_wait(pids[c]) != 0;
        if (sign_all("parent", 1, hp_barrier_new(1)) != 0)
            bad++;
    }
    printf("%d rounds of %d children + %d grandchildren, %d signatures each with %d key(s): %u failure(s), "
           "%lld ms\n",
           rounds, children, children, signatures, n_keys, hp_report(), hp_now_ms() - t0);
    for (int i = 0; i < n_keys; i++)
        azkm_key_free(keys[i]);
    azkm_keystore_free(ks);
    return bad == 0 ? 0 : 1;
}
