/* Output files that appear only whole: O_TMPFILE linked into place on success, or a named temporary file that
 * failures and the usual terminating signals remove (outfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "args.h"
#include "outfile.h"
#include "report.h"

/* The named temporary file the signal handler removes. The CLI writes one output at a time. */
static char pending[PATH_MAX];
static volatile sig_atomic_t have_pending;

static void remove_pending(int sig)
{
    if (have_pending)
        unlink(pending);
    /* SA_RESETHAND restored the default action: the signal ends the process as it would have */
    raise(sig);
}

static void guard_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    static int done;
    struct sigaction sa, old;

    if (done)
        return;
    done = 1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = remove_pending;
    sa.sa_flags = SA_RESETHAND;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        /* a signal the caller ignores (nohup, a background job) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);
}

/* Signals blocked (block = 1) or restored, so that the handler never sees a name half written. */
static void hold_signals(int block, sigset_t *saved)
{
    sigset_t all;

    if (block) {
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, saved);
    } else {
        sigprocmask(SIG_SETMASK, saved, NULL);
    }
}

static void set_pending(const char *name)
{
    sigset_t saved;

    hold_signals(1, &saved);
    if (name != NULL)
        snprintf(pending, sizeof(pending), "%s", name);
    have_pending = name != NULL;
    hold_signals(0, &saved);
}

/* An unnamed file in path's directory; -1 with errno EOPNOTSUPP where it cannot be had (or AZKM_NO_O_TMPFILE is
 * set: for file systems whose O_TMPFILE misbehaves, and to test the other way). Publishing it needs /proc. */
static int open_unnamed(const char *path, int mode)
{
    char copy[PATH_MAX];

    if (getenv("AZKM_NO_O_TMPFILE") != NULL || access("/proc/self/fd", X_OK) != 0) {
        errno = EOPNOTSUPP;
        return -1;
    }
    snprintf(copy, sizeof(copy), "%s", path);
    return open(dirname(copy), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
}

static int open_named(cli_outfile *o)
{
    sigset_t saved;
    int fd;

    hold_signals(1, &saved);
    fd = mkstemp(o->tmp);
    if (fd >= 0) {
        snprintf(pending, sizeof(pending), "%s", o->tmp);
        have_pending = 1;
    }
    hold_signals(0, &saved);
    return fd;
}

static int open_fail(const char *flag, const char *path, int err)
{
    return cli_failf(err == EACCES ? AZKM_E_PERMISSION : AZKM_E_IO, "%s: cannot write %s: %s", flag, path,
                     strerror(err));
}

int cli_outfile_open(const char *flag, const char *path, int mode, cli_outfile *o)
{
    int fd;

    memset(o, 0, sizeof(*o));
    if (path == NULL || strcmp(path, "-") == 0) {
        o->fp = stdout;
        return 0;
    }
    o->path = path;
    if (snprintf(o->tmp, sizeof(o->tmp), "%s.azkm-XXXXXX", path) >= (int)sizeof(o->tmp))
        return args_usage(flag, "path too long");
    guard_signals();
    fd = open_unnamed(path, mode);
    if (fd >= 0) {
        o->unnamed = 1;
        o->tmp[0] = '\0';
    } else if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
        fd = open_named(o);
    }
    if (fd < 0 || fchmod(fd, (mode_t)mode) != 0 || (o->fp = fdopen(fd, "wb")) == NULL) {
        int err = errno;

        if (fd >= 0)
            close(fd);
        if (!o->unnamed && fd >= 0)
            unlink(o->tmp);
        set_pending(NULL);
        return open_fail(flag, path, err);
    }
    return 0;
}

/* Links the unnamed file under tmp; the handler removes it from then on. */
static int link_pending(const char *proc, const char *tmp)
{
    sigset_t saved;
    int r;

    hold_signals(1, &saved);
    r = linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
    if (r == 0) {
        snprintf(pending, sizeof(pending), "%s", tmp);
        have_pending = 1;
    }
    hold_signals(0, &saved);
    return r;
}

/* Gives the unnamed file its name: directly when the name is free, else under a temporary name renamed over the
 * existing file (rename replaces it atomically; link does not replace). */
static int publish_unnamed(cli_outfile *o)
{
    char proc[64];
    unsigned char rnd[6];

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fileno(o->fp));
    if (linkat(AT_FDCWD, proc, AT_FDCWD, o->path, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    for (int i = 0; i < 8 && errno == EEXIST; i++) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
            return -1;
        snprintf(o->tmp, sizeof(o->tmp), "%s.azkm-%02x%02x%02x%02x%02x%02x", o->path, rnd[0], rnd[1], rnd[2],
                 rnd[3], rnd[4], rnd[5]);
        if (link_pending(proc, o->tmp) == 0)
            return rename(o->tmp, o->path);
    }
    return -1;
}

/* Flushes, publishes and closes the file; 0 or an errno value. A named file is closed before its rename, an
 * unnamed one after its link (it is reached through its descriptor). */
static int finish(cli_outfile *o)
{
    int err = 0;

    if (fflush(o->fp) != 0)
        err = errno;
    if (err == 0 && o->unnamed && publish_unnamed(o) != 0)
        err = errno != 0 ? errno : EIO;
    if (fclose(o->fp) != 0 && err == 0)
        err = errno;
    if (err == 0 && !o->unnamed && rename(o->tmp, o->path) != 0)
        err = errno;
    return err;
}

int cli_outfile_close(cli_outfile *o, int ok)
{
    int err = 0;

    if (o->path == NULL)
        return fflush(stdout) == 0 || !ok ? 0 : cli_failf(AZKM_E_IO, "cannot write standard output");
    if (ok)
        err = finish(o);
    else
        fclose(o->fp); /* an unnamed file that was never linked goes with its descriptor */
    if ((!ok || err != 0) && o->tmp[0] != '\0')
        unlink(o->tmp);
    set_pending(NULL);
    if (err != 0)
        return cli_failf(AZKM_E_IO, "--out-file: cannot write %s: %s", o->path, strerror(err));
    return 0;
}
