/* Reading keys: get (latest or by version), list keys and list a key's versions, with Key Vault's paging
 * (maxresults 1-25 and an absolute nextLink carrying $skiptoken). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "api/routes.h"
#include "json/key_bundle.h"

#define PAGE_MAX 25

void azkmd_key_get(azkmd_request *r)
{
    azkm_key_info info;
    azkm_rc rc = azkm_key_show(r->vault, r->name, r->version, &info);

    if (rc != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    snprintf(r->version, sizeof(r->version), "%s", info.version);
    azkmd_reply_json(r, 200, azkmd_key_bundle(&info, r->origin));
}

/* maxresults: absent means 25; 1-25 otherwise. */
static int page_size(azkmd_request *r, size_t *out)
{
    const char *text = azkmd_query(r, "maxresults");
    char *end;
    long n;

    *out = PAGE_MAX;
    if (text == NULL)
        return 1;
    n = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || n < 1 || n > PAGE_MAX) {
        azkmd_reply_error(r, 400, "BadParameter", "maxresults must be a number from 1 to %d, not '%.20s'", PAGE_MAX,
                          text);
        return 0;
    }
    *out = (size_t)n;
    return 1;
}

/* The index $skiptoken points at: the name (keys) or version (versions) of the page's first item. */
static int page_start(azkmd_request *r, const azkm_key_info *items, size_t n, int by_version, size_t *start)
{
    const char *token = azkmd_query(r, "$skiptoken");

    *start = 0;
    if (token == NULL)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (by_version ? strcmp(items[i].version, token) == 0 : strcasecmp(items[i].name, token) == 0) {
            *start = i;
            return 1;
        }
    azkmd_reply_error(r, 400, "BadParameter", "$skiptoken '%.130s' does not name an item of this list", token);
    return 0;
}

static json_t *next_link(azkmd_request *r, const char *path, const char *token, size_t max)
{
    char link[1024];
    char *enc = evhttp_encode_uri(token);

    snprintf(link, sizeof(link), "%s%s?api-version=%s&maxresults=%zu&$skiptoken=%s", r->origin, path,
             r->api_version, max, enc != NULL ? enc : "");
    free(enc);
    return json_string(link);
}

/* versions: items are versions (ids with the version, token by version); deleted: items are deleted keys. */
static void reply_page(azkmd_request *r, const azkm_key_info *items, size_t n, int versions, int deleted,
                       const char *path)
{
    size_t max, start;
    json_t *page, *value;

    if (!page_size(r, &max) || !page_start(r, items, n, versions, &start))
        return;
    page = json_object();
    value = json_array();
    for (size_t i = start; i < n && i < start + max; i++) {
        json_t *item = items[i].integrity_error ? NULL : azkmd_key_item(&items[i], r->origin, versions);

        if (deleted)
            azkmd_add_deleted(item, &items[i], r->origin);
        if (item != NULL)
            json_array_append_new(value, item);
    }
    json_object_set_new(page, "value", value);
    if (start + max < n)
        json_object_set_new(
            page, "nextLink",
            next_link(r, path, versions ? items[start + max].version : items[start + max].name, max));
    else
        json_object_set_new(page, "nextLink", json_null());
    azkmd_reply_json(r, 200, page);
}

static int by_name(const void *a, const void *b)
{
    return strcasecmp(((const azkm_key_info *)a)->name, ((const azkm_key_info *)b)->name);
}

static void list(azkmd_request *r, int deleted)
{
    azkm_key_info *items = NULL;
    size_t n = 0;
    azkm_rc rc = azkm_key_list(r->vault, deleted, &items, &n);

    if (rc != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    /* The skip token names an item: the order must be the same on every page. */
    if (n > 1)
        qsort(items, n, sizeof(*items), by_name);
    reply_page(r, items, n, 0, deleted, deleted ? "/deletedkeys" : "/keys");
    azkm_free(items);
}

void azkmd_key_list(azkmd_request *r)
{
    list(r, 0);
}

void azkmd_deleted_key_list(azkmd_request *r)
{
    list(r, 1);
}

void azkmd_key_list_versions(azkmd_request *r)
{
    azkm_key_info *items = NULL;
    size_t n = 0;
    char path[AZKM_NAME_MAX + 32];
    azkm_rc rc = azkm_key_list_versions(r->vault, r->name, &items, &n);

    if (rc != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    /* The keystore lists versions in the order they were made, which two versions made in one second keep. */
    snprintf(path, sizeof(path), "/keys/%s/versions", r->name);
    reply_page(r, items, n, 1, 0, path);
    azkm_free(items);
}
