/* The API layer as the HTTP layer sees it: one request callback per listener, with the listener's description and
 * the worker thread's own keystore handle. */
#ifndef AZKMD_API_H
#define AZKMD_API_H

#include <sys/types.h>

#include "config.h"

struct evhttp_request;
struct azkmd_live;

/* A worker thread's keystore handle and the vaults it has opened (never shared between threads). */
typedef struct azkmd_vaults azkmd_vaults;

azkm_rc azkmd_vaults_new(const azkmd_config *cfg, azkmd_vaults **out);
void azkmd_vaults_free(azkmd_vaults *vs);

/* What a request callback needs to know about where the request came in. */
typedef struct {
    const azkmd_config *cfg; /* at start; a request's site has the configuration in force when it began */
    const azkmd_listen_conf *listen;
    int port; /* TLS: the bound port (in key ids unless 443) */
    uid_t self_uid;
    azkmd_vaults *vaults;    /* the worker thread's */
    struct azkmd_live *live; /* the configuration in force (each request takes its own) and the rate limits */
} azkmd_site;

/* evhttp's request callback (arg: azkmd_site): parse, authenticate, route, authorise, call the keystore, respond,
 * audit. */
void azkmd_api_handle(struct evhttp_request *req, void *arg);

#endif
