/* The verified-key cache of bearer token checks: the public key of each token signing key version a token named
 * (by vault, key and version), with the version's enabled flag and validity as last read, shared by the worker
 * threads. An entry is trusted for AZKMD_TOKEN_KEY_REVALIDATE seconds after it was read from the vault; then the
 * next token naming it reads the version again, so that a version disabled, expired by an edit, or deleted (with
 * its key) stops verifying within that bound. Bounded to AZKMD_TOKEN_KEY_CACHE entries (the oldest read is
 * replaced). Unknown kids are never cached. */
#ifndef AZKMD_TOKEN_KEYS_H
#define AZKMD_TOKEN_KEYS_H

#include <stdint.h>

#include <openssl/types.h>

#include "azkm/keystore.h"

#define AZKMD_TOKEN_KEY_REVALIDATE 2 /* seconds */
#define AZKMD_TOKEN_KEY_CACHE 16

/* The public key of version kid of vault_name/key_name (v is that vault, used when the entry must be read), usable
 * to verify a token at now (epoch seconds): *pub (EVP_PKEY_free) on AZKM_OK. AZKM_E_AUTH naming the problem: an
 * unknown kid, a version disabled, not yet valid or expired. mono is a monotonic clock in seconds (the
 * revalidation clock; the tests move it). */
azkm_rc azkmd_token_key_get(azkm_vault *v, const char *vault_name, const char *key_name, const char *kid,
                            int64_t now, int64_t mono, EVP_PKEY **pub);
/* Forgets every entry (unit tests). */
void azkmd_token_key_cache_clear(void);

#endif
