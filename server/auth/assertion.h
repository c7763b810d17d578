/* OAuth2 client assertions (RFC 7523, RFC 7521 section 4.2) as Microsoft Entra ID takes them and @azure/identity's
 * ClientCertificateCredential sends them: a JWT signed RS256 or PS256 with the key of the service principal's
 * registered certificate, header x5t (SHA-1) or x5t#S256 (SHA-256) = the certificate's thumbprint, claims aud = the
 * token endpoint's URL, iss = sub = client_id, exp (nbf), jti. Each jti is accepted once (auth/jti_cache.h). */
#ifndef AZKMD_ASSERTION_H
#define AZKMD_ASSERTION_H

#include <stdint.h>

#include "azkm/keystore.h"

#define AZKMD_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define AZKMD_ASSERTION_MAX_LIFETIME 3600 /* exp at most this many seconds ahead (MSAL makes 10-minute ones) */

/* AZKM_OK when assertion authenticates app_id (lowercase) for the token endpoint token_url at now, and its jti was
 * not seen before (it is then remembered until it expires). AZKM_E_AUTH with a message naming the failed check
 * (never quoting the assertion); AZKM_E_UNSUPPORTED for a certificate registered without its public key ("re-add
 * the certificate"); AZKM_E_IO when the replay cache is full of live assertions. */
azkm_rc azkmd_assertion_check(azkm_keystore *ks, const char *assertion, const char *app_id, const char *token_url,
                              int64_t now);

#endif
