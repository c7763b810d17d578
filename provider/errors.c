/* Provider error reporting: reason strings registered with the core, raised through the core's error upcalls,
 * with the keystore's message (which names vault, key and action) as the error data. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "errors.h"

static const OSSL_ITEM reason_strings[] = {
    {AZKM_R_KEYSTORE_OPEN, "cannot open the azkm keystore"},
    {AZKM_R_INVALID_URI, "invalid azkm URI"},
    {AZKM_R_NOT_FOUND, "vault, key or version not found"},
    {AZKM_R_FORBIDDEN, "operation forbidden"}, /* by the key's attributes or key_ops, or by azkmd's roles */
    {AZKM_R_INTEGRITY, "integrity check failed"},
    {AZKM_R_AUTH, "wrong passphrase or PIN"},
    {AZKM_R_PERMISSION, "permission denied"},
    {AZKM_R_IO, "keystore I/O error"},
    {AZKM_R_CORRUPT, "keystore data corrupt"},
    {AZKM_R_UNSUPPORTED, "not supported"},
    {AZKM_R_CRYPTO, "cryptographic operation failed"},
    {AZKM_R_NOMEM, "out of memory"},
    {AZKM_R_INVALID, "invalid parameter"},
    {AZKM_R_CONFLICT, "conflict"},
    {AZKM_R_PRIVATE_KEY_NOT_EXPORTABLE, "azkm private keys cannot be exported or encoded"},
    {AZKM_R_NO_PRIVATE_KEY, "not an azkm private key"},
    {AZKM_R_BAD_REFERENCE_FILE, "bad azkm key reference file"},
    {AZKM_R_BAD_PARAMETER, "bad parameter"},
    {AZKM_R_BUFFER_TOO_SMALL, "output buffer too small"},
    {AZKM_R_INTERNAL, "internal error"},
    {0, NULL},
};

const OSSL_ITEM *azkm_reason_strings(void)
{
    return reason_strings;
}

/* Reasons that tell an administrator something about a key or the keystore, as opposed to refusals that are part
 * of normal operation (a private key export that OpenSSL attempts on every operation). */
static int worth_logging(int reason)
{
    switch (reason) {
    case AZKM_R_KEYSTORE_OPEN:
    case AZKM_R_NOT_FOUND:
    case AZKM_R_FORBIDDEN:
    case AZKM_R_INTEGRITY:
    case AZKM_R_AUTH:
    case AZKM_R_PERMISSION:
    case AZKM_R_IO:
    case AZKM_R_CORRUPT:
    case AZKM_R_BAD_REFERENCE_FILE:
        return 1;
    default:
        return 0;
    }
}

/* error_log = stderr: the same message also goes to stderr, as one line. Servers keep their stderr in their error
 * log (Apache from startup on, nginx workers), and some, like Apache's key loader, try so many decoders after a
 * failed load that OpenSSL's 16-entry error queue loses the reason before the server prints it. */
static void log_line(AZKM_PROVCTX *pctx, int reason, const char *fmt, va_list ap)
{
    char buf[1024];
    int n;

    if (!pctx->log_stderr || !worth_logging(reason))
        return;
    memcpy(buf, "azkm: ", 6);
    n = vsnprintf(buf + 6, sizeof(buf) - 7, fmt, ap);
    if (n < 0)
        return;
    n = n + 6 > (int)sizeof(buf) - 2 ? (int)sizeof(buf) - 2 : n + 6;
    buf[n++] = '\n';
    if (write(STDERR_FILENO, buf, (size_t)n) < 0)
        return;
}

static void vraise(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, int reason, const char *fmt,
                   va_list ap)
{
    va_list copy;

    if (pctx == NULL || pctx->core_new_error == NULL)
        return;
    va_copy(copy, ap);
    log_line(pctx, reason, fmt, copy);
    va_end(copy);
    pctx->core_new_error(pctx->handle);
    pctx->core_set_error_debug(pctx->handle, file, line, func);
    pctx->core_vset_error(pctx->handle, (uint32_t)reason, fmt, ap);
}

void azkm_raise(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, int reason, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vraise(pctx, file, line, func, reason, fmt, ap);
    va_end(ap);
}

static int reason_of(azkm_rc rc)
{
    switch (rc) {
    case AZKM_E_INVALID:
        return AZKM_R_INVALID;
    case AZKM_E_NOT_FOUND:
        return AZKM_R_NOT_FOUND;
    case AZKM_E_CONFLICT:
        return AZKM_R_CONFLICT;
    case AZKM_E_FORBIDDEN:
        return AZKM_R_FORBIDDEN;
    case AZKM_E_INTEGRITY:
        return AZKM_R_INTEGRITY;
    case AZKM_E_AUTH:
        return AZKM_R_AUTH;
    case AZKM_E_PERMISSION:
        return AZKM_R_PERMISSION;
    case AZKM_E_IO:
        return AZKM_R_IO;
    case AZKM_E_CORRUPT:
        return AZKM_R_CORRUPT;
    case AZKM_E_UNSUPPORTED:
        return AZKM_R_UNSUPPORTED;
    case AZKM_E_CRYPTO:
        return AZKM_R_CRYPTO;
    case AZKM_E_NOMEM:
        return AZKM_R_NOMEM;
    default:
        return AZKM_R_INTERNAL;
    }
}

void azkm_raise_rc(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, azkm_rc rc)
{
    const char *msg = azkm_last_error();

    azkm_raise(pctx, file, line, func, reason_of(rc), "%s",
               (msg != NULL && msg[0] != '\0') ? msg : azkm_rc_name(rc));
}

void azkm_raise_rc_loading(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, azkm_rc rc,
                           const char *uri)
{
    const char *msg = azkm_last_error();

    /* "vault web not found in /var/lib/azkm" says why but not which key: a server's log must say both. */
    if (msg != NULL && msg[0] != '\0' && strstr(msg, uri) == NULL)
        azkm_raise(pctx, file, line, func, reason_of(rc), "cannot load key %s: %s", uri, msg);
    else
        azkm_raise_rc(pctx, file, line, func, rc);
}
