/* Replies: errors are values (the keystore's azkm_rc or a front-end error) mapped here, once, to Key Vault's HTTP
 * statuses and {"error":{"code","message"}} bodies, and every reply carries Key Vault's headers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <openssl/crypto.h>

#include "api/request.h"
#include "json/dump.h"

void azkmd_reply_json(azkmd_request *r, int status, json_t *body)
{
    json_decref(r->reply.body);
    r->reply.status = status;
    r->reply.body = body;
    r->reply.code = NULL;
    if (body == NULL && status != 204)
        azkmd_reply_error(r, 500, "InternalError", "out of memory building the response");
}

static void set_error(azkmd_request *r, int status, const char *code, const char *inner)
{
    json_t *err = json_object(), *body = json_object();

    json_object_set_new(err, "code", json_string(code));
    json_object_set_new(err, "message", json_string(r->reply.message));
    if (inner != NULL)
        json_object_set_new(err, "innererror", json_pack("{s:s}", "code", inner));
    json_object_set_new(body, "error", err);
    json_decref(r->reply.body);
    r->reply.body = body;
    r->reply.status = status;
    r->reply.code = code;
    r->reply.inner = inner;
}

void azkmd_reply_error(azkmd_request *r, int status, const char *code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->reply.message, sizeof(r->reply.message), fmt, ap);
    va_end(ap);
    set_error(r, status, code, NULL);
}

void azkmd_reply_rc(azkmd_request *r, azkm_rc rc)
{
    snprintf(r->reply.message, sizeof(r->reply.message), "%s", azkm_last_error());
    switch (rc) {
    case AZKM_E_INVALID:
    case AZKM_E_UNSUPPORTED:
        set_error(r, 400, "BadParameter", NULL);
        break;
    case AZKM_E_NOT_FOUND:
        set_error(r, 404, "KeyNotFound", NULL);
        break;
    case AZKM_E_CONFLICT:
        set_error(r, 409, "Conflict", NULL);
        break;
    case AZKM_E_FORBIDDEN:
        set_error(r, 403, "Forbidden", "KeyOperationForbidden");
        break;
    default:
        /* Integrity, I/O, corruption, a wrong vault passphrase: the service's trouble, not the caller's. */
        set_error(r, 500, "InternalError", azkm_rc_name(rc));
        break;
    }
}

/* A query parameter's value by name, the names compared percent-decoded (and case-insensitively): the JavaScript
 * SDK sends "?api%2Dversion=2025-07-01", and libevent decodes only the values. */
const char *azkmd_query(azkmd_request *r, const char *name)
{
    struct evkeyval *kv;

    TAILQ_FOREACH(kv, &r->query, next)
    {
        char *key = evhttp_uridecode(kv->key, 0, NULL);
        int match = key != NULL && strcasecmp(key, name) == 0;

        free(key);
        if (match)
            return kv->value;
    }
    return NULL;
}

static void set_headers(azkmd_request *r)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);

    evhttp_add_header(out, "Cache-Control", "no-cache");
    evhttp_add_header(out, "x-ms-request-id", r->request_id);
    if (r->client_request_id[0] != '\0')
        evhttp_add_header(out, "x-ms-client-request-id", r->client_request_id);
    evhttp_add_header(out, "x-ms-keyvault-service-version", "azkmd/" AZKM_VERSION_STRING);
    if (r->reply.body != NULL)
        evhttp_add_header(out, "Content-Type", "application/json; charset=utf-8");
}

/* libevent's callback once it has written a response body handed over by reference. */
static void clear_text(const void *data, size_t len, void *arg)
{
    OPENSSL_cleanse(arg, len);
    free(arg);
}

/* The connection's timers restarted now: `timeout` bounds writing the response, not the operation before it (an
 * RSA-4096 creation can take seconds; libevent's read timer, left running, dropped the reply unsent). libevent's
 * clock is cached from before the operation: refreshed first, or the new deadlines would be as old. */
static void restart_timers(azkmd_request *r)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);

    if (evcon == NULL)
        return;
    event_base_update_cache_time(evhttp_connection_get_base(evcon));
    evhttp_connection_set_timeout(evcon, r->site->cfg->timeout);
}

void azkmd_reply_send(azkmd_request *r)
{
    struct evbuffer *buf = evbuffer_new();
    char *text = NULL;

    set_headers(r);
    if (r->reply.body != NULL && (text = azkmd_json_dumps(r->reply.body)) != NULL &&
        evbuffer_add_reference(buf, text, strlen(text), clear_text, text) != 0) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    restart_timers(r);
    /* Response bodies may hold plaintexts (decrypt, unwrapkey): handed to libevent by reference, not copied, and
     * cleared by clear_text once written. */
    evhttp_send_reply(r->req, r->reply.status, NULL, buf);
    evbuffer_free(buf);
}
