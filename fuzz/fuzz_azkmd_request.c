/* Fuzzes azkmd's request parsing and routing: the route matcher on any path and method, then the JSON body readers
 * (key_ops, attributes, tags, binary fields, private JWKs) on any body. Input: one byte picking the method, the
 * path up to the first newline, then the body. A route found must carry a valid key name and an empty or valid
 * version; a refusal must be a 4xx with Key Vault's error body and a message. */
#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/crypto.h>

#include "api/routes.h"
#include "fuzz_util.h"
#include "json/attributes.h"
#include "json/body.h"
#include "json/jwk_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int methods[] = {EVHTTP_REQ_GET,   EVHTTP_REQ_POST,   EVHTTP_REQ_PUT,
                              EVHTTP_REQ_PATCH, EVHTTP_REQ_DELETE, EVHTTP_REQ_HEAD};

static void check_route(int method, const char *path)
{
    azkmd_request r;
    const azkmd_route *route;
    const char *code;

    memset(&r, 0, sizeof(r));
    route = azkmd_route_find(&r, method, path);
    if (route != NULL) {
        FUZZ_CHECK(r.name[0] == '\0' || azkm_key_name_valid(r.name), "route with name '%s'", r.name);
        FUZZ_CHECK(r.version[0] == '\0' || azkm_version_valid(r.version), "route with version '%s'", r.version);
        FUZZ_CHECK(strncmp(r.data_action, "Microsoft.KeyVault/", 19) == 0, "data action %s", r.data_action);
        FUZZ_CHECK(r.reply.body == NULL, "a route found with an error reply");
        return;
    }
    code = json_string_value(json_object_get(json_object_get(r.reply.body, "error"), "code"));
    FUZZ_CHECK(r.reply.status >= 400 && r.reply.status < 500, "refusal with status %d", r.reply.status);
    FUZZ_CHECK(code != NULL && r.reply.message[0] != '\0', "refusal without code or message");
    json_decref(r.reply.body);
}

static void check_body(const json_t *body)
{
    azkm_attributes attrs;
    unsigned fields = 0;
    unsigned char *bytes = NULL, *der = NULL;
    size_t len = 0, derlen = 0;
    azkm_kty kty;
    azkm_protection protection;
    json_t *jwk = NULL;

    memset(&attrs, 0, sizeof(attrs));
    if (azkmd_read_key_ops(body, &attrs.key_ops, &fields) == AZKM_OK)
        FUZZ_CHECK((attrs.key_ops & ~AZKM_OP_ALL) == 0, "key_ops 0x%x", attrs.key_ops);
    azkmd_read_attributes(body, &attrs, &fields);
    if (azkmd_read_tags(body, &attrs, &fields) == AZKM_OK)
        FUZZ_CHECK(attrs.n_tags <= AZKM_MAX_TAGS, "%zu tags", attrs.n_tags);
    if (azkmd_body_bytes(body, "value", 0, &bytes, &len) == AZKM_OK)
        azkm_free(bytes);
    if (azkmd_body_object(body, "key", &jwk) == AZKM_OK && jwk != NULL &&
        azkmd_jwk_private(jwk, &kty, &protection, &der, &derlen) == AZKM_OK)
        OPENSSL_clear_free(der, derlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[1024];
    const uint8_t *nl;
    size_t plen;
    json_t *body = NULL;

    if (size < 1)
        return 0;
    nl = memchr(data + 1, '\n', size - 1);
    plen = nl != NULL ? (size_t)(nl - data - 1) : size - 1;
    if (plen >= sizeof(path) || memchr(data + 1, '\0', plen) != NULL)
        return 0;
    memcpy(path, data + 1, plen);
    path[plen] = '\0';
    check_route(methods[data[0] % 6], path);
    if (nl != NULL && (body = json_loadb((const char *)nl + 1, size - plen - 2, JSON_REJECT_DUPLICATES, NULL)))
        check_body(body);
    if (nl != NULL)
        json_decref(body);
    azkm_clear_error();
    return 0;
}
