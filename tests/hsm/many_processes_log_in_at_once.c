/* Many processes initialise the PKCS#11 module and log in to one SoftHSM token at the same moment, round after
 * round: each round, PROCS fresh processes are released together by a barrier, and each opens the keystore, loads
 * an HSM key (C_Initialize, the slot search, C_Login: SoftHSM rewrites the token's files on every login) and signs.
 * Every one of them must sign; before the token store lock and the recovery, some failed with CKR_GENERAL_ERROR,
 * CKR_USER_PIN_NOT_INITIALIZED or "token not found".
 *
 * usage: many_processes_log_in_at_once PROCS ROUNDS URI... (keystore: AZKM_KEYSTORE_DIR) */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hsmproc.h"

/* One of PROCS long-lived workers: each round, after the barrier, a fresh process of its own does the whole path.
 */
static int worker(int id, int rounds, char **uris, int n_uris, hp_barrier *start)
{
    int failed = 0;

    for (int r = 0; r < rounds; r++) {
        pid_t pid;

        hp_barrier_wait(start);
        pid = fork();
        if (pid == 0) {
            char err[512];
            const char *uri = uris[(id + r) % n_uris];

            if (hp_sign_uri_once(uri, err, sizeof(err)) != 0) {
                hp_failed("process %d round %d: %s", id, r, err);
                _exit(1);
            }
            _exit(0);
        }
        if (pid < 0 || hp_wait(pid) != 0)
            failed++;
    }
    return failed;
}

int main(int argc, char **argv)
{
    int procs, rounds, bad = 0;
    hp_barrier *start;
    pid_t *pids;
    long long t0 = hp_now_ms();

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 4 || (procs = atoi(argv[1])) <= 0 || (rounds = atoi(argv[2])) <= 0) {
        fprintf(stderr, "usage: many_processes_log_in_at_once PROCS ROUNDS URI...\n");
        return 2;
    }
    hp_failures_init();
    start = hp_barrier_new((unsigned)procs);
    pids = calloc((size_t)procs, sizeof(*pids));
    /* The parent never touches the module: every worker's child starts from nothing. */
    for (int i = 0; i < procs; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(worker(i, rounds, argv + 3, argc - 3, start) == 0 ? 0 : 1);
    }
    for (int i = 0; i < procs; i++)
        bad += hp_wait(pids[i]) != 0;
    printf("%d processes x %d rounds: %u of %d loads and signatures failed (%d workers saw a failure), %lld ms\n",
           procs, rounds, hp_report(), procs * rounds, bad, hp_now_ms() - t0);
    free(pids);
    return bad == 0 ? 0 : 1;
}
