/* azkmd: serves the keystore's vaults over Azure Key Vault's keys REST API (docs/server.md). Reads the
 * configuration, opens the listeners, starts the workers, and waits for SIGTERM / SIGINT to shut down gracefully.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "auth/tokens.h"
#include "config.h"
#include "http/listener.h"
#include "http/workers.h"
#include "live.h"

#define DEFAULT_CONFIG "/etc/azkm/azkmd.conf"

static void usage(FILE *out)
{
    fprintf(out, "usage: azkmd [--config FILE] [--check-config]\n"
                 "       azkmd --dev\n"
                 "Serves the keystore's vaults over Azure Key Vault's keys REST API (docs/server.md).\n"
                 "  --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
                 "  --check-config  check the configuration, the keystore and the TLS files, then exit\n"
                 "  --dev           a fresh keystore in a temporary directory with vault 'dev', served on a\n"
                 "                  Unix socket there; prints how to call it\n"
                 "Signals: SIGTERM and SIGINT stop after the requests in progress; SIGHUP reloads the\n"
                 "configuration and the TLS files without dropping connections.\n");
}

static int die(const char *what)
{
    fprintf(stderr, "azkmd: %s%s%s\n", what ? what : "", what ? ": " : "", azkm_last_error());
    return 1;
}

/* --dev's token issuer: an EC P-256 key "token-signing" in a vault "issuer" of its own (a vault no role assignment
 * reaches: whoever may sign with this key can mint tokens). */
static azkm_rc dev_issuer(azkm_keystore *ks, azkmd_config *cfg)
{
    azkm_keyspec spec;
    azkm_vault *v = NULL;
    azkm_rc rc = azkm_vault_create(ks, "issuer", NULL);

    memset(&spec, 0, sizeof(spec));
    spec.kty = AZKM_KTY_EC;
    spec.curve = AZKM_CURVE_P256;
    if (rc == AZKM_OK && (rc = azkm_vault_open(ks, "issuer", &v)) == AZKM_OK)
        rc = azkm_key_create(v, "token-signing", &spec, NULL);
    azkm_vault_close(v);
    snprintf(cfg->token_vault, sizeof(cfg->token_vault), "issuer");
    snprintf(cfg->token_key, sizeof(cfg->token_key), "token-signing");
    return rc;
}

static void dev_usage(const azkmd_config *cfg)
{
    const char *sock = cfg->listeners[0].address;

    printf("azkmd --dev: keystore %s, vault 'dev', audit log %s\n"
           "Vault URL: http://dev.%s (over the Unix socket %s)\n"
           "Tokens: a service principal (AZKM_KEYSTORE_DIR=%s azkm sp create --display-name me) gets one with\n"
           "  curl --unix-socket %s -d grant_type=client_credentials -d client_id=<appId> \\\n"
           "       -d client_secret=<password> -d scope=https://%s/.default 'http://%s/%s/oauth2/v2.0/token'\n"
           "Try:\n"
           "  curl --unix-socket %s -X POST -H 'Content-Type: application/json' -d '{\"kty\":\"EC\"}' \\\n"
           "       'http://dev.%s/keys/my-key/create?api-version=7.6'\n"
           "  curl --unix-socket %s 'http://dev.%s/keys?api-version=7.6'\n",
           cfg->keystore_dir, cfg->audit_log, cfg->domain, sock, cfg->keystore_dir, sock, cfg->domain, cfg->domain,
           cfg->tenant, sock, cfg->domain, sock, cfg->domain);
    fflush(stdout);
}

/* --dev: a throw-away keystore with one vault and a token issuer, served on a private Unix socket. */
static int dev_setup(azkmd_config *cfg)
{
    static char dir[] = "/tmp/azkmd-dev.XXXXXX";
    azkm_options opt;
    azkm_keystore *ks = NULL;
    azkm_rc rc;

    if (mkdtemp(dir) == NULL)
        return azkm_set_error(AZKM_E_IO, "cannot make a temporary directory") != AZKM_OK;
    snprintf(cfg->keystore_dir, sizeof(cfg->keystore_dir), "%s/keystore", dir);
    snprintf(cfg->audit_log, sizeof(cfg->audit_log), "%s/audit.log", dir);
    cfg->n_listeners = 1;
    cfg->listeners[0].kind = AZKMD_LISTEN_UNIX;
    cfg->listeners[0].mode = 0600;
    snprintf(cfg->listeners[0].address, sizeof(cfg->listeners[0].address), "%s/azkmd.sock", dir);
    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = cfg->keystore_dir;
    opt.audit_log = cfg->audit_log;
    if ((rc = azkm_keystore_open(&opt, &ks)) == AZKM_OK && (rc = azkm_vault_create(ks, "dev", NULL)) == AZKM_OK)
        rc = dev_issuer(ks, cfg);
    azkm_keystore_free(ks);
    if (rc != AZKM_OK)
        return 1;
    dev_usage(cfg);
    return 0;
}

typedef struct {
    azkmd_config cfg;
    const char *config_path; /* NULL with --dev */
    SSL_CTX *ssl;
    azkmd_listener listeners[AZKMD_MAX_LISTENERS];
    size_t n_listeners;
} server;

/* The token signing key exists and can sign tokens (RSA or EC P-256): found at start, not at the first token. */
static azkm_rc token_key_check(azkm_keystore *ks, const azkmd_config *cfg)
{
    azkm_vault *v = NULL;
    azkm_rc rc = azkm_vault_open(ks, cfg->token_vault, &v);

    if (rc == AZKM_OK)
        rc = azkmd_token_key_check(v, cfg);
    azkm_vault_close(v);
    return rc;
}

/* Everything that can fail on a bad configuration, at start and on SIGHUP: the settings together, the keystore,
 * the token signing key, the TLS files (*ssl: the new TLS context, NULL without TLS listeners). On failure *what
 * names the part. */
static azkm_rc validate(const azkmd_config *cfg, SSL_CTX **ssl, const char **what)
{
    azkm_options opt;
    azkm_keystore *ks = NULL;
    azkm_rc rc;
    int tls = 0;

    *ssl = NULL;
    *what = "configuration";
    if ((rc = azkmd_config_check(cfg)) != AZKM_OK)
        return rc;
    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = cfg->keystore_dir[0] ? cfg->keystore_dir : NULL;
    opt.audit_log = cfg->audit_log[0] ? cfg->audit_log : NULL;
    *what = "keystore";
    if ((rc = azkm_keystore_open(&opt, &ks)) != AZKM_OK)
        return rc;
    *what = "token_signing_key";
    rc = cfg->token_vault[0] != '\0' ? token_key_check(ks, cfg) : AZKM_OK;
    azkm_keystore_free(ks);
    if (rc != AZKM_OK)
        return rc;
    for (size_t i = 0; i < cfg->n_listeners; i++)
        tls |= cfg->listeners[i].kind == AZKMD_LISTEN_TLS;
    *what = "TLS";
    return tls ? azkmd_tls_context(cfg, ssl) : AZKM_OK;
}

static int prepare(server *s)
{
    const char *what;

    return validate(&s->cfg, &s->ssl, &what) != AZKM_OK ? die(what) : 0;
}

static int open_listeners(server *s)
{
    for (size_t i = 0; i < s->cfg.n_listeners; i++) {
        const azkmd_listen_conf *lc = &s->cfg.listeners[i];
        azkmd_listener *l = &s->listeners[i];

        if (azkmd_listener_open(&s->cfg, lc, l) != AZKM_OK)
            return die("listener");
        s->n_listeners = i + 1;
        if (lc->kind == AZKMD_LISTEN_TLS)
            fprintf(stderr, "azkmd: listening on https://%s (port %d)%s%s\n", lc->address, l->port,
                    lc->vault[0] ? " for vault " : "", lc->vault);
        else
            fprintf(stderr, "azkmd: listening on unix:%s (mode %04o)%s%s\n", lc->address, lc->mode,
                    lc->vault[0] ? " for vault " : "", lc->vault);
    }
    return 0;
}

/* Reads and checks the configuration file again; puts it in force only when all of it is valid (the running one
 * stays otherwise). Settings a reload cannot apply are named and left as they are. */
static void reload_from(server *s, azkmd_live *live, azkmd_workers *w, const azkmd_config *cur, azkmd_config *next)
{
    char changed[512], restart[256];
    const char *what = "configuration";
    SSL_CTX *ssl = NULL;

    azkmd_config_defaults(next);
    if (azkmd_config_load(s->config_path, next) != AZKM_OK) {
        fprintf(stderr, "azkmd: SIGHUP: %s; keeping the running configuration\n", azkm_last_error());
        return;
    }
    azkmd_config_diff(cur, next, 1, restart, sizeof(restart));
    if (restart[0] != '\0')
        fprintf(stderr, "azkmd: SIGHUP: %s changed: needs a restart, not applied\n", restart);
    azkmd_config_keep_restart_only(cur, next);
    if (validate(next, &ssl, &what) != AZKM_OK) {
        fprintf(stderr, "azkmd: SIGHUP: %s %s: %s; keeping the running configuration\n", s->config_path, what,
                azkm_last_error());
        return;
    }
    azkmd_config_diff(cur, next, 0, changed, sizeof(changed));
    if (azkmd_live_replace(live, next, ssl) != AZKM_OK) {
        fprintf(stderr, "azkmd: SIGHUP: %s; keeping the running configuration\n", azkm_last_error());
        return;
    }
    azkmd_workers_apply(w, next);
    fprintf(stderr, "azkmd: SIGHUP: reloaded %s (changed: %s)%s\n", s->config_path, changed[0] ? changed : "none",
            ssl != NULL ? "; TLS certificate, key and client CA loaded again for new connections" : "");
}

static void reload(server *s, azkmd_live *live, azkmd_workers *w)
{
    azkmd_config *next = malloc(sizeof(*next));
    const azkmd_config *cur;

    if (s->config_path == NULL || next == NULL) {
        fprintf(stderr, "azkmd: SIGHUP: %s: nothing reloaded\n",
                next == NULL ? "out of memory" : "no configuration file (--dev)");
        free(next);
        return;
    }
    cur = azkmd_live_config(live);
    reload_from(s, live, w, cur, next);
    azkmd_live_release(live, cur);
    free(next);
}

/* Blocks until SIGTERM or SIGINT (the signals are blocked in every thread and taken here); SIGHUP reloads. */
static int serve(server *s)
{
    azkmd_workers *w = NULL;
    azkmd_live *live = NULL;
    sigset_t set;
    int sig = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (open_listeners(s) != 0)
        return 1;
    if (azkmd_live_new(&s->cfg, s->ssl, &live) != AZKM_OK)
        return die("start");
    s->ssl = NULL; /* live's now */
    if (azkmd_workers_start(&s->cfg, live, s->listeners, s->n_listeners, &w) != AZKM_OK) {
        azkmd_live_free(live);
        return die("workers");
    }
    fprintf(stderr, "azkmd: ready\n");
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
        reload(s, live, w);
    fprintf(stderr, "azkmd: %s: finishing the requests in progress\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    azkmd_workers_stop_accepting(w);
    /* Closed now, not at exit: a client connecting during the grace period is refused, not left in the backlog. */
    for (size_t i = 0; i < s->n_listeners; i++)
        azkmd_listener_close(&s->listeners[i]);
    {
        const azkmd_config *cur = azkmd_live_config(live);

        azkmd_workers_stop(w, cur->shutdown_grace);
        azkmd_live_release(live, cur);
    }
    azkmd_live_free(live);
    fprintf(stderr, "azkmd: stopped\n");
    return 0;
}

/* A SIGHUP while starting (a reload right after the start) waits for serve's sigwait instead of ending azkmd. */
static void block_hup(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int main(int argc, char **argv)
{
    static server s;
    const char *config = NULL;
    int check = 0, dev = 0, rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--check-config") == 0)
            check = 1;
        else if (strcmp(argv[i], "--dev") == 0)
            dev = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "azkmd: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    s.config_path = dev ? NULL : config ? config : DEFAULT_CONFIG;
    block_hup();
    azkmd_config_defaults(&s.cfg);
    if (dev ? dev_setup(&s.cfg) != 0 : azkmd_config_load(config ? config : DEFAULT_CONFIG, &s.cfg) != AZKM_OK)
        return die(NULL);
    if (prepare(&s) != 0)
        return 1;
    if (check) {
        printf("azkmd: configuration %s is valid\n", dev ? "(--dev)" : config ? config : DEFAULT_CONFIG);
        return 0;
    }
    rc = serve(&s);
    for (size_t i = 0; i < s.n_listeners; i++)
        azkmd_listener_close(&s.listeners[i]);
    SSL_CTX_free(s.ssl);
    return rc;
}
