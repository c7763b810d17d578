/* What a SIGHUP replaces while requests run: the configuration in force and the TLS context. Workers take a
 * reference for each request (configuration) or connection (TLS context) and drop it when done; the replaced ones
 * are freed when their last user is. The rate limit table lives here too (one per process, kept across reloads). */
#ifndef AZKMD_LIVE_H
#define AZKMD_LIVE_H

#include <openssl/ssl.h>

#include "config.h"
#include "limits/ratelimit.h"

typedef struct azkmd_live azkmd_live;

/* Takes cfg (a copy is made) and ssl (owned; may be NULL without TLS listeners). */
azkm_rc azkmd_live_new(const azkmd_config *cfg, SSL_CTX *ssl, azkmd_live **out);
void azkmd_live_free(azkmd_live *lv);
/* The configuration in force, held until azkmd_live_release. */
const azkmd_config *azkmd_live_config(azkmd_live *lv);
void azkmd_live_release(azkmd_live *lv, const azkmd_config *cfg);
/* The TLS context in force, with a reference the caller frees (SSL_CTX_free); NULL without TLS. */
SSL_CTX *azkmd_live_tls(azkmd_live *lv);
/* Puts cfg (copied) and ssl (owned; NULL: keep the current one) in force for the next requests and connections. */
azkm_rc azkmd_live_replace(azkmd_live *lv, const azkmd_config *cfg, SSL_CTX *ssl);
azkmd_ratelimit *azkmd_live_limits(azkmd_live *lv);

#endif
