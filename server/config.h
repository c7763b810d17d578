/* azkmd's configuration: the file format of conf/azkmd.conf (docs/server.md) read into one plain struct, with the
 * defaults `azkmd --dev` and an empty file get. Errors are reported through azkm_set_error, naming file and line.
 */
#ifndef AZKMD_CONFIG_H
#define AZKMD_CONFIG_H

#include <stddef.h>

#include "azkm/keystore.h"

#define AZKMD_MAX_LISTENERS 8
#define AZKMD_PATH_MAX 4096

typedef enum { AZKMD_LISTEN_UNIX = 1, AZKMD_LISTEN_TLS = 2 } azkmd_listen_kind;

typedef struct {
    azkmd_listen_kind kind;
    char address[256];                   /* Unix: socket path; TLS: host:port (port 0: any free port) */
    unsigned mode;                       /* Unix: the socket's file mode (default 0660) */
    char vault[AZKM_VAULT_NAME_MAX + 1]; /* "": vault from the Host header; else this listener serves one vault */
} azkmd_listen_conf;

typedef struct {
    char keystore_dir[AZKMD_PATH_MAX]; /* "": the keystore's own default (AZKM_KEYSTORE_DIR, azkm.conf) */
    char audit_log[AZKMD_PATH_MAX];    /* "": the keystore's own setting */
    char domain[200];                  /* vaults are <vault>.<domain> */
    char authority[256];               /* the 401 challenge's authorization="<authority>/<tenant>" */
    char tenant[64];
    /* token_signing_key = <vault>/<key>: the key azkmd signs access tokens with ("": no token issuer, no bearer
     * tokens accepted) */
    char token_vault[AZKM_VAULT_NAME_MAX + 1];
    char token_key[AZKM_NAME_MAX + 1];
    int token_lifetime; /* seconds an access token is valid */
    char tls_certificate[AZKMD_PATH_MAX];
    char tls_key[AZKMD_PATH_MAX]; /* a PEM file, a key reference file or an azkm: URI (through the provider) */
    char tls_client_ca[AZKMD_PATH_MAX]; /* "": no client certificates asked for */
    azkmd_listen_conf listeners[AZKMD_MAX_LISTENERS];
    size_t n_listeners;
    int threads;          /* 0: one per core */
    long max_body_size;   /* bytes */
    long max_header_size; /* bytes, all headers together */
    int max_headers;      /* header lines per request */
    int timeout;          /* seconds: reading a request, writing a response, idle keep-alive */
    int shutdown_grace;   /* seconds SIGTERM waits for responses to be written */
    int max_connections;  /* open client connections, all listeners together; 0: no limit */
    /* Token buckets (limits/ratelimit.h): requests per second and burst per caller (0: no limit), and for the token
     * endpoint per client_id and per client address */
    double rate_limit;
    long rate_burst;
    double token_rate_limit;
    long token_rate_burst;
} azkmd_config;

void azkmd_config_defaults(azkmd_config *cfg);
/* Reads path over the defaults already in cfg. */
azkm_rc azkmd_config_load(const char *path, azkmd_config *cfg);
/* Checks what the file alone cannot: at least one listener, TLS files when a TLS listener exists. */
azkm_rc azkmd_config_check(const azkmd_config *cfg);
/* Reload (SIGHUP): the settings that differ between the running configuration and a new one, comma-separated into
 * out ("" when none); restart_only: those of them a reload cannot apply (listeners, keystore_dir, audit_log,
 * threads). */
void azkmd_config_diff(const azkmd_config *old, const azkmd_config *new, int restart_only, char *out, size_t len);
/* Copies the settings a reload cannot apply from the running configuration into the new one. */
void azkmd_config_keep_restart_only(const azkmd_config *old, azkmd_config *new);

#endif
