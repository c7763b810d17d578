/* azkmd's route table and path matcher: the SDKs' quirks (empty version for the current one, "keys/k/" and
 * "keys/k//sign"), case-insensitive literals, names and versions checked as the keystore names them, 404 for an
 * unknown path, 405 for a known path with another method, and every route with an Azure data action. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <event2/http.h>

#include "api/routes.h"

static const azkmd_route *find(azkmd_request *r, int method, const char *path)
{
    json_decref(r->reply.body);
    memset(r, 0, sizeof(*r));
    return azkmd_route_find(r, method, path);
}

static void expect_route(int method, const char *path, const char *operation, const char *name, const char *version)
{
    azkmd_request r;
    const azkmd_route *route;

    memset(&r, 0, sizeof(r));
    route = find(&r, method, path);
    if (route == NULL)
        fail_msg("%s: no route (%d %s)", path, r.reply.status, r.reply.message);
    assert_string_equal(route->operation, operation);
    assert_string_equal(r.operation, operation);
    assert_string_equal(r.name, name);
    assert_string_equal(r.version, version);
    assert_true(strncmp(r.data_action, "Microsoft.KeyVault/", 19) == 0);
}

static void expect_refused(int method, const char *path, int status, const char *code)
{
    azkmd_request r;

    memset(&r, 0, sizeof(r));
    assert_null(find(&r, method, path));
    assert_int_equal(r.reply.status, status);
    assert_string_equal(r.reply.code, code);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.reply.body, "error"), "code")), code);
    json_decref(r.reply.body);
}

#define V "0123456789abcdef0123456789abcdef"

static void test_sdk_forms_of_the_current_version(void **state)
{
    expect_route(EVHTTP_REQ_GET, "/keys/web", "KeyGet", "web", "");
    expect_route(EVHTTP_REQ_GET, "/keys/web/", "KeyGet", "web", "");
    expect_route(EVHTTP_REQ_GET, "/keys/web/" V, "KeyGet", "web", V);
    expect_route(EVHTTP_REQ_POST, "/keys/web//sign", "KeySign", "web", "");
    expect_route(EVHTTP_REQ_POST, "/keys/web/" V "/unwrapkey", "KeyUnwrap", "web", V);
    expect_route(EVHTTP_REQ_PATCH, "/keys/web", "KeyUpdate", "web", "");
}

static void test_literals_before_versions(void **state)
{
    expect_route(EVHTTP_REQ_GET, "/keys/Web-1/versions", "KeyListVersions", "Web-1", "");
    expect_route(EVHTTP_REQ_GET, "/keys/web/rotationpolicy", "KeyRotationPolicyGet", "web", "");
    expect_route(EVHTTP_REQ_PUT, "/keys/web/rotationpolicy", "KeyRotationPolicyUpdate", "web", "");
    expect_route(EVHTTP_REQ_POST, "/keys/restore", "KeyRestore", "", "");
    /* "restore" is also a valid key name: GET reads it. */
    expect_route(EVHTTP_REQ_GET, "/keys/restore", "KeyGet", "restore", "");
    expect_route(EVHTTP_REQ_POST, "/Keys/web//SIGN", "KeySign", "web", "");
}

static void test_vault_level_routes(void **state)
{
    expect_route(EVHTTP_REQ_GET, "/keys", "KeyList", "", "");
    expect_route(EVHTTP_REQ_GET, "/deletedkeys", "KeyListDeleted", "", "");
    expect_route(EVHTTP_REQ_DELETE, "/deletedkeys/web", "KeyPurge", "web", "");
    expect_route(EVHTTP_REQ_POST, "/deletedkeys/web/recover", "KeyRecover", "web", "");
    expect_route(EVHTTP_REQ_POST, "/rng", "GetRandomBytes", "", "");
}

static void test_refusals(void **state)
{
    char longname[200];

    expect_refused(EVHTTP_REQ_GET, "/secrets/s", 404, "NotFound");
    expect_refused(EVHTTP_REQ_GET, "/keys/", 404, "NotFound");
    expect_refused(EVHTTP_REQ_GET, "/keys/../../etc/passwd", 404, "NotFound");
    expect_refused(EVHTTP_REQ_GET, "/a/b/c/d/e/f/g/h/i/j/k", 404, "NotFound");
    expect_refused(EVHTTP_REQ_POST, "/keys/web/sign", 405, "MethodNotAllowed");
    expect_refused(EVHTTP_REQ_DELETE, "/keys", 405, "MethodNotAllowed");
    expect_refused(EVHTTP_REQ_GET, "/keys/a_b", 400, "BadParameter");
    expect_refused(EVHTTP_REQ_GET, "/keys/..%2f..%2fetc", 400, "BadParameter");
    expect_refused(EVHTTP_REQ_GET, "/keys/web/XYZ", 400, "BadParameter");
    expect_refused(EVHTTP_REQ_GET, "/keys/web/" V "0", 400, "BadParameter");
    /* Names are 1-127 characters. */
    memcpy(longname, "/keys/", 6);
    memset(longname + 6, 'a', 127);
    longname[6 + 127] = '\0';
    expect_route(EVHTTP_REQ_GET, longname, "KeyGet", longname + 6, "");
    longname[6 + 127] = 'a';
    longname[6 + 128] = '\0';
    expect_refused(EVHTTP_REQ_GET, longname, 400, "BadParameter");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdk_forms_of_the_current_version),
        cmocka_unit_test(test_literals_before_versions),
        cmocka_unit_test(test_vault_level_routes),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
