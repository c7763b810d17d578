/* Token buckets keyed by caller (docs/server.md, "Limits"): one table shared by every worker thread, of a fixed
 * size chosen at start, so that no number of distinct callers can grow it. The table is set-associative: a key
 * hashes (with a per-process random seed) to a set of a few entries; a new key takes a free entry of its set, else
 * the one idle the longest (a bucket idle for burst/rate seconds is full again, so evicting it loses nothing). Each
 * set has its own lock. Times are passed in (seconds on a monotonic clock) so that tests drive the clock. */
#ifndef AZKMD_RATELIMIT_H
#define AZKMD_RATELIMIT_H

#include <stddef.h>

#include "azkm/keystore.h"

#define AZKMD_RATELIMIT_KEY_MAX 80

typedef struct azkmd_ratelimit azkmd_ratelimit;

/* A table of at least `entries` buckets (rounded up to whole sets). */
azkm_rc azkmd_ratelimit_new(size_t entries, azkmd_ratelimit **out);
void azkmd_ratelimit_free(azkmd_ratelimit *rl);
/* Takes one request from key's bucket, which refills at `rate` requests per second up to `burst`. Returns 0 when
 * the request may go on (always when rate is 0: no limit), else the whole seconds (at least 1) until the bucket
 * holds a request again: the Retry-After. Keys longer than AZKMD_RATELIMIT_KEY_MAX are cut there. */
int azkmd_ratelimit_take(azkmd_ratelimit *rl, const char *key, double rate, double burst, double now);
/* The entries in use (tests). */
size_t azkmd_ratelimit_used(azkmd_ratelimit *rl);
/* CLOCK_MONOTONIC in seconds: `now` for azkmd_ratelimit_take. */
double azkmd_ratelimit_now(void);

#endif
