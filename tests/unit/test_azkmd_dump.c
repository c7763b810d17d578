/* azkmd's reply writer (server/json/dump.c) writes what json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) writes:
 * compared byte for byte on reply-like bodies, every escaped character, integers at their limits, keys in
 * insertion order, empty containers, and the values it hands to jansson (reals, non-ASCII strings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json/dump.h"

static void same_as_jansson(json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER), *got = azkmd_json_dumps(v);

    if (want == NULL || got == NULL) {
        assert_null(want);
        assert_null(got);
    } else {
        assert_string_equal(got, want);
    }
    free(want);
    free(got);
    json_decref(v);
}

static void reply_bodies(void **state)
{
    (void)state;
    same_as_jansson(json_pack("{s:s,s:s}", "kid", "http://swv.vault.azkm.localhost/keys/ec256/0123456789abcdef",
                              "value", "MEUCIQD-abc_def"));
    same_as_jansson(json_pack("{s:{s:s,s:[s,s],s:s,s:s},s:{s:b,s:I,s:I,s:i,s:s},s:{}}", "key", "kid", "k",
                              "key_ops", "sign", "verify", "kty", "EC", "crv", "P-256", "attributes", "enabled", 1,
                              "created", (json_int_t)1764800000, "updated", (json_int_t)-1, "recoverableDays", 7,
                              "recoveryLevel", "Recoverable+Purgeable", "tags"));
    same_as_jansson(json_pack("{s:{s:s,s:s,s:{s:s}}}", "error", "code", "BadParameter", "message",
                              "the request body is not JSON: '[' or '{' expected near 'x' (line 1, column 1)",
                              "innererror", "code", "ForbiddenByRbac"));
    same_as_jansson(json_pack("{s:[],s:n,s:b,s:[{},[],[n]]}", "value", "nextLink", "x", 0, "nested"));
    same_as_jansson(json_pack("[s,i,{s:s}]", "a", 1, "b", "c"));
    same_as_jansson(json_object());
    same_as_jansson(json_array());
}

static void escapes_and_limits(void **state)
{
    char all[128];
    json_t *o = json_object();

    (void)state;
    for (int i = 0; i < 127; i++)
        all[i] = (char)(i + 1); /* every ASCII byte but NUL, in a value and in a key */
    all[127] = '\0';
    json_object_set_new(o, all, json_string(all));
    json_object_set_new(o, "with NUL", json_stringn("a\0b", 3));
    json_object_set_new(o, "slash", json_string("a/b\\c\"d"));
    json_object_set_new(o, "min", json_integer(INT64_MIN));
    json_object_set_new(o, "max", json_integer(INT64_MAX));
    json_object_set_new(o, "zero", json_integer(0));
    same_as_jansson(o);
    /* insertion order, not the keys' order */
    same_as_jansson(json_pack("{s:i,s:i,s:i,s:i}", "z", 1, "a", 2, "m", 3, "b", 4));
}

static void handed_to_jansson(void **state)
{
    (void)state;
    same_as_jansson(json_pack("{s:f,s:f,s:f,s:f}", "a", 1.0, "b", 0.1, "c", 1e300, "d", -2.5e-7));
    same_as_jansson(json_pack("{s:s,s:s}", "tag", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", "k", "v"));
    same_as_jansson(json_pack("[s]", "\xe2\x80\xa8"));
    same_as_jansson(json_string("a string alone")); /* NULL from both: not an object or array */
    same_as_jansson(json_integer(3));
    assert_null(azkmd_json_dumps(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reply_bodies),
        cmocka_unit_test(escapes_and_limits),
        cmocka_unit_test(handed_to_jansson),
    };
    return cmocka_run_group_tests_name("azkmd reply writer", tests, NULL, NULL);
}
