/* The replay cache of client assertions (auth/assertion.h) and nothing else: the SHA-256 of (appId, jti) of each
 * assertion accepted, kept until that assertion expires (at most an hour). Bounded: AZKMD_JTI_CACHE_SIZE entries
 * (2.5 MiB) in a hash table, each id placed within a window of 64 slots from its hash; shared by the worker threads
 * under a mutex. */
#ifndef AZKMD_JTI_CACHE_H
#define AZKMD_JTI_CACHE_H

#include <stdint.h>

#define AZKMD_JTI_CACHE_SIZE 65536 /* a power of two */

typedef enum { AZKMD_JTI_NEW = 0, AZKMD_JTI_REPLAY = 1, AZKMD_JTI_FULL = 2 } azkmd_jti_result;

/* Remembers id until expires (epoch seconds) unless it is already there and live (REPLAY). Expired entries make
 * room; FULL when every slot of id's window is live (the assertion is then refused, not an entry forgotten:
 * forgetting would allow its replay). */
azkmd_jti_result azkmd_jti_remember(const unsigned char id[32], int64_t expires, int64_t now);
/* Forgets everything (unit tests). */
void azkmd_jti_reset(void);

#endif
