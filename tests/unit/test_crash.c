/* Durability under kill -9: writers in child processes create, rotate and retag keys and report each
 * acknowledged write; they are killed at random points while readers load every listed key. Afterwards the
 * vault passes its full check and every acknowledged write is there. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define ROUNDS 12
#define MAX_ACKS 4096

typedef struct {
    char op;
    char name[64];
    char version[33];
    char tag[32];
} ack;

static ack acks[MAX_ACKS];
static size_t n_acks;

static void writer(const char *dir, int round, int fd)
{
    fixture f;
    azkm_vault *v;
    azkm_keystore *ks;
    azkm_options opt;

    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = dir;
    memset(&f, 0, sizeof(f));
    if (azkm_keystore_open(&opt, &ks) != AZKM_OK || azkm_vault_open(ks, "vault1", &v) != AZKM_OK)
        _exit(2);
    for (int i = 0;; i++) {
        char name[64], line[160];
        azkm_keyspec s;
        azkm_key_info info;
        azkm_attributes a;

        memset(&s, 0, sizeof(s));
        s.kty = (i % 3 == 0) ? AZKM_KTY_OCT : AZKM_KTY_EC;
        snprintf(name, sizeof(name), "r%d-k%d", round, i);
        if (azkm_key_create(v, name, &s, &info) != AZKM_OK)
            _exit(3);
        snprintf(line, sizeof(line), "C %s %s -\n", name, info.version);
        if (write(fd, line, strlen(line)) < 0)
            _exit(4);
        if (i % 2 == 1) {
            if (azkm_key_rotate(v, name, &info) != AZKM_OK)
                _exit(5);
            snprintf(line, sizeof(line), "R %s %s -\n", name, info.version);
            if (write(fd, line, strlen(line)) < 0)
                _exit(4);
        }
        memset(&a, 0, sizeof(a));
        snprintf(line, sizeof(line), "t=%d", i);
        azkm_tags_parse(line, &a);
        if (azkm_key_set_attributes(v, name, NULL, AZKM_ATTR_TAGS, &a, NULL) != AZKM_OK)
            _exit(6);
        snprintf(line, sizeof(line), "T %s - %d\n", name, i);
        if (write(fd, line, strlen(line)) < 0)
            _exit(4);
    }
}

/* Loads every listed key until killed; exits 1 on the first key that lists but does not load. */
static void reader(const char *dir)
{
    azkm_keystore *ks;
    azkm_vault *v;
    azkm_options opt;

    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = dir;
    if (azkm_keystore_open(&opt, &ks) != AZKM_OK || azkm_vault_open(ks, "vault1", &v) != AZKM_OK)
        _exit(2);
    for (;;) {
        azkm_key_info *list = NULL;
        size_t n = 0;

        if (azkm_key_list(v, 0, &list, &n) != AZKM_OK) {
            fprintf(stderr, "reader: list: %s\n", azkm_last_error());
            _exit(1);
        }
        for (size_t i = 0; i < n; i++) {
            azkm_key *k = NULL;

            if (azkm_key_load(v, list[i].name, list[i].version, &k) != AZKM_OK) {
                fprintf(stderr, "reader: %s\n", azkm_last_error());
                _exit(1);
            }
            azkm_key_free(k);
        }
        azkm_free(list);
    }
}

static void collect(int fd)
{
    static char buf[1 << 16];
    static size_t used;
    ssize_t r;

    while ((r = read(fd, buf + used, sizeof(buf) - used - 1)) > 0) {
        char *line, *nl;

        used += (size_t)r;
        buf[used] = '\0';
        line = buf;
        while ((nl = strchr(line, '\n')) != NULL && n_acks < MAX_ACKS) {
            ack *a = &acks[n_acks++];

            *nl = '\0';
            sscanf(line, "%c %63s %32s %31s", &a->op, a->name, a->version, a->tag);
            line = nl + 1;
        }
        used = strlen(line);
        memmove(buf, line, used);
    }
}

static void acknowledged_writes_survive_kill_9(void **state)
{
    fixture *f = *state;
    pid_t readers[2];
    size_t checked = 0;

    srand((unsigned)time(NULL));
    for (int i = 0; i < 2; i++) {
        readers[i] = fork();
        if (readers[i] == 0)
            reader(f->dir);
    }
    for (int round = 0; round < ROUNDS; round++) {
        int p[2];
        pid_t pid;
        struct timespec ts = {0, (long)(20 + rand() % 180) * 1000000L};

        assert_int_equal(pipe(p), 0);
        pid = fork();
        if (pid == 0) {
            close(p[0]);
            writer(f->dir, round, p[1]);
        }
        close(p[1]);
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        collect(p[0]);
        close(p[0]);
    }
    for (int i = 0; i < 2; i++) {
        int st = 0;

        /* a reader that already exited found a listed key it could not load */
        assert_int_equal(waitpid(readers[i], &st, WNOHANG), 0);
        kill(readers[i], SIGKILL);
        waitpid(readers[i], &st, 0);
    }
    print_message("%zu acknowledged writes over %d killed writers\n", n_acks, ROUNDS);
    assert_true(n_acks > ROUNDS);
    assert_ok(azkm_vault_verify(f->v, &checked));
    for (size_t i = 0; i < n_acks; i++) {
        azkm_key_info info;

        if (acks[i].op == 'T') {
            assert_ok(azkm_key_show(f->v, acks[i].name, NULL, &info));
            /* a later acknowledged rotate copies the tags, so the value holds for the current version */
            assert_int_equal(info.attrs.n_tags, 1);
            assert_string_equal(info.attrs.tags[0].value, acks[i].tag);
        } else {
            assert_ok(azkm_key_show(f->v, acks[i].name, acks[i].version, &info));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(acknowledged_writes_survive_kill_9, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests_name("crash", tests, NULL, NULL);
}
