/* The client assertions' replay cache (see jti_cache.h). */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/jti_cache.h"

typedef struct {
    unsigned char id[32];
    int64_t expires; /* 0: a free slot */
} jti_entry;

static jti_entry entries[AZKMD_JTI_CACHE_SIZE];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The entry holding id while live, else a free or expired slot in *room (NULL when none). */
static jti_entry *find(const unsigned char id[32], int64_t now, jti_entry **room)
{
    *room = NULL;
    for (size_t i = 0; i < AZKMD_JTI_CACHE_SIZE; i++) {
        jti_entry *e = &entries[i];

        if (e->expires <= now) {
            e->expires = 0;
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
    if (find(id, now, &room) != NULL)
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
