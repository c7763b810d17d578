/* azkmd as its own OAuth2 token issuer, at the paths Microsoft Entra ID uses so that @azure/identity's
 * ClientSecretCredential and ClientCertificateCredential (authorityHost = azkmd) work unchanged: OpenID discovery,
 * the JWKS, and the client-credentials token endpoint. Errors have Entra's shape
 * ({"error":"invalid_client","error_description": "AADSTS...",...}), not Key Vault's. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/crypto.h>

#include "api/issuer.h"
#include "api/throttle.h"
#include "auth/assertion.h"
#include "auth/jwt.h"
#include "auth/tokens.h"

static void oauth_error(azkmd_request *r, int status, const char *error, long aadsts, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void oauth_error(azkmd_request *r, int status, const char *error, long aadsts, const char *fmt, ...)
{
    char text[900], when[32];
    time_t now = time(NULL);
    struct tm tm;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
    snprintf(r->reply.message, sizeof(r->reply.message), "AADSTS%ld: %s", aadsts, text);
    azkmd_reply_json(r, status,
                     json_pack("{s:s,s:s,s:[I],s:s,s:s,s:s}", "error", error, "error_description", r->reply.message,
                               "error_codes", (json_int_t)aadsts, "timestamp", when, "trace_id", r->request_id,
                               "correlation_id", r->client_request_id[0] ? r->client_request_id : r->request_id));
    r->reply.code = error;
}

static void discovery(azkmd_request *r)
{
    const azkmd_config *cfg = r->site->cfg;
    char a[300], iss[600], token[700], authz[700], jwks[700];

    azkmd_token_authority(cfg, a, sizeof(a));
    azkmd_token_issuer(cfg, iss, sizeof(iss));
    snprintf(token, sizeof(token), "%s/%s/oauth2/v2.0/token", a, cfg->tenant);
    snprintf(authz, sizeof(authz), "%s/%s/oauth2/v2.0/authorize", a, cfg->tenant);
    snprintf(jwks, sizeof(jwks), "%s/%s/discovery/v2.0/keys", a, cfg->tenant);
    azkmd_reply_json(r, 200,
                     json_pack("{s:s,s:s,s:s,s:s,s:[s,s],s:[s],s:[s],s:[s,s],s:s}", "issuer", iss, "token_endpoint",
                               token, "authorization_endpoint", authz, "jwks_uri", jwks,
                               "token_endpoint_auth_methods_supported", "client_secret_post", "private_key_jwt",
                               "grant_types_supported", "client_credentials", "response_types_supported", "token",
                               "id_token_signing_alg_values_supported", "RS256", "ES256", "tenant_region_scope",
                               "azkm"));
}

static azkm_rc token_vault(azkmd_request *r, azkm_vault **v)
{
    return azkmd_vaults_get(r->site->vaults, r->site->cfg->token_vault, v);
}

static void jwks(azkmd_request *r)
{
    azkm_vault *v = NULL;
    json_t *keys = NULL;
    azkm_rc rc = token_vault(r, &v);

    if (rc == AZKM_OK)
        rc = azkmd_token_jwks(v, r->site->cfg, &keys);
    if (rc == AZKM_OK)
        azkmd_reply_json(r, 200, keys);
    else
        oauth_error(r, 500, "temporarily_unavailable", 90033, "the signing key is unavailable: %s",
                    azkm_last_error());
}

/* scope must name this service's resource: "<resource>/.default" (as the SDK asks after the 401 challenge). */
static int scope_ok(const azkmd_config *cfg, const char *scope)
{
    char want[320];

    azkmd_token_audience(cfg, want, sizeof(want));
    strncat(want, "/.default", sizeof(want) - strlen(want) - 1);
    return scope != NULL && strcasecmp(scope, want) == 0;
}

/* client_id in any case, as Entra ID takes it; appIds are kept lowercase. */
static int app_id_ok(const char *text)
{
    char lower[AZKM_GUID_LEN + 1];
    size_t i;

    for (i = 0; text != NULL && text[i] != '\0' && i < AZKM_GUID_LEN; i++)
        lower[i] = (char)tolower((unsigned char)text[i]);
    lower[i] = '\0';
    return text != NULL && strlen(text) == AZKM_GUID_LEN && azkmd_app_id_valid(lower);
}

static const char *app_id_lower(struct evkeyvalq *form, char *out)
{
    const char *text = evhttp_find_header(form, "client_id");

    for (size_t i = 0; i <= AZKM_GUID_LEN; i++)
        out[i] = (char)tolower((unsigned char)text[i]);
    return out;
}

/* Exactly one credential: client_secret, or client_assertion of client_assertion_type jwt-bearer. */
static int credential_ok(azkmd_request *r, struct evkeyvalq *form)
{
    const char *secret = evhttp_find_header(form, "client_secret");
    const char *assertion = evhttp_find_header(form, "client_assertion");
    const char *type = evhttp_find_header(form, "client_assertion_type");

    if (secret == NULL && assertion == NULL)
        oauth_error(r, 400, "invalid_request", 900144,
                    "the request body must contain client_secret or client_assertion");
    else if (secret != NULL && (assertion != NULL || type != NULL))
        oauth_error(r, 400, "invalid_request", 900144, "give client_secret or client_assertion, not both");
    else if (assertion != NULL && (type == NULL || strcmp(type, AZKMD_ASSERTION_TYPE) != 0))
        oauth_error(r, 400, "invalid_request", 900144, "client_assertion_type must be " AZKMD_ASSERTION_TYPE);
    else
        return 1;
    return 0;
}

/* RFC 6749 section 3.2: no parameter more than once (the first of two would otherwise win unseen). */
static const char *repeated(struct evkeyvalq *form)
{
    struct evkeyval *a, *b;

    TAILQ_FOREACH(a, form, next)
    for (b = TAILQ_NEXT(a, next); b != NULL; b = TAILQ_NEXT(b, next))
        if (strcmp(a->key, b->key) == 0)
            return a->key;
    return NULL;
}

static int form_ok(azkmd_request *r, struct evkeyvalq *form)
{
    const char *twice = repeated(form);

    if (twice != NULL) {
        oauth_error(r, 400, "invalid_request", 900144, "the parameter %.40s is given more than once", twice);
        return 0;
    }
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
    const char *grant = evhttp_find_header(form, "grant_type");

    if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
        oauth_error(r, 400, "invalid_request", 900144,
                    "the request body must be application/x-www-form-urlencoded");
    else if (grant == NULL || strcmp(grant, "client_credentials") != 0)
        oauth_error(r, 400, "unsupported_grant_type", 70003, "the grant type must be client_credentials");
    else if (!app_id_ok(evhttp_find_header(form, "client_id")))
        oauth_error(r, 400, "invalid_request", 900144, "client_id must be an application id (a GUID)");
    else if (!credential_ok(r, form))
        return 0;
    else if (!scope_ok(r->site->cfg, evhttp_find_header(form, "scope")))
        oauth_error(r, 400, "invalid_scope", 70011, "the scope must be https://%s/.default", r->site->cfg->domain);
    else
        return 1;
    return 0;
}

/* The client, by its secret or its assertion. An unknown appId and a wrong secret get the same answer (the keystore
 * spends the same work on both); an assertion's answer names the check that failed. 0 when answered. */
static int authenticate(azkmd_request *r, const char *app_id, struct evkeyvalq *form)
{
    azkm_keystore *ks = azkmd_vaults_keystore(r->site->vaults);
    const char *assertion = evhttp_find_header(form, "client_assertion");
    char a[300], url[700];
    azkm_rc rc;

    if (assertion == NULL) {
        rc = azkm_sp_authenticate_secret(ks, app_id, evhttp_find_header(form, "client_secret"), NULL);
        if (rc == AZKM_E_AUTH || rc == AZKM_E_NOT_FOUND)
            oauth_error(r, 401, "invalid_client", 7000215, "invalid client secret provided for application '%s'",
                        app_id);
        r->id.method = AZKMD_AUTH_CLIENT_SECRET;
    } else {
        azkmd_token_authority(r->site->cfg, a, sizeof(a));
        snprintf(url, sizeof(url), "%s/%s/oauth2/v2.0/token", a, r->site->cfg->tenant);
        rc = azkmd_assertion_check(ks, assertion, app_id, url, (int64_t)time(NULL));
        if (rc == AZKM_E_AUTH || rc == AZKM_E_UNSUPPORTED)
            oauth_error(r, 401, "invalid_client", 700027, "%s (application '%s')", azkm_last_error(), app_id);
        r->id.method = AZKMD_AUTH_CLIENT_ASSERTION;
    }
    if (rc != AZKM_OK && r->reply.code == NULL)
        oauth_error(r, 503, "temporarily_unavailable", 90033, "the client could not be authenticated: %s",
                    azkm_last_error());
    return rc == AZKM_OK;
}

static void issue(azkmd_request *r, const char *app_id, struct evkeyvalq *form)
{
    azkm_vault *v = NULL;
    char *token = NULL;
    azkm_rc rc;

    if (!authenticate(r, app_id, form))
        return;
    if ((rc = token_vault(r, &v)) == AZKM_OK)
        rc = azkmd_token_issue(v, r->site->cfg, app_id, (int64_t)time(NULL), &token);
    if (rc != AZKM_OK) {
        oauth_error(r, 500, "temporarily_unavailable", 90033, "no token could be issued: %s", azkm_last_error());
        return;
    }
    snprintf(r->id.principals[0], sizeof(r->id.principals[0]), "sp:%s", app_id);
    r->id.n_principals = 1;
    azkmd_reply_json(r, 200,
                     json_pack("{s:s,s:i,s:i,s:s}", "token_type", "Bearer", "expires_in",
                               r->site->cfg->token_lifetime, "ext_expires_in", r->site->cfg->token_lifetime,
                               "access_token", token));
    OPENSSL_cleanse(token, strlen(token));
    free(token);
}

/* Every token request costs a slow hash: token_rate_limit per client_id and per client address (api/throttle.c). */
static int token_allowed(azkmd_request *r, const char *app_id)
{
    int wait = azkmd_throttle_token(r, app_id);

    if (wait == 0)
        return 1;
    oauth_error(r, 429, "temporarily_unavailable", 50196,
                "too many token requests for this client or from this address; retry after %d seconds", wait);
    return 0;
}

/* The form's values (a client secret among them) are cleared before libevent frees them. */
static void wipe_form(struct evkeyvalq *form)
{
    struct evkeyval *kv;

    TAILQ_FOREACH(kv, form, next)
    OPENSSL_cleanse(kv->value, strlen(kv->value));
    evhttp_clear_headers(form);
}

static void token(azkmd_request *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    char *text = malloc(len + 1);
    struct evkeyvalq form;
    char app_id[AZKM_GUID_LEN + 1];

    TAILQ_INIT(&form);
    if (text == NULL) {
        oauth_error(r, 500, "temporarily_unavailable", 90033, "out of memory");
        return;
    }
    memcpy(text, len > 0 ? evbuffer_pullup(in, -1) : (unsigned char *)"", len);
    text[len] = '\0';
    if (evhttp_parse_query_str(text, &form) != 0)
        oauth_error(r, 400, "invalid_request", 900144, "the request body is not a valid form");
    else if (form_ok(r, &form) && token_allowed(r, app_id_lower(&form, app_id)))
        issue(r, app_id, &form);
    wipe_form(&form);
    OPENSSL_cleanse(text, len);
    free(text);
}

typedef struct {
    const char *suffix;
    int method;
    const char *operation;
    azkmd_handler handler;
} issuer_route;

static const issuer_route issuer_routes[] = {
    {"/v2.0/.well-known/openid-configuration", EVHTTP_REQ_GET, "OpenIdConfiguration", discovery},
    {"/discovery/v2.0/keys", EVHTTP_REQ_GET, "TokenSigningKeys", jwks},
    {"/oauth2/v2.0/token", EVHTTP_REQ_POST, "TokenIssue", token},
};

int azkmd_issuer_handle(azkmd_request *r, const char *path)
{
    const azkmd_config *cfg = r->site->cfg;
    size_t tlen = strlen(cfg->tenant);

    if (cfg->token_vault[0] == '\0' || path[0] != '/' || strncmp(path + 1, cfg->tenant, tlen) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(issuer_routes) / sizeof(issuer_routes[0]); i++) {
        if (strcmp(path + 1 + tlen, issuer_routes[i].suffix) != 0)
            continue;
        r->issuer = 1;
        r->operation = issuer_routes[i].operation;
        if ((int)evhttp_request_get_command(r->req) != issuer_routes[i].method)
            oauth_error(r, 405, "invalid_request", 900144, "method not allowed on %s", issuer_routes[i].suffix);
        else
            issuer_routes[i].handler(r);
        return 1;
    }
    return 0;
}
