/* The client assertions' replay cache (see jti_cache.h): an open-addressing table indexed by the id's first bytes
 * (a SHA-256: uniform), probed over a window of AZKMD_JTI_PROBES slots. An expired entry is a tombstone: lookups go
 * past it, an insertion reuses it. */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/jti_cache.h"

#define AZKMD_JTI_PROBES 64

typedef struct {
    unsigned char id[32];
    int64_t expires; /* 0: never used (ends a probe) */
} jti_entry;

static jti_entry entries[AZKMD_JTI_CACHE_SIZE];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static size_t home(const unsigned char id[32])
{
    return ((size_t)id[0] | (size_t)id[1] << 8 | (size_t)id[2] << 16 | (size_t)id[3] << 24) &
           (AZKMD_JTI_CACHE_SIZE - 1);
}

/* The live entry holding id (NULL when none), and in *room the first reusable slot of the window (NULL when
 * none). Called with the lock held. */
static jti_entry *probe(const unsigned char id[32], int64_t now, jti_entry **room)
{
    size_t h = home(id);

    *room = NULL;
    for (size_t i = 0; i < AZKMD_JTI_PROBES; i++) {
        jti_entry *e = &entries[(h + i) & (AZKMD_JTI_CACHE_SIZE - 1)];

        if (e->expires == 0) {
            if (*room == NULL)
                *room = e;
            return NULL;
        }
        if (e->expires <= now) {
            if (*room == NULL)
                *room = e;
        } else if (CRYPTO_memcmp(e->id, id, 32) == 0) {
            return e;
        }
    }
    return NULL;
}

azkmd_jti_result azkmd_jti_remember(const unsigned char id[32], int64_t expires, int64_t now)
{
    jti_entry *room;
    azkmd_jti_result res = AZKMD_JTI_NEW;

    pthread_mutex_lock(&lock);
    if (probe(id, now, &room) != NULL)
        res = AZKMD_JTI_REPLAY;
    else if (room == NULL)
        res = AZKMD_JTI_FULL;
    else {
        memcpy(room->id, id, 32);
        room->expires = expires > now ? expires : now + 1;
    }
    pthread_mutex_unlock(&lock);
    return res;
}

void azkmd_jti_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(entries, 0, sizeof(entries));
    pthread_mutex_unlock(&lock);
}
