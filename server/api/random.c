/* POST /rng: random bytes from the server's OpenSSL DRBG, {"count": 1..128} -> {"value": base64url}. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "azkm/base64.h"
#include "api/routes.h"
#include "json/body.h"

void azkmd_random_bytes(azkmd_request *r)
{
    unsigned char buf[128];
    json_int_t count = 0;
    int present = 0;
    char *text;
    azkm_rc rc = azkmd_body_int(r->body, "count", &count, &present);

    if (rc != AZKM_OK || !present || count < 1 || count > (json_int_t)sizeof(buf)) {
        azkmd_reply_error(r, 400, "BadParameter", "'count' must be an integer from 1 to 128");
        return;
    }
    if (RAND_bytes(buf, (int)count) != 1) {
        azkmd_reply_error(r, 500, "InternalError", "the random generator failed");
        return;
    }
    text = azkm_b64url_encode(buf, (size_t)count);
    azkmd_reply_json(r, 200, text != NULL ? json_pack("{s:s}", "value", text) : NULL);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (text != NULL)
        OPENSSL_cleanse(text, strlen(text));
    azkm_free(text);
}
