/* Flag parsing and typed flag values for the azkm CLI (see args.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <azkm/keystore.h>

#include "args.h"
#include "report.h"
#include "suggest.h"

int args_usage(const char *flag, const char *fmt, ...)
{
    va_list ap;
    char msg[1024];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Through the keystore's error buffer, which escapes control characters quoted from the command line. */
    azkm_set_error(AZKM_E_INVALID, "%s%s%s", flag ? flag : "", flag ? ": " : "", msg);
    return cli_report(AZKM_E_INVALID);
}

static int is_flag(const char *s)
{
    return s[0] == '-' && s[1] == '-' && s[2] != '\0';
}

static int add_table(cli_args *a, const cli_flag *t)
{
    for (; t != NULL && t->name != NULL; t++) {
        if (a->n == CLI_MAX_FLAGS)
            return -1;
        a->flags[a->n++] = t;
    }
    return 0;
}

static long find_flag(const cli_args *a, const char *name, size_t namelen)
{
    for (size_t i = 0; i < a->n; i++)
        if (strlen(a->flags[i]->name) == namelen && strncmp(a->flags[i]->name, name, namelen) == 0)
            return (long)i;
    return -1;
}

/* "unknown flag '--x'", with the closest known flag when there is one. */
static int unknown_flag(const cli_args *a, const char *arg, size_t namelen)
{
    char word[64], hint[96];
    const char *best = NULL;
    int dist = 100;

    snprintf(word, sizeof(word), "%.*s", (int)(namelen < sizeof(word) ? namelen : sizeof(word) - 1), arg);
    for (size_t i = 0; i < a->n; i++)
        cli_suggest_consider(word, a->flags[i]->name, &best, &dist);
    return args_usage(NULL, "unknown flag '%.*s' (%ssee --help)", (int)namelen, arg,
                      cli_suggest_text(best, hint, sizeof(hint)));
}

/* Joins argv[*i..] up to the next flag with spaces. */
static char *join_words(int argc, char **argv, int *i)
{
    size_t total = 0;
    int j;
    char *s;

    for (j = *i; j < argc && !is_flag(argv[j]) && strcmp(argv[j], "-h") != 0 && strcmp(argv[j], "-o") != 0; j++)
        total += strlen(argv[j]) + 1;
    if (j == *i || (s = malloc(total)) == NULL)
        return NULL;
    s[0] = '\0';
    for (int k = *i; k < j; k++) {
        if (k > *i)
            strcat(s, " ");
        strcat(s, argv[k]);
    }
    *i = j;
    return s;
}

int args_parse(cli_args *a, const cli_flag *cmd, const cli_flag *global, int argc, char **argv)
{
    memset(a, 0, sizeof(*a));
    if (add_table(a, cmd) != 0 || add_table(a, global) != 0)
        return args_usage(NULL, "too many flags (internal)");

    for (int i = 0; i < argc;) {
        /* -o is az's short form of --output, the one short flag besides -h. */
        const char *arg = strcmp(argv[i], "-o") == 0 ? "--output" : argv[i];
        const char *eq;
        size_t namelen;
        long idx;
        const cli_flag *f;
        char *val = NULL;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            a->help = 1;
            i++;
            continue;
        }
        if (!is_flag(arg))
            return args_usage(NULL, "unexpected argument '%s' (flags start with --; see --help)", arg);
        eq = strchr(arg, '=');
        namelen = eq ? (size_t)(eq - arg) : strlen(arg);
        if ((idx = find_flag(a, arg, namelen)) < 0)
            return unknown_flag(a, arg, namelen);
        f = a->flags[idx];
        if (a->values[idx] != NULL)
            return args_usage(f->name, "given more than once");
        i++;
        if (eq != NULL) {
            val = strdup(eq + 1);
        } else if (f->kind == ARG_SWITCH) {
            if (i < argc && (strcmp(argv[i], "true") == 0 || strcmp(argv[i], "false") == 0))
                val = strdup(argv[i++]);
            else
                val = strdup("true");
        } else if (f->kind == ARG_LIST) {
            if ((val = join_words(argc, argv, &i)) == NULL)
                return args_usage(f->name, "needs a value (%s)", f->metavar);
        } else {
            if (i >= argc || is_flag(argv[i]))
                return args_usage(f->name, "needs a value (%s)", f->metavar);
            val = strdup(argv[i++]);
        }
        if (val == NULL)
            return args_usage(f->name, "out of memory");
        a->values[idx] = val;
    }
    if (a->help)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->flags[i]->required && a->values[i] == NULL)
            return args_usage(a->flags[i]->name, "required (see --help)");
    return 0;
}

void args_free(cli_args *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->values[i]);
    memset(a, 0, sizeof(*a));
}

const char *args_get(const cli_args *a, const char *name)
{
    long idx = find_flag(a, name, strlen(name));

    return idx < 0 ? NULL : a->values[idx];
}

int args_bool(const cli_args *a, const char *name, int *out)
{
    const char *v = args_get(a, name);

    if (v == NULL)
        return 0;
    if (strcmp(v, "true") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0)
        *out = 0;
    else
        return args_usage(name, "must be true or false (got '%s')", v);
    return 0;
}

int args_long(const cli_args *a, const char *name, long min, long max, long *out)
{
    const char *v = args_get(a, name);
    char *end;
    long n;

    if (v == NULL)
        return 0;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0')
        return args_usage(name, "must be a number (got '%s')", v);
    if (n < min || n > max)
        return args_usage(name, "must be %ld-%ld (got %ld)", min, max, n);
    *out = n;
    return 0;
}

int args_parse_time(const char *text, int64_t *out)
{
    struct tm tm;
    const char *end;
    char *nend;
    long long n;

    if (strcmp(text, "none") == 0) {
        *out = 0;
        return 0;
    }
    errno = 0;
    n = strtoll(text, &nend, 10);
    if (errno == 0 && nend != text && *nend == '\0' && n >= 0) {
        *out = n;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(text, "%Y-%m-%d", &tm);
    if (end == NULL)
        return -1;
    if (*end == 'T') {
        end = strptime(end + 1, "%H:%M:%S", &tm);
        if (end == NULL)
            return -1;
        if (*end == '.') /* fractional seconds are ignored */
            for (end++; *end >= '0' && *end <= '9'; end++)
                ;
        if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
            return -1;
    } else if (*end != '\0') {
        return -1;
    }
    *out = (int64_t)timegm(&tm);
    return 0;
}

int args_time(const cli_args *a, const char *name, int64_t *out)
{
    const char *v = args_get(a, name);

    if (v == NULL)
        return 0;
    if (args_parse_time(v, out) != 0)
        return args_usage(name, "must be ISO-8601 UTC like 2027-01-01T00:00:00Z, epoch seconds, or none (got '%s')",
                          v);
    return 0;
}

int args_exclusive(const cli_args *a, const char *first, ...)
{
    va_list ap;
    const char *seen = NULL;
    int rc = 0;

    va_start(ap, first);
    for (const char *f = first; f != NULL; f = va_arg(ap, const char *)) {
        if (args_get(a, f) == NULL)
            continue;
        if (seen != NULL) {
            rc = args_usage(f, "cannot be combined with %s", seen);
            break;
        }
        seen = f;
    }
    va_end(ap);
    return rc;
}

int args_maxresults(const cli_args *a, size_t *n)
{
    long max = 0;
    int ret = args_long(a, "--maxresults", 1, 1000000, &max);

    if (ret == 0 && max > 0 && (size_t)max < *n)
        *n = (size_t)max;
    return ret;
}
