/* Establishes the principals of a request's peer: SO_PEERCRED for Unix socket peers, the client certificate for
 * TLS peers (its chain verified against tls_client_ca, or pinned by its fingerprint: http/tls.c). */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "auth/identity.h"

const char *azkmd_auth_method_name(azkmd_auth_method m)
{
    switch (m) {
    case AZKMD_AUTH_PEERCRED:
        return "PeerCredentials";
    case AZKMD_AUTH_MTLS:
        return "ClientCertificate";
    case AZKMD_AUTH_BEARER:
        return "BearerToken";
    case AZKMD_AUTH_CLIENT_SECRET:
        return "ClientSecret";
    case AZKMD_AUTH_CLIENT_ASSERTION:
        return "ClientAssertion";
    default:
        return "None";
    }
}

/* The peer's supplementary groups as the kernel recorded them at connect (SO_PEERGROUPS): the groups the process
 * really had, not the group database's view, and no NSS lookup per request. Without them (an older kernel, or
 * more than the buffer holds) the peer is its uid and primary gid alone: fewer rights, never more. */
static void add_groups(int fd, gid_t primary, azkmd_identity *id)
{
    gid_t groups[AZKMD_MAX_GROUPS];
    socklen_t len = sizeof(groups);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
        return;
    for (size_t i = 0; i < len / sizeof(gid_t) && id->n_principals < AZKMD_MAX_PRINCIPALS; i++)
        if (groups[i] != primary)
            snprintf(id->principals[id->n_principals++], sizeof(id->principals[0]), "gid:%u", (unsigned)groups[i]);
}

static void identify_unix(int fd, azkmd_identity *id)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    snprintf(id->address, sizeof(id->address), "unix");
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
        return;
    snprintf(id->principals[0], sizeof(id->principals[0]), "uid:%u", (unsigned)cred.uid);
    snprintf(id->principals[1], sizeof(id->principals[1]), "gid:%u", (unsigned)cred.gid);
    id->n_principals = 2;
    id->method = AZKMD_AUTH_PEERCRED;
    add_groups(fd, cred.gid, id);
}

static void identify_tls(struct bufferevent *bev, azkmd_identity *id)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    X509 *cert = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;

    /* The handshake accepted the certificate: a verify result other than X509_V_OK is a chain that does not lead
     * to tls_client_ca, let through for fingerprint pinning (http/tls.c refuses every other error). */
    if (cert == NULL)
        return;
    if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
        return;
    for (unsigned i = 0; i < mdlen; i++) { /* by hand: 32 snprintf calls per request cost more than the digest */
        id->cert_sha256[2 * i] = "0123456789abcdef"[md[i] >> 4];
        id->cert_sha256[2 * i + 1] = "0123456789abcdef"[md[i] & 0x0f];
    }
    id->cert_sha256[2 * mdlen] = '\0';
    id->cert = cert;
    id->cert_verified = SSL_get_verify_result(ssl) == X509_V_OK;
    id->method = AZKMD_AUTH_MTLS;
}

static azkm_rc lookup_sp(azkm_keystore *ks, azkmd_identity *id)
{
    azkm_service_principal sp;
    unsigned char *der = NULL;
    int len = id->cert != NULL ? i2d_X509(id->cert, &der) : -1;
    azkm_rc rc;

    if (len <= 0)
        return azkm_set_error(AZKM_E_NOT_FOUND, "no client certificate");
    rc = azkm_sp_find_by_certificate(ks, der, (size_t)len, &sp);
    /* Only a chain verified against tls_client_ca makes a renewed certificate with the registered issuer and
     * subject the same principal: anyone can make an unverified certificate with any names. */
    if (rc == AZKM_E_NOT_FOUND && id->cert_verified)
        rc = azkm_sp_find_by_certificate_names(ks, der, (size_t)len, &sp);
    OPENSSL_free(der);
    if (rc == AZKM_E_NOT_FOUND)
        return azkm_set_error(AZKM_E_NOT_FOUND,
                              "the client certificate (sha256:%s) is not registered to any service principal "
                              "(azkm sp create --cert)%s",
                              id->cert_sha256,
                              id->cert_verified ? ""
                                                : "; its chain does not verify against tls_client_ca, so only its "
                                                  "fingerprint can match");
    if (rc != AZKM_OK)
        return rc;
    snprintf(id->principals[0], sizeof(id->principals[0]), "sp:%s", sp.app_id);
    id->n_principals = 1;
    return AZKM_OK;
}

/* Looking a certificate up opens the identity store and reads its service principals: about 1 ms, several times a
 * signature, for every request of a keep-alive TLS client. Each worker thread remembers the principal of the last
 * SP_CACHE certificates it identified (by SHA-256 fingerprint and whether the chain verified: an unverified
 * certificate never meets an entry its names found) for SP_CACHE_SECONDS: a service principal deleted,
 * or its certificate credential reset, stops authenticating a certificate within that bound (docs/server.md).
 * Only successes are kept; role assignments are not cached here (authorization reads them on every request). */
#define SP_CACHE 16
#define SP_CACHE_SECONDS 1

static _Thread_local struct {
    char sha256[65];
    int verified;
    char principal[48];
    struct timespec at;
} sp_cache[SP_CACHE];
static _Thread_local size_t sp_next;

static int sp_cached(azkmd_identity *id, const struct timespec *now)
{
    for (size_t i = 0; i < SP_CACHE; i++)
        if (sp_cache[i].sha256[0] != '\0' && strcmp(sp_cache[i].sha256, id->cert_sha256) == 0 &&
            sp_cache[i].verified == id->cert_verified &&
            (double)(now->tv_sec - sp_cache[i].at.tv_sec) + (double)(now->tv_nsec - sp_cache[i].at.tv_nsec) / 1e9 <
                SP_CACHE_SECONDS) {
            snprintf(id->principals[0], sizeof(id->principals[0]), "%s", sp_cache[i].principal);
            id->n_principals = 1;
            return 1;
        }
    return 0;
}

azkm_rc azkmd_identify_sp(azkm_keystore *ks, azkmd_identity *id)
{
    struct timespec now;
    size_t slot;
    azkm_rc rc;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (id->cert_sha256[0] != '\0' && sp_cached(id, &now))
        return AZKM_OK;
    if ((rc = lookup_sp(ks, id)) != AZKM_OK || id->cert_sha256[0] == '\0')
        return rc;
    slot = sp_next++ % SP_CACHE;
    snprintf(sp_cache[slot].sha256, sizeof(sp_cache[slot].sha256), "%s", id->cert_sha256);
    sp_cache[slot].verified = id->cert_verified;
    snprintf(sp_cache[slot].principal, sizeof(sp_cache[slot].principal), "%s", id->principals[0]);
    sp_cache[slot].at = now;
    return AZKM_OK;
}

void azkmd_identify(struct evhttp_request *req, int tls, azkmd_identity *id)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn != NULL ? evhttp_connection_get_bufferevent(conn) : NULL;
    char *host = NULL;
    ev_uint16_t port = 0;

    memset(id, 0, sizeof(*id));
    if (bev == NULL)
        return;
    if (!tls) {
        identify_unix(bufferevent_getfd(bev), id);
        return;
    }
    evhttp_connection_get_peer(conn, &host, &port);
    snprintf(id->address, sizeof(id->address), "%s:%u", host != NULL ? host : "?", (unsigned)port);
    identify_tls(bev, id);
}
