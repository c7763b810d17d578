/* The request pipeline, top to bottom: identify the caller, find the route, authenticate, check the api-version,
 * find the vault, authorise, read the body, run the handler, respond, audit. Each stage that fails leaves its error
 * reply and skips to the response. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "api/issuer.h"
#include "api/routes.h"
#include "api/throttle.h"
#include "audit/request_audit.h"
#include "auth/authz.h"
#include "auth/tokens.h"
#include "json/body.h"
#include "live.h"

static const char *const api_versions[] = {"7.4", "7.5", "7.6", "2025-07-01"};

/* Random bytes for request ids, drawn 64 ids at a time: RAND_bytes per request cost several microseconds, as much
 * as the rest of the request's bookkeeping (docs/performance.md, "azkmd"). Not secret: nothing to clear. */
#define ID_POOL (64 * 16)
static _Thread_local unsigned char id_pool[ID_POOL];
static _Thread_local size_t id_used = ID_POOL;

static void random_id(unsigned char b[16])
{
    if (id_used == ID_POOL) {
        if (RAND_bytes(id_pool, sizeof(id_pool)) != 1)
            memset(id_pool, 0, sizeof(id_pool));
        id_used = 0;
    }
    memcpy(b, id_pool + id_used, 16);
    id_used += 16;
}

/* A version 4 UUID, 8-4-4-4-12 lowercase hex digits. */
static void uuid_text(unsigned char b[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
}

static void request_ids(azkmd_request *r)
{
    unsigned char b[16];
    const char *given = evhttp_find_header(evhttp_request_get_input_headers(r->req), "x-ms-client-request-id");
    size_t glen = given != NULL ? strlen(given) : 0;

    random_id(b);
    uuid_text(b, r->request_id);
    /* Echoed only when it is a plausible id: never a way to inject header or log content. */
    if (given != NULL && glen < sizeof(r->client_request_id) &&
        strspn(given, "0123456789abcdefABCDEF-_.:{}") == glen)
        memcpy(r->client_request_id, given, glen + 1);
}

static int check_api_version(azkmd_request *r)
{
    const char *v = azkmd_query(r, "api-version");

    for (size_t i = 0; v != NULL && i < sizeof(api_versions) / sizeof(api_versions[0]); i++)
        if (strcmp(v, api_versions[i]) == 0) {
            r->api_version = api_versions[i];
            return 1;
        }
    if (v == NULL)
        azkmd_reply_error(r, 400, "BadParameter",
                          "the api-version query parameter is missing (supported: 7.4, "
                          "7.5, 7.6, 2025-07-01)");
    else
        azkmd_reply_error(r, 400, "BadParameter",
                          "the specified version (%.32s) is not recognized; supported: 7.4, 7.5, 7.6, 2025-07-01",
                          v);
    return 0;
}

/* The vault: the listener's own, or the first label of Host under the configured domain. */
static int find_vault(azkmd_request *r)
{
    const azkmd_config *cfg = r->site->cfg;
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Host");
    size_t hlen, dlen = strlen(cfg->domain);
    char port[16] = "";

    if (r->site->listen->vault[0] != '\0') {
        snprintf(r->vault_name, sizeof(r->vault_name), "%s", r->site->listen->vault);
    } else {
        hlen = host != NULL ? strcspn(host, ":") : 0;
        if (hlen <= dlen + 1 || host[hlen - dlen - 1] != '.' ||
            strncasecmp(host + hlen - dlen, cfg->domain, dlen) || hlen - dlen - 1 > AZKM_VAULT_NAME_MAX) {
            azkmd_reply_error(r, 400, "BadParameter", "host '%.100s' is not <vault>.%s", host ? host : "",
                              cfg->domain);
            return 0;
        }
        snprintf(r->vault_name, sizeof(r->vault_name), "%.*s", (int)(hlen - dlen - 1), host);
    }
    if (!azkm_vault_name_valid(r->vault_name)) {
        azkmd_reply_error(r, 400, "BadParameter", "'%s' is not a valid vault name", r->vault_name);
        return 0;
    }
    if (r->site->listen->kind == AZKMD_LISTEN_TLS && r->site->port != 443)
        snprintf(port, sizeof(port), ":%d", r->site->port);
    snprintf(r->origin, sizeof(r->origin), "%s://%s.%s%s",
             r->site->listen->kind == AZKMD_LISTEN_TLS ? "https" : "http", r->vault_name, cfg->domain, port);
    return 1;
}

/* A bearer token of azkmd's own issuer: the service principal it names. Checked on every request (no cache): a
 * disabled signing key version or an expired token stops working at once. The refusal names the failed check and
 * never quotes the token. */
static int bearer(azkmd_request *r, const char *token)
{
    const azkmd_config *cfg = r->site->cfg;
    azkm_vault *v = NULL;
    char principal[48];
    azkm_rc rc;

    if (cfg->token_vault[0] == '\0') {
        azkmd_reply_error(r, 401, "Unauthorized",
                          "bearer tokens are not accepted: no token_signing_key configured");
        return 0;
    }
    if ((rc = azkmd_vaults_get(r->site->vaults, cfg->token_vault, &v)) != AZKM_OK) {
        azkmd_reply_rc(r, rc == AZKM_E_NOT_FOUND ? AZKM_E_IO : rc);
        return 0;
    }
    rc = azkmd_token_check(v, cfg, token, (int64_t)time(NULL), principal, sizeof(principal));
    if (rc != AZKM_OK) {
        if (rc == AZKM_E_AUTH)
            azkmd_reply_error(r, 401, "Unauthorized", "%s", azkm_last_error());
        else
            azkmd_reply_rc(r, rc);
        return 0;
    }
    snprintf(r->id.principals[0], sizeof(r->id.principals[0]), "%s", principal);
    r->id.n_principals = 1;
    r->id.method = AZKMD_AUTH_BEARER;
    return 1;
}

/* An Authorization header, when sent, is the caller's identity on any listener (a Unix peer too: the token is
 * what it chose to present). Only the Bearer scheme. */
static int authorization(azkmd_request *r, const char *value)
{
    while (*value == ' ')
        value++;
    if (strncasecmp(value, "Bearer ", 7) != 0) {
        azkmd_reply_error(r, 401, "Unauthorized", "AKV10000: the Authorization header's scheme is not Bearer");
        return 0;
    }
    value += 7;
    while (*value == ' ')
        value++;
    return bearer(r, value);
}

/* A Unix peer is its peer credentials. A TLS client is the service principal its certificate is registered to;
 * an unregistered certificate authenticates no one, so it gets the same 401 challenge as no certificate (not a
 * 403, which would say the caller is known and lacks a role): the client may then authenticate otherwise. */
static int authenticate(azkmd_request *r)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    azkm_rc rc;

    if (auth != NULL)
        return authorization(r, auth);
    if (r->id.method == AZKMD_AUTH_NONE) {
        azkmd_reply_error(r, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.");
        return 0;
    }
    if (r->id.method != AZKMD_AUTH_MTLS)
        return 1;
    rc = azkmd_identify_sp(azkmd_vaults_keystore(r->site->vaults), &r->id);
    if (rc == AZKM_OK)
        return 1;
    if (rc == AZKM_E_NOT_FOUND)
        azkmd_reply_error(r, 401, "Unauthorized", "%s", azkm_last_error());
    else
        azkmd_reply_rc(r, rc);
    return 0;
}

static int open_vault(azkmd_request *r)
{
    azkm_rc rc = azkmd_vaults_get(r->site->vaults, r->vault_name, &r->vault);

    if (rc == AZKM_OK)
        return 1;
    if (rc == AZKM_E_NOT_FOUND)
        azkmd_reply_error(r, 404, "VaultNotFound", "vault '%s' does not exist on this server", r->vault_name);
    else
        azkmd_reply_rc(r, rc);
    return 0;
}

static int authorize(azkmd_request *r)
{
    azkm_rc rc = azkmd_authorize(&r->id, r->site->self_uid, r->vault, r->data_action, r->name[0] ? r->name : NULL);

    if (rc == AZKM_OK)
        return 1;
    if (rc != AZKM_E_FORBIDDEN) { /* the assignments fail their MACs, or cannot be read: 500, audited */
        azkmd_reply_rc(r, rc);
        return 0;
    }
    snprintf(r->reply.message, sizeof(r->reply.message), "%s", azkm_last_error());
    azkmd_reply_error(r, 403, "Forbidden", "%s", azkm_last_error());
    r->reply.inner = "ForbiddenByRbac";
    json_object_set_new(json_object_get(r->reply.body, "error"), "innererror",
                        json_pack("{s:s}", "code", "ForbiddenByRbac"));
    return 0;
}

static int read_body(azkmd_request *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    json_error_t err;

    if (len == 0)
        return 1;
    r->body = json_loadb((const char *)evbuffer_pullup(in, -1), len, JSON_REJECT_DUPLICATES, &err);
    if (r->body == NULL) {
        azkmd_reply_error(r, 400, "BadParameter", "the request body is not JSON: %s (line %d, column %d)", err.text,
                          err.line, err.column);
        return 0;
    }
    if (!json_is_object(r->body)) {
        azkmd_reply_error(r, 400, "BadParameter", "the request body must be a JSON object");
        return 0;
    }
    return 1;
}

static int check_headers(azkmd_request *r)
{
    struct evkeyval *h;
    int n = 0;

    TAILQ_FOREACH(h, evhttp_request_get_input_headers(r->req), next)
    n++;
    if (n <= r->site->cfg->max_headers)
        return 1;
    azkmd_reply_error(r, 431, "BadParameter", "the request has %d header lines; the limit is %d", n,
                      r->site->cfg->max_headers);
    return 0;
}

/* Key Vault's challenge: the client learns where to get a token and for which resource. */
static void add_challenge(azkmd_request *r)
{
    char authority[300], resource[300], value[700];

    azkmd_token_authority(r->site->cfg, authority, sizeof(authority));
    azkmd_token_audience(r->site->cfg, resource, sizeof(resource));
    snprintf(value, sizeof(value), "Bearer authorization=\"%s/%s\", resource=\"%s\"", authority,
             r->site->cfg->tenant, resource);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate", value);
}

static const char *method_name(int m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    default:
        return "OTHER";
    }
}

static void audit(azkmd_request *r, const char *path)
{
    struct timespec end;
    azkmd_audit_fields f;

    clock_gettime(CLOCK_MONOTONIC, &end);
    memset(&f, 0, sizeof(f));
    f.request_id = r->request_id;
    f.client_request_id = r->client_request_id;
    f.id = &r->id;
    f.method = method_name(evhttp_request_get_command(r->req));
    f.path = path;
    f.operation = r->operation;
    f.vault = r->vault_name;
    f.key = r->name;
    f.version = r->version;
    f.status = r->reply.status;
    f.error_code = r->reply.code;
    f.message = r->reply.code != NULL ? r->reply.message : NULL;
    f.duration_ms = (double)(end.tv_sec - r->start.tv_sec) * 1e3 + (double)(end.tv_nsec - r->start.tv_nsec) / 1e6;
    azkmd_audit_request(azkmd_vaults_keystore(r->site->vaults), &f);
}

static void run(azkmd_request *r, const char *path)
{
    const azkmd_route *route;
    int authenticated;

    if (!check_headers(r) || azkmd_issuer_handle(r, path))
        return;
    /* Routed first so that every audit record names its operation, a refused caller's too; an unauthenticated
     * request is answered 401 whatever its path, as Key Vault does. */
    route = azkmd_route_find(r, evhttp_request_get_command(r->req), path);
    /* Throttled by its principal when it authenticated, else by its address (a refused caller too). */
    authenticated = authenticate(r);
    if (!azkmd_throttle_request(r) || !authenticated || route == NULL || !check_api_version(r) || !find_vault(r))
        return;
    if (!open_vault(r) || !authorize(r) || !read_body(r))
        return;
    azkm_clear_error();
    route->handler(r);
}

/* The request's bytes and parsed body may hold plaintexts or private keys: cleared before libevent and jansson free
 * them. */
static void wipe_request(azkmd_request *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);

    if (len > 0)
        OPENSSL_cleanse(evbuffer_pullup(in, -1), len);
    azkmd_json_wipe(r->body);
}

void azkmd_api_handle(struct evhttp_request *req, void *arg)
{
    azkmd_request r;
    azkmd_site site = *(const azkmd_site *)arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;

    memset(&r, 0, sizeof(r));
    clock_gettime(CLOCK_MONOTONIC, &r.start);
    r.req = req;
    /* The configuration in force when the request began, for all of it (a SIGHUP may replace it meanwhile). */
    site.cfg = azkmd_live_config(site.live);
    r.site = &site;
    TAILQ_INIT(&r.query);
    request_ids(&r);
    azkmd_identify(req, r.site->listen->kind == AZKMD_LISTEN_TLS, &r.id);
    if (path == NULL || *path == '\0')
        path = "/";
    if (query != NULL && evhttp_parse_query_str(query, &r.query) != 0)
        azkmd_reply_error(&r, 400, "BadParameter", "the query string is malformed");
    else
        run(&r, path);
    if (r.reply.status == 0)
        azkmd_reply_error(&r, 500, "InternalError", "the operation left no result");
    if (r.reply.status == 401 && !r.issuer)
        add_challenge(&r);
    azkmd_reply_send(&r);
    audit(&r, path);
    evhttp_clear_headers(&r.query);
    wipe_request(&r);
    json_decref(r.body);
    azkmd_json_wipe(r.reply.body);
    json_decref(r.reply.body);
    azkmd_live_release(site.live, site.cfg);
}
