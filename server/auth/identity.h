/* Who is calling: the principals of a request's peer and how they were established (Unix socket peer credentials
 * or a TLS client certificate). Principals use the keystore's vocabulary: uid:<n>, gid:<n>, sp:<appId>. */
#ifndef AZKMD_IDENTITY_H
#define AZKMD_IDENTITY_H

#include <stddef.h>

struct evhttp_request;

typedef enum { AZKMD_AUTH_NONE = 0, AZKMD_AUTH_PEERCRED = 1, AZKMD_AUTH_MTLS = 2 } azkmd_auth_method;

#define AZKMD_MAX_PRINCIPALS 2

typedef struct {
    azkmd_auth_method method;
    char principals[AZKMD_MAX_PRINCIPALS][48];
    size_t n_principals;
    char cert_sha256[65]; /* mTLS: the client certificate's SHA-256 fingerprint, lowercase hex */
    char address[64];     /* the client's address ("unix" for a Unix socket peer) */
} azkmd_identity;

/* Fills id from the request's connection: SO_PEERCRED on a Unix socket (uid:N and gid:N of the peer), the
 * verified client certificate on TLS. A TLS client without a certificate is left AZKMD_AUTH_NONE. */
void azkmd_identify(struct evhttp_request *req, int tls, azkmd_identity *id);
const char *azkmd_auth_method_name(azkmd_auth_method m);

#endif
