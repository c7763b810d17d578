/* A key's life: update a version's attributes, tags and key_ops; soft-delete (all versions), read and list deleted
 * keys, recover, purge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/routes.h"
#include "json/attributes.h"
#include "json/key_bundle.h"

void azkmd_key_update(azkmd_request *r)
{
    azkm_attributes attrs;
    azkm_key_info info;
    unsigned fields = 0;
    azkm_rc rc;

    memset(&attrs, 0, sizeof(attrs));
    if (r->body == NULL) {
        azkmd_reply_error(r, 400, "BadParameter", "the request body is missing");
        return;
    }
    if ((rc = azkmd_read_key_ops(r->body, &attrs.key_ops, &fields)) != AZKM_OK ||
        (rc = azkmd_read_attributes(r->body, &attrs, &fields)) != AZKM_OK ||
        (rc = azkmd_read_tags(r->body, &attrs, &fields)) != AZKM_OK ||
        (rc = azkm_key_set_attributes(r->vault, r->name, r->version, fields, &attrs, &info)) != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    snprintf(r->version, sizeof(r->version), "%s", info.version);
    azkmd_reply_json(r, 200, azkmd_key_bundle(&info, r->origin));
}

static void reply_deleted(azkmd_request *r, const azkm_key_info *info)
{
    json_t *bundle = azkmd_key_bundle(info, r->origin);

    azkmd_add_deleted(bundle, info, r->origin);
    azkmd_reply_json(r, 200, bundle);
}

void azkmd_key_delete(azkmd_request *r)
{
    azkm_key_info info;
    azkm_rc rc = azkm_key_delete(r->vault, r->name, &info);

    if (rc != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    reply_deleted(r, &info);
}

void azkmd_deleted_key_get(azkmd_request *r)
{
    azkm_key_info *items = NULL;
    size_t n = 0;
    azkm_rc rc = azkm_key_list(r->vault, 1, &items, &n);
    size_t i;

    if (rc != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    for (i = 0; i < n && strcasecmp(items[i].name, r->name) != 0; i++)
        ;
    if (i == n)
        azkmd_reply_error(r, 404, "KeyNotFound", "deleted key %s/%s not found", r->vault_name, r->name);
    else
        reply_deleted(r, &items[i]);
    azkm_free(items);
}

void azkmd_key_recover(azkmd_request *r)
{
    azkm_key_info info;
    azkm_rc rc = azkm_key_recover(r->vault, r->name, &info);

    if (rc != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    snprintf(r->version, sizeof(r->version), "%s", info.version);
    azkmd_reply_json(r, 200, azkmd_key_bundle(&info, r->origin));
}

void azkmd_key_purge(azkmd_request *r)
{
    azkm_rc rc = azkm_key_purge(r->vault, r->name);

    if (rc != AZKM_OK)
        azkmd_reply_rc(r, rc);
    else
        azkmd_reply_json(r, 204, NULL);
}
