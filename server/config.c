/* Reads conf/azkmd.conf: `name = value` lines, `#` comments, listeners repeated (docs/server.md, "Configuration").
 * Every mistake names the file, the line and the setting. */
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

typedef struct {
    const char *file;
    int line;
} where;

void azkmd_config_defaults(azkmd_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->domain, sizeof(cfg->domain), "vault.azkm.localhost");
    snprintf(cfg->tenant, sizeof(cfg->tenant), "azkm");
    cfg->token_lifetime = 3600;
    cfg->max_body_size = 64 * 1024;
    cfg->max_header_size = 16 * 1024;
    cfg->max_headers = 64;
    cfg->timeout = 30;
    cfg->shutdown_grace = 2;
    cfg->max_connections = 512;
    cfg->rate_limit = 1000;
    cfg->rate_burst = 2000;
    cfg->token_rate_limit = 5;
    cfg->token_rate_burst = 10;
}

static azkm_rc set_path(const where *w, const char *name, const char *value, char *out, size_t len)
{
    if (strlen(value) >= len)
        return azkm_set_error(AZKM_E_INVALID, "%s:%d: %s is longer than %zu characters", w->file, w->line, name,
                              len - 1);
    snprintf(out, len, "%s", value);
    return AZKM_OK;
}

static azkm_rc set_number(const where *w, const char *name, const char *value, long lo, long hi, long *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n < lo || n > hi)
        return azkm_set_error(AZKM_E_INVALID, "%s:%d: %s must be a number from %ld to %ld, not '%s'", w->file,
                              w->line, name, lo, hi, value);
    *out = n;
    return AZKM_OK;
}

/* "<address> [mode=0660] [vault=<name>]" */
static azkm_rc listen_option(const where *w, azkmd_listen_conf *l, const char *opt)
{
    char *end;

    if (strncmp(opt, "mode=", 5) == 0 && l->kind == AZKMD_LISTEN_UNIX) {
        unsigned long m = strtoul(opt + 5, &end, 8);

        if (*end != '\0' || end == opt + 5 || m > 0777)
            return azkm_set_error(AZKM_E_INVALID, "%s:%d: mode must be octal, 0000 to 0777, not '%s'", w->file,
                                  w->line, opt + 5);
        l->mode = (unsigned)m;
        return AZKM_OK;
    }
    if (strncmp(opt, "vault=", 6) == 0) {
        if (!azkm_vault_name_valid(opt + 6))
            return azkm_set_error(AZKM_E_INVALID, "%s:%d: vault '%s' is not a valid vault name", w->file, w->line,
                                  opt + 6);
        snprintf(l->vault, sizeof(l->vault), "%s", opt + 6);
        return AZKM_OK;
    }
    return azkm_set_error(AZKM_E_INVALID, "%s:%d: unknown listener option '%s' (%s)", w->file, w->line, opt,
                          l->kind == AZKMD_LISTEN_UNIX ? "mode=, vault=" : "vault=");
}

static azkm_rc add_listener(const where *w, azkmd_config *cfg, azkmd_listen_kind kind, char *value)
{
    azkmd_listen_conf *l;
    char *save = NULL, *tok = strtok_r(value, " \t", &save);
    azkm_rc rc;

    if (cfg->n_listeners == AZKMD_MAX_LISTENERS)
        return azkm_set_error(AZKM_E_INVALID, "%s:%d: more than %d listeners", w->file, w->line,
                              AZKMD_MAX_LISTENERS);
    l = &cfg->listeners[cfg->n_listeners];
    memset(l, 0, sizeof(*l));
    l->kind = kind;
    l->mode = 0660;
    if (tok == NULL || (rc = set_path(w, "listener address", tok, l->address, sizeof(l->address))) != AZKM_OK)
        return tok == NULL ? azkm_set_error(AZKM_E_INVALID, "%s:%d: listener without an address", w->file, w->line)
                           : rc;
    if (kind == AZKMD_LISTEN_TLS && strrchr(tok, ':') == NULL)
        return azkm_set_error(AZKM_E_INVALID, "%s:%d: listen_tls needs host:port, not '%s'", w->file, w->line, tok);
    while ((tok = strtok_r(NULL, " \t", &save)) != NULL)
        if ((rc = listen_option(w, l, tok)) != AZKM_OK)
            return rc;
    cfg->n_listeners++;
    return AZKM_OK;
}

static azkm_rc set_int(const where *w, const char *name, const char *value, long lo, long hi, int *out)
{
    long n = 0;
    azkm_rc rc = set_number(w, name, value, lo, hi, &n);

    if (rc == AZKM_OK)
        *out = (int)n;
    return rc;
}

/* "<vault>/<key>": both names as the keystore accepts them. */
static azkm_rc set_token_key(const where *w, azkmd_config *cfg, const char *value)
{
    const char *slash = strchr(value, '/');
    size_t vlen = slash != NULL ? (size_t)(slash - value) : 0;

    if (slash == NULL || vlen > AZKM_VAULT_NAME_MAX || strlen(slash + 1) > AZKM_NAME_MAX)
        return azkm_set_error(AZKM_E_INVALID, "%s:%d: token_signing_key must be <vault>/<key>, got '%.80s'",
                              w->file, w->line, value);
    snprintf(cfg->token_vault, sizeof(cfg->token_vault), "%.*s", (int)vlen, value);
    snprintf(cfg->token_key, sizeof(cfg->token_key), "%s", slash + 1);
    if (!azkm_vault_name_valid(cfg->token_vault) || !azkm_key_name_valid(cfg->token_key))
        return azkm_set_error(AZKM_E_INVALID, "%s:%d: token_signing_key '%.80s': not a valid vault/key name",
                              w->file, w->line, value);
    return AZKM_OK;
}

/* "<requests per second> [burst=<n>]": a decimal rate (0.5: one request every 2 s), 0 turning the limit off; burst
 * defaults to twice the rate (at least 1). */
static azkm_rc set_rate(const where *w, const char *name, char *value, double *rate, long *burst)
{
    char *save = NULL, *tok = strtok_r(value, " \t", &save), *opt = strtok_r(NULL, " \t", &save), *end;

    errno = 0;
    *rate = strtod(tok, &end);
    if (errno != 0 || end == tok || *end != '\0' || !(*rate >= 0 && *rate <= 1000000))
        return azkm_set_error(AZKM_E_INVALID,
                              "%s:%d: %s must be requests per second, a number from 0 to 1000000, "
                              "not '%.40s'",
                              w->file, w->line, name, tok);
    *burst = *rate * 2 >= 1 ? (long)(*rate * 2) : 1;
    if (opt == NULL)
        return AZKM_OK;
    if (strncmp(opt, "burst=", 6) != 0)
        return azkm_set_error(AZKM_E_INVALID, "%s:%d: %s: unknown option '%.40s' (burst=)", w->file, w->line, name,
                              opt);
    if ((tok = strtok_r(NULL, " \t", &save)) != NULL)
        return azkm_set_error(AZKM_E_INVALID, "%s:%d: %s: unexpected '%.40s' after the burst", w->file, w->line,
                              name, tok);
    return set_number(w, "burst", opt + 6, 1, 10000000, burst);
}

static azkm_rc apply_limits(const where *w, azkmd_config *cfg, const char *name, char *value)
{
    if (strcmp(name, "max_connections") == 0)
        return set_int(w, name, value, 0, 1000000, &cfg->max_connections);
    if (strcmp(name, "rate_limit") == 0)
        return set_rate(w, name, value, &cfg->rate_limit, &cfg->rate_burst);
    if (strcmp(name, "token_rate_limit") == 0)
        return set_rate(w, name, value, &cfg->token_rate_limit, &cfg->token_rate_burst);
    return azkm_set_error(AZKM_E_INVALID, "%s:%d: unknown setting '%s'", w->file, w->line, name);
}

static azkm_rc apply(const where *w, azkmd_config *cfg, const char *name, char *value)
{
    if (strcmp(name, "listen_unix") == 0)
        return add_listener(w, cfg, AZKMD_LISTEN_UNIX, value);
    if (strcmp(name, "listen_tls") == 0)
        return add_listener(w, cfg, AZKMD_LISTEN_TLS, value);
    if (strcmp(name, "keystore_dir") == 0)
        return set_path(w, name, value, cfg->keystore_dir, sizeof(cfg->keystore_dir));
    if (strcmp(name, "audit_log") == 0)
        return set_path(w, name, value, cfg->audit_log, sizeof(cfg->audit_log));
    if (strcmp(name, "domain") == 0)
        return set_path(w, name, value, cfg->domain, sizeof(cfg->domain));
    if (strcmp(name, "authority") == 0)
        return set_path(w, name, value, cfg->authority, sizeof(cfg->authority));
    if (strcmp(name, "tenant") == 0)
        return set_path(w, name, value, cfg->tenant, sizeof(cfg->tenant));
    if (strcmp(name, "token_signing_key") == 0)
        return set_token_key(w, cfg, value);
    if (strcmp(name, "token_lifetime") == 0)
        return set_int(w, name, value, 60, 86400, &cfg->token_lifetime);
    if (strcmp(name, "tls_certificate") == 0)
        return set_path(w, name, value, cfg->tls_certificate, sizeof(cfg->tls_certificate));
    if (strcmp(name, "tls_key") == 0)
        return set_path(w, name, value, cfg->tls_key, sizeof(cfg->tls_key));
    if (strcmp(name, "tls_client_ca") == 0)
        return set_path(w, name, value, cfg->tls_client_ca, sizeof(cfg->tls_client_ca));
    if (strcmp(name, "threads") == 0)
        return set_int(w, name, value, 0, 256, &cfg->threads);
    if (strcmp(name, "max_body_size") == 0)
        return set_number(w, name, value, 1024, 64L * 1024 * 1024, &cfg->max_body_size);
    if (strcmp(name, "max_header_size") == 0)
        return set_number(w, name, value, 1024, 1024L * 1024, &cfg->max_header_size);
    if (strcmp(name, "max_headers") == 0)
        return set_int(w, name, value, 8, 1000, &cfg->max_headers);
    if (strcmp(name, "timeout") == 0)
        return set_int(w, name, value, 1, 3600, &cfg->timeout);
    if (strcmp(name, "shutdown_grace") == 0)
        return set_int(w, name, value, 0, 600, &cfg->shutdown_grace);
    return apply_limits(w, cfg, name, value);
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static azkm_rc parse_line(const where *w, azkmd_config *cfg, char *line)
{
    char *eq, *name, *value;

    if ((eq = strchr(line, '#')) != NULL)
        *eq = '\0';
    line = trim(line);
    if (*line == '\0')
        return AZKM_OK;
    if ((eq = strchr(line, '=')) == NULL)
        return azkm_set_error(AZKM_E_INVALID, "%s:%d: expected 'name = value', got '%.80s'", w->file, w->line,
                              line);
    *eq = '\0';
    name = trim(line);
    value = trim(eq + 1);
    if (*value == '\0')
        return azkm_set_error(AZKM_E_INVALID, "%s:%d: %s has no value", w->file, w->line, name);
    return apply(w, cfg, name, value);
}

azkm_rc azkmd_config_load(const char *path, azkmd_config *cfg)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    where w = {path, 0};
    azkm_rc rc = AZKM_OK;

    if (f == NULL)
        return azkm_set_error(AZKM_E_IO, "configuration file %s cannot be read: %s", path, strerror(errno));
    while (rc == AZKM_OK && fgets(line, sizeof(line), f) != NULL) {
        w.line++;
        if (strchr(line, '\n') == NULL && !feof(f))
            rc = azkm_set_error(AZKM_E_INVALID, "%s:%d: line longer than %zu characters", path, w.line,
                                sizeof(line) - 2);
        else
            rc = parse_line(&w, cfg, line);
    }
    fclose(f);
    return rc;
}

azkm_rc azkmd_config_check(const azkmd_config *cfg)
{
    int tls = 0;

    if (cfg->n_listeners == 0)
        return azkm_set_error(AZKM_E_INVALID, "no listener: add listen_unix or listen_tls");
    for (size_t i = 0; i < cfg->n_listeners; i++)
        tls |= cfg->listeners[i].kind == AZKMD_LISTEN_TLS;
    if (tls && (cfg->tls_certificate[0] == '\0' || cfg->tls_key[0] == '\0'))
        return azkm_set_error(AZKM_E_INVALID, "listen_tls needs tls_certificate and tls_key");
    if (cfg->domain[0] == '\0' || cfg->domain[0] == '.')
        return azkm_set_error(AZKM_E_INVALID, "domain '%s' is not a DNS domain", cfg->domain);
    return AZKM_OK;
}

typedef struct {
    const char *name;
    size_t offset, size;
    int restart_only;
} setting_field;

#define FIELD(name, member, restart)                                                                               \
    {                                                                                                              \
        name, offsetof(azkmd_config, member), sizeof(((azkmd_config *)0)->member), restart                         \
    }

static const setting_field fields[] = {
    FIELD("keystore_dir", keystore_dir, 1),
    FIELD("audit_log", audit_log, 1),
    FIELD("listen_unix/listen_tls", listeners, 1),
    FIELD("listen_unix/listen_tls", n_listeners, 1),
    FIELD("threads", threads, 1),
    FIELD("domain", domain, 0),
    FIELD("authority", authority, 0),
    FIELD("tenant", tenant, 0),
    FIELD("token_signing_key", token_vault, 0),
    FIELD("token_signing_key", token_key, 0),
    FIELD("token_lifetime", token_lifetime, 0),
    FIELD("tls_certificate", tls_certificate, 0),
    FIELD("tls_key", tls_key, 0),
    FIELD("tls_client_ca", tls_client_ca, 0),
    FIELD("max_body_size", max_body_size, 0),
    FIELD("max_header_size", max_header_size, 0),
    FIELD("max_headers", max_headers, 0),
    FIELD("timeout", timeout, 0),
    FIELD("shutdown_grace", shutdown_grace, 0),
    FIELD("max_connections", max_connections, 0),
    FIELD("rate_limit", rate_limit, 0),
    FIELD("rate_limit", rate_burst, 0),
    FIELD("token_rate_limit", token_rate_limit, 0),
    FIELD("token_rate_limit", token_rate_burst, 0),
};

void azkmd_config_diff(const azkmd_config *old, const azkmd_config *new, int restart_only, char *out, size_t len)
{
    const char *last = "";
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const setting_field *f = &fields[i];

        if (f->restart_only != restart_only || strcmp(f->name, last) == 0 ||
            memcmp((const char *)old + f->offset, (const char *)new + f->offset, f->size) == 0)
            continue;
        last = f->name;
        used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s", used ? ", " : "", f->name);
        if (used >= len)
            return;
    }
}

void azkmd_config_keep_restart_only(const azkmd_config *old, azkmd_config *new)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (fields[i].restart_only)
            memcpy((char *)new + fields[i].offset, (const char *)old + fields[i].offset, fields[i].size);
}
