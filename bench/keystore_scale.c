/* azkm-keystore-scale: how the keystore's cost grows with the number of keys in a vault. Fills one vault through
 * the public API (one azkm_key_create per key: the API has no batch call), and at each size reopens it and
 * reports the open time and the latency of loading a key by name (azkm_key_load + azkm_key_free). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <azkm/keystore.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this thread: load latency without the time the scheduler gave to other processes */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void fail(const char *what)
{
    fprintf(stderr, "azkm-keystore-scale: %s: %s\n", what, azkm_last_error());
    exit(1);
}

static void open_vault(const char *dir, azkm_keystore **ks, azkm_vault **v)
{
    azkm_options opt = {.keystore_dir = dir, .config_file = "/dev/null"};
    if (azkm_keystore_open(&opt, ks) != AZKM_OK)
        fail("keystore open");
    if (azkm_vault_open(*ks, "scale", v) != AZKM_OK)
        fail("vault open");
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *kty = "oct";
    long sizes[8] = {1000, 10000, 100000};
    int n_sizes = 3, loads = 2000;
    double max_create = 600; /* seconds: stop filling beyond this and report the projection */
    const char *tsv = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            n_sizes = 0;
            for (char *p = argv[++i]; p && *p && n_sizes < 8; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                sizes[n_sizes++] = atol(p);
        } else if (strcmp(argv[i], "--kty") == 0 && i + 1 < argc)
            kty = argv[++i];
        else if (strcmp(argv[i], "--loads") == 0 && i + 1 < argc)
            loads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--max-create-seconds") == 0 && i + 1 < argc)
            max_create = atof(argv[++i]);
        else if (strcmp(argv[i], "--tsv") == 0 && i + 1 < argc)
            tsv = argv[++i];
        else if (dir == NULL && argv[i][0] != '-')
            dir = argv[i];
        else {
            fprintf(stderr, "usage: azkm-keystore-scale DIR [--sizes 1000,10000,100000] [--kty oct|EC] "
                            "[--loads N] [--max-create-seconds S] [--tsv FILE]\n");
            return 2;
        }
    }
    if (dir == NULL)
        return 2;

    azkm_keystore *ks;
    azkm_vault *v;
    azkm_options opt = {.keystore_dir = dir, .config_file = "/dev/null"};
    azkm_vault_params vp = {0};
    azkm_keyspec spec = {0};
    if (azkm_keystore_open(&opt, &ks) != AZKM_OK)
        fail("keystore open");
    if (azkm_vault_create(ks, "scale", &vp) != AZKM_OK || azkm_vault_open(ks, "scale", &v) != AZKM_OK)
        fail("vault create");
    if (azkm_kty_parse(kty, &spec.kty, &spec.protection) != AZKM_OK)
        fail("key type");
    spec.size = spec.kty == AZKM_KTY_OCT ? 256 : 0;
    spec.curve = spec.kty == AZKM_KTY_EC ? AZKM_CURVE_P256 : AZKM_CURVE_NONE;

    FILE *out = tsv ? fopen(tsv, "w") : NULL;
    if (out)
        fprintf(out, "keys\tcreate_ms_per_key\tcreate_total_s\topen_ms\tload_p50_us\tload_p99_us\tfirst_load_us\t"
                     "load_cpu_p50_us\tload_cpu_p99_us\n");
    printf("%8s %14s %14s %10s %12s %12s %12s %12s %12s\n", "keys", "create ms/key", "create total s", "open ms",
           "load p50 us", "load p99 us", "1st load us", "cpu p50 us", "cpu p99 us");

    long have = 0;
    double create_total = 0;
    double *lat = malloc(sizeof(double) * loads), *cpu = malloc(sizeof(double) * loads);
    srand(42);
    for (int si = 0; si < n_sizes; si++) {
        double t0 = now_s();
        long from = have;
        for (; have < sizes[si]; have++) {
            char name[32];
            azkm_key_info info;
            snprintf(name, sizeof(name), "k%07ld", have);
            if (azkm_key_create(v, name, &spec, &info) != AZKM_OK)
                fail("key create");
            double el = now_s() - t0;
            if (have - from == 199 && create_total + el / 200 * (sizes[n_sizes - 1] - from) > max_create) {
                double per = el / 200;
                printf("filling to %ld keys would take about %.0f s (%.2f ms per key, one azkm_key_create each) "
                       "> %.0f s: stopping at %ld keys\n",
                       sizes[n_sizes - 1], create_total + per * (sizes[n_sizes - 1] - from), per * 1000, max_create,
                       sizes[si - 1 >= 0 ? si - 1 : 0]);
                n_sizes = si;
                break;
            }
        }
        if (si >= n_sizes)
            break;
        double created = now_s() - t0;
        create_total += created;

        /* reopen: the open cost at this size, and loads on a fresh keystore */
        azkm_vault_close(v);
        azkm_keystore_free(ks);
        double o0 = now_s();
        open_vault(dir, &ks, &v);
        double open_ms = (now_s() - o0) * 1000;

        double first = 0;
        for (int i = 0; i < loads; i++) {
            char name[32];
            azkm_key *k;
            snprintf(name, sizeof(name), "k%07ld", (long)(((unsigned long)rand() * 7919u) % (unsigned long)have));
            double l0 = now_s(), c0 = cpu_s();
            if (azkm_key_load(v, name, NULL, &k) != AZKM_OK)
                fail("key load");
            azkm_key_free(k);
            lat[i] = (now_s() - l0) * 1e6;
            cpu[i] = (cpu_s() - c0) * 1e6;
            if (i == 0)
                first = lat[0];
        }
        qsort(lat, loads, sizeof(double), cmp_double);
        qsort(cpu, loads, sizeof(double), cmp_double);
        double p50 = lat[loads / 2], p99 = lat[(int)(loads * 0.99)];
        double c50 = cpu[loads / 2], c99 = cpu[(int)(loads * 0.99)];
        double per_key = (have - from) > 0 ? created / (have - from) * 1000 : 0;
        printf("%8ld %14.3f %14.1f %10.2f %12.1f %12.1f %12.1f %12.1f %12.1f\n", have, per_key, create_total,
               open_ms, p50, p99, first, c50, c99);
        fflush(stdout);
        if (out)
            fprintf(out, "%ld\t%.3f\t%.1f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n", have, per_key, create_total,
                    open_ms, p50, p99, first, c50, c99);
    }
    if (out)
        fclose(out);
    free(lat);
    free(cpu);
    azkm_vault_close(v);
    azkm_keystore_free(ks);
    return 0;
}
