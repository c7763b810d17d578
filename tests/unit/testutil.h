/* Shared fixtures for the keystore unit tests: a private temporary keystore and an injectable clock. */
#ifndef AZKM_TESTUTIL_H
#define AZKM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "azkm/keystore.h"

typedef struct {
    char dir[256];
    int64_t now;
    azkm_keystore *ks;
    azkm_vault *v;
} fixture;

int64_t test_clock(void *arg);
/* Creates a temp keystore with vault "vault1" open (platform protector, 7 day retention). */
int fixture_setup(void **state);
int fixture_teardown(void **state);
/* Opens a second keystore handle on the same directory. */
azkm_keystore *fixture_reopen(fixture *f);
/* Runs a shell command, returning its exit status. */
int sh(const char *fmt, ...);

#define assert_ok(expr)                                                                                            \
    do {                                                                                                           \
        azkm_rc rc_ = (expr);                                                                                      \
        if (rc_ != AZKM_OK)                                                                                        \
            fail_msg("%s -> %s: %s", #expr, azkm_rc_name(rc_), azkm_last_error());                                 \
    } while (0)

#define assert_rc(expr, want, pattern)                                                                             \
    do {                                                                                                           \
        azkm_rc rc_ = (expr);                                                                                      \
        if (rc_ != (want))                                                                                         \
            fail_msg("%s -> %s (%s), expected %s", #expr, azkm_rc_name(rc_), azkm_last_error(),                    \
                     azkm_rc_name(want));                                                                          \
        if (strstr(azkm_last_error(), (pattern)) == NULL)                                                          \
            fail_msg("%s: message '%s' does not mention '%s'", #expr, azkm_last_error(), (pattern));               \
    } while (0)

#endif
