/* The key versions read from azkmd, per process: a public key and its attributes for each (remote vault, name,
 * version), and which version was current when, so that every loaded key of a process following one key asks
 * azkmd at most once per refresh interval. Bounded: the least recently used slot makes room. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tiers/remote/remote.h"

#define SLOTS 64

typedef struct {
    unsigned char scope[32]; /* the remote vault (remote_scope): all zero for a free slot */
    int64_t read_ms;         /* monotonic: when azkmd last showed this version */
    int64_t current_ms;      /* when it last answered this version to a GET of the current one; 0: never */
    uint64_t used;
    azkm_key_info info;
} slot;

static struct {
    pthread_mutex_t mu;
    uint64_t tick;
    slot s[SLOTS];
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* A child of a fork while another thread held the lock would find it locked forever. */
static void lock_fork(void)
{
    pthread_mutex_lock(&cache.mu);
}

static void unlock_fork(void)
{
    pthread_mutex_unlock(&cache.mu);
}

static void init_once(void)
{
    pthread_atfork(lock_fork, unlock_fork, unlock_fork);
}

int64_t azkm_remote_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Key names are case-insensitive in a vault, versions are lower-case hex; NULL version: any. */
static int same(const slot *e, const unsigned char scope[32], const char *name, const char *version)
{
    return memcmp(e->scope, scope, 32) == 0 && strcasecmp(e->info.name, name) == 0 &&
           (version == NULL || strcasecmp(e->info.version, version) == 0);
}

static slot *find_locked(const unsigned char scope[32], const char *name, const char *version)
{
    for (size_t i = 0; i < SLOTS; i++)
        if (same(&cache.s[i], scope, name, version))
            return &cache.s[i];
    return NULL;
}

/* The slot of (name, version), or the least recently used one, emptied. */
static slot *claim_locked(const unsigned char scope[32], const azkm_key_info *info)
{
    slot *e = find_locked(scope, info->name, info->version), *lru = &cache.s[0];

    if (e != NULL)
        return e;
    for (size_t i = 1; i < SLOTS; i++)
        if (cache.s[i].used < lru->used)
            lru = &cache.s[i];
    memset(lru, 0, sizeof(*lru));
    memcpy(lru->scope, scope, 32);
    return lru;
}

void azkm_remote_cache_put(const unsigned char scope[32], const azkm_key_info *info, int current)
{
    int64_t now = azkm_remote_now_ms();
    slot *e;

    pthread_once(&once, init_once);
    pthread_mutex_lock(&cache.mu);
    e = claim_locked(scope, info);
    e->info = *info;
    e->read_ms = now;
    e->used = ++cache.tick;
    if (current) {
        /* The key's other versions are no longer current. */
        for (size_t i = 0; i < SLOTS; i++)
            if (same(&cache.s[i], scope, info->name, NULL))
                cache.s[i].current_ms = 0;
        e->current_ms = now;
    }
    pthread_mutex_unlock(&cache.mu);
}

int azkm_remote_cache_get(const unsigned char scope[32], const char *name, const char *version, int64_t max_age_ms,
                          azkm_key_info *info)
{
    int64_t oldest = azkm_remote_now_ms() - max_age_ms;
    int found = 0;
    slot *e = NULL;

    pthread_once(&once, init_once);
    pthread_mutex_lock(&cache.mu);
    for (size_t i = 0; e == NULL && version == NULL && i < SLOTS; i++)
        if (same(&cache.s[i], scope, name, NULL) && cache.s[i].current_ms != 0)
            e = &cache.s[i];
    if (version != NULL)
        e = find_locked(scope, name, version);
    if (e != NULL && (version == NULL ? e->current_ms : e->read_ms) > oldest) {
        *info = e->info;
        e->used = ++cache.tick;
        found = 1;
    }
    pthread_mutex_unlock(&cache.mu);
    return found;
}
