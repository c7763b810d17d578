/* The configuration and TLS context in force, swapped whole on SIGHUP (live.h). A configuration is freed when it
 * is neither in force nor used by a request. */
#include <pthread.h>
#include <stdlib.h>

#include "live.h"

/* Buckets of the rate limit table: memory is bounded by this, whatever the number of callers. */
#define LIMIT_ENTRIES 16384

typedef struct {
    azkmd_config cfg; /* first: a request's pointer is the snapshot's */
    int refs;
} snapshot;

struct azkmd_live {
    pthread_mutex_t lock;
    snapshot *cur;
    SSL_CTX *ssl;
    azkmd_ratelimit *limits;
};

static snapshot *snapshot_new(const azkmd_config *cfg)
{
    snapshot *s = malloc(sizeof(*s));

    if (s == NULL)
        return NULL;
    s->cfg = *cfg;
    s->refs = 1; /* the one of being in force */
    return s;
}

azkm_rc azkmd_live_new(const azkmd_config *cfg, SSL_CTX *ssl, azkmd_live **out)
{
    azkmd_live *lv = calloc(1, sizeof(*lv));
    azkm_rc rc;

    if (lv == NULL || (lv->cur = snapshot_new(cfg)) == NULL) {
        free(lv);
        return azkm_set_error(AZKM_E_NOMEM, "out of memory");
    }
    if ((rc = azkmd_ratelimit_new(LIMIT_ENTRIES, &lv->limits)) != AZKM_OK) {
        free(lv->cur);
        free(lv);
        return rc;
    }
    pthread_mutex_init(&lv->lock, NULL);
    lv->ssl = ssl;
    *out = lv;
    return AZKM_OK;
}

void azkmd_live_free(azkmd_live *lv)
{
    if (lv == NULL)
        return;
    pthread_mutex_destroy(&lv->lock);
    free(lv->cur);
    SSL_CTX_free(lv->ssl);
    azkmd_ratelimit_free(lv->limits);
    free(lv);
}

const azkmd_config *azkmd_live_config(azkmd_live *lv)
{
    snapshot *s;

    pthread_mutex_lock(&lv->lock);
    s = lv->cur;
    s->refs++;
    pthread_mutex_unlock(&lv->lock);
    return &s->cfg;
}

void azkmd_live_release(azkmd_live *lv, const azkmd_config *cfg)
{
    snapshot *s = (snapshot *)cfg;
    int last;

    pthread_mutex_lock(&lv->lock);
    last = --s->refs == 0;
    pthread_mutex_unlock(&lv->lock);
    if (last)
        free(s);
}

SSL_CTX *azkmd_live_tls(azkmd_live *lv)
{
    SSL_CTX *ctx;

    pthread_mutex_lock(&lv->lock);
    ctx = lv->ssl;
    if (ctx != NULL && SSL_CTX_up_ref(ctx) != 1)
        ctx = NULL;
    pthread_mutex_unlock(&lv->lock);
    return ctx;
}

azkm_rc azkmd_live_replace(azkmd_live *lv, const azkmd_config *cfg, SSL_CTX *ssl)
{
    snapshot *s = snapshot_new(cfg), *old;
    SSL_CTX *old_ssl = NULL;

    if (s == NULL) {
        SSL_CTX_free(ssl);
        return azkm_set_error(AZKM_E_NOMEM, "out of memory");
    }
    pthread_mutex_lock(&lv->lock);
    old = lv->cur;
    lv->cur = s;
    if (ssl != NULL) {
        old_ssl = lv->ssl;
        lv->ssl = ssl;
    }
    pthread_mutex_unlock(&lv->lock);
    azkmd_live_release(lv, &old->cfg);
    SSL_CTX_free(old_ssl); /* connections made with it hold their own references */
    return AZKM_OK;
}

azkmd_ratelimit *azkmd_live_limits(azkmd_live *lv)
{
    return lv->limits;
}
