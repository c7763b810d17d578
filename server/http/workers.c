/* The worker threads. Each runs its own libevent loop with one evhttp per listener bound to the shared listening
 * socket (the kernel hands each new connection to one of them); requests are handled to the end inside the thread
 * that read them, so threads share nothing but the listening sockets. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "api/api.h"
#include "http/workers.h"
#include "live.h"

typedef struct worker worker;

/* evhttp's bufferevent callback argument, one per worker and listener. */
typedef struct {
    worker *wk;
    int tls;
} listener_arg;

struct worker {
    pthread_t thread;
    int started;
    struct event_base *base;
    struct evhttp *http[AZKMD_MAX_LISTENERS];
    struct evhttp_bound_socket *bound[AZKMD_MAX_LISTENERS];
    azkmd_site site[AZKMD_MAX_LISTENERS];
    listener_arg larg[AZKMD_MAX_LISTENERS];
    azkmd_vaults *vaults;
    size_t n;
    struct azkmd_workers *all;
    /* Keeps the loop running while the listeners are disabled at max_connections with no connection left to
     * wait on (a loop without events returns); removed when the worker stops accepting. */
    struct event *keep;
};

struct azkmd_workers {
    worker *w;
    int n;
    azkmd_live *live;
    pthread_mutex_t lock; /* the fields below */
    pthread_cond_t cond;
    int stopped; /* workers that stopped accepting */
    int closing; /* shutting down: no more listener changes */
    int conns;   /* open client connections, all workers */
    int max_conns;
    int paused; /* the listeners are (being) disabled: conns reached max_conns */
};

/* Runs in the worker's thread: its listeners follow the shared paused flag (each worker changes only its own). */
static void sync_listeners(evutil_socket_t fd, short what, void *arg)
{
    worker *wk = arg;
    int paused;

    pthread_mutex_lock(&wk->all->lock);
    paused = wk->all->paused && !wk->all->closing;
    pthread_mutex_unlock(&wk->all->lock);
    for (size_t i = 0; i < wk->n; i++) {
        struct evconnlistener *lev = wk->bound[i] != NULL ? evhttp_bound_socket_get_listener(wk->bound[i]) : NULL;

        if (lev != NULL && paused)
            evconnlistener_disable(lev);
        else if (lev != NULL)
            evconnlistener_enable(lev);
    }
}

static void sync_all(azkmd_workers *all)
{
    struct timeval now = {0, 0};

    for (int i = 0; i < all->n; i++)
        if (all->w[i].started)
            event_base_once(all->w[i].base, -1, EV_TIMEOUT, sync_listeners, &all->w[i], &now);
}

/* evhttp's close callback, and the end of a connection that closed before it could be set. */
static void connection_closed(struct evhttp_connection *evcon, void *arg)
{
    azkmd_workers *all = arg;
    int resume;

    pthread_mutex_lock(&all->lock);
    all->conns--;
    resume = all->paused && !all->closing && (all->max_conns == 0 || all->conns < all->max_conns);
    if (resume)
        all->paused = 0;
    pthread_mutex_unlock(&all->lock);
    if (resume)
        sync_all(all);
}

typedef struct {
    struct bufferevent *bev;
    azkmd_workers *all;
} new_conn;

/* Runs right after evhttp made the connection around bev (libevent 2.1 has no hook for it): evhttp's event
 * callback argument is the connection, which gets the close callback; no event callback means evhttp already
 * freed it. The reference taken in count_connection keeps bev readable until here. */
static void watch_connection(evutil_socket_t fd, short what, void *arg)
{
    new_conn *c = arg;
    bufferevent_event_cb eventcb = NULL;
    void *evcon = NULL;

    bufferevent_getcb(c->bev, NULL, NULL, &eventcb, &evcon);
    if (eventcb != NULL && evcon != NULL)
        evhttp_connection_set_closecb(evcon, connection_closed, c->all);
    else
        connection_closed(NULL, c->all);
    bufferevent_decref(c->bev);
    free(c);
}

/* max_connections: counted here, when evhttp asks for a connection's bufferevent; at the limit every worker stops
 * accepting (new clients wait in the listen backlog) until a connection closes. This worker stops at once; the
 * others on their next loop turn. */
static void count_connection(worker *wk, struct bufferevent *bev)
{
    azkmd_workers *all = wk->all;
    new_conn *c = malloc(sizeof(*c));
    struct timeval now = {0, 0};
    int pause;

    if (c == NULL)
        return; /* not counted, and not uncounted */
    *c = (new_conn){bev, all};
    bufferevent_incref(bev);
    pthread_mutex_lock(&all->lock);
    all->conns++;
    pause = all->max_conns > 0 && all->conns >= all->max_conns && !all->paused && !all->closing;
    if (pause)
        all->paused = 1;
    pthread_mutex_unlock(&all->lock);
    if (event_base_once(wk->base, -1, EV_TIMEOUT, watch_connection, c, &now) != 0) {
        bufferevent_decref(bev);
        free(c);
        connection_closed(NULL, all);
        return;
    }
    if (pause) {
        sync_listeners(-1, 0, wk);
        sync_all(all);
    }
}

/* A new connection's bufferevent: TLS with the context in force (a SIGHUP's new certificate serves the next
 * handshake; connections keep the context they began with), or a plain socket as evhttp would make it. */
static struct bufferevent *new_bufferevent(struct event_base *base, void *arg)
{
    listener_arg *la = arg;
    struct bufferevent *bev = NULL;

    if (la->tls) {
        SSL_CTX *ctx = azkmd_live_tls(la->wk->all->live);
        SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;

        SSL_CTX_free(ctx);
        if (ssl != NULL)
            bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    } else {
        bev = bufferevent_socket_new(base, -1, 0);
    }
    if (bev != NULL)
        count_connection(la->wk, bev);
    return bev;
}

static void http_settings(struct evhttp *http, int timeout, long max_body, long max_header)
{
    evhttp_set_timeout(http, timeout);
    evhttp_set_max_body_size(http, max_body);
    evhttp_set_max_headers_size(http, max_header);
}

static int bind_listener(const azkmd_config *cfg, worker *wk, const azkmd_listener *l, size_t i)
{
    struct evconnlistener *lev;
    struct evhttp *http = evhttp_new(wk->base);

    /* flags 0: the socket belongs to the main thread; no LEV_OPT_CLOSE_ON_FREE. backlog -1: already listening. */
    if (http == NULL || (lev = evconnlistener_new(wk->base, NULL, NULL, 0, -1, l->fd)) == NULL) {
        if (http != NULL)
            evhttp_free(http);
        return -1;
    }
    wk->http[i] = http;
    wk->site[i] = (azkmd_site){cfg, l->conf, l->port, geteuid(), wk->vaults, wk->all->live};
    wk->larg[i] = (listener_arg){wk, l->conf->kind == AZKMD_LISTEN_TLS};
    evhttp_set_gencb(http, azkmd_api_handle, &wk->site[i]);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
                                         EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_default_content_type(http, "application/json; charset=utf-8");
    http_settings(http, cfg->timeout, cfg->max_body_size, cfg->max_header_size);
    evhttp_set_bevcb(http, new_bufferevent, &wk->larg[i]);
    return (wk->bound[i] = evhttp_bind_listener(http, lev)) != NULL ? 0 : -1;
}

static void *run(void *arg)
{
    worker *wk = arg;

    event_base_dispatch(wk->base);
    return NULL;
}

static void idle(evutil_socket_t fd, short what, void *arg) {}

/* With epoll's change list, the changes a loop turn makes to a connection's events are applied as one epoll_ctl
 * when the turn ends: evhttp turns reading off and writing on around each request and back after the response,
 * four epoll_ctl calls per request without it, two with it (docs/performance.md, "azkmd"). libevent's caveat,
 * file descriptors cloned with dup(), does not apply: azkmd duplicates none. */
static struct event_base *new_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base = NULL;

    if (cfg != NULL && event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
        base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

static azkm_rc worker_init(const azkmd_config *cfg, worker *wk, const azkmd_listener *ls, size_t n)
{
    struct timeval hour = {3600, 0};
    azkm_rc rc;

    if ((rc = azkmd_vaults_new(cfg, &wk->vaults)) != AZKM_OK)
        return rc;
    if ((wk->base = new_base()) == NULL || (wk->keep = event_new(wk->base, -1, EV_PERSIST, idle, NULL)) == NULL ||
        event_add(wk->keep, &hour) != 0)
        return azkm_set_error(AZKM_E_NOMEM, "cannot make an event base");
    for (size_t i = 0; i < n; i++) {
        if (bind_listener(cfg, wk, &ls[i], i) != 0)
            return azkm_set_error(AZKM_E_IO, "cannot serve listener %s", ls[i].conf->address);
        wk->n = i + 1;
    }
    if (pthread_create(&wk->thread, NULL, run, wk) != 0)
        return azkm_set_error(AZKM_E_IO, "cannot start a worker thread");
    wk->started = 1;
    return AZKM_OK;
}

azkm_rc azkmd_workers_start(const azkmd_config *cfg, azkmd_live *live, const azkmd_listener *ls, size_t n_listeners,
                            azkmd_workers **out)
{
    int n_threads = cfg->threads;
    azkmd_workers *w = calloc(1, sizeof(*w));
    azkm_rc rc = AZKM_OK;

    if (n_threads <= 0)
        n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n_threads <= 0)
        n_threads = 1;
    if (w == NULL || (w->w = calloc((size_t)n_threads, sizeof(worker))) == NULL) {
        free(w);
        return azkm_set_error(AZKM_E_NOMEM, "out of memory starting the workers");
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->live = live;
    w->max_conns = cfg->max_connections;
    if (evthread_use_pthreads() != 0)
        rc = azkm_set_error(AZKM_E_IO, "libevent has no thread support");
    for (int i = 0; rc == AZKM_OK && i < n_threads; i++) {
        w->n = i + 1;
        w->w[i].all = w;
        rc = worker_init(cfg, &w->w[i], ls, n_listeners);
    }
    if (rc != AZKM_OK) {
        azkmd_workers_stop(w, 0);
        return rc;
    }
    *out = w;
    return AZKM_OK;
}

/* Runs in the worker's thread: it accepts no more connections; the ones it has go on. */
static void stop_accepting(evutil_socket_t fd, short what, void *arg)
{
    worker *wk = arg;

    event_del(wk->keep);
    for (size_t i = 0; i < wk->n; i++)
        if (wk->bound[i] != NULL) {
            evhttp_del_accept_socket(wk->http[i], wk->bound[i]);
            wk->bound[i] = NULL;
        }
    pthread_mutex_lock(&wk->all->lock);
    wk->all->stopped++;
    pthread_cond_signal(&wk->all->cond);
    pthread_mutex_unlock(&wk->all->lock);
}

static void worker_free(worker *wk)
{
    for (size_t i = 0; i < wk->n; i++)
        if (wk->http[i] != NULL)
            evhttp_free(wk->http[i]);
    if (wk->keep != NULL)
        event_free(wk->keep);
    if (wk->base != NULL)
        event_base_free(wk->base);
    azkmd_vaults_free(wk->vaults);
}

void azkmd_workers_stop_accepting(azkmd_workers *w)
{
    int started = 0;

    pthread_mutex_lock(&w->lock);
    w->closing = 1;
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->n; i++)
        if (w->w[i].started && event_base_once(w->w[i].base, -1, EV_TIMEOUT, stop_accepting, &w->w[i], NULL) == 0)
            started++;
    pthread_mutex_lock(&w->lock);
    while (w->stopped < started)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

void azkmd_workers_stop(azkmd_workers *w, int grace)
{
    struct timeval tv = {grace, 0};

    for (int i = 0; i < w->n; i++)
        if (w->w[i].started)
            event_base_loopexit(w->w[i].base, &tv);
    for (int i = 0; i < w->n; i++) {
        if (w->w[i].started)
            pthread_join(w->w[i].thread, NULL);
        worker_free(&w->w[i]);
    }
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w->w);
    free(w);
}

typedef struct {
    worker *wk;
    int timeout;
    long max_body, max_header;
} new_settings;

static void apply_settings(evutil_socket_t fd, short what, void *arg)
{
    new_settings *ns = arg;

    for (size_t i = 0; i < ns->wk->n; i++)
        if (ns->wk->http[i] != NULL)
            http_settings(ns->wk->http[i], ns->timeout, ns->max_body, ns->max_header);
    free(ns);
}

void azkmd_workers_apply(azkmd_workers *w, const azkmd_config *cfg)
{
    struct timeval now = {0, 0};
    int changed;

    pthread_mutex_lock(&w->lock);
    w->max_conns = cfg->max_connections;
    changed = w->paused != (w->max_conns > 0 && w->conns >= w->max_conns);
    w->paused = w->max_conns > 0 && w->conns >= w->max_conns;
    pthread_mutex_unlock(&w->lock);
    if (changed)
        sync_all(w);
    for (int i = 0; i < w->n; i++) {
        new_settings *ns;

        if (!w->w[i].started || (ns = malloc(sizeof(*ns))) == NULL)
            continue;
        *ns = (new_settings){&w->w[i], cfg->timeout, cfg->max_body_size, cfg->max_header_size};
        if (event_base_once(w->w[i].base, -1, EV_TIMEOUT, apply_settings, ns, &now) != 0)
            free(ns);
    }
}

int azkmd_workers_connections(azkmd_workers *w)
{
    int n;

    pthread_mutex_lock(&w->lock);
    n = w->conns;
    pthread_mutex_unlock(&w->lock);
    return n;
}
