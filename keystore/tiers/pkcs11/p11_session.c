/* Sessions for the tier's object and key operations, and what a module that cannot start means: a PKCS#11 module
 * answers a missing configuration with CKR_GENERAL_ERROR, which says nothing. For SoftHSM, the module azkm is
 * tested with, the configuration file and its token directory are looked at when a session cannot be had, so that
 * a missing one is reported as missing (NotFound) rather than as a permission problem. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tiers/pkcs11/p11_tier.h"

/* SoftHSM 2.6's configuration: $SOFTHSM2_CONF, else ~/.config/softhsm2/softhsm2.conf when it exists, else
 * /etc/softhsm/softhsm2.conf. *from says which. */
static void softhsm_conf(char *path, size_t len, const char **from)
{
    const char *env = getenv("SOFTHSM2_CONF"), *home = getenv("HOME");

    if (env != NULL) {
        snprintf(path, len, "%s", env);
        *from = "SOFTHSM2_CONF";
        return;
    }
    if (home != NULL) {
        snprintf(path, len, "%s/.config/softhsm2/softhsm2.conf", home);
        *from = "the user's configuration";
        if (access(path, F_OK) == 0)
            return;
    }
    snprintf(path, len, "/etc/softhsm/softhsm2.conf");
    *from = "the default";
}

/* The directories.tokendir setting of a SoftHSM configuration file, or "" when it has none. */
static void softhsm_tokendir(const char *conf, char *dir, size_t len)
{
    FILE *fp = fopen(conf, "r");
    char line[4096];

    dir[0] = '\0';
    while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
        char *p = line, *end;

        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "directories.tokendir", 20) != 0 || (p = strchr(p, '=')) == NULL)
            continue;
        for (p++; *p == ' ' || *p == '\t'; p++)
            ;
        for (end = p + strlen(p); end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '); end--)
            ;
        snprintf(dir, len, "%.*s", (int)(end - p), p);
    }
    if (fp != NULL)
        fclose(fp);
}

static int missing(const char *path)
{
    struct stat st;

    return stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR);
}

/* A failure to start SoftHSM explained by a configuration file or token directory that is not there, or AZKM_OK.
 * (One that is there but unreadable keeps the module's error, which names the uid and the token store.) */
static azkm_rc softhsm_diagnose(const char *module)
{
    char conf[4096], dir[4096];
    const char *from;

    softhsm_conf(conf, sizeof(conf), &from);
    if (missing(conf))
        return azkm_fail(AZKM_E_NOT_FOUND,
                         "PKCS#11 module %s (SoftHSM) cannot start: its configuration file %s (%s) is missing",
                         module, conf, from);
    softhsm_tokendir(conf, dir, sizeof(dir));
    if (dir[0] != '\0' && missing(dir))
        return azkm_fail(
            AZKM_E_NOT_FOUND,
            "PKCS#11 module %s (SoftHSM) cannot start: its token directory %s (directories.tokendir in "
            "%s) is missing",
            module, dir, conf);
    return AZKM_OK;
}

azkm_rc p11_session_get(p11_tier *pt, CK_SESSION_HANDLE *s)
{
    azkm_rc rc = azkm_p11_session_get(pt->tok, s);
    const char *base;

    if (rc == AZKM_OK || pt->module == NULL)
        return rc;
    base = strrchr(pt->module, '/');
    if (strstr(base != NULL ? base : pt->module, "softhsm") != NULL) {
        char msg[1024];

        /* the module's own error stays when its files are in place */
        snprintf(msg, sizeof(msg), "%s", azkm_last_error());
        if (softhsm_diagnose(pt->module) != AZKM_OK)
            return azkm_last_rc();
        azkm_fail(rc, "%s", msg);
    }
    return rc;
}
