/* Where the keystore lives: explicit option, then AZKM_KEYSTORE_DIR, then the config file, then the default. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

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

/* Reads keystore_dir from a "name = value" config file. Sets *found when the setting is present. */
static azkm_rc read_config(const char *path, int must_exist, char *dir, size_t len, int *found)
{
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
        } else {
            fclose(f);
            return azkm_fail(AZKM_E_INVALID, "config file %s line %d: unknown setting '%s' (known: keystore_dir)",
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

azkm_rc azkm_config_resolve_dir(const azkm_options *opt, char *dir, size_t len)
{
    const char *env = getenv("AZKM_KEYSTORE_DIR");
    const char *conf = opt ? opt->config_file : NULL;
    char conf_path[4096];
    int found = 0;
    azkm_rc rc;

    if (opt && opt->keystore_dir && *opt->keystore_dir)
        return copy_path(dir, len, opt->keystore_dir, NULL);
    if (env && *env)
        return copy_path(dir, len, env, NULL);
    if (conf == NULL || *conf == '\0')
        conf = getenv("AZKM_CONF");
    if (conf && *conf) {
        rc = read_config(conf, 1, dir, len, &found);
    } else {
        rc = default_config_path(conf_path, sizeof(conf_path));
        if (rc == AZKM_OK && conf_path[0])
            rc = read_config(conf_path, 0, dir, len, &found);
    }
    if (rc != AZKM_OK || found)
        return rc;
    return default_dir(dir, len);
}
