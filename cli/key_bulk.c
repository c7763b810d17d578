/* `azkm key create --count N`: many keys in one process (one keystore open, one vault open), with a progress line
 * on stderr when it is a terminal (see key_bulk.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "key_bulk.h"
#include "output.h"
#include "report.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int digits(long n)
{
    int d = 1;

    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* "\rcreated 1234/10000 keys (567 keys/s)" at most ten times a second, and once at the end. */
static void progress(long done, long total, double start, double *last, int tty)
{
    double t = now_s();

    if (!tty || (done < total && t - *last < 0.1))
        return;
    *last = t;
    fprintf(stderr, "\rcreated %ld/%ld keys (%.0f keys/s)%s", done, total, done / (t - start + 1e-9),
            done == total ? "\n" : "");
}

static int summary(const cli_ctx *ctx, const char *first, const char *last, long n, double secs)
{
    if (ctx->json)
        return out_json(json_pack("{s:I, s:s, s:s, s:f, s:f}", "created", (json_int_t)n, "first", first, "last",
                                  last, "seconds", secs, "keysPerSecond", n / (secs + 1e-9)));
    out_row("Created", "%ld keys", n);
    out_row("Names", "%s ... %s", first, last);
    out_row("Time", "%.2f s (%.0f keys/s)", secs, n / (secs + 1e-9));
    return 0;
}

int cli_key_create_bulk(cli_ctx *ctx, const cli_args *a, azkm_vault *v, const azkm_keyspec *spec)
{
    const char *prefix = args_get(a, "--name");
    char name[160], first[160] = "";
    long count = 0, i;
    int ret, width, tty = isatty(STDERR_FILENO);
    double start = now_s(), last = 0;

    if ((ret = args_long(a, "--count", 1, 1000000, &count)) != 0)
        return ret;
    width = digits(count);
    if (strlen(prefix) + 1 + (size_t)width > 127)
        return args_usage("--name", "too long for --count %ld: names are NAME-%0*d (at most 127 characters)", count,
                          width, 1);
    for (i = 1; i <= count; i++) {
        azkm_rc rc;

        if (snprintf(name, sizeof(name), "%s-%0*ld", prefix, width, i) >= (int)sizeof(name))
            return args_usage("--name", "too long");
        if ((rc = azkm_key_create(v, name, spec, NULL)) != AZKM_OK) {
            if (tty && i > 1)
                fputc('\n', stderr);
            ret = cli_fail(rc);
            fprintf(stderr, "azkm: %ld of %ld keys were created before the failure (%s-%0*d ... %s-%0*ld)\n", i - 1,
                    count, prefix, width, 1, prefix, width, i - 1);
            return ret;
        }
        if (i == 1)
            snprintf(first, sizeof(first), "%s", name);
        progress(i, count, start, &last, tty);
    }
    return summary(ctx, first, name, count, now_s() - start);
}
