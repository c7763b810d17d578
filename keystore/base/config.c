/* Keystore settings: where the keystore lives (explicit option, then AZKM_KEYSTORE_DIR, then the config file,
 * then the default), where the audit log goes (option, AZKM_AUDIT_LOG, config file, none) and the size of the
 * secure heap for secrets (AZKM_SECURE_HEAP_SIZE, config file, default). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/secmem.h"

static azkm_rc copy_path(char *dir, size_t len, const char *a, const char *b)
{
    int n = snprintf(dir, len, "%s%s", a, b ? b : "");

    if (n < 0 || (size_t)n >= len)
        return azkm_fail(AZKM_E_INVALID, "keystore path '%.80s...' is too long", a);
    return AZKM_OK;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    size_t start = 0;

    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (isspace((unsigned char)s[start]))
        start++;
    memmove(s, s + start, n - start + 1);
}

static int parse_bool(const char *v, int *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0)
        *out = 0;
    else
        return 0;
    return 1;
}

/* A byte count with an optional K or M suffix (powers of 1024): 0, or a power of two the secure heap accepts. */
static int parse_heap_size(const char *v, size_t *out)
{
    char *end;
    unsigned long long n;

    if (!isdigit((unsigned char)v[0]))
        return 0;
    n = strtoull(v, &end, 10);
    if ((*end == 'K' || *end == 'k') && end[1] == '\0' && n <= AZKM_SECURE_HEAP_MAX >> 10)
        n <<= 10;
    else if ((*end == 'M' || *end == 'm') && end[1] == '\0' && n <= AZKM_SECURE_HEAP_MAX >> 20)
        n <<= 20;
    else if (*end != '\0')
        return 0;
    if (n != 0 && (n < AZKM_SECURE_HEAP_MIN || n > AZKM_SECURE_HEAP_MAX || (n & (n - 1)) != 0))
        return 0;
    *out = (size_t)n;
    return 1;
}

#define HEAP_SIZE_RULE "0 (no secure heap) or a power of two from 64K to 256M"

/* Reads a "name = value" config file into cfg; *found says whether keystore_dir was set. */
static azkm_rc read_config(const char *path, int must_exist, azkm_config *cfg, int *found)
{
    char *dir = cfg->dir;
    size_t len = sizeof(cfg->dir);

    FILE *f = fopen(path, "r");
    char line[4200];
    int lineno = 0;

    *found = 0;
    if (f == NULL) {
        if (!must_exist && errno == ENOENT)
            return AZKM_OK;
        return azkm_fail(errno == EACCES ? AZKM_E_PERMISSION : AZKM_E_IO, "config file %s: %s", path,
                         strerror(errno));
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *eq;

        lineno++;
        trim(line);
        if (line[0] == '\0' || line[0] == '#')
            continue;
        eq = strchr(line, '=');
        if (eq == NULL) {
            fclose(f);
            return azkm_fail(AZKM_E_INVALID, "config file %s line %d: expected name = value", path, lineno);
        }
        *eq = '\0';
        trim(line);
        trim(eq + 1);
        if (strcmp(line, "keystore_dir") == 0) {
            azkm_rc rc = copy_path(dir, len, eq + 1, NULL);

            if (rc != AZKM_OK) {
                fclose(f);
                return rc;
            }
            *found = 1;
        } else if (strcmp(line, "audit_log") == 0) {
            if ((size_t)snprintf(cfg->audit_log, sizeof(cfg->audit_log), "%s", eq + 1) >= sizeof(cfg->audit_log)) {
                fclose(f);
                return azkm_fail(AZKM_E_INVALID, "config file %s line %d: audit_log path too long", path, lineno);
            }
        } else if (strcmp(line, "audit_key_operations") == 0) {
            if (!parse_bool(eq + 1, &cfg->audit_key_operations)) {
                fclose(f);
                return azkm_fail(AZKM_E_INVALID,
                                 "config file %s line %d: audit_key_operations must be true or false", path,
                                 lineno);
            }
        } else if (strcmp(line, "secure_heap_size") == 0) {
            if (!parse_heap_size(eq + 1, &cfg->secure_heap_size)) {
                fclose(f);
                return azkm_fail(AZKM_E_INVALID, "config file %s line %d: secure_heap_size must be " HEAP_SIZE_RULE,
                                 path, lineno);
            }
        } else {
            fclose(f);
            return azkm_fail(AZKM_E_INVALID,
                             "config file %s line %d: unknown setting '%s' (known: keystore_dir, audit_log, "
                             "audit_key_operations, secure_heap_size)",
                             path, lineno, line);
        }
    }
    fclose(f);
    return AZKM_OK;
}

static azkm_rc default_config_path(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");

    if (geteuid() == 0)
        return copy_path(buf, len, "/etc/azkm/azkm.conf", NULL);
    if (xdg && *xdg)
        return copy_path(buf, len, xdg, "/azkm/azkm.conf");
    if (home && *home)
        return copy_path(buf, len, home, "/.config/azkm/azkm.conf");
    buf[0] = '\0';
    return AZKM_OK;
}

static azkm_rc default_dir(char *dir, size_t len)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");

    if (geteuid() == 0)
        return copy_path(dir, len, "/var/lib/azkm", NULL);
    if (xdg && *xdg)
        return copy_path(dir, len, xdg, "/azkm");
    if (home && *home)
        return copy_path(dir, len, home, "/.local/share/azkm");
    return azkm_fail(AZKM_E_INVALID, "no keystore directory: set AZKM_KEYSTORE_DIR or HOME");
}

azkm_rc azkm_config_load(const azkm_options *opt, azkm_config *cfg)
{
    const char *env = getenv("AZKM_KEYSTORE_DIR");
    const char *conf = opt ? opt->config_file : NULL;
    const char *audit = getenv("AZKM_AUDIT_LOG"), *audit_ops = getenv("AZKM_AUDIT_KEY_OPERATIONS");
    const char *heap = getenv("AZKM_SECURE_HEAP_SIZE");
    char conf_path[4096];
    int found = 0;
    azkm_rc rc;

    memset(cfg, 0, sizeof(*cfg));
    cfg->secure_heap_size = AZKM_SECURE_HEAP_DEFAULT;
    /* The file is always read, so that its other settings apply whatever chose the directory. */
    if (conf == NULL || *conf == '\0')
        conf = getenv("AZKM_CONF");
    if (conf && *conf) {
        rc = read_config(conf, 1, cfg, &found);
    } else {
        rc = default_config_path(conf_path, sizeof(conf_path));
        if (rc == AZKM_OK && conf_path[0])
            rc = read_config(conf_path, 0, cfg, &found);
    }
    if (rc != AZKM_OK)
        return rc;
    if (opt && opt->audit_log && *opt->audit_log)
        snprintf(cfg->audit_log, sizeof(cfg->audit_log), "%s", opt->audit_log);
    else if (audit && *audit)
        snprintf(cfg->audit_log, sizeof(cfg->audit_log), "%s", audit);
    if (audit_ops && *audit_ops && !parse_bool(audit_ops, &cfg->audit_key_operations))
        return azkm_fail(AZKM_E_INVALID, "AZKM_AUDIT_KEY_OPERATIONS must be true or false, not '%s'", audit_ops);
    if (heap && *heap && !parse_heap_size(heap, &cfg->secure_heap_size))
        return azkm_fail(AZKM_E_INVALID, "AZKM_SECURE_HEAP_SIZE must be " HEAP_SIZE_RULE ", not '%.40s'", heap);
    if (opt && opt->audit_key_operations)
        cfg->audit_key_operations = 1;
    if (opt && opt->keystore_dir && *opt->keystore_dir)
        return copy_path(cfg->dir, sizeof(cfg->dir), opt->keystore_dir, NULL);
    if (env && *env)
        return copy_path(cfg->dir, sizeof(cfg->dir), env, NULL);
    if (found)
        return AZKM_OK;
    return default_dir(cfg->dir, sizeof(cfg->dir));
}
