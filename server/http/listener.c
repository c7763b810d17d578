/* Opens the configured listeners: Unix sockets with the configured mode (replacing a stale socket file, never any
 * other file), TCP sockets for TLS, all non-blocking and close-on-exec. TCP sockets have TCP_NODELAY, which the
 * connections accepted on them inherit (Linux): libevent writes a response's headers and body as separate TLS
 * records, and with Nagle's algorithm the second one waited for the client's delayed ACK, 40 ms per keep-alive
 * request (docs/performance.md, "azkmd"). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http/listener.h"

static azkm_rc open_unix(const azkmd_listen_conf *lc, azkmd_listener *out)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(lc->address) >= sizeof(sa.sun_path))
        return azkm_set_error(AZKM_E_INVALID, "socket path %s is longer than %zu characters", lc->address,
                              sizeof(sa.sun_path) - 1);
    memcpy(sa.sun_path, lc->address, strlen(lc->address) + 1);
    if (lstat(lc->address, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return azkm_set_error(AZKM_E_CONFLICT, "%s exists and is not a socket: not replacing it", lc->address);
        unlink(lc->address);
    }
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        return azkm_set_error(AZKM_E_IO, "socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(lc->address, lc->mode) != 0 ||
        listen(fd, 128) != 0) {
        int e = errno;

        close(fd);
        return azkm_set_error(AZKM_E_IO, "cannot listen on %s: %s", lc->address, strerror(e));
    }
    out->fd = fd;
    return AZKM_OK;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char port[16];

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, NULL, 0, port, sizeof(port), NI_NUMERICSERV) != 0)
        return 0;
    return atoi(port);
}

static azkm_rc open_tcp(const azkmd_listen_conf *lc, azkmd_listener *out)
{
    char host[256];
    const char *colon = strrchr(lc->address, ':');
    struct addrinfo hints, *ai = NULL;
    int fd = -1, one = 1, err;

    snprintf(host, sizeof(host), "%.*s", (int)(colon - lc->address), lc->address);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((err = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai)) != 0)
        return azkm_set_error(AZKM_E_INVALID, "listen_tls %s: %s", lc->address, gai_strerror(err));
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        err = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return azkm_set_error(AZKM_E_IO, "cannot listen on %s: %s", lc->address, strerror(err));
    }
    freeaddrinfo(ai);
    out->fd = fd;
    out->port = bound_port(fd);
    return AZKM_OK;
}

azkm_rc azkmd_listener_open(const azkmd_config *cfg, const azkmd_listen_conf *lc, azkmd_listener *out)
{
    memset(out, 0, sizeof(*out));
    out->conf = lc;
    out->fd = -1;
    return lc->kind == AZKMD_LISTEN_UNIX ? open_unix(lc, out) : open_tcp(lc, out);
}

void azkmd_listener_close(azkmd_listener *l)
{
    if (l->fd >= 0) {
        close(l->fd);
        if (l->conf->kind == AZKMD_LISTEN_UNIX)
            unlink(l->conf->address);
    }
    l->fd = -1;
}
