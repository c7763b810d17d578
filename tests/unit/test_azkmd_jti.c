/* The client assertions' replay cache (server/auth/jti_cache.c): an id is accepted once while it is live, again
 * once it has expired; a cache full of live ids refuses new ones rather than forget one (which would allow its
 * replay), and makes room as they expire. Ids here are their number in the first bytes: the slot they hash to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/jti_cache.h"

static void id_of(unsigned n, unsigned char id[32])
{
    memset(id, 0, 32);
    for (int i = 0; i < 4; i++)
        id[i] = (unsigned char)(n >> (8 * i));
    id[31] = (unsigned char)(n >> 16) | 0x80; /* ids equal in their first bytes differ here */
}

static void an_id_is_accepted_once_while_live(void **state)
{
    unsigned char a[32], b[32];

    (void)state;
    azkmd_jti_reset();
    id_of(1, a);
    id_of(2, b);
    assert_int_equal(azkmd_jti_remember(a, 1000, 100), AZKMD_JTI_NEW);
    assert_int_equal(azkmd_jti_remember(a, 1000, 200), AZKMD_JTI_REPLAY);
    assert_int_equal(azkmd_jti_remember(b, 1000, 200), AZKMD_JTI_NEW);
    assert_int_equal(azkmd_jti_remember(a, 1000, 999), AZKMD_JTI_REPLAY);
    /* expired: forgotten (the assertion itself is refused by its exp before it gets here) */
    assert_int_equal(azkmd_jti_remember(a, 2000, 1000), AZKMD_JTI_NEW);
}

static void a_full_cache_refuses_until_ids_expire(void **state)
{
    unsigned char id[32];

    (void)state;
    azkmd_jti_reset();
    for (unsigned i = 0; i < AZKMD_JTI_CACHE_SIZE; i++) {
        id_of(i, id);
        assert_int_equal(azkmd_jti_remember(id, 500 + (i == 7 ? 0 : 1000), 100), AZKMD_JTI_NEW);
    }
    id_of(AZKMD_JTI_CACHE_SIZE, id);
    assert_int_equal(azkmd_jti_remember(id, 2000, 100), AZKMD_JTI_FULL);
    id_of(3, id);
    assert_int_equal(azkmd_jti_remember(id, 2000, 100), AZKMD_JTI_REPLAY);
    /* entry 7 expires at 500: its slot takes the next id */
    id_of(AZKMD_JTI_CACHE_SIZE, id);
    assert_int_equal(azkmd_jti_remember(id, 2000, 600), AZKMD_JTI_NEW);
    id_of(AZKMD_JTI_CACHE_SIZE + 1, id);
    assert_int_equal(azkmd_jti_remember(id, 2000, 600), AZKMD_JTI_FULL);
}

/* Ids hashing to one slot take the next ones; a replay is found past a tombstone. */
static void colliding_ids_probe_past_expired_ones(void **state)
{
    unsigned char a[32], b[32], c[32];

    (void)state;
    azkmd_jti_reset();
    id_of(5, a);
    id_of(5 + AZKMD_JTI_CACHE_SIZE, b); /* slot 5 too */
    id_of(5 + 2 * AZKMD_JTI_CACHE_SIZE, c);
    assert_int_equal(azkmd_jti_remember(a, 300, 100), AZKMD_JTI_NEW);
    assert_int_equal(azkmd_jti_remember(b, 1000, 100), AZKMD_JTI_NEW);
    assert_int_equal(azkmd_jti_remember(b, 1000, 400), AZKMD_JTI_REPLAY); /* past a's tombstone */
    assert_int_equal(azkmd_jti_remember(c, 1000, 400), AZKMD_JTI_NEW);    /* into a's slot */
    assert_int_equal(azkmd_jti_remember(c, 1000, 500), AZKMD_JTI_REPLAY);
    assert_int_equal(azkmd_jti_remember(b, 1000, 500), AZKMD_JTI_REPLAY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_id_is_accepted_once_while_live),
        cmocka_unit_test(a_full_cache_refuses_until_ids_expire),
        cmocka_unit_test(colliding_ids_probe_past_expired_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
