/* Who is calling: the principals of a request's peer and how they were established (Unix socket peer credentials
 * or a TLS client certificate). Principals use the keystore's vocabulary: uid:<n>, gid:<n>, sp:<appId>. */
#ifndef AZKMD_IDENTITY_H
#define AZKMD_IDENTITY_H

#include <stddef.h>

#include <openssl/types.h>

#include "azkm/keystore.h"

struct evhttp_request;

/* BEARER: an access token of azkmd's own issuer (auth/tokens.h); CLIENT_SECRET, CLIENT_ASSERTION: a token request's
 * client, by its secret or by an assertion signed with its certificate's key (the token endpoint authenticates it
 * itself). */
typedef enum {
    AZKMD_AUTH_NONE = 0,
    AZKMD_AUTH_PEERCRED = 1,
    AZKMD_AUTH_MTLS = 2,
    AZKMD_AUTH_BEARER = 3,
    AZKMD_AUTH_CLIENT_SECRET = 4,
    AZKMD_AUTH_CLIENT_ASSERTION = 5
} azkmd_auth_method;

/* A Unix peer: uid, primary gid, and up to 32 supplementary groups (with more, none is considered). */
#define AZKMD_MAX_GROUPS 32
#define AZKMD_MAX_PRINCIPALS (2 + AZKMD_MAX_GROUPS)

typedef struct {
    azkmd_auth_method method;
    char principals[AZKMD_MAX_PRINCIPALS][48];
    size_t n_principals;
    char cert_sha256[65]; /* mTLS: the client certificate's SHA-256 fingerprint, lowercase hex */
    X509 *cert;           /* mTLS: the client certificate, owned by the connection (not freed here) */
    int cert_verified;    /* mTLS: its chain verified against tls_client_ca (else: matched by fingerprint only) */
    char address[64];     /* the client's address ("unix" for a Unix socket peer) */
} azkmd_identity;

/* Fills id from the request's connection: SO_PEERCRED on a Unix socket (uid:N and gid:N of the peer, and gid:N of
 * each supplementary group by SO_PEERGROUPS), the client certificate the handshake accepted on TLS, and whether its
 * chain verified against tls_client_ca (no principal yet: azkmd_identify_sp). A TLS client without a certificate
 * is left AZKMD_AUTH_NONE. */
void azkmd_identify(struct evhttp_request *req, int tls, azkmd_identity *id);
/* mTLS: the service principal registered with the client certificate, by its fingerprint, else, only when its chain
 * verified against tls_client_ca, by its issuer and subject (an unverified certificate's names prove nothing):
 * adds "sp:<appId>" to id.
 * AZKM_E_NOT_FOUND (message naming the fingerprint) when no service principal has it. */
azkm_rc azkmd_identify_sp(azkm_keystore *ks, azkmd_identity *id);
const char *azkmd_auth_method_name(azkmd_auth_method m);

#endif
