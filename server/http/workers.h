/* Worker threads: one event base and one evhttp per listener per thread, all accepting on the shared listening
 * sockets; each thread with its own keystore handle. */
#ifndef AZKMD_WORKERS_H
#define AZKMD_WORKERS_H

#include "http/listener.h"

typedef struct azkmd_workers azkmd_workers;

/* Starts n_threads workers (0: one per core) serving the listeners. */
azkm_rc azkmd_workers_start(const azkmd_config *cfg, const azkmd_listener *ls, size_t n_listeners, int n_threads,
                            azkmd_workers **out);
/* Returns once no worker accepts new connections (the listening sockets can then be closed); the connections they
 * have go on. */
void azkmd_workers_stop_accepting(azkmd_workers *w);
/* Lets the workers finish the requests on their connections (at most grace seconds), then joins and frees them. */
void azkmd_workers_stop(azkmd_workers *w, int grace);

#endif
