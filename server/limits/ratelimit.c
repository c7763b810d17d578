/* Token buckets in a bounded, set-associative table (limits/ratelimit.h). */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "limits/ratelimit.h"

#define WAYS 8

typedef struct {
    uint64_t hash;
    char key[AZKMD_RATELIMIT_KEY_MAX + 1]; /* "": a free entry */
    double tokens;
    double last; /* when tokens was computed */
} bucket;

typedef struct {
    pthread_mutex_t lock;
    bucket b[WAYS];
} set;

struct azkmd_ratelimit {
    uint64_t seed;
    size_t n_sets;
    set *sets;
};

azkm_rc azkmd_ratelimit_new(size_t entries, azkmd_ratelimit **out)
{
    azkmd_ratelimit *rl = calloc(1, sizeof(*rl));

    if (rl == NULL)
        return azkm_set_error(AZKM_E_NOMEM, "out of memory making the rate limit table");
    rl->n_sets = entries / WAYS + (entries % WAYS != 0);
    if (rl->n_sets == 0)
        rl->n_sets = 1;
    if ((rl->sets = calloc(rl->n_sets, sizeof(set))) == NULL) {
        free(rl);
        return azkm_set_error(AZKM_E_NOMEM, "out of memory making the rate limit table");
    }
    if (RAND_bytes((unsigned char *)&rl->seed, sizeof(rl->seed)) != 1)
        rl->seed = (uint64_t)time(NULL);
    for (size_t i = 0; i < rl->n_sets; i++)
        pthread_mutex_init(&rl->sets[i].lock, NULL);
    *out = rl;
    return AZKM_OK;
}

void azkmd_ratelimit_free(azkmd_ratelimit *rl)
{
    if (rl == NULL)
        return;
    for (size_t i = 0; i < rl->n_sets; i++)
        pthread_mutex_destroy(&rl->sets[i].lock);
    free(rl->sets);
    free(rl);
}

/* FNV-1a over the seed and the key, then a final mix: a caller cannot aim its keys at one set without the seed. */
static uint64_t hash_key(uint64_t seed, const char *key)
{
    uint64_t h = 14695981039346656037ULL ^ seed;

    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* The key's entry in its set: found, else a free one, else the one idle the longest (reset for the key). */
static bucket *find(set *s, uint64_t h, const char *key, double burst, double now)
{
    bucket *victim = &s->b[0];

    for (int i = 0; i < WAYS; i++) {
        bucket *b = &s->b[i];

        if (b->key[0] != '\0' && b->hash == h && strcmp(b->key, key) == 0)
            return b;
        if (victim->key[0] != '\0' && (b->key[0] == '\0' || b->last < victim->last))
            victim = b;
    }
    victim->hash = h;
    snprintf(victim->key, sizeof(victim->key), "%s", key);
    victim->tokens = burst;
    victim->last = now;
    return victim;
}

int azkmd_ratelimit_take(azkmd_ratelimit *rl, const char *key, double rate, double burst, double now)
{
    char k[AZKMD_RATELIMIT_KEY_MAX + 1];
    uint64_t h;
    set *s;
    bucket *b;
    int wait = 0;

    if (rate <= 0)
        return 0;
    if (burst < 1)
        burst = 1;
    snprintf(k, sizeof(k), "%s", key[0] != '\0' ? key : "-");
    h = hash_key(rl->seed, k);
    s = &rl->sets[h % rl->n_sets];
    pthread_mutex_lock(&s->lock);
    b = find(s, h, k, burst, now);
    if (now > b->last)
        b->tokens = fmin(burst, b->tokens + (now - b->last) * rate);
    b->last = now > b->last ? now : b->last;
    if (b->tokens >= 1)
        b->tokens -= 1;
    else
        wait = (int)ceil((1 - b->tokens) / rate);
    pthread_mutex_unlock(&s->lock);
    return wait;
}

size_t azkmd_ratelimit_used(azkmd_ratelimit *rl)
{
    size_t n = 0;

    for (size_t i = 0; i < rl->n_sets; i++) {
        pthread_mutex_lock(&rl->sets[i].lock);
        for (int j = 0; j < WAYS; j++)
            n += rl->sets[i].b[j].key[0] != '\0';
        pthread_mutex_unlock(&rl->sets[i].lock);
    }
    return n;
}

double azkmd_ratelimit_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
