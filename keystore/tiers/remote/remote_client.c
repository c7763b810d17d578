/* The remote tier's HTTP client on libcurl: a pool of keep-alive connections per process, the entry's URLs in
 * order with a back-off for one that failed, one retry of an idempotent request on a fresh connection (a request
 * that changes the server is sent once), and errors that say where and what.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/provider.h>

#include "tiers/remote/curl_api.h"
#include "tiers/remote/remote_client.h"

#define CU azkm_curl_loaded()

#define POOL_MAX 32
#define BACKOFF_MS 2000
#define ANSWER_MAX (4u << 20)

/* Idle easy handles (each with its open connection) shared by every client and thread of the process. A forked
 * child forgets the parent's handles without cleaning them up: a cleanup would close, or write a TLS close_notify
 * into, sockets the parent still uses. */
static struct {
    pthread_mutex_t mu;
    pid_t pid;
    size_t n;
    CURL *idle[POOL_MAX];
    /* 1: a client's key is a key reference file, so a connection's TLS context may hold a vault key, which its
     * tier frees with it; 2: pool_release registered again after such a connection was made. */
    int provider_keys;
} pool = {PTHREAD_MUTEX_INITIALIZER, 0, 0, {0}, 0};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

/* A child of a fork while another thread held the pool's lock would find it locked forever. */
static void pool_lock_fork(void)
{
    pthread_mutex_lock(&pool.mu);
}

static void pool_unlock_fork(void)
{
    pthread_mutex_unlock(&pool.mu);
}

/* The idle handles of this process, closed when it exits or this library is unloaded (atexit in a shared object
 * runs at its dlclose): registered after OpenSSL's own exit handler, it runs before OPENSSL_cleanup, while TLS
 * connections can still be shut down. A forked child's inherited handles are not its own: left alone. */
static void pool_release(void)
{
    pthread_mutex_lock(&pool.mu);
    while (pool.pid == getpid() && pool.n > 0)
        CU->easy_cleanup(pool.idle[--pool.n]);
    pthread_mutex_unlock(&pool.mu);
}

static void global_init(void)
{
    pthread_atfork(pool_lock_fork, pool_unlock_fork, pool_unlock_fork);
    atexit(pool_release);
}

static CURL *pool_take(int fresh)
{
    CURL *h = NULL;

    pthread_mutex_lock(&pool.mu);
    if (pool.pid != getpid()) {
        pool.n = 0; /* the parent's: forgotten, never used or cleaned up here */
        pool.pid = getpid();
    }
    if (!fresh && pool.n > 0)
        h = pool.idle[--pool.n];
    pthread_mutex_unlock(&pool.mu);
    return h != NULL ? h : CU->easy_init();
}

/* Exit handlers run in the reverse order of their registration. A key reference's vault key may live in a token
 * library that registered its own teardown when the handshake first used it (SoftHSM does), after pool_release
 * was: freeing the key after that teardown crashes in the library. Registered once more now, pool_release runs
 * first (its earlier registration then finds the pool empty). */
static void pool_give(CURL *h, pid_t pid)
{
    int kept = 0, again = 0;

    pthread_mutex_lock(&pool.mu);
    if (pool.pid == pid && pid == getpid() && pool.n < POOL_MAX) {
        pool.idle[pool.n++] = h;
        kept = 1;
    }
    if (pool.provider_keys == 1) {
        pool.provider_keys = 2;
        again = 1;
    }
    pthread_mutex_unlock(&pool.mu);
    if (again)
        atexit(pool_release);
    if (!kept && pid == getpid())
        CU->easy_cleanup(h);
}

struct azkm_remote_client {
    char *entry;
    azkm_remote_conf conf;
    azkm_remote_authorize_fn authorize; /* NULL: no Authorization header (peer credentials, mTLS) */
    void *authorize_arg;
    pthread_mutex_t mu;
    int64_t failed_until[AZKM_REMOTE_URLS_MAX]; /* monotonic ms: a URL that failed is tried last until then */
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A client key that is a key reference file: libcurl loads it through OpenSSL's decoders, which know the label
 * only when the azkm provider is loaded in the process (docs/remote-vaults.md). */
static int key_is_reference(const char *path)
{
    char line[64] = "";
    FILE *f = path[0] ? fopen(path, "r") : NULL;

    if (f != NULL) {
        if (fgets(line, sizeof(line), f) == NULL)
            line[0] = '\0';
        fclose(f);
    }
    return strncmp(line, "-----BEGIN AZKM KEY REFERENCE-----", 34) == 0;
}

azkm_rc azkm_remote_client_new(const char *entry, const azkm_remote_conf *conf, azkm_remote_client **out)
{
    azkm_remote_client *c;

    if (azkm_curl() == NULL)
        return azkm_fail(AZKM_E_UNSUPPORTED, "remote vault %s: %s", entry, azkm_last_error());
    pthread_once(&global_once, global_init);
    if ((c = OPENSSL_zalloc(sizeof(*c))) == NULL || (c->entry = OPENSSL_strdup(entry)) == NULL) {
        OPENSSL_free(c);
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    }
    c->conf = *conf;
    pthread_mutex_init(&c->mu, NULL);
    if (key_is_reference(conf->client_key)) {
        pthread_mutex_lock(&pool.mu);
        pool.provider_keys = 1;
        pthread_mutex_unlock(&pool.mu);
    }
    *out = c;
    return AZKM_OK;
}

void azkm_remote_client_set_auth(azkm_remote_client *c, azkm_remote_authorize_fn fn, void *arg)
{
    c->authorize = fn;
    c->authorize_arg = arg;
}

void azkm_remote_client_free(azkm_remote_client *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->mu);
    OPENSSL_free(c->entry);
    OPENSSL_free(c);
}

/* ---- one exchange ---------------------------------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
    int overflow;
} answer;

/* An answer may hold a decrypt's plaintext (base64url): cleared before it is freed. */
static void answer_free(answer *a)
{
    if (a->data != NULL)
        OPENSSL_cleanse(a->data, a->len);
    free(a->data);
    a->data = NULL;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t add = size * n;
    char *grown;

    if (a->len + add > ANSWER_MAX || (grown = malloc(a->len + add + 1)) == NULL) {
        a->overflow = 1;
        return 0;
    }
    if (a->data != NULL)
        memcpy(grown, a->data, a->len);
    answer_free(a); /* not realloc: the old block would keep a copy */
    memcpy(grown + a->len, p, add);
    a->len += add;
    grown[a->len] = '\0';
    a->data = grown;
    return add;
}

typedef struct {
    const char *method;
    const char *path;
    const char *body;  /* JSON text (a form for the token endpoint) or NULL */
    const char *auth;  /* "Authorization: Bearer ..." or NULL */
    int login;         /* the token issuer's paths: Host login.<domain>, a form, no api-version */
    const char *where; /* what answers, in errors: "azkmd", "azkmd's token endpoint" */
    int once;          /* it changes the server: never sent twice (a fresh connection, no retry, no failover) */
} request;

typedef struct {
    CURLcode cc;
    long status;
    int reused; /* the connection was open before this request */
    int sent;   /* bytes of the request went out: the server may have acted on it */
    char err[CURL_ERROR_SIZE];
    answer a;
} outcome;

static void set_options(const azkm_remote_client *c, CURL *h, const char *url, struct curl_slist *hdr,
                        const request *rq, outcome *o)
{
    CU->easy_setopt(h, CURLOPT_URL, url);
    CU->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CU->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->conf.connect_timeout_ms);
    CU->easy_setopt(h, CURLOPT_TIMEOUT_MS, c->conf.timeout_ms);
    CU->easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    CU->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    CU->easy_setopt(h, CURLOPT_WRITEDATA, &o->a);
    CU->easy_setopt(h, CURLOPT_ERRORBUFFER, o->err);
    CU->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    CU->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp(rq->method, "GET") == 0) {
        CU->easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(rq->method, "DELETE") == 0) {
        CU->easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    } else { /* POST, PUT, PATCH: a JSON body, possibly empty */
        CU->easy_setopt(h, CURLOPT_POST, 1L);
        CU->easy_setopt(h, CURLOPT_POSTFIELDS, rq->body != NULL ? rq->body : "");
        if (strcmp(rq->method, "POST") != 0)
            CU->easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    }
}

/* Where URL i is: a Unix socket, or https to host:port. Either way the request names the vault's own origin,
 * <vault>.<domain>: azkmd picks the vault by it, and over TLS it is the name the server's certificate must
 * hold (SNI too); CURLOPT_CONNECT_TO sends it to the URL's host. */
static void set_target(const azkm_remote_client *c, CURL *h, size_t i, const request *rq, char *url, size_t len,
                       struct curl_slist **connect_to)
{
    /* A nextLink azkmd made carries its api-version already. */
    const char *sep = strstr(rq->path, "api-version=") != NULL ? ""
                      : strchr(rq->path, '?') != NULL          ? "&api-version="
                                                               : "?api-version=";
    char host[AZKM_REMOTE_DOMAIN_MAX + 1], rule[2 * AZKM_REMOTE_DOMAIN_MAX + AZKM_VAULT_NAME_MAX + 32];
    const char *name = rq->login ? "login" : c->conf.vault, *version = *sep ? AZKM_REMOTE_API_VERSION : "";
    unsigned port = 443;

    if (rq->login)
        sep = version = "";
    if (strncmp(c->conf.urls[i], "unix:", 5) == 0) {
        snprintf(url, len, "http://%s.%s%s%s%s", name, c->conf.domain, rq->path, sep, version);
        CU->easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->conf.urls[i] + 5);
        return;
    }
    azkm_remote_https_split(c->entry, c->conf.urls[i], host, &port); /* checked when the entry was read */
    snprintf(url, len, "https://%s.%s:%u%s%s%s", name, c->conf.domain, port, rq->path, sep, version);
    snprintf(rule, sizeof(rule), "%s.%s:%u:%s:%u", name, c->conf.domain, port, host, port);
    *connect_to = CU->slist_append(NULL, rule);
    CU->easy_setopt(h, CURLOPT_CONNECT_TO, *connect_to);
    if (c->conf.ca_file[0])
        CU->easy_setopt(h, CURLOPT_CAINFO, c->conf.ca_file);
    if (c->conf.client_cert[0]) {
        CU->easy_setopt(h, CURLOPT_SSLCERT, c->conf.client_cert);
        CU->easy_setopt(h, CURLOPT_SSLKEY, c->conf.client_key);
    }
}

/* One request to URL i on a pooled (or, fresh, a new) connection. */
static void exchange(const azkm_remote_client *c, size_t i, const request *rq, int fresh, outcome *o)
{
    char url[AZKM_REMOTE_DOMAIN_MAX + AZKM_VAULT_NAME_MAX + 1200];
    struct curl_slist *hdr = NULL, *connect_to = NULL;
    pid_t pid = getpid();
    CURL *h = pool_take(fresh);
    long conns = 0, sent = 0;

    memset(o, 0, sizeof(*o));
    if (h == NULL) {
        o->cc = CURLE_OUT_OF_MEMORY;
        return;
    }
    hdr = CU->slist_append(hdr, "Accept: application/json");
    hdr = CU->slist_append(hdr, rq->login ? "Content-Type: application/x-www-form-urlencoded"
                                          : "Content-Type: application/json");
    if (rq->auth != NULL)
        hdr = CU->slist_append(hdr, rq->auth);
    CU->easy_reset(h);
    set_target(c, h, i, rq, url, sizeof(url), &connect_to);
    set_options(c, h, url, hdr, rq, o);
    CU->easy_setopt(h, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
    o->cc = CU->easy_perform(h);
    CU->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &o->status);
    CU->easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
    CU->easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
    o->reused = conns == 0;
    for (struct curl_slist *l = hdr; l != NULL; l = l->next)
        OPENSSL_cleanse(l->data, strlen(l->data)); /* the bearer token */
    o->sent = sent > 0;
    CU->slist_free_all(hdr);
    CU->slist_free_all(connect_to);
    /* A handle whose exchange failed is not kept: its connection may be half used. */
    if (o->cc == CURLE_OK)
        pool_give(h, pid);
    else
        CU->easy_cleanup(h);
}

/* A failure before any answer on a connection that was already open: the server closed it (a restart, an idle
 * timeout), and the same request on a new connection is the remedy. */
static int stale(const outcome *o)
{
    return o->reused && (o->cc == CURLE_GOT_NOTHING || o->cc == CURLE_SEND_ERROR || o->cc == CURLE_RECV_ERROR);
}

/* ---- errors ---------------------------------------------------------------------------------------------- */

static azkm_rc rc_of_status(long status)
{
    switch (status) {
    case 400:
        return AZKM_E_INVALID;
    case 401:
    case 403:
        return AZKM_E_FORBIDDEN;
    case 404:
        return AZKM_E_NOT_FOUND;
    case 409:
        return AZKM_E_CONFLICT;
    default:
        return AZKM_E_IO;
    }
}

/* A non-2xx answer: its status, and Key Vault's error code and message when the body has them (or Entra's error
 * and error_description, from the token endpoint). */
static azkm_rc http_error(const azkm_remote_client *c, size_t i, const request *rq, const outcome *o)
{
    json_t *root = o->a.data != NULL ? json_loads(o->a.data, 0, NULL) : NULL;
    const json_t *err = json_object_get(root, "error");
    const char *code = json_string_value(json_is_string(err) ? err : json_object_get(err, "code"));
    const char *msg = json_string_value(json_is_string(err) ? json_object_get(root, "error_description")
                                                            : json_object_get(err, "message"));
    azkm_rc rc = rc_of_status(o->status);

    if (code != NULL)
        azkm_fail(rc, "remote vault %s: %s at %s: %s %s answered %ld %s: %.400s", c->entry, rq->where,
                  c->conf.urls[i], rq->method, rq->path, o->status, code, msg != NULL ? msg : "(no message)");
    else
        azkm_fail(rc, "remote vault %s: %s at %s: %s %s answered %ld without %s error body", c->entry, rq->where,
                  c->conf.urls[i], rq->method, rq->path, o->status, rq->login ? "an Entra" : "a Key Vault");
    json_decref(root);
    return rc;
}

/* What a transport failure was, in words. */
static const char *failure_of(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        return "cannot connect";
    case CURLE_OPERATION_TIMEDOUT:
        return "timed out";
    case CURLE_PEER_FAILED_VERIFICATION:
        return "the server's certificate is not trusted for the vault's name";
    case CURLE_SSL_CERTPROBLEM:
        return "the client certificate or key cannot be used";
    case CURLE_SSL_CACERT_BADFILE:
        return "the CA file cannot be used";
    case CURLE_SSL_CONNECT_ERROR:
        return "the TLS handshake failed";
    default:
        return "the exchange failed";
    }
}

/* A client key that is a key reference file and did not load: without the azkm provider no decoder knows it; with
 * it, the provider could not load the key (the error before says why: a vault this process cannot read). */
static const char *keyref_failure(void)
{
    return OSSL_PROVIDER_available(NULL, "azkm")
               ? "the client key is a key reference file, and the azkm provider could not load its key in this "
                 "process"
               : "the client key is a key reference file, which only a process with the azkm provider loaded "
                 "(OPENSSL_CONF) can use";
}

static azkm_rc transport_error(const azkm_remote_client *c, size_t i, const request *rq, const outcome *o)
{
    const char *what = o->cc == CURLE_SSL_CERTPROBLEM && key_is_reference(c->conf.client_key) ? keyref_failure()
                                                                                              : failure_of(o->cc);
    const char *maybe = rq->once && o->sent ? "; it was sent, so it may have been carried out: look before you "
                                              "repeat it"
                                            : "";

    return azkm_fail(AZKM_E_IO, "remote vault %s: %s at %s: %s %s: %s (%s)%s", c->entry, rq->where, c->conf.urls[i],
                     rq->method, rq->path, what, o->err[0] ? o->err : CU->easy_strerror(o->cc), maybe);
}

static azkm_rc parse_answer(const azkm_remote_client *c, size_t i, const request *rq, const outcome *o,
                            json_t **resp)
{
    json_error_t jerr;
    json_t *root = o->a.data != NULL ? json_loads(o->a.data, 0, &jerr) : NULL;

    if (root == NULL && o->a.data == NULL && o->status == 204)
        root = json_object(); /* No Content (a purge): an empty answer, as the caller's JSON */
    if (!json_is_object(root)) {
        json_decref(root);
        return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: %s at %s: %s %s answered %ld with %s", c->entry,
                         rq->where, c->conf.urls[i], rq->method, rq->path, o->status,
                         o->a.data == NULL ? "an empty body" : "a body that is not a JSON object");
    }
    *resp = root;
    return AZKM_OK;
}

/* ---- the URLs in order ----------------------------------------------------------------------------------- */

/* URL i: an answer (AZKM_OK with *answered set, or an HTTP error), or a transport failure (*answered 0, unless
 * the request must not be sent again). */
static azkm_rc try_url(azkm_remote_client *c, size_t i, const request *rq, json_t **resp, int *answered,
                       long *status)
{
    outcome o;
    azkm_rc rc;

    exchange(c, i, rq, rq->once, &o);
    if (!rq->once && stale(&o)) {
        answer_free(&o.a);
        exchange(c, i, rq, 1, &o);
    }
    /* A request that changes the server and may have reached it is not sent again, here or to another URL. */
    *answered = o.cc == CURLE_OK || (rq->once && o.sent);
    *status = o.cc == CURLE_OK ? o.status : 0;
    if (o.a.overflow)
        rc = azkm_fail(AZKM_E_CORRUPT, "remote vault %s: %s at %s: %s %s: the answer is over %u bytes", c->entry,
                       rq->where, c->conf.urls[i], rq->method, rq->path, ANSWER_MAX);
    else if (o.cc != CURLE_OK)
        rc = transport_error(c, i, rq, &o);
    else if (o.status < 200 || o.status > 299)
        rc = http_error(c, i, rq, &o);
    else
        rc = parse_answer(c, i, rq, &o, resp);
    answer_free(&o.a);
    return rc;
}

static void mark(azkm_remote_client *c, size_t i, int failed)
{
    pthread_mutex_lock(&c->mu);
    c->failed_until[i] = failed ? now_ms() + BACKOFF_MS : 0;
    pthread_mutex_unlock(&c->mu);
}

/* The order of this request: URLs not in back-off first, in the entry's order, then those in back-off. */
static size_t order(azkm_remote_client *c, size_t *idx)
{
    int64_t now = now_ms();
    size_t n = 0;

    pthread_mutex_lock(&c->mu);
    for (int late = 0; late < 2; late++)
        for (size_t i = 0; i < c->conf.n_urls; i++)
            if ((c->failed_until[i] > now) == late)
                idx[n++] = i;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* The request on the URLs in order: the first that answers decides. *status is its HTTP status (0: none). */
static azkm_rc send_request(azkm_remote_client *c, const request *rq, json_t **resp, long *status)
{
    size_t idx[AZKM_REMOTE_URLS_MAX], n = order(c, idx);
    azkm_rc rc = AZKM_E_IO;
    int answered = 0;

    *status = 0;
    for (size_t k = 0; k < n && !answered; k++) {
        rc = try_url(c, idx[k], rq, resp, &answered, status);
        mark(c, idx[k], !answered);
    }
    if (!answered && n > 1)
        rc = azkm_fail(rc, "remote vault %s: none of its %zu azkmd URLs answered; the last: %s", c->entry, n,
                       azkm_last_error());
    return rc;
}

/* With a bearer token: a 401 to a token that came from the cache (azkmd stopped accepting it before it expired:
 * its signing key's version disabled, azkmd's clock ahead) gets one new token and one more try. */
static azkm_rc send_authorized(azkm_remote_client *c, request *rq, json_t **resp)
{
    char auth[AZKM_REMOTE_AUTH_HEADER_MAX];
    unsigned gen = 0;
    int cached = 0;
    long status = 0;
    azkm_rc rc;

    if (c->authorize == NULL)
        return send_request(c, rq, resp, &status);
    rq->auth = auth;
    if ((rc = c->authorize(c->authorize_arg, 0, auth, sizeof(auth), &gen, &cached)) == AZKM_OK)
        rc = send_request(c, rq, resp, &status);
    if (rc != AZKM_OK && status == 401 && cached &&
        (rc = c->authorize(c->authorize_arg, gen, auth, sizeof(auth), &gen, &cached)) == AZKM_OK)
        rc = send_request(c, rq, resp, &status);
    OPENSSL_cleanse(auth, sizeof(auth));
    return rc;
}

/* body as compact JSON text (free), written straight into one buffer of its size: json_dumps grows its buffer by
 * copies it frees uncleared, and an import's body holds a private key. */
static char *body_text(const json_t *body)
{
    size_t n = json_dumpb(body, NULL, 0, JSON_COMPACT);
    char *text = n > 0 ? malloc(n + 1) : NULL;

    if (text != NULL && json_dumpb(body, text, n, JSON_COMPACT) != n) {
        OPENSSL_cleanse(text, n);
        free(text);
        return NULL;
    }
    if (text != NULL)
        text[n] = '\0';
    return text;
}

static azkm_rc call(azkm_remote_client *c, const char *method, const char *path, json_t *body, int once,
                    json_t **resp)
{
    request rq = {method, path, NULL, NULL, 0, "azkmd", once};
    char *text = body != NULL ? body_text(body) : NULL;
    azkm_rc rc;

    *resp = NULL;
    if (body != NULL && text == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    rq.body = text;
    rc = send_authorized(c, &rq, resp);
    if (text != NULL) {
        OPENSSL_cleanse(text, strlen(text)); /* an imported private key; a digest, a ciphertext: not left around */
        free(text);
    }
    return rc;
}

azkm_rc azkm_remote_call(azkm_remote_client *c, const char *method, const char *path, json_t *body, json_t **resp)
{
    return call(c, method, path, body, 0, resp);
}

azkm_rc azkm_remote_call_once(azkm_remote_client *c, const char *method, const char *path, json_t *body,
                              json_t **resp)
{
    return call(c, method, path, body, 1, resp);
}

azkm_rc azkm_remote_issuer_call(azkm_remote_client *c, const char *method, const char *path, const char *form,
                                const char *where, json_t **resp)
{
    request rq = {method, path, form, NULL, 1, where, 0};
    long status;

    *resp = NULL;
    return send_request(c, &rq, resp, &status);
}
