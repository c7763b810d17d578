/* Random bytes from azkmd: POST /rng {"count": n} -> {"value": base64url}, Key Vault's (Managed HSM's)
 * GetRandomBytes. A read as far as the server goes: retried like one. */
#include <string.h>

#include <openssl/crypto.h>

#include "tiers/remote/remote_admin.h"
#include "tiers/remote/remote_client.h"

azkm_rc azkm_remote_random(azkm_tier *t, unsigned char *buf, size_t n)
{
    const char *entry;
    azkm_remote_client *c = azkm_remote_tier_client(t, &entry);
    json_t *body = json_pack("{s:I}", "count", (json_int_t)n), *resp = NULL;
    unsigned char *value = NULL;
    size_t vlen = 0;
    azkm_rc rc =
        body != NULL ? azkm_remote_call(c, "POST", "/rng", body, &resp) : azkm_fail(AZKM_E_NOMEM, "out of memory");

    json_decref(body);
    if (rc == AZKM_OK)
        rc = azkm_remote_b64_member(entry, resp, "value", &value, &vlen);
    if (rc == AZKM_OK && vlen != n)
        rc = azkm_fail(AZKM_E_CORRUPT, "remote vault %s: azkmd answered %zu random bytes, not the %zu asked for",
                       entry, vlen, n);
    if (rc == AZKM_OK)
        memcpy(buf, value, n);
    if (value != NULL)
        OPENSSL_cleanse(value, vlen);
    azkm_free(value);
    if (resp != NULL && json_is_string(json_object_get(resp, "value")))
        OPENSSL_cleanse((char *)json_string_value(json_object_get(resp, "value")),
                        json_string_length(json_object_get(resp, "value")));
    json_decref(resp);
    return rc;
}
