/* Shared fixtures for the keystore unit tests. */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

int64_t test_clock(void *arg)
{
    return ((fixture *)arg)->now;
}

int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

azkm_keystore *fixture_reopen(fixture *f)
{
    azkm_options opt;
    azkm_keystore *ks = NULL;

    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = f->dir;
    opt.clock = test_clock;
    opt.clock_arg = f;
    if (azkm_keystore_open(&opt, &ks) != AZKM_OK)
        return NULL;
    return ks;
}

int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    azkm_vault_params vp = {7, 0, AZKM_PROTECTOR_PLATFORM, NULL};

    snprintf(f->dir, sizeof(f->dir), "/tmp/azkm-unit-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    f->now = 1800000000; /* 2027-01-15 */
    f->ks = fixture_reopen(f);
    if (f->ks == NULL || azkm_vault_create(f->ks, "vault1", &vp) != AZKM_OK ||
        azkm_vault_open(f->ks, "vault1", &f->v) != AZKM_OK) {
        fprintf(stderr, "fixture: %s\n", azkm_last_error());
        return -1;
    }
    *state = f;
    return 0;
}

int fixture_teardown(void **state)
{
    fixture *f = *state;

    azkm_vault_close(f->v);
    azkm_keystore_free(f->ks);
    sh("rm -rf '%s'", f->dir);
    free(f);
    return 0;
}
