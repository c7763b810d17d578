/* Private files: 0700 directories, 0600 files written atomically, and refusal of files others can reach. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/base.h"
#include "base/secmem.h"

azkm_rc azkm_mkdir_private(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(tmp))
        return azkm_fail(AZKM_E_INVALID, "directory path '%.80s' is empty or too long", path);
    memcpy(tmp, path, n + 1);
    /* Parents are created with the usual mode; only the last component must be private. */
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return azkm_fail(errno == EACCES ? AZKM_E_PERMISSION : AZKM_E_IO, "cannot create directory %s: %s", tmp,
                             strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return azkm_fail(errno == EACCES ? AZKM_E_PERMISSION : AZKM_E_IO, "cannot create directory %s: %s", tmp,
                         strerror(errno));
    return AZKM_OK;
}

azkm_rc azkm_check_private_stat(const char *path, const struct stat *st, int secret, const char *what)
{
    mode_t bad = secret ? 077 : 007;

    if (st->st_mode & bad)
        return azkm_fail(AZKM_E_PERMISSION, "%s %s has mode %04o: %s must not be accessible to %s (chmod %s)", what,
                         path, (unsigned)(st->st_mode & 07777), what, secret ? "group or others" : "others",
                         S_ISDIR(st->st_mode) ? (secret ? "700" : "o-rwx") : (secret ? "600" : "o-rwx"));
    if (st->st_uid != geteuid() && st->st_uid != 0)
        return azkm_fail(AZKM_E_PERMISSION, "%s %s is owned by uid %u, not by this user (uid %u) or root", what,
                         path, (unsigned)st->st_uid, (unsigned)geteuid());
    return AZKM_OK;
}

azkm_rc azkm_check_private(const char *path, int secret, const char *what)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return azkm_fail(AZKM_E_NOT_FOUND, "%s %s is missing", what, path);
        return azkm_fail(errno == EACCES ? AZKM_E_PERMISSION : AZKM_E_IO, "%s %s: %s", what, path, strerror(errno));
    }
    return azkm_check_private_stat(path, &st, secret, what);
}

static azkm_rc fsync_dir_of(const char *path)
{
    char tmp[4096];
    int fd;

    snprintf(tmp, sizeof(tmp), "%s", path);
    fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return azkm_fail(AZKM_E_IO, "cannot open directory of %s: %s", path, strerror(errno));
    if (fsync(fd) != 0) {
        close(fd);
        return azkm_fail(AZKM_E_IO, "cannot sync directory of %s: %s", path, strerror(errno));
    }
    close(fd);
    return AZKM_OK;
}

azkm_rc azkm_write_file_atomic(const char *path, const unsigned char *data, size_t len)
{
    char tmp[4200];
    int fd;
    size_t off = 0;

    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return azkm_fail(errno == EACCES ? AZKM_E_PERMISSION : AZKM_E_IO, "cannot create %s: %s", tmp,
                         strerror(errno));
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;

            close(fd);
            unlink(tmp);
            return azkm_fail(AZKM_E_IO, "cannot write %s: %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return azkm_fail(AZKM_E_IO, "cannot sync %s: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;

        unlink(tmp);
        return azkm_fail(AZKM_E_IO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    return fsync_dir_of(path);
}

static azkm_rc read_file(const char *path, unsigned char **data, size_t *len, size_t max, int secret)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not hang us before fstat says so */
    struct stat st;
    unsigned char *buf;
    size_t off = 0;

    if (fd < 0) {
        if (errno == ENOENT)
            return azkm_fail(AZKM_E_NOT_FOUND, "%s is missing", path);
        return azkm_fail(errno == EACCES ? AZKM_E_PERMISSION : AZKM_E_IO, "cannot read %s: %s", path,
                         strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return azkm_fail(AZKM_E_CORRUPT, "%s is not a regular file", path);
    }
    if ((size_t)st.st_size > max) {
        close(fd);
        return azkm_fail(AZKM_E_CORRUPT, "%s is larger than %zu bytes", path, max);
    }
    buf = secret ? azkm_secret_zalloc((size_t)st.st_size + 1) : OPENSSL_malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return azkm_fail(AZKM_E_NOMEM, "out of memory reading %s", path);
    }
    while (off < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    buf[off] = '\0';
    *data = buf;
    *len = off;
    return AZKM_OK;
}

azkm_rc azkm_read_file(const char *path, unsigned char **data, size_t *len, size_t max)
{
    return read_file(path, data, len, max, 0);
}

azkm_rc azkm_read_secret_file(const char *path, unsigned char **data, size_t *len, size_t max)
{
    return read_file(path, data, len, max, 1);
}
