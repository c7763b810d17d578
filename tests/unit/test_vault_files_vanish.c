/* A vault's WAL and shared-memory files vanish while another process opens the vault: the last process to close
 * a vault's database deletes both, at any moment. Linked with --wrap=stat, so that the library's calls to stat
 * come here: armed with a suffix, the first look at that file finds it (as it was an instant before the other
 * process closed the vault) and every later look finds it gone. Opening the vault must succeed. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

int __real_stat(const char *path, struct stat *st);
int __wrap_stat(const char *path, struct stat *st);

static const char *vanishing; /* "-wal" or "-shm": that file is seen once, then gone */
static int looks;             /* how many times the library looked at it */

int __wrap_stat(const char *path, struct stat *st)
{
    size_t n = strlen(path), k = vanishing != NULL ? strlen(vanishing) : 0;

    if (k == 0 || n < k || strcmp(path + n - k, vanishing) != 0)
        return __real_stat(path, st);
    if (looks++ > 0) {
        errno = ENOENT;
        return -1;
    }
    memset(st, 0, sizeof(*st));
    st->st_mode = S_IFREG | 0600;
    st->st_nlink = 1;
    st->st_uid = geteuid();
    st->st_gid = getegid();
    return 0;
}

static void open_while_vanishing(fixture *f, const char *suffix)
{
    azkm_vault_params vp = {7, 0, AZKM_PROTECTOR_PLATFORM, NULL};
    azkm_vault *v = NULL;

    assert_ok(azkm_vault_create(f->ks, "closing", &vp));
    vanishing = suffix;
    looks = 0;
    assert_ok(azkm_vault_open(f->ks, "closing", &v));
    vanishing = NULL;
    assert_true(looks >= 1);
    azkm_vault_close(v);
}

static void shared_memory_file_vanishes(void **state)
{
    open_while_vanishing(*state, "/vault.db-shm");
}

static void wal_file_vanishes(void **state)
{
    open_while_vanishing(*state, "/vault.db-wal");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(shared_memory_file_vanishes, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(wal_file_vanishes, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests_name("vault files vanish", tests, NULL, NULL);
}
