/* Error reporting for the azkm CLI (see report.h): the one place that turns an error class into a line on
 * stderr and an exit code. */
#include <stdarg.h>
#include <stdio.h>

#include "report.h"

static char auth_reason[512];
static azkm_rc auth_class; /* AZKM_OK: the reason explains an Unauthorized error; else the class it makes it */

int cli_exit_code(azkm_rc rc)
{
    switch (rc) {
    case AZKM_OK:
        return CLI_EXIT_OK;
    case AZKM_E_INVALID:
        return CLI_EXIT_USAGE;
    case AZKM_E_NOT_FOUND:
        return CLI_EXIT_NOT_FOUND;
    case AZKM_E_FORBIDDEN:
        return CLI_EXIT_FORBIDDEN;
    case AZKM_E_CONFLICT:
        return CLI_EXIT_CONFLICT;
    case AZKM_E_INTEGRITY:
        return CLI_EXIT_INTEGRITY;
    case AZKM_E_AUTH:
        return CLI_EXIT_AUTH;
    case AZKM_E_PERMISSION:
        return CLI_EXIT_PERMISSION;
    default:
        return CLI_EXIT_FAILURE;
    }
}

int cli_report(azkm_rc rc)
{
    fprintf(stderr, "azkm: error: %s: %s\n", azkm_rc_name(rc), azkm_last_error());
    return cli_exit_code(rc);
}

int cli_failf(azkm_rc rc, const char *fmt, ...)
{
    va_list ap;
    char msg[1024];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    azkm_set_error(rc, "%s", msg);
    return cli_report(rc);
}

int cli_fail(azkm_rc rc)
{
    const char *msg = azkm_last_error();

    if (msg == NULL || msg[0] == '\0')
        msg = "operation failed";
    if (rc == AZKM_E_AUTH && auth_reason[0] != '\0')
        return cli_failf(auth_class != AZKM_OK ? auth_class : rc, "%s (%s)", msg, auth_reason);
    return cli_failf(rc, "%s", msg);
}

int cli_fail_invalid_signature(const char *kid)
{
    fprintf(stderr, "azkm: error: InvalidSignature: the signature does not verify with key %s\n", kid);
    return CLI_EXIT_FAILURE;
}

void cli_auth_reason_set(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(auth_reason, sizeof(auth_reason), fmt, ap);
    va_end(ap);
}

void cli_auth_refused(azkm_rc rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(auth_reason, sizeof(auth_reason), fmt, ap);
    va_end(ap);
    auth_class = rc;
}

azkm_rc cli_auth_class(void)
{
    return auth_class;
}

void cli_auth_reason_clear(void)
{
    auth_reason[0] = '\0';
    auth_class = AZKM_OK;
}

const char *cli_auth_reason(void)
{
    return auth_reason;
}
