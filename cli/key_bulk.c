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

/* Software keys are committed in batches (azkm_key_batch_begin): one fsync per batch of at most 1000 keys or
 * 0.2 s, instead of one per key; HSM keys one by one (the keystore refuses them in a batch). */
typedef struct {
    int on;         /* batching at all */
    int open;       /* a batch is open */
    long n;         /* keys in the open batch */
    long committed; /* keys committed so far */
    double since;   /* when the open batch began */
} batcher;

/* Commits the open batch when it is full or old (or last), and opens the next one (unless last). */
static azkm_rc batch_step(batcher *b, azkm_vault *v, long made, int last)
{
    double t = now_s();
    azkm_rc rc;

    if (!b->on)
        return AZKM_OK;
    if (b->open && (last || b->n >= 1000 || t - b->since >= 0.2)) {
        b->open = 0;
        if ((rc = azkm_key_batch_commit(v)) != AZKM_OK)
            return rc;
        b->committed = made;
    }
    if (!b->open && !last) {
        if ((rc = azkm_key_batch_begin(v)) != AZKM_OK)
            return rc;
        *b = (batcher){1, 1, 0, b->committed, t};
    }
    return AZKM_OK;
}

static void bulk_report(const char *prefix, int width, long made, long count)
{
    fprintf(stderr, "azkm: %ld of %ld keys were created before the failure", made, count);
    if (made > 0)
        fprintf(stderr, " (%s-%0*d ... %s-%0*ld)", prefix, width, 1, prefix, width, made);
    fputc('\n', stderr);
}

int cli_key_create_bulk(cli_ctx *ctx, const cli_args *a, azkm_vault *v, const azkm_keyspec *spec)
{
    const char *prefix = args_get(a, "--name");
    char name[160], first[160] = "";
    long count = 0, i, made = 0;
    int ret = 0, width, tty = isatty(STDERR_FILENO);
    double start = now_s(), last = 0;
    batcher b = {spec->protection == AZKM_PROTECTION_SOFTWARE, 0, 0, 0, 0};
    azkm_rc rc = AZKM_OK;

    if ((ret = args_long(a, "--count", 1, 1000000, &count)) != 0)
        return ret;
    width = digits(count);
    if (strlen(prefix) + 1 + (size_t)width > 127)
        return args_usage("--name", "too long for --count %ld: names are NAME-%0*d (at most 127 characters)", count,
                          width, 1);
    for (i = 1; i <= count && rc == AZKM_OK; i++) {
        snprintf(name, sizeof(name), "%s-%0*ld", prefix, width, i);
        if ((rc = batch_step(&b, v, made, 0)) == AZKM_OK &&
            (rc = azkm_key_create(v, name, spec, NULL)) == AZKM_OK) {
            made = i;
            b.n++;
            if (i == 1)
                snprintf(first, sizeof(first), "%s", name);
            progress(i, count, start, &last, tty);
        }
    }
    if (rc != AZKM_OK) {
        if (tty && made > 0)
            fputc('\n', stderr);
        ret = cli_fail(rc);
    }
    /* the keys made before a failure are kept: the open batch is committed in any case */
    if (b.open && (rc = batch_step(&b, v, made, 1)) != AZKM_OK) {
        ret = cli_fail(rc);
        made = b.committed;
    }
    if (ret != 0) {
        bulk_report(prefix, width, made, count);
        return ret;
    }
    return summary(ctx, first, name, count, now_s() - start);
}
