/* Bearer tokens of a remote vault's service principal (remote_token.c) and the client assertions that get them
 * with a certificate (remote_assertion.c), shared by the files of tiers/remote/ only. */
#ifndef AZKM_TIER_REMOTE_TOKEN_H
#define AZKM_TIER_REMOTE_TOKEN_H

#include "tiers/remote/remote_client.h"

#define AZKM_REMOTE_AUDIENCE_MAX 700

/* A vault entry's token cache, for one process (a forked child may go on using its parent's token: a string). */
typedef struct azkm_remote_token azkm_remote_token;

/* conf's auth is AZKM_REMOTE_AUTH_SECRET or AZKM_REMOTE_AUTH_ASSERTION; tokens are got through client (which
 * must outlive the cache), assertions signed in libctx. */
azkm_rc azkm_remote_token_new(const char *entry, const azkm_remote_conf *conf, azkm_remote_client *client,
                              OSSL_LIB_CTX *libctx, const char *propq, azkm_remote_token **out);
/* The token is cleared. */
void azkm_remote_token_free(azkm_remote_token *t);
/* An azkm_remote_authorize_fn (arg: the cache): the cached token while more than 5 minutes, or a tenth of its
 * lifetime, is left; otherwise a new one from azkmd's token endpoint (one thread at a time gets it, the others
 * use the current one while it lasts or wait). */
azkm_rc azkm_remote_token_authorize(void *arg, unsigned stale, char *header, size_t len, unsigned *gen,
                                    int *cached);

/* ---- remote_assertion.c */
/* A client assertion (RFC 7523) for conf's client_id: a JWT signed PS256 with the key of its certificate, header
 * x5t#S256 the certificate's SHA-256 thumbprint; claims aud = the token endpoint that azkmd's discovery document
 * names (read once into aud, AZKM_REMOTE_AUDIENCE_MAX bytes, "" before), iss = sub = client_id, a random jti, nbf
 * and iat now, exp in 10 minutes. *out: OPENSSL_free. */
azkm_rc azkm_remote_assertion(const char *entry, const azkm_remote_conf *conf, azkm_remote_client *client,
                              OSSL_LIB_CTX *libctx, const char *propq, char *aud, char **out);

#endif
