/* Backup and restore: the keystore's encrypted, authenticated blob of every version of a key, base64url on the
 * wire.
 */
#include <stdio.h>
#include <string.h>

#include "azkm/base64.h"
#include "api/routes.h"
#include "json/body.h"
#include "json/key_bundle.h"

void azkmd_key_backup(azkmd_request *r)
{
    unsigned char *blob = NULL;
    size_t len = 0;
    char *text;
    azkm_rc rc = azkm_key_backup(r->vault, r->name, &blob, &len);

    if (rc != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    text = azkm_b64url_encode(blob, len);
    azkmd_reply_json(r, 200, text != NULL ? json_pack("{s:s}", "value", text) : NULL);
    azkm_free(text);
    azkm_free(blob);
}

void azkmd_key_restore(azkmd_request *r)
{
    unsigned char *blob = NULL;
    size_t len = 0;
    azkm_key_info info;
    azkm_rc rc;

    if ((rc = azkmd_body_bytes(r->body, "value", 1, &blob, &len)) == AZKM_OK)
        rc = azkm_key_restore(r->vault, blob, len, &info);
    azkm_free(blob);
    if (rc != AZKM_OK) {
        azkmd_reply_rc(r, rc);
        return;
    }
    snprintf(r->name, sizeof(r->name), "%s", info.name);
    snprintf(r->version, sizeof(r->version), "%s", info.version);
    azkmd_reply_json(r, 200, azkmd_key_bundle(&info, r->origin));
}
