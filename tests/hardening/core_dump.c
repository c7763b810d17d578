/* The two halves of the core-dump test (core_dump.sh):
 *   core_dump probe URI...     loads software keys the way the provider does (by URI, one private-key operation
 *                              each), prints "ready PID" and waits for stdin to close, for gcore to dump it;
 *   core_dump probe-fork URI... the same, then forks and lets the child (a server's worker) use the keys again
 *                              and be the one that prints "ready PID" and waits;
 *   core_dump find CORE HEX... counts where each secret (big-endian hex) occurs in the core: whole, as bytes
 *                              (DER, buffers) and reversed (a BIGNUM's limbs), and as a 16-byte piece from its
 * middle (a freed copy whose start malloc overwrote), one line "HEX be N le N piece N". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <azkm/keystore.h>

/* One private-key operation: a signature, or an AES-GCM encryption for an oct key. */
static int use(azkm_key *k)
{
    static const unsigned char msg[32] = "a digest to sign, 32 bytes long";
    const azkm_key_info *info = azkm_key_get_info(k);
    unsigned char out[1024], tag[16];
    size_t len = sizeof(out);
    azkm_sign_params sp;
    azkm_cipher_params cp;
    azkm_rc rc;

    if (info->kty == AZKM_KTY_OCT) {
        azkm_cipher_params_from_alg("A256GCM", &cp);
        cp.tag = tag;
        rc = azkm_key_encrypt(k, &cp, msg, sizeof(msg), out, &len);
    } else {
        azkm_sign_params_from_alg(info->kty == AZKM_KTY_RSA ? "RS256" : "ES256", &sp);
        rc = azkm_key_sign(k, &sp, msg, sizeof(msg), out, &len);
    }
    if (rc != AZKM_OK)
        fprintf(stderr, "probe: %s: %s\n", azkm_key_get_uri(k), azkm_last_error());
    return rc == AZKM_OK;
}

static int probe(int n, char **uris, int fork_first)
{
    azkm_keystore *ks = NULL;
    azkm_key **keys = calloc((size_t)n, sizeof(*keys));
    char buf[256];
    pid_t child = 0;
    int ret = 1, status;

    /* Under Yama's ptrace_scope 1 only an ancestor may attach: let the test's gcore in. */
    (void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    if (keys == NULL || azkm_keystore_open(NULL, &ks) != AZKM_OK) {
        fprintf(stderr, "probe: %s\n", azkm_last_error());
        goto end;
    }
    for (int i = 0; i < n; i++) {
        if (azkm_key_load_uri(ks, uris[i], &keys[i]) != AZKM_OK) {
            fprintf(stderr, "probe: %s: %s\n", uris[i], azkm_last_error());
            goto end;
        }
        if (!use(keys[i]))
            goto end;
    }
    if (fork_first && (child = fork()) < 0) {
        perror("probe: fork");
        goto end;
    }
    if (child > 0) {
        ret = waitpid(child, &status, 0) == child && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        goto end;
    }
    for (int i = 0; fork_first && i < n; i++)
        if (!use(keys[i]))
            goto end;
    printf("ready %ld\n", (long)getpid());
    fflush(stdout);
    while (fgets(buf, sizeof(buf), stdin) != NULL)
        ;
    ret = 0;
end:
    for (int i = 0; keys != NULL && i < n; i++)
        azkm_key_free(keys[i]);
    free(keys);
    azkm_keystore_free(ks);
    return ret;
}

static size_t count(const unsigned char *hay, size_t n, const unsigned char *needle, size_t m)
{
    size_t found = 0;

    for (const unsigned char *p = hay; m > 0 && n >= m && (size_t)(p - hay) <= n - m;) {
        p = memmem(p, n - (size_t)(p - hay), needle, m);
        if (p == NULL)
            break;
        found++;
        p++;
    }
    return found;
}

static int find(const char *path, int n, char **hex)
{
    FILE *f = fopen(path, "rb");
    unsigned char *core = NULL;
    long size;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (core = malloc((size_t)size)) == NULL || fread(core, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "find: cannot read %s\n", path);
        return 1;
    }
    fclose(f);
    for (int i = 0; i < n; i++) {
        size_t m = strlen(hex[i]) / 2, mid = m / 2 >= 8 ? m / 2 - 8 : 0;
        unsigned char be[1024], le[1024];

        if (m == 0 || m > sizeof(be) || strlen(hex[i]) != 2 * m) {
            fprintf(stderr, "find: bad hex '%s'\n", hex[i]);
            return 1;
        }
        for (size_t j = 0; j < m; j++) {
            unsigned v;

            sscanf(hex[i] + 2 * j, "%2x", &v);
            be[j] = (unsigned char)v;
            le[m - 1 - j] = (unsigned char)v;
        }
        printf("%s be %zu le %zu piece %zu\n", hex[i], count(core, (size_t)size, be, m),
               count(core, (size_t)size, le, m),
               m >= 32 ? count(core, (size_t)size, be + mid, 16) + count(core, (size_t)size, le + mid, 16) : 0);
    }
    free(core);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "probe") == 0)
        return probe(argc - 2, argv + 2, 0);
    if (argc >= 3 && strcmp(argv[1], "probe-fork") == 0)
        return probe(argc - 2, argv + 2, 1);
    if (argc >= 4 && strcmp(argv[1], "find") == 0)
        return find(argv[2], argc - 3, argv + 3);
    fprintf(stderr, "usage: core_dump probe|probe-fork URI... | core_dump find CORE HEX...\n");
    return 2;
}
