/* Per-caller rate limits (docs/server.md, "Limits"), answered as Key Vault throttles: 429 and Retry-After. */
#ifndef AZKMD_THROTTLE_H
#define AZKMD_THROTTLE_H

#include "api/request.h"

/* A request of the keys API, after authentication: 1 to go on; 0 when its caller (the authenticated principal, or
 * the client address when none) is over rate_limit: the reply is then 429 Throttled with Retry-After. */
int azkmd_throttle_request(azkmd_request *r);
/* A token request (each costs a slow hash): 0 to go on, else the seconds to wait when its client_id or its client
 * address (a Unix peer: its uid) is over token_rate_limit; Retry-After is then set and the caller answers 429. */
int azkmd_throttle_token(azkmd_request *r, const char *client_id);

#endif
