/* The token issuer's HTTP endpoints (api/issuer.c), under /<tenant>/ as Microsoft Entra ID serves them. */
#ifndef AZKMD_ISSUER_H
#define AZKMD_ISSUER_H

#include "api/request.h"

/* 1 when path is one of the issuer's (OpenID discovery, JWKS, token) and a token_signing_key is configured: the
 * reply is left in r. 0 otherwise (the path is the keys API's). No credentials are needed: the token endpoint
 * authenticates the client itself. */
int azkmd_issuer_handle(azkmd_request *r, const char *path);

#endif
