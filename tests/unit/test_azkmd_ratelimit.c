/* azkmd's token buckets (server/limits/ratelimit.c) on a clock the test drives: the burst, the refill rate, the
 * Retry-After, separate callers, no limit at rate 0, a table that stays within its size whatever the number of
 * callers, and threads taking from one bucket at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "limits/ratelimit.h"

static void test_burst_then_rate(void **state)
{
    azkmd_ratelimit *rl = NULL;

    assert_int_equal(azkmd_ratelimit_new(64, &rl), AZKM_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(azkmd_ratelimit_take(rl, "uid:1000", 2, 3, 100.0), 0);
    /* empty: half a second to the next request at 2 per second, said as 1 whole second */
    assert_int_equal(azkmd_ratelimit_take(rl, "uid:1000", 2, 3, 100.0), 1);
    assert_int_equal(azkmd_ratelimit_take(rl, "uid:1000", 2, 3, 100.25), 1);
    assert_int_equal(azkmd_ratelimit_take(rl, "uid:1000", 2, 3, 100.5), 0);
    assert_int_equal(azkmd_ratelimit_take(rl, "uid:1000", 2, 3, 100.5), 1);
    /* another caller has its own bucket */
    assert_int_equal(azkmd_ratelimit_take(rl, "sp:x", 2, 3, 100.5), 0);
    /* idle long enough: full again, never above the burst */
    for (int i = 0; i < 3; i++)
        assert_int_equal(azkmd_ratelimit_take(rl, "uid:1000", 2, 3, 1000.0), 0);
    assert_int_equal(azkmd_ratelimit_take(rl, "uid:1000", 2, 3, 1000.0), 1);
    /* a clock that goes back takes nothing away and gives nothing */
    assert_int_equal(azkmd_ratelimit_take(rl, "uid:1000", 2, 3, 999.0), 1);
    azkmd_ratelimit_free(rl);
}

static void test_retry_after_in_whole_seconds(void **state)
{
    azkmd_ratelimit *rl = NULL;

    assert_int_equal(azkmd_ratelimit_new(8, &rl), AZKM_OK);
    /* one request per 10 s: the second waits 10 s, and less as time passes, never 0 while refused */
    assert_int_equal(azkmd_ratelimit_take(rl, "k", 0.1, 1, 5.0), 0);
    assert_int_equal(azkmd_ratelimit_take(rl, "k", 0.1, 1, 5.0), 10);
    assert_int_equal(azkmd_ratelimit_take(rl, "k", 0.1, 1, 11.5), 4);
    assert_int_equal(azkmd_ratelimit_take(rl, "k", 0.1, 1, 14.99), 1);
    assert_int_equal(azkmd_ratelimit_take(rl, "k", 0.1, 1, 15.0), 0);
    azkmd_ratelimit_free(rl);
}

static void test_rate_zero_is_no_limit(void **state)
{
    azkmd_ratelimit *rl = NULL;

    assert_int_equal(azkmd_ratelimit_new(8, &rl), AZKM_OK);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(azkmd_ratelimit_take(rl, "k", 0, 0, 1.0), 0);
    assert_int_equal(azkmd_ratelimit_used(rl), 0);
    azkmd_ratelimit_free(rl);
}

/* Many callers (a hostile client making up addresses): the table never holds more than its size; the callers
 * pushed out were idle the longest, and a recent caller keeps its (empty) bucket. */
static void test_bounded_table(void **state)
{
    azkmd_ratelimit *rl = NULL;
    char key[32];

    assert_int_equal(azkmd_ratelimit_new(64, &rl), AZKM_OK);
    assert_int_equal(azkmd_ratelimit_take(rl, "victim", 1, 1, 0.0), 0);
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "addr:10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        azkmd_ratelimit_take(rl, key, 1, 1, 0.0);
    }
    assert_true(azkmd_ratelimit_used(rl) <= 64);
    assert_int_equal(azkmd_ratelimit_take(rl, "recent", 1, 1, 0.5), 0);
    assert_int_equal(azkmd_ratelimit_take(rl, "recent", 1, 1, 0.5), 1);
    /* a key longer than the table keeps is cut, and still limited */
    assert_int_equal(
        azkmd_ratelimit_take(rl,
                             "sp:0123456789012345678901234567890123456789012345678901234567890123456789"
                             "0123456789-a",
                             1, 1, 0.5),
        0);
    assert_int_equal(
        azkmd_ratelimit_take(rl,
                             "sp:0123456789012345678901234567890123456789012345678901234567890123456789"
                             "0123456789-b",
                             1, 1, 0.5),
        1);
    azkmd_ratelimit_free(rl);
}

typedef struct {
    azkmd_ratelimit *rl;
    int allowed;
} taker;

static void *take_many(void *arg)
{
    taker *t = arg;

    for (int i = 0; i < 20000; i++)
        t->allowed += azkmd_ratelimit_take(t->rl, "shared", 1, 1000, 42.0) == 0;
    return NULL;
}

/* Four threads on one bucket of 1000 at a fixed time: exactly 1000 requests pass in all. */
static void test_threads_share_a_bucket(void **state)
{
    azkmd_ratelimit *rl = NULL;
    pthread_t th[4];
    taker t[4];
    int total = 0;

    assert_int_equal(azkmd_ratelimit_new(1024, &rl), AZKM_OK);
    for (int i = 0; i < 4; i++) {
        t[i] = (taker){rl, 0};
        assert_int_equal(pthread_create(&th[i], NULL, take_many, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += t[i].allowed;
    }
    assert_int_equal(total, 1000);
    azkmd_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),        cmocka_unit_test(test_retry_after_in_whole_seconds),
        cmocka_unit_test(test_rate_zero_is_no_limit),  cmocka_unit_test(test_bounded_table),
        cmocka_unit_test(test_threads_share_a_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
