/* Token buckets per caller (limits/ratelimit.h) in front of the keys API and the token endpoint. */
#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "api/throttle.h"
#include "live.h"

/* The authenticated principal, else the peer's address without its port: what a bucket is kept for. */
static void caller_key(const azkmd_request *r, const char *prefix, char *out, size_t len)
{
    const char *colon = strrchr(r->id.address, ':');
    int host_len = colon != NULL ? (int)(colon - r->id.address) : (int)strlen(r->id.address);

    if (r->id.n_principals > 0)
        snprintf(out, len, "%s%s", prefix, r->id.principals[0]);
    else
        snprintf(out, len, "%saddr:%.*s", prefix, host_len, r->id.address);
}

static void retry_after(azkmd_request *r, int seconds)
{
    char text[16];

    snprintf(text, sizeof(text), "%d", seconds);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", text);
}

int azkmd_throttle_request(azkmd_request *r)
{
    const azkmd_config *cfg = r->site->cfg;
    char key[AZKMD_RATELIMIT_KEY_MAX + 1];
    int wait;

    caller_key(r, "", key, sizeof(key));
    wait = azkmd_ratelimit_take(azkmd_live_limits(r->site->live), key, cfg->rate_limit, (double)cfg->rate_burst,
                                azkmd_ratelimit_now());
    if (wait == 0)
        return 1;
    retry_after(r, wait);
    azkmd_reply_error(r, 429, "Throttled",
                      "Request was not processed because too many requests were received from %s (rate_limit %g "
                      "per second). Retry after %d seconds.",
                      key, cfg->rate_limit, wait);
    return 0;
}

int azkmd_throttle_token(azkmd_request *r, const char *client_id)
{
    const azkmd_config *cfg = r->site->cfg;
    azkmd_ratelimit *rl = azkmd_live_limits(r->site->live);
    char key[AZKMD_RATELIMIT_KEY_MAX + 1];
    double now = azkmd_ratelimit_now();
    int by_client, by_address;

    snprintf(key, sizeof(key), "token:client:%s", client_id);
    by_client = azkmd_ratelimit_take(rl, key, cfg->token_rate_limit, (double)cfg->token_rate_burst, now);
    caller_key(r, "token:", key, sizeof(key));
    by_address = azkmd_ratelimit_take(rl, key, cfg->token_rate_limit, (double)cfg->token_rate_burst, now);
    if (by_address > by_client)
        by_client = by_address;
    if (by_client > 0)
        retry_after(r, by_client);
    return by_client;
}
