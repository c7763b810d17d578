/* How the azkm CLI reports an error: one line "azkm: error: <Class>: <message>" on stderr, and an exit code per
 * error class (docs/cli.md). Every error line the CLI prints comes from here. */
#ifndef AZKM_CLI_REPORT_H
#define AZKM_CLI_REPORT_H

#include <azkm/keystore.h>

/* Exit codes, one per error class (docs/cli.md). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1, /* I/O, corrupt data, unsupported, crypto, invalid signature */
    CLI_EXIT_USAGE = 2,   /* bad flag or value (BadParameter) */
    CLI_EXIT_NOT_FOUND = 3,
    CLI_EXIT_FORBIDDEN = 4,
    CLI_EXIT_CONFLICT = 5,
    CLI_EXIT_INTEGRITY = 6,
    CLI_EXIT_AUTH = 7,
    CLI_EXIT_PERMISSION = 8,
};

int cli_exit_code(azkm_rc rc);

/* Prints the library's last error under rc's class and returns rc's exit code. */
int cli_report(azkm_rc rc);
/* The library's last error, with the passphrase callback's reason added to an Unauthorized one. */
int cli_fail(azkm_rc rc);
/* An error of the CLI's own, passed through the keystore's error buffer (which escapes control characters
 * quoted from the user's input). */
int cli_failf(azkm_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `key verify` of a signature that does not verify: a class of its own, exit code 1. */
int cli_fail_invalid_signature(const char *kid);

/* Why the last passphrase or PIN callback gave up ("" if it did not). A callback cannot report, so it leaves its
 * reason here and cli_fail adds it to the Unauthorized error it leads to. */
void cli_auth_reason_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for a refusal of another class (a passphrase file others can read: AZKM_E_PERMISSION), which cli_fail
 * reports instead of the Unauthorized it led to. */
void cli_auth_refused(azkm_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
azkm_rc cli_auth_class(void);
void cli_auth_reason_clear(void);
const char *cli_auth_reason(void);

#endif
