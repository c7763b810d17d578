/* Listening sockets (Unix and TCP) and the TLS context: opened once by the main thread, accepted on by every worker
 * thread. */
#ifndef AZKMD_LISTENER_H
#define AZKMD_LISTENER_H

#include <openssl/ssl.h>

#include "config.h"

typedef struct {
    const azkmd_listen_conf *conf;
    int fd;
    int port; /* TLS: the port bound (the configured one, or the one the kernel chose for port 0) */
} azkmd_listener;

azkm_rc azkmd_listener_open(const azkmd_config *cfg, const azkmd_listen_conf *lc, azkmd_listener *out);
void azkmd_listener_close(azkmd_listener *l);
/* TLS 1.2+, certificate chain and key from the configuration; client certificates asked for (not required) when
 * tls_client_ca is set. The key may be an azkm: URI or a key reference file, loaded through OSSL_STORE (the azkm
 * provider must then be configured, docs/provider.md). */
azkm_rc azkmd_tls_context(const azkmd_config *cfg, SSL_CTX **out);

#endif
