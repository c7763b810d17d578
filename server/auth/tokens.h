/* azkmd as its own token issuer: access tokens (JWTs, auth/jwt.h) signed by a key that lives in a vault (the
 * configured token_signing_key, <vault>/<key>: RSA -> RS256, EC P-256 -> ES256), and checked against the version of
 * that key their kid names, so a rotated signing key keeps accepting tokens of its earlier versions until they
 * expire (or the version is disabled). */
#ifndef AZKMD_TOKENS_H
#define AZKMD_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "azkm/keystore.h"
#include "config.h"

/* The names a client sees: the authority of the 401 challenge (authority, or https://<domain>), the issuer
 * <authority>/<tenant>/v2.0 and the audience, the resource of the challenge (https://<domain>). */
void azkmd_token_authority(const azkmd_config *cfg, char *buf, size_t cap);
void azkmd_token_issuer(const azkmd_config *cfg, char *buf, size_t cap);
void azkmd_token_audience(const azkmd_config *cfg, char *buf, size_t cap);

/* AZKM_OK when cfg->token_key's current version is in v and can sign tokens (RSA or EC P-256), else the error
 * naming it. */
azkm_rc azkmd_token_key_check(azkm_vault *v, const azkmd_config *cfg);
/* A signed access token for the service principal app_id, valid cfg->token_lifetime seconds from now. v is the
 * vault of cfg->token_key. *token: free(). */
azkm_rc azkmd_token_issue(azkm_vault *v, const azkmd_config *cfg, const char *app_id, int64_t now, char **token);
/* Verifies token (auth/jwt.h) with the signing key version its kid names; principal gets "sp:<appId>".
 * AZKM_E_AUTH naming the failed check. */
azkm_rc azkmd_token_check(azkm_vault *v, const azkmd_config *cfg, const char *token, int64_t now, char *principal,
                          size_t cap);
/* The JWKS document: the signing key's current version as a public JWK ({"keys":[...]}). */
azkm_rc azkmd_token_jwks(azkm_vault *v, const azkmd_config *cfg, json_t **out);

#endif
