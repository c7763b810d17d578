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

typedef struct {
    pthread_t thread;
    int started;
    struct event_base *base;
    struct evhttp *http[AZKMD_MAX_LISTENERS];
    struct evhttp_bound_socket *bound[AZKMD_MAX_LISTENERS];
    azkmd_site site[AZKMD_MAX_LISTENERS];
    azkmd_vaults *vaults;
    size_t n;
    struct azkmd_workers *all;
} worker;

struct azkmd_workers {
    worker *w;
    int n;
    pthread_mutex_t lock; /* counts the workers that stopped accepting */
    pthread_cond_t cond;
    int stopped;
};

static struct bufferevent *tls_bufferevent(struct event_base *base, void *arg)
{
    SSL *ssl = SSL_new(arg);

    if (ssl == NULL)
        return NULL;
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
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
    wk->site[i] = (azkmd_site){cfg, l->conf, l->port, geteuid(), wk->vaults};
    evhttp_set_gencb(http, azkmd_api_handle, &wk->site[i]);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
                                         EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_default_content_type(http, "application/json; charset=utf-8");
    evhttp_set_timeout(http, cfg->timeout);
    evhttp_set_max_body_size(http, cfg->max_body_size);
    evhttp_set_max_headers_size(http, cfg->max_header_size);
    if (l->ssl != NULL)
        evhttp_set_bevcb(http, tls_bufferevent, l->ssl);
    return (wk->bound[i] = evhttp_bind_listener(http, lev)) != NULL ? 0 : -1;
}

static void *run(void *arg)
{
    worker *wk = arg;

    event_base_dispatch(wk->base);
    return NULL;
}

static azkm_rc worker_init(const azkmd_config *cfg, worker *wk, const azkmd_listener *ls, size_t n)
{
    azkm_rc rc;

    if ((rc = azkmd_vaults_new(cfg, &wk->vaults)) != AZKM_OK)
        return rc;
    if ((wk->base = event_base_new()) == NULL)
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

azkm_rc azkmd_workers_start(const azkmd_config *cfg, const azkmd_listener *ls, size_t n_listeners, int n_threads,
                            azkmd_workers **out)
{
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
    if (wk->base != NULL)
        event_base_free(wk->base);
    azkmd_vaults_free(wk->vaults);
}

void azkmd_workers_stop_accepting(azkmd_workers *w)
{
    int started = 0;

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
