/* Digests for the operations: fetched by name and property query from the provider's library context (SHA-1 and
 * SHA-2 under their usual names, without a query, from the provider context's cache), and their keystore names. */
#ifndef AZKM_PROV_DIGEST_H
#define AZKM_PROV_DIGEST_H

#include <openssl/evp.h>

#include "provctx.h"

/* A new reference to the digest called name in our library context, fetched under the property query props (NULL
 * or "" for none), or NULL when there is none. Free it with EVP_MD_free. */
EVP_MD *azkm_md_fetch(AZKM_PROVCTX *pctx, const char *name, const char *props);
/* Replaces *slot with the digest called name (see azkm_md_fetch); raises an error naming it when there is none. */
int azkm_md_choose(AZKM_PROVCTX *pctx, EVP_MD **slot, const char *name, const char *props);
/* The name the keystore knows md by ("SHA256": OpenSSL's short name), or NULL for no digest. */
const char *azkm_md_keystore_name(const EVP_MD *md);

#endif
