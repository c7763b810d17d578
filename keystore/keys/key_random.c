/* Random bytes for a vault's user (Key Vault's POST /rng): azkmd's for a remote vault, this process's otherwise. */
#include <openssl/rand.h>

#include "keys/keys.h"
#include "tiers/remote/remote_admin.h"

azkm_rc azkm_key_random(azkm_vault *v, unsigned char *buf, size_t n)
{
    if (n < 1 || n > AZKM_RANDOM_MAX)
        return azkm_fail(AZKM_E_INVALID, "random bytes: %zu is not a count from 1 to %d", n, AZKM_RANDOM_MAX);
    if (v->remote != NULL)
        return azkm_remote_random(v->remote, buf, n);
    if (RAND_priv_bytes_ex(v->ks->libctx, buf, n, 0) != 1)
        return azkm_fail_ossl(AZKM_E_CRYPTO, "vault %s: the random generator failed", v->name);
    return AZKM_OK;
}
