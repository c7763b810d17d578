/* Key Vault's paged lists (GET keys, keys/{name}/versions, deletedkeys): every item's kid, page after page through
 * each answer's nextLink. */
#include <stdio.h>
#include <string.h>

#include "tiers/remote/remote_client.h"

#define PAGES_MAX 4000

const char *azkm_remote_kid_tail(const char *kid)
{
    const char *slash = kid != NULL ? strrchr(kid, '/') : NULL;

    return slash != NULL ? slash + 1 : "";
}

/* One page: its items' kids into kids; next receives its nextLink's path and query (with their api-version), or
 * "" on the last page. */
static azkm_rc one_page(azkm_remote_client *c, const char *entry, const char *path, json_t *kids, char *next,
                        size_t nlen)
{
    json_t *resp = NULL, *item;
    const char *link, *p;
    azkm_rc rc = azkm_remote_call(c, "GET", path, NULL, &resp);
    size_t i;

    next[0] = '\0';
    if (rc != AZKM_OK)
        return rc;
    json_array_foreach(json_object_get(resp, "value"), i, item)
    {
        const char *kid = json_string_value(json_object_get(item, "kid"));

        if (kid == NULL || *azkm_remote_kid_tail(kid) == '\0') {
            json_decref(resp);
            return azkm_fail(AZKM_E_CORRUPT,
                             "remote vault %s: azkmd's answer to GET %s holds an item without a kid", entry, path);
        }
        json_array_append_new(kids, json_string(kid));
    }
    link = json_string_value(json_object_get(resp, "nextLink"));
    /* http[s]://<vault>.<domain>[:port]/<path>?...: its path and query */
    if (link != NULL && (p = strstr(link, "://")) != NULL && (p = strchr(p + 3, '/')) != NULL && strlen(p) < nlen)
        snprintf(next, nlen, "%s", p);
    json_decref(resp);
    return AZKM_OK;
}

azkm_rc azkm_remote_list_kids(azkm_remote_client *c, const char *entry, const char *path, json_t *kids)
{
    char here[1024], next[1024];
    azkm_rc rc = AZKM_OK;

    snprintf(here, sizeof(here), "%s", path);
    for (int page = 0; rc == AZKM_OK && here[0] != '\0'; page++) {
        if (page == PAGES_MAX)
            return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: GET %s: azkmd's list goes on for over %d pages",
                             entry, path, PAGES_MAX);
        rc = one_page(c, entry, here, kids, next, sizeof(next));
        memcpy(here, next, sizeof(here));
    }
    return rc;
}
