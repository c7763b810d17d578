/* The keystore's one way to report an error: a class (azkm_rc) and a thread-local message naming the thing. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "base/base.h"

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

/* Length of the UTF-8 sequence at s if it is valid and prints, else 0: C1 controls, line and paragraph separators
 * and bidirectional overrides (which can make a log line read backwards) do not. */
static size_t utf8_printable(const unsigned char *s)
{
    size_t n;
    unsigned cp;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff) ||
        cp < 0xa0 || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
        return 0;
    return n;
}

/* Messages quote what users typed and what files hold (names, URIs, paths): a control character or a broken byte
 * in them is written as \xNN, so that an error cannot move the cursor, clear a line or forge another line on the
 * terminal or in a log that shows it. This is the one place every keystore and CLI error goes through. */
static void escape(char *out, size_t outlen, const char *in)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0, n;

    while (*s != '\0' && o + 1 < outlen) {
        if (*s >= 0x20 && *s < 0x7f) {
            out[o++] = (char)*s++;
        } else if (*s >= 0x80 && (n = utf8_printable(s)) != 0 && o + n < outlen) {
            memcpy(out + o, s, n);
            o += n;
            s += n;
        } else if (o + 4 < outlen) {
            snprintf(out + o, 5, "\\x%02x", *s++);
            o += 4;
        } else {
            break;
        }
    }
    out[o] = '\0';
}

__attribute__((format(printf, 2, 0))) static void set_msg(azkm_rc rc, const char *fmt, va_list ap)
{
    char buf[sizeof(last_msg)];

    /* Callers may pass azkm_last_error() itself as an argument to add context to it. */
    vsnprintf(buf, sizeof(buf), fmt, ap);
    escape(last_msg, sizeof(last_msg), buf);
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

azkm_rc azkm_set_error(azkm_rc rc, const char *fmt, ...)
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
