/* Worker threads: one event base and one evhttp per listener per thread, all accepting on the shared listening
 * sockets; each thread with its own keystore handle. */
#ifndef AZKMD_WORKERS_H
#define AZKMD_WORKERS_H

#include "http/listener.h"

typedef struct azkmd_workers azkmd_workers;

struct azkmd_live;

/* Starts cfg->threads workers (0: one per core) serving the listeners; requests take the configuration in force and
 * TLS handshakes the context in force from live. At most cfg->max_connections client connections are open at once
 * (0: no limit): at the limit the workers stop accepting (clients wait in the listen backlog) until one closes;
 * connections other workers accept in the instant before they stop may exceed it by a few. */
azkm_rc azkmd_workers_start(const azkmd_config *cfg, struct azkmd_live *live, const azkmd_listener *ls,
                            size_t n_listeners, azkmd_workers **out);
/* Reload: max_connections at once; timeout, max_body_size and max_header_size for connections accepted from now. */
void azkmd_workers_apply(azkmd_workers *w, const azkmd_config *cfg);
/* Client connections open now. */
int azkmd_workers_connections(azkmd_workers *w);
/* Returns once no worker accepts new connections (the listening sockets can then be closed); the connections they
 * have go on. */
void azkmd_workers_stop_accepting(azkmd_workers *w);
/* Lets the workers finish the requests on their connections (at most grace seconds), then joins and frees them. */
void azkmd_workers_stop(azkmd_workers *w, int grace);

#endif
