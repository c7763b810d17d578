/* Worker threads: one event base and one evhttp per listener per thread, all accepting on the shared listening
 * sockets; each thread with its own keystore handle. */
#ifndef AZKMD_WORKERS_H
#define AZKMD_WORKERS_H

#include "http/listener.h"

typedef struct azkmd_workers azkmd_workers;

/* Starts n_threads workers (0: one per core) serving the listeners. */
azkm_rc azkmd_workers_start(const azkmd_config *cfg, const azkmd_listener *ls, size_t n_listeners, int n_threads,
                            azkmd_workers **out);
/* Stops accepting, lets the workers write the responses they have (at most grace seconds), joins and frees them. */
void azkmd_workers_stop(azkmd_workers *w, int grace);

#endif
