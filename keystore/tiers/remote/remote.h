/* The remote tier: a vault whose keys live in azkmd, reached over its Unix socket. What vault/ (the entry's
 * remote.json) and keys/ (reading keys through the tier) use of it; the HTTP client is remote_client.h. */
#ifndef AZKM_TIER_REMOTE_H
#define AZKM_TIER_REMOTE_H

#include "tiers/tier.h"

#define AZKM_REMOTE_URL_MAX 256
#define AZKM_REMOTE_DOMAIN_MAX 253
#define AZKM_REMOTE_PATH_MAX 1024
#define AZKM_REMOTE_FILE "remote.json"

#define AZKM_REMOTE_TENANT_MAX 64
#define AZKM_REMOTE_TENANT_DEFAULT "azkm"

/* How the client authenticates ("auth" in remote.json): the Unix socket's peer credentials; a client certificate
 * (mTLS, https only); or a bearer token from azkmd's token endpoint, got with a service principal's secret (a file)
 * or with a client assertion signed by its certificate's key (remote_token.c). */
typedef enum {
    AZKM_REMOTE_AUTH_PEER,
    AZKM_REMOTE_AUTH_CERTIFICATE,
    AZKM_REMOTE_AUTH_SECRET,
    AZKM_REMOTE_AUTH_ASSERTION,
} azkm_remote_auth;

/* A remote vault's entry (remote.json): the azkmd URLs in the order they are tried, the vault's name on the
 * server (the Host header <vault>.<domain> selects it) and the timeouts. Authentication (auth): the peer
 * credentials of the Unix socket; a client certificate and its key (PEM files) for https URLs; or a bearer token
 * for client_id from tenant's token endpoint. Over https the server's certificate is verified against ca_file (or
 * the system's CAs) for the name <vault>.<domain>. */
typedef struct {
    size_t n_urls;
    char urls[AZKM_REMOTE_URLS_MAX][AZKM_REMOTE_URL_MAX + 1];
    char vault[AZKM_VAULT_NAME_MAX + 1];
    char domain[AZKM_REMOTE_DOMAIN_MAX + 1];
    long connect_timeout_ms;
    long timeout_ms;
    long refresh_s; /* an unversioned key re-asks which version is current after this long; 0: on every use */
    char ca_file[AZKM_REMOTE_PATH_MAX + 1];     /* "" for the system's CAs */
    char client_cert[AZKM_REMOTE_PATH_MAX + 1]; /* "" without https URLs */
    char client_key[AZKM_REMOTE_PATH_MAX + 1];
    azkm_remote_auth auth;
    char tenant[AZKM_REMOTE_TENANT_MAX + 1];       /* bearer tokens: azkmd's `tenant` */
    char client_id[AZKM_GUID_LEN + 1];             /* bearer tokens: the service principal's appId */
    char secret_file[AZKM_REMOTE_PATH_MAX + 1];    /* AZKM_REMOTE_AUTH_SECRET: the file holding the secret */
    char assertion_cert[AZKM_REMOTE_PATH_MAX + 1]; /* AZKM_REMOTE_AUTH_ASSERTION: the certificate (PEM) */
    char assertion_key[AZKM_REMOTE_PATH_MAX + 1];  /* and its RSA private key (PEM) */
} azkm_remote_conf;

#define AZKM_REMOTE_CONNECT_TIMEOUT_MS 2000
#define AZKM_REMOTE_TIMEOUT_MS 30000
#define AZKM_REMOTE_REFRESH_S 60
#define AZKM_REMOTE_REFRESH_S_MAX 86400
#define AZKM_REMOTE_DOMAIN_DEFAULT "vault.azkm.localhost"

/* ---- remote_conf.c */
/* AZKM_E_INVALID naming the entry, the field and the rule, unless every field of c is valid. */
azkm_rc azkm_remote_conf_check(const char *entry, const azkm_remote_conf *c);
/* Reads and checks the entry's remote.json (private, at most 64 KiB). */
azkm_rc azkm_remote_conf_read(const char *entry, const char *path, azkm_remote_conf *c);
/* https://host[:port] split into host and port (443 by default); AZKM_E_INVALID naming the entry otherwise. */
azkm_rc azkm_remote_https_split(const char *entry, const char *url, char host[AZKM_REMOTE_DOMAIN_MAX + 1],
                                unsigned *port);
/* The name of an auth in remote.json ("peer", "certificate", "secret", "assertion"). */
const char *azkm_remote_auth_name(azkm_remote_auth auth);
/* Writes c as remote.json at path (0600, atomically). */
azkm_rc azkm_remote_conf_write(const char *entry, const char *path, const azkm_remote_conf *c);

/* ---- tier_remote.c: the tier (made through the factory) and the reads keys/ does through it */
azkm_rc azkm_tier_remote_new(OSSL_LIB_CTX *libctx, const char *propq, const void *settings, azkm_tier **out);
/* One version (version NULL or "": the current one) as azkmd shows it: GET /keys/{name}[/{version}]. */
azkm_rc azkm_remote_key_get(azkm_tier *t, const char *name, const char *version, azkm_key_info *info);
/* The same from the process's cache (remote_cache.c) when azkmd showed it at most the entry's refresh_s ago
 * (version NULL: answered it as the current one), else from azkmd. */
azkm_rc azkm_remote_key_cached(azkm_tier *t, const char *name, const char *version, azkm_key_info *info);
/* The entry's refresh_s. */
long azkm_remote_refresh_s(const azkm_tier *t);
/* The current version of every key, as azkm_key_list returns them (one allocation, azkm_free). */
azkm_rc azkm_remote_key_list(azkm_tier *t, azkm_key_info **out, size_t *n);

/* ---- remote_cache.c: key versions read from azkmd, per process and bounded; scope identifies the remote vault
 * (its entry, URLs and credentials) */
int64_t azkm_remote_now_ms(void);
void azkm_remote_cache_put(const unsigned char scope[32], const azkm_key_info *info, int current);
/* 1 with *info when (name, version) was read at most max_age_ms ago (version NULL: the version answered as
 * current at most max_age_ms ago); 0 otherwise. */
int azkm_remote_cache_get(const unsigned char scope[32], const char *name, const char *version, int64_t max_age_ms,
                          azkm_key_info *info);

#endif
