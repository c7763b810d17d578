/* azkmd-bench: requests/s and p50/p99 latency of azkmd (sign RS256 and ES256, get-key, key creation) over its Unix
 * socket and over TLS with keep-alive, at several client connections, against the same operation in-process
 * (azkm_key_sign / azkm_key_show / azkm_key_create through the keystore API on the same keystore and tier), in one
 * run. The in-process thread is pinned to the server's CPU, the client threads to the other one; each run walks
 * the cells in turn (reversed every other run) so that machine noise hits every cell alike; medians over the runs.
 *
 * The client is blocking sockets (+ OpenSSL for TLS), one thread per connection, one request in flight each. It
 * writes a prepared request and reads the response's header block and Content-Length body: libevent 2.1's evhttp
 * client (Debian 12) cannot connect to a Unix socket (2.2 added evhttp_connection_base_bufferevent_unix_new), and
 * a thread per connection keeps the client's own cost flat per request. Every connection's first response is
 * checked (a signature verified with the key's public half); --smoke checks every response. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include <azkm/base64.h>
#include <azkm/keystore.h>

#define MAX_CONNS 64
#define MAX_CELLS 64
#define MAX_RUNS 64
#define BUF 16384

typedef enum { OP_SIGN_RSA, OP_SIGN_EC, OP_GET, OP_CREATE, OP_N } op_kind;
static const char *const op_names[OP_N] = {"sign-RS256", "sign-ES256", "get-key", "create-EC"};
static const char *const op_keys[OP_N] = {"rsa2048", "ec256", "rsa2048", NULL};

typedef enum { PATH_INPROC, PATH_UNIX, PATH_TLS } path_kind;
static const char *const path_names[] = {"in-process", "unix", "tls"};

static struct {
    const char *unix_path, *tls_host, *domain, *vault, *keystore, *pem_dir, *cert, *key, *cacert, *tsv;
    int tls_port, server_pid, runs, server_cpu, client_cpu, smoke, no_tls, no_unix, conns[8], n_conns, ops[OP_N],
        n_ops;
    double seconds;
    SSL_CTX *ctx;
    EVP_PKEY *pub[OP_N];
    unsigned char digest[32];
} g = {
    .domain = "vault.azkm.localhost", .vault = "swv", .runs = 5, .server_cpu = 0, .client_cpu = 1, .seconds = 1.0};

/* One cell: an operation on a path at a number of connections; its results over the runs. */
typedef struct {
    op_kind op;
    path_kind path;
    int conns, closing; /* closing: the in-process cell measured again after the operation's server cells */
    double ops_per_s[MAX_RUNS], p50[MAX_RUNS], p99[MAX_RUNS],
        cpu_us[MAX_RUNS]; /* CPU per op: server's, or in-process */
} cell;

typedef struct {
    int fd;
    SSL *ssl;
    char buf[BUF];
    size_t have;
} conn;

/* A connection's thread: its requests, their latencies (us), and whether every checked answer was right. */
typedef struct {
    const cell *c;
    int index, run;
    conn cn;
    double *lat;
    size_t n, cap;
    int failed;
    double end, cpu; /* cpu: the in-process thread's CPU seconds */
    pthread_barrier_t *ready, *go;
    double deadline;
} client;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "azkmd-bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the server (all its threads, kernel work on its sockets included), seconds, from the scheduler's
 * exact runtime (the process's CPU-time clock), not /proc's utime + stime, which the kernel samples at its tick;
 * 0 without --server-pid. */
static double server_cpu_s(void)
{
    struct timespec ts;
    clockid_t clock;

    if (g.server_pid <= 0 || clock_getcpuclockid(g.server_pid, &clock) != 0 || clock_gettime(clock, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
    cpu_set_t set;

    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
        die("cannot pin a thread to CPU %s", cpu == g.server_cpu ? "server" : "client");
}

static void record(client *cl, double us)
{
    if (cl->n == cl->cap) {
        cl->cap = cl->cap ? 2 * cl->cap : 4096;
        if ((cl->lat = realloc(cl->lat, cl->cap * sizeof(double))) == NULL)
            die("%s", "out of memory");
    }
    cl->lat[cl->n++] = us;
}

/* ---- checking answers ------------------------------------------------------------------------------------ */

static size_t b64url_decode(const char *in, unsigned char *out, size_t cap)
{
    size_t n = strlen(in), m = (n + 3) / 4 * 4;
    char *t = calloc(1, m + 1);
    int len;

    if (t == NULL || m / 4 * 3 > cap)
        return free(t), 0;
    for (size_t i = 0; i < m; i++)
        t[i] = i >= n ? '=' : in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    len = EVP_DecodeBlock(out, (unsigned char *)t, (int)m);
    free(t);
    return len < 0 ? 0 : (size_t)len - (m - n);
}

/* ECDSA r||s as the DER EVP verifies. */
static int raw_to_der(const unsigned char *raw, size_t len, unsigned char **der)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    int n = -1;

    if (s != NULL &&
        ECDSA_SIG_set0(s, BN_bin2bn(raw, (int)len / 2, NULL), BN_bin2bn(raw + len / 2, (int)len / 2, NULL)))
        n = i2d_ECDSA_SIG(s, der);
    ECDSA_SIG_free(s);
    return n;
}

static int verify_signature(op_kind op, const char *value)
{
    unsigned char sig[1024], *der = NULL;
    size_t len = b64url_decode(value, sig, sizeof(sig));
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(g.pub[op], NULL);
    int ok = pc != NULL && EVP_PKEY_verify_init(pc) == 1 && EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1;

    if (ok && op == OP_SIGN_EC) {
        int n = raw_to_der(sig, len, &der);
        ok = n > 0 && EVP_PKEY_verify(pc, der, (size_t)n, g.digest, sizeof(g.digest)) == 1;
    } else if (ok) {
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_verify(pc, sig, len, g.digest, sizeof(g.digest)) == 1;
    }
    OPENSSL_free(der);
    EVP_PKEY_CTX_free(pc);
    return ok;
}

/* A 200 whose body is the answer of the operation: a signature that verifies, or a key bundle of the key. */
static int check_answer(op_kind op, int status, const char *body, size_t len)
{
    json_t *j = status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
    const char *v;
    int ok = 0;

    if (j == NULL)
        return 0;
    if (op == OP_SIGN_RSA || op == OP_SIGN_EC)
        ok = (v = json_string_value(json_object_get(j, "value"))) != NULL && verify_signature(op, v);
    else
        ok = json_string_value(json_object_get(json_object_get(j, "key"), "kid")) != NULL;
    json_decref(j);
    return ok;
}

/* ---- connections ----------------------------------------------------------------------------------------- */

static int conn_open(conn *c, path_kind path)
{
    memset(c, 0, sizeof(*c));
    if (path == PATH_UNIX) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", g.unix_path);
        c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
        return c->fd >= 0 && connect(c->fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : -1;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.tls_port)};
    char sni[300];
    int one = 1;

    inet_pton(AF_INET, g.tls_host, &a.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    snprintf(sni, sizeof(sni), "%s.%s", g.vault, g.domain);
    if ((c->ssl = SSL_new(g.ctx)) == NULL || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_tlsext_host_name(c->ssl, sni) ||
        !SSL_set1_host(c->ssl, sni))
        return -1;
    return SSL_connect(c->ssl) == 1 ? 0 : -1;
}

static void conn_close(conn *c)
{
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
}

static int conn_write(conn *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = c->ssl != NULL ? SSL_write(c->ssl, p, (int)n) : write(c->fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int conn_fill(conn *c)
{
    ssize_t r;

    if (c->have >= BUF - 1)
        return -1;
    r = c->ssl != NULL ? SSL_read(c->ssl, c->buf + c->have, (int)(BUF - 1 - c->have))
                       : read(c->fd, c->buf + c->have, BUF - 1 - c->have);
    if (r <= 0)
        return -1;
    c->have += (size_t)r;
    c->buf[c->have] = '\0';
    return 0;
}

/* One response: the status, and the body (Content-Length bytes after the header block) in c->buf at *body. */
static int read_response(conn *c, int *status, const char **body, size_t *blen)
{
    char *end, *cl;
    size_t head, len;

    c->have = 0;
    c->buf[0] = '\0';
    while ((end = strstr(c->buf, "\r\n\r\n")) == NULL)
        if (conn_fill(c) != 0)
            return -1;
    *end = '\0';
    head = (size_t)(end - c->buf) + 4;
    if (sscanf(c->buf, "HTTP/1.1 %d", status) != 1 || (cl = strcasestr(c->buf, "\r\nContent-Length:")) == NULL)
        return -1;
    len = strtoul(cl + 17, NULL, 10);
    if (head + len >= BUF)
        return -1;
    while (c->have < head + len)
        if (conn_fill(c) != 0)
            return -1;
    *body = c->buf + head;
    *blen = len;
    return 0;
}

/* ---- requests -------------------------------------------------------------------------------------------- */

static int build_request(const client *cl, long seq, char *out, size_t cap)
{
    char body[256] = "", path[256], *d = azkm_b64url_encode(g.digest, sizeof(g.digest));
    op_kind op = cl->c->op;
    int n;

    if (op == OP_SIGN_RSA || op == OP_SIGN_EC) {
        snprintf(path, sizeof(path), "POST /keys/%s//sign", op_keys[op]);
        snprintf(body, sizeof(body), "{\"alg\":\"%s\",\"value\":\"%s\"}", op == OP_SIGN_RSA ? "RS256" : "ES256", d);
    } else if (op == OP_GET) {
        snprintf(path, sizeof(path), "GET /keys/%s/", op_keys[op]);
    } else {
        snprintf(path, sizeof(path), "POST /keys/c-%d-%s-%d-%d-%ld/create", (int)getpid(), path_names[cl->c->path],
                 cl->run, cl->index, seq);
        snprintf(body, sizeof(body), "{\"kty\":\"EC\",\"crv\":\"P-256\"}");
    }
    azkm_free(d);
    n = snprintf(out, cap,
                 "%s?api-version=7.6 HTTP/1.1\r\nHost: %s.%s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 path, g.vault, g.domain, strlen(body), body);
    return n > 0 && (size_t)n < cap ? n : -1;
}

static int one_request(client *cl, long seq, int check)
{
    char req[1024];
    const char *body;
    size_t blen;
    int n = build_request(cl, seq, req, sizeof(req)), status = 0;
    double t0 = now_s();

    if (n < 0 || conn_write(&cl->cn, req, (size_t)n) != 0 || read_response(&cl->cn, &status, &body, &blen) != 0)
        return -1;
    record(cl, (now_s() - t0) * 1e6);
    if (check && !check_answer(cl->c->op, status, body, blen)) {
        fprintf(stderr, "azkmd-bench: %s over %s: HTTP %d: %.*s\n", op_names[cl->c->op], path_names[cl->c->path],
                status, (int)blen, body);
        return -1;
    }
    return 0;
}

static void *client_main(void *arg)
{
    client *cl = arg;
    long seq = 0;

    pin(g.client_cpu);
    if (conn_open(&cl->cn, cl->c->path) != 0) {
        fprintf(stderr, "azkmd-bench: cannot connect over %s\n", path_names[cl->c->path]);
        cl->failed = 1;
    }
    pthread_barrier_wait(cl->ready);
    pthread_barrier_wait(cl->go);
    while (!cl->failed && now_s() < cl->deadline)
        if (one_request(cl, seq, g.smoke || seq == 0 || cl->c->op == OP_CREATE) != 0)
            cl->failed = 1;
        else
            seq++;
    cl->end = now_s();
    conn_close(&cl->cn);
    return NULL;
}

/* ---- in-process ------------------------------------------------------------------------------------------ */

typedef struct {
    azkm_keystore *ks;
    azkm_vault *v;
    azkm_key *key[OP_N];
} inproc;

static inproc ip;

static void inproc_open(void)
{
    azkm_options opt = {.keystore_dir = g.keystore};

    if (azkm_keystore_open(&opt, &ip.ks) != AZKM_OK || azkm_vault_open(ip.ks, g.vault, &ip.v) != AZKM_OK)
        die("in-process: %s", azkm_last_error());
    for (int op = OP_SIGN_RSA; op <= OP_SIGN_EC; op++)
        if (azkm_key_load(ip.v, op_keys[op], NULL, &ip.key[op]) != AZKM_OK)
            die("in-process: %s", azkm_last_error());
}

static azkm_rc inproc_op(client *cl, long seq)
{
    unsigned char sig[1024], der[256];
    size_t len = 0;
    azkm_sign_params p;
    azkm_key_info info;
    azkm_keyspec spec = {.kty = AZKM_KTY_EC, .curve = AZKM_CURVE_P256};
    char name[128];
    azkm_rc rc;

    switch (cl->c->op) {
    case OP_SIGN_RSA:
        azkm_sign_params_from_alg("RS256", &p);
        return azkm_key_sign(ip.key[OP_SIGN_RSA], &p, g.digest, sizeof(g.digest), sig, &len);
    case OP_SIGN_EC: /* the server also turns the DER signature into r||s: negligible, left out */
        azkm_sign_params_from_alg("ES256", &p);
        return azkm_key_sign(ip.key[OP_SIGN_EC], &p, g.digest, sizeof(g.digest), der, &len);
    case OP_GET:
        return azkm_key_show(ip.v, op_keys[OP_GET], NULL, &info);
    default:
        snprintf(name, sizeof(name), "c-%d-in-process-%d-%d-%ld", (int)getpid(), cl->c->closing, cl->run, seq);
        rc = azkm_key_create(ip.v, name, &spec, &info);
        return rc;
    }
}

static void *inproc_main(void *arg)
{
    client *cl = arg;
    long seq = 0;
    double t0;

    pin(g.server_cpu);
    pthread_barrier_wait(cl->ready);
    pthread_barrier_wait(cl->go);
    cl->cpu = thread_cpu_s();
    while (now_s() < cl->deadline) {
        t0 = now_s();
        if (inproc_op(cl, seq++) != AZKM_OK) {
            fprintf(stderr, "azkmd-bench: in-process %s: %s\n", op_names[cl->c->op], azkm_last_error());
            cl->failed = 1;
            break;
        }
        record(cl, (now_s() - t0) * 1e6);
    }
    cl->cpu = thread_cpu_s() - cl->cpu;
    cl->end = now_s();
    return NULL;
}

/* ---- cells and runs -------------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return n ? v[i] : 0;
}

/* Merges the threads' latencies into the cell's results for this run; 0 when a thread failed. */
static int collect(cell *c, int run, client *cl, int n, double t0, double cpu, FILE *tsv)
{
    size_t total = 0, k = 0;
    double end = t0, *all;

    for (int i = 0; i < n; i++) {
        if (cl[i].failed)
            return 0;
        total += cl[i].n;
        end = cl[i].end > end ? cl[i].end : end;
    }
    if ((all = malloc((total + 1) * sizeof(double))) == NULL)
        die("%s", "out of memory");
    for (int i = 0; i < n; k += cl[i].n, i++)
        memcpy(all + k, cl[i].lat, cl[i].n * sizeof(double));
    qsort(all, total, sizeof(double), cmp_double);
    c->ops_per_s[run] = (double)total / (end - t0);
    c->p50[run] = pct(all, total, 0.50);
    c->p99[run] = pct(all, total, 0.99);
    c->cpu_us[run] = total > 0 ? (c->path == PATH_INPROC ? cl[0].cpu : cpu) * 1e6 / (double)total : 0;
    if (tsv != NULL)
        fprintf(tsv, "%d\t%s\t%s\t%d\t%zu\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\n", run + 1, op_names[c->op],
                c->closing ? "in-process-after" : path_names[c->path], c->conns, total, end - t0, c->ops_per_s[run],
                c->p50[run], c->p99[run], c->cpu_us[run]);
    free(all);
    return total > 0;
}

static int run_cell(cell *c, int run, FILE *tsv)
{
    client cl[MAX_CONNS];
    pthread_t th[MAX_CONNS];
    pthread_barrier_t ready, go;
    int n = c->path == PATH_INPROC ? 1 : c->conns, ok;
    double t0, cpu0;

    memset(cl, 0, sizeof(cl));
    pthread_barrier_init(&ready, NULL, (unsigned)n + 1);
    pthread_barrier_init(&go, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++) {
        cl[i] = (client){.c = c, .index = i, .run = run, .ready = &ready, .go = &go};
        if (pthread_create(&th[i], NULL, c->path == PATH_INPROC ? inproc_main : client_main, &cl[i]) != 0)
            die("%s", "cannot start a thread");
    }
    /* Every thread is connected (its TLS handshake done) before the clock starts. */
    pthread_barrier_wait(&ready);
    cpu0 = server_cpu_s();
    t0 = now_s();
    for (int i = 0; i < n; i++)
        cl[i].deadline = t0 + g.seconds;
    pthread_barrier_wait(&go);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    ok = collect(c, run, cl, n, t0, server_cpu_s() - cpu0, tsv);
    for (int i = 0; i < n; i++)
        free(cl[i].lat);
    pthread_barrier_destroy(&ready);
    pthread_barrier_destroy(&go);
    return ok;
}

static double median(const double *v, int n)
{
    double t[MAX_RUNS];

    memcpy(t, v, (size_t)n * sizeof(double));
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static double spread(const double *v, int n, int want_max)
{
    double m = v[0];

    for (int i = 1; i < n; i++)
        m = want_max ? (v[i] > m ? v[i] : m) : (v[i] < m ? v[i] : m);
    return m;
}

/* The cells: per operation, in-process, then each connection count over the Unix socket and over TLS (key
 * creation: one connection), then in-process again: this VM's speed drifts by up to half within seconds (the same
 * signature in the same process, docs/performance.md "azkmd"), so the baseline of a run is the mean of the two
 * in-process cells around the server cells, not one measured seconds before some of them. */
static int make_cells(cell *cells)
{
    int n = 0;

    for (int o = 0; o < g.n_ops; o++) {
        op_kind op = (op_kind)g.ops[o];
        cells[n++] = (cell){.op = op, .path = PATH_INPROC, .conns = 1};
        for (path_kind p = PATH_UNIX; p <= PATH_TLS; p++) {
            if ((p == PATH_UNIX && (g.unix_path == NULL || g.no_unix)) ||
                (p == PATH_TLS && (g.tls_host == NULL || g.no_tls)))
                continue;
            for (int i = 0; i < g.n_conns && n < MAX_CELLS; i++)
                if (op != OP_CREATE || g.conns[i] == 1)
                    cells[n++] = (cell){.op = op, .path = p, .conns = g.conns[i]};
        }
        cells[n++] = (cell){.op = op, .path = PATH_INPROC, .conns = 1, .closing = 1};
    }
    return n;
}

/* Per cell: medians over the runs (min-max of ops/s), and against the in-process cell of its operation the median
 * of the per-run ratios of ops/s and the p50 latency added; CPU per operation (the server's, all its threads and
 * its kernel time; the in-process thread's) and the capacity ratio it implies (in-process CPU / server CPU). */
/* The opening in-process cell with, per run, the means of it and its closing cell (cells[i + 1 ...]). */
static cell bracketed_base(const cell *cells, int n, int i)
{
    cell b = cells[i];
    int j = i + 1;

    while (j < n && !(cells[j].path == PATH_INPROC && cells[j].closing))
        j++;
    for (int r = 0; j < n && r < g.runs; r++) {
        b.ops_per_s[r] = (b.ops_per_s[r] + cells[j].ops_per_s[r]) / 2;
        b.p50[r] = (b.p50[r] + cells[j].p50[r]) / 2;
        b.p99[r] = (b.p99[r] + cells[j].p99[r]) / 2;
        b.cpu_us[r] = (b.cpu_us[r] + cells[j].cpu_us[r]) / 2;
    }
    return b;
}

static void report(cell *cells, int n)
{
    cell base_cell;
    const cell *base = NULL;
    double ratio[MAX_RUNS], added[MAX_RUNS], cpu_ratio[MAX_RUNS];

    printf("%-11s %-10s %5s %8s %15s %8s %8s %6s %9s %7s %9s\n", "operation", "path", "conns", "ops/s", "(min-max)",
           "p50 us", "p99 us", "ratio", "p50 added", "CPU us", "CPU ratio");
    for (int i = 0; i < n; i++) {
        const cell *c = &cells[i];
        if (c->path == PATH_INPROC && c->closing)
            continue; /* in the opening cell's row */
        if (c->path == PATH_INPROC) {
            base_cell = bracketed_base(cells, n, i);
            c = base = &base_cell;
        }
        for (int r = 0; r < g.runs; r++) {
            ratio[r] = c->ops_per_s[r] / base->ops_per_s[r];
            added[r] = c->p50[r] - base->p50[r];
            cpu_ratio[r] = c->cpu_us[r] > 0 ? base->cpu_us[r] / c->cpu_us[r] : 0;
        }
        printf("%-11s %-10s %5d %8.0f %7.0f-%-7.0f %8.1f %8.1f %6.3f %9.1f %7.1f %9.3f\n", op_names[c->op],
               path_names[c->path], c->conns, median(c->ops_per_s, g.runs), spread(c->ops_per_s, g.runs, 0),
               spread(c->ops_per_s, g.runs, 1), median(c->p50, g.runs), median(c->p99, g.runs),
               median(ratio, g.runs), median(added, g.runs), median(c->cpu_us, g.runs), median(cpu_ratio, g.runs));
    }
}

/* ---- setup ----------------------------------------------------------------------------------------------- */

static void parse_list(const char *text, int *out, int *n, int max)
{
    char *copy = strdup(text), *save = NULL;

    *n = 0;
    for (char *t = strtok_r(copy, ",", &save); t != NULL && *n < max; t = strtok_r(NULL, ",", &save)) {
        int v = -1;
        for (int o = 0; o < OP_N; o++)
            if (out == g.ops && strcmp(t, op_names[o]) == 0)
                v = o;
        if (out != g.ops && (v = atoi(t)) < 1)
            v = -1;
        if (v < 0 || v > MAX_CONNS)
            die("'%s' is not an operation (sign-RS256, sign-ES256, get-key, create-EC) or connection count", t);
        out[(*n)++] = v;
    }
    free(copy);
}

static void parse_tls(const char *text)
{
    static char host[64];
    const char *colon = strrchr(text, ':');

    if (colon == NULL || (size_t)(colon - text) >= sizeof(host) || (g.tls_port = atoi(colon + 1)) <= 0)
        die("--tls takes IPv4:PORT, not '%s'", text);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - text), text);
    g.tls_host = host;
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **s = strcmp(a, "--unix") == 0       ? &g.unix_path
                         : strcmp(a, "--domain") == 0   ? &g.domain
                         : strcmp(a, "--vault") == 0    ? &g.vault
                         : strcmp(a, "--keystore") == 0 ? &g.keystore
                         : strcmp(a, "--pem-dir") == 0  ? &g.pem_dir
                         : strcmp(a, "--cert") == 0     ? &g.cert
                         : strcmp(a, "--key") == 0      ? &g.key
                         : strcmp(a, "--cacert") == 0   ? &g.cacert
                         : strcmp(a, "--tsv") == 0      ? &g.tsv
                                                        : NULL;
        if (strcmp(a, "--smoke") == 0 || strcmp(a, "--no-tls") == 0 || strcmp(a, "--no-unix") == 0) {
            g.smoke |= strcmp(a, "--smoke") == 0;
            g.no_tls |= strcmp(a, "--no-tls") == 0;
            g.no_unix |= strcmp(a, "--no-unix") == 0;
            continue;
        }
        if (v == NULL)
            die("%s needs a value (see the top of bench/azkmd_bench.c)", a);
        i++;
        if (s != NULL)
            *s = v;
        else if (strcmp(a, "--tls") == 0)
            parse_tls(v);
        else if (strcmp(a, "--ops") == 0)
            parse_list(v, g.ops, &g.n_ops, OP_N);
        else if (strcmp(a, "--conns") == 0)
            parse_list(v, g.conns, &g.n_conns, 8);
        else if (strcmp(a, "--runs") == 0)
            g.runs = atoi(v);
        else if (strcmp(a, "--seconds") == 0)
            g.seconds = atof(v);
        else if (strcmp(a, "--server-pid") == 0)
            g.server_pid = atoi(v);
        else if (strcmp(a, "--server-cpu") == 0)
            g.server_cpu = atoi(v);
        else if (strcmp(a, "--client-cpu") == 0)
            g.client_cpu = atoi(v);
        else
            die("unknown option %s", a);
    }
}

static EVP_PKEY *read_public(const char *file)
{
    char path[4096];
    FILE *f;
    EVP_PKEY *k;

    snprintf(path, sizeof(path), "%s/%s.pem", g.pem_dir, file);
    if ((f = fopen(path, "r")) == NULL)
        die("cannot read %s", path);
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL)
        die("%s is not a PEM private key", path);
    return k;
}

static void setup(void)
{
    if (g.keystore == NULL || g.pem_dir == NULL)
        die("%s", "--keystore and --pem-dir are required");
    if (g.runs < 1 || g.runs > MAX_RUNS || g.seconds <= 0)
        die("%s", "--runs must be 1-64 and --seconds positive");
    if (g.n_ops == 0)
        parse_list("sign-RS256,sign-ES256,get-key,create-EC", g.ops, &g.n_ops, OP_N);
    if (g.n_conns == 0)
        parse_list("1,4,16", g.conns, &g.n_conns, 8);
    g.pub[OP_SIGN_RSA] = read_public("rsa2048");
    g.pub[OP_SIGN_EC] = read_public("ec256");
    SHA256((const unsigned char *)"azkmd-bench", 11, g.digest);
    if (g.tls_host == NULL)
        return;
    if ((g.ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
        (g.cacert != NULL && SSL_CTX_load_verify_locations(g.ctx, g.cacert, NULL) != 1) ||
        (g.cert != NULL && SSL_CTX_use_certificate_chain_file(g.ctx, g.cert) != 1) ||
        (g.key != NULL && SSL_CTX_use_PrivateKey_file(g.ctx, g.key, SSL_FILETYPE_PEM) != 1))
        die("%s", "cannot set up the TLS client (--cacert, --cert, --key)");
    SSL_CTX_set_verify(g.ctx, g.cacert != NULL ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_min_proto_version(g.ctx, TLS1_2_VERSION);
}

int main(int argc, char **argv)
{
    static cell cells[MAX_CELLS];
    FILE *tsv = NULL;
    int n;

    parse_args(argc, argv);
    setup();
    inproc_open();
    n = make_cells(cells);
    if (g.tsv != NULL && (tsv = fopen(g.tsv, "w")) == NULL)
        die("cannot write %s", g.tsv);
    if (tsv != NULL)
        fprintf(tsv, "run\toperation\tpath\tconns\trequests\tseconds\tops_per_s\tp50_us\tp99_us\tcpu_us_per_op\n");
    for (int r = 0; r < g.runs; r++)
        for (int i = 0; i < n; i++) /* every other run walks the cells backwards */
            if (!run_cell(&cells[r % 2 ? n - 1 - i : i], r, tsv))
                die("%s", "a cell failed (see above)");
    if (tsv != NULL)
        fclose(tsv);
    report(cells, n);
    for (int op = 0; op < OP_N; op++) {
        azkm_key_free(ip.key[op]);
        EVP_PKEY_free(g.pub[op]);
    }
    azkm_vault_close(ip.v);
    azkm_keystore_free(ip.ks);
    SSL_CTX_free(g.ctx);
    return 0;
}
