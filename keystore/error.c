/* The keystore's one way to report an error: a class (azkm_rc) and a thread-local message naming the thing. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "internal.h"

static _Thread_local char last_msg[1024];
static _Thread_local azkm_rc last_rc;

const char *azkm_last_error(void)
{
    return last_msg;
}

azkm_rc azkm_last_rc(void)
{
    return last_rc;
}

void azkm_clear_error(void)
{
    last_msg[0] = '\0';
    last_rc = AZKM_OK;
}

const char *azkm_rc_name(azkm_rc rc)
{
    static const char *const names[AZKM_RC_COUNT] = {
        [AZKM_OK] = "OK",
        [AZKM_E_INVALID] = "BadParameter",
        [AZKM_E_NOT_FOUND] = "NotFound",
        [AZKM_E_CONFLICT] = "Conflict",
        [AZKM_E_FORBIDDEN] = "Forbidden",
        [AZKM_E_INTEGRITY] = "IntegrityCheckFailed",
        [AZKM_E_AUTH] = "Unauthorized",
        [AZKM_E_PERMISSION] = "PermissionDenied",
        [AZKM_E_IO] = "IOError",
        [AZKM_E_CORRUPT] = "Corrupt",
        [AZKM_E_UNSUPPORTED] = "NotSupported",
        [AZKM_E_CRYPTO] = "CryptoError",
        [AZKM_E_NOMEM] = "OutOfMemory",
    };
    if ((unsigned)rc >= AZKM_RC_COUNT)
        return "Unknown";
    return names[rc];
}

static void set_msg(azkm_rc rc, const char *fmt, va_list ap)
{
    char buf[sizeof(last_msg)];

    /* Callers may pass azkm_last_error() itself as an argument to add context to it. */
    vsnprintf(buf, sizeof(buf), fmt, ap);
    memcpy(last_msg, buf, sizeof(buf));
    last_rc = rc;
}

azkm_rc azkm_fail(azkm_rc rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_msg(rc, fmt, ap);
    va_end(ap);
    return rc;
}

azkm_rc azkm_fail_ossl(azkm_rc rc, const char *fmt, ...)
{
    va_list ap;
    unsigned long e = ERR_peek_error();
    size_t used;

    va_start(ap, fmt);
    set_msg(rc, fmt, ap);
    va_end(ap);
    used = strlen(last_msg);
    if (e != 0 && used + 3 < sizeof(last_msg)) {
        const char *reason = ERR_reason_error_string(e);
        snprintf(last_msg + used, sizeof(last_msg) - used, " (%s)", reason ? reason : "libcrypto error");
    }
    /* The queue is left alone: it may hold the application's own errors (libssl reads it), and ours stay
     * there for OpenSSL-aware callers to see. */
    return rc;
}
