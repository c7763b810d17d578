/* Reading and writing the files named by CLI flags, and binary values given as base64 or a file (see
 * fileio.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <azkm/base64.h>

#include "fileio.h"
#include "report.h"

static int file_error(const char *flag, const char *action, const char *path, int err)
{
    if (err == EACCES || err == EPERM)
        return cli_failf(AZKM_E_PERMISSION, "%s: cannot %s %s: %s", flag, action, path, strerror(err));
    if (err == ENOENT || err == EISDIR || err == ENOTDIR)
        return args_usage(flag, "cannot %s %s: %s", action, path, strerror(err));
    return cli_failf(AZKM_E_IO, "%s: cannot %s %s: %s", flag, action, path, strerror(err));
}

int cli_slurp(const char *path, unsigned char **buf, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    size_t cap = 4096, n = 0;
    unsigned char *b = NULL;
    int err;

    if (fd < 0)
        return errno;
    if ((b = OPENSSL_malloc(cap)) == NULL)
        goto fail;
    for (;;) {
        ssize_t r;

        if (n == cap) {
            unsigned char *nb = OPENSSL_malloc(cap * 2);

            if (nb == NULL)
                goto fail;
            memcpy(nb, b, n);
            OPENSSL_clear_free(b, cap); /* the file may hold key material */
            b = nb;
            cap *= 2;
        }
        r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto fail;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    *buf = b;
    *len = n;
    return 0;
fail:
    err = errno;
    if (fd != STDIN_FILENO)
        close(fd);
    OPENSSL_clear_free(b, cap);
    return err;
}

int cli_read_file(const char *path, const char *flag, unsigned char **buf, size_t *len)
{
    int err = cli_slurp(path, buf, len);

    return err == 0 ? 0 : file_error(flag, "read", path, err);
}

int cli_write_file(const char *path, const char *flag, const unsigned char *buf, size_t len, int mode)
{
    int fd = strcmp(path, "-") == 0 ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    size_t off = 0;

    if (fd < 0)
        return file_error(flag, "write", path, errno);
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int err = errno;

            if (fd != STDOUT_FILENO)
                close(fd);
            return file_error(flag, "write", path, err);
        }
        off += (size_t)w;
    }
    if (fd != STDOUT_FILENO && close(fd) != 0)
        return file_error(flag, "write", path, errno);
    return 0;
}

int cli_read_bytes(const cli_args *a, const char *b64flag, const char *fileflag, int optional, unsigned char **out,
                   size_t *len)
{
    const char *b64 = args_get(a, b64flag), *file = fileflag ? args_get(a, fileflag) : NULL;
    int ret;

    *out = NULL;
    *len = 0;
    if (fileflag != NULL && (ret = args_exclusive(a, b64flag, fileflag, NULL)) != 0)
        return ret;
    if (file != NULL)
        return cli_read_file(file, fileflag, out, len);
    if (b64 != NULL) {
        if (azkm_b64_decode(b64, out, len) != 0)
            return args_usage(b64flag, "is not valid base64");
        return 0;
    }
    if (optional)
        return 0;
    if (fileflag != NULL)
        return args_usage(NULL, "give %s or %s", b64flag, fileflag);
    return args_usage(b64flag, "required");
}
