/* What role assignments and service principals share: random GUIDs for their names, and the MAC over a whole set
 * of records (each record's id and own MAC, in id order) kept in a meta setting, which catches a record removed,
 * copied in or put back after its deletion, none of which a record's own MAC can see. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "catalog/meta.h"
#include "rbac/rbac.h"

azkm_rc azkm_rbac_new_guid(azkm_vault *v, char out[AZKM_GUID_LEN + 1])
{
    unsigned char b[16];

    if (RAND_bytes_ex(v->ks->libctx, b, sizeof(b), 0) != 1)
        return azkm_fail_ossl(AZKM_E_CRYPTO, "cannot generate a GUID");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, AZKM_GUID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return AZKM_OK;
}

static azkm_rc set_mac(const azkm_vault *v, const char *label, const azkm_record_ref *refs, size_t n,
                       unsigned char mac[32])
{
    size_t llen = strlen(label) + 1, len = llen + AZKM_VAULT_ID_LEN + 8 + n * (AZKM_GUID_LEN + 1 + 32);
    unsigned char *buf = OPENSSL_zalloc(len), *p = buf;

    if (buf == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    memcpy(p, label, llen);
    p += llen;
    memcpy(p, v->vault_id, AZKM_VAULT_ID_LEN);
    p += AZKM_VAULT_ID_LEN;
    for (int i = 0; i < 8; i++)
        *p++ = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    for (size_t i = 0; i < n; i++) {
        memcpy(p, refs[i].id, strnlen(refs[i].id, AZKM_GUID_LEN));
        memcpy(p + AZKM_GUID_LEN + 1, refs[i].mac, 32);
        p += AZKM_GUID_LEN + 1 + 32;
    }
    azkm_hmac(v->mac_key, buf, len, mac);
    OPENSSL_free(buf);
    return AZKM_OK;
}

azkm_rc azkm_record_set_check(azkm_vault *v, const char *label, const azkm_record_ref *refs, size_t n,
                              const azkm_catalog_set_mac *stored, const char *what)
{
    unsigned char mac[32];
    azkm_rc rc;

    if (stored->len == 0 && n == 0)
        return AZKM_OK; /* never had one */
    if ((rc = set_mac(v, label, refs, n, mac)) != AZKM_OK)
        return rc;
    if (stored->len != 32 || CRYPTO_memcmp(mac, stored->value, 32) != 0)
        return azkm_fail(
            AZKM_E_INTEGRITY,
            "%s %s: integrity check failed for the %s: one was added, removed or put back outside azkm",
            strcmp(v->name, AZKM_IDENTITY_STORE) == 0 ? "keystore" : "vault",
            strcmp(v->name, AZKM_IDENTITY_STORE) == 0 ? "identity store" : v->name, what);
    return AZKM_OK;
}

azkm_rc azkm_record_set_write(azkm_vault *v, const char *meta_key, const char *label, const azkm_record_ref *refs,
                              size_t n)
{
    unsigned char mac[32];
    azkm_rc rc = set_mac(v, label, refs, n, mac);

    return rc == AZKM_OK ? azkm_catalog_meta_set(v->cat, meta_key, mac, sizeof(mac)) : rc;
}
