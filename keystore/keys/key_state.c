/* The key state MAC: one HMAC per key over its row (type, deletion state, creation) and the list of its
 * versions with their own MACs. It catches what per-version MACs cannot: a version rolled back to an older copy
 * of itself, a version removed or copied in, and a deleted key "undeleted" (or the reverse) in the database. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "keys/records.h"
#include "keys/keys.h"

static int mac_update_i64(EVP_MAC_CTX *m, int64_t x)
{
    unsigned char b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)x >> (56 - 8 * i));
    return EVP_MAC_update(m, b, 8);
}

static int mac_update_blob(EVP_MAC_CTX *m, const void *p, size_t n)
{
    return mac_update_i64(m, (int64_t)n) && (n == 0 || EVP_MAC_update(m, p, n));
}

/* The MAC over a key row and what it covers of its versions, as read together from the catalog. */
static azkm_rc state_mac(azkm_vault *v, const azkm_catalog_key_row *r, unsigned char out[32])
{
    EVP_MAC *mac = EVP_MAC_fetch(v->ks->libctx, "HMAC", v->ks->propq);
    EVP_MAC_CTX *m = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                            OSSL_PARAM_construct_end()};
    const int64_t fields[5] = {r->kty, r->protection, r->created, r->deleted_on, r->scheduled_purge};
    size_t outlen = 0;
    int ok;

    ok = m != NULL && EVP_MAC_init(m, v->mac_key, 32, params) && mac_update_blob(m, "azkm-keystate-v1", 16) &&
         mac_update_blob(m, v->vault_id, AZKM_VAULT_ID_LEN) && mac_update_blob(m, r->name_lc, r->name_lc_len);
    for (int i = 0; ok && i < 5; i++)
        ok = mac_update_i64(m, fields[i]);
    for (size_t i = 0; ok && i < r->n_versions; i++)
        ok = mac_update_blob(m, r->versions[i].version, r->versions[i].version_len) &&
             mac_update_i64(m, r->versions[i].seq) &&
             mac_update_blob(m, r->versions[i].mac, r->versions[i].mac_len);
    ok = ok && EVP_MAC_final(m, out, &outlen, 32) && outlen == 32;
    EVP_MAC_CTX_free(m);
    EVP_MAC_free(mac);
    if (!ok)
        return azkm_fail_ossl(AZKM_E_CRYPTO, "vault %s: cannot compute a key state MAC", v->name);
    return AZKM_OK;
}

/* The key's row by id; a row gone from under a caller that just wrote or found it is reported as the read that
 * failed. */
static azkm_rc read_row(azkm_vault *v, int64_t rowid, azkm_catalog_key_row *r)
{
    azkm_rc rc = azkm_catalog_key_get(v->cat, rowid, r);

    return rc == AZKM_E_NOT_FOUND ? azkm_catalog_fail(v->cat, "reading a key's state") : rc;
}

azkm_rc azkm_key_state_update(azkm_vault *v, int64_t rowid)
{
    unsigned char mac[32];
    azkm_catalog_key_row r;
    azkm_rc rc = read_row(v, rowid, &r);

    if (rc != AZKM_OK)
        return rc;
    rc = state_mac(v, &r, mac);
    azkm_catalog_key_row_clear(&r);
    return rc == AZKM_OK ? azkm_catalog_key_set_state_mac(v->cat, rowid, mac) : rc;
}

azkm_rc azkm_key_state_verify(azkm_vault *v, const azkm_catalog_key_row *r, const char *name)
{
    unsigned char mac[32];
    azkm_rc rc = state_mac(v, r, mac);

    if (rc != AZKM_OK)
        return rc;
    if (r->state_mac == NULL || r->state_mac_len != 32 || CRYPTO_memcmp(r->state_mac, mac, 32) != 0)
        return azkm_fail(AZKM_E_INTEGRITY,
                         "vault %s: integrity check failed for key %s: its record set was changed outside azkm (a "
                         "version rolled back, added or removed, or its deleted state edited)",
                         v->name, name);
    return AZKM_OK;
}
