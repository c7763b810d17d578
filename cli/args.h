/* Flag parsing for the azkm CLI: az-style long flags ("--vault-name v" or "--vault-name=v"), switches, lists
 * that take several words ("--ops sign verify"), and typed getters that print a usage error naming the flag. */
#ifndef AZKM_CLI_ARGS_H
#define AZKM_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ARG_VALUE,  /* exactly one value */
    ARG_LIST,   /* one or more words up to the next flag, joined with spaces */
    ARG_SWITCH, /* no value; an optional true|false may follow */
} cli_arg_kind;

typedef struct {
    const char *name; /* "--vault-name"; NULL ends a table */
    cli_arg_kind kind;
    const char *metavar; /* "NAME" */
    const char *help;    /* one line, with the default */
    int required;
} cli_flag;

#define CLI_MAX_FLAGS 48

typedef struct {
    const cli_flag *flags[CLI_MAX_FLAGS];
    char *values[CLI_MAX_FLAGS]; /* NULL when absent; "true"/"false" for switches */
    size_t n;
    int help; /* -h or --help was given */
} cli_args;

/* Parses argv against the command's flags and the global flags. Returns 0, or the usage exit code after
 * printing the error. A help request skips the required-flag check. Call args_free in every case. */
int args_parse(cli_args *a, const cli_flag *cmd, const cli_flag *global, int argc, char **argv);
void args_free(cli_args *a);

/* The raw value of a flag, or NULL. */
const char *args_get(const cli_args *a, const char *name);

/* Typed getters: leave *out alone when the flag is absent; return 0, or the usage exit code after printing
 * "--flag: problem". */
int args_bool(const cli_args *a, const char *name, int *out);
int args_long(const cli_args *a, const char *name, long min, long max, long *out);
/* ISO-8601 UTC ("2027-01-01T00:00:00Z", "2027-01-01") or epoch seconds; "none" or "0" gives 0 (unset). */
int args_time(const cli_args *a, const char *name, int64_t *out);
/* Usage error: prints "azkm: error: BadParameter: <flag>: <problem>", returns the usage exit code. */
int args_usage(const char *flag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fails when more than one of the named flags (NULL-terminated) is present. */
int args_exclusive(const cli_args *a, const char *first, ...);

/* --maxresults N of the list commands: lowers *n to N when given (1 to 1000000); returns 0 or the usage exit code.
 */
int args_maxresults(const cli_args *a, size_t *n);
#define FLAG_MAXRESULTS                                                                                            \
    {                                                                                                              \
        "--maxresults", ARG_VALUE, "N", "Show at most N items, the first in listing order. Default: all.", 0       \
    }

/* Parses a time value as args_time does; returns 0 on success. */
int args_parse_time(const char *text, int64_t *out);

#endif
