/* Key Vault's JSON shapes built from the keystore's key metadata: KeyBundle (JWK + attributes + tags), KeyItem
 * (list entries) and key ids https://<vault>.<domain>[:port]/keys/<name>[/<version>]. Public material only. */
#ifndef AZKMD_KEY_BUNDLE_H
#define AZKMD_KEY_BUNDLE_H

#include <jansson.h>

#include "azkm/keystore.h"

/* origin is scheme://host[:port], no trailing slash; version NULL or "" for a versionless id. */
int azkmd_kid(const char *origin, const char *name, const char *version, char *buf, size_t len);
/* {"key":{"kid","kty","key_ops",n/e|crv/x/y},"attributes":{...},"tags":{...}}, or NULL when out of memory or the
 * public key cannot be decoded. */
json_t *azkmd_key_bundle(const azkm_key_info *info, const char *origin);
/* {"kid":<versionless, or with the version when with_version>,"attributes":{...},"tags":{...}} */
json_t *azkmd_key_item(const azkm_key_info *info, const char *origin, int with_version);

/* A deleted key's bundle or item gets recoveryId (<origin>/deletedkeys/<name>), deletedDate, scheduledPurgeDate. */
void azkmd_add_deleted(json_t *obj, const azkm_key_info *info, const char *origin);

#endif
