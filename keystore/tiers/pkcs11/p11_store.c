/* The token store on disk (SoftHSM's file object store): where it is, the advisory lock that serialises azkm's own
 * C_Initialize and C_Login on it across processes, and the diagnosis of a store this process cannot use. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tiers/pkcs11/p11_store.h"

#define SOFTHSM_DEFAULT_CONF "/etc/softhsm/softhsm2.conf"
/* How long a process waits for the lock before it goes on without it: far longer than any holder needs (one
 * C_Initialize reads every object file of the store; one C_Login rewrites one file), short enough that a holder
 * stopped in a debugger does not stop the others for good. */
#define LOCK_WAIT_MS 10000

static int is_softhsm(const char *module_path)
{
    const char *base = strrchr(module_path, '/');
    char low[256];
    size_t i;

    base = base ? base + 1 : module_path;
    for (i = 0; base[i] && i + 1 < sizeof(low); i++)
        low[i] = (char)tolower((unsigned char)base[i]);
    low[i] = '\0';
    return strstr(low, "softhsm") != NULL;
}

/* directories.tokendir from a SoftHSM configuration file, or NULL. */
static char *softhsm_tokendir(const char *conf)
{
    FILE *fp = fopen(conf, "re");
    char line[4096], *dir = NULL;

    if (fp == NULL)
        return NULL;
    while (dir == NULL && fgets(line, sizeof(line), fp) != NULL) {
        char *p = line, *v, *end;

        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, "directories.tokendir", 20) != 0)
            continue;
        v = strchr(p + 20, '=');
        if (v == NULL)
            continue;
        for (v++; isspace((unsigned char)*v); v++)
            ;
        end = v + strlen(v);
        while (end > v && isspace((unsigned char)end[-1]))
            *--end = '\0';
        while (end > v + 1 && end[-1] == '/')
            *--end = '\0';
        if (*v != '\0')
            dir = strdup(v);
    }
    fclose(fp);
    return dir;
}

/* The configuration file SoftHSM 2.6 reads: $SOFTHSM2_CONF, else ~/.config/softhsm2/softhsm2.conf when it exists,
 * else the default. *from says which. */
static void softhsm_conf(char *path, size_t len, const char **from)
{
    const char *env = getenv("SOFTHSM2_CONF"), *home = getenv("HOME");

    if (env != NULL && *env != '\0') {
        snprintf(path, len, "%s", env);
        *from = "SOFTHSM2_CONF";
        return;
    }
    if (home != NULL && *home != '\0') {
        snprintf(path, len, "%s/.config/softhsm2/softhsm2.conf", home);
        *from = "the user's configuration";
        if (access(path, F_OK) == 0)
            return;
    }
    snprintf(path, len, "%s", SOFTHSM_DEFAULT_CONF);
    *from = "the default";
}

char *p11_store_dir(const char *module_path)
{
    const char *env = getenv("AZKM_PKCS11_LOCK"), *from;
    char conf[4096];

    if (env != NULL && *env != '\0')
        return strcmp(env, "off") == 0 ? NULL : strdup(env);
    if (module_path == NULL || !is_softhsm(module_path))
        return NULL;
    softhsm_conf(conf, sizeof(conf), &from);
    return softhsm_tokendir(conf);
}

static int missing(const char *path)
{
    struct stat st;

    return stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR);
}

int p11_store_missing(const char *module_path, char *buf, size_t len)
{
    char conf[4096], *dir;
    const char *from;
    int gone;

    buf[0] = '\0';
    if (module_path == NULL || !is_softhsm(module_path))
        return 0;
    softhsm_conf(conf, sizeof(conf), &from);
    if (missing(conf)) {
        snprintf(buf, len, "its configuration file %s (%s) is missing", conf, from);
        return 1;
    }
    dir = softhsm_tokendir(conf);
    gone = dir != NULL && missing(dir);
    if (gone)
        snprintf(buf, len, "its token directory %s (directories.tokendir in %s) is missing", dir, conf);
    free(dir);
    return gone;
}

int p11_store_lock(const char *dir)
{
    int fd, waited = 0;

    if (dir == NULL)
        return -1;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* Polled rather than blocking, so that the wait is bounded; the pause grows from 1 to 8 ms. */
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int pause = waited < 20 ? 1 : waited < 200 ? 4 : 8;
        struct timespec ts = {0, pause * 1000000L};

        if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= LOCK_WAIT_MS) {
            close(fd);
            return -1;
        }
        nanosleep(&ts, NULL);
        waited += pause;
    }
    return fd;
}

void p11_store_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the only descriptor of the open file description releases the flock */
}

static int usable(const char *path, int mode)
{
    return faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0;
}

int p11_store_unusable(const char *dir)
{
    return dir != NULL && !usable(dir, R_OK | W_OK | X_OK);
}

void p11_store_whoami(char *buf, size_t len)
{
    uid_t uid = geteuid();
    struct passwd pw, *res = NULL;
    char tmp[1024];

    if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL)
        snprintf(buf, len, "uid %u (%s)", (unsigned)uid, res->pw_name);
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
}

/* Counts the entries of one token directory that this process cannot read and write; keeps the first in first. */
static size_t scan_token_dir(const char *path, size_t *total, char *first, size_t first_len)
{
    DIR *d = opendir(path);
    struct dirent *e;
    size_t bad = 0;

    if (d == NULL) {
        if (first[0] == '\0')
            snprintf(first, first_len, "%s", path);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        char file[4096];

        if (e->d_name[0] == '.')
            continue;
        if ((size_t)snprintf(file, sizeof(file), "%s/%s", path, e->d_name) >= sizeof(file))
            continue;
        (*total)++;
        if (!usable(file, R_OK | W_OK)) {
            if (bad++ == 0 && first[0] == '\0')
                snprintf(first, first_len, "%s", file);
        }
    }
    closedir(d);
    return bad;
}

size_t p11_store_unreadable(const char *dir, char *buf, size_t len)
{
    DIR *d;
    struct dirent *e;
    size_t bad = 0, total = 0;
    char first[4096] = "", who[128];

    buf[0] = '\0';
    if (dir == NULL)
        return 0;
    p11_store_whoami(who, sizeof(who));
    if (p11_store_unusable(dir) || (d = opendir(dir)) == NULL) {
        snprintf(buf, len, "the token store %s is not readable and writable by %s", dir, who);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        char sub[4096];

        if (e->d_name[0] == '.' || e->d_type != DT_DIR)
            continue;
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >= sizeof(sub))
            continue;
        total++;
        if (!usable(sub, R_OK | W_OK | X_OK)) {
            if (bad++ == 0)
                snprintf(first, sizeof(first), "%s", sub);
            continue;
        }
        bad += scan_token_dir(sub, &total, first, sizeof(first));
    }
    closedir(d);
    if (bad > 0)
        snprintf(buf, len, "%zu of %zu entries of the token store %s are not readable and writable by %s (e.g. %s)",
                 bad, total, dir, who, first);
    return bad;
}
