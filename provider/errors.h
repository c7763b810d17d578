/* Provider errors: azkm's reason codes, registered with the core through get_reason_strings, and the macros that
 * raise them on the OpenSSL error stack (and on stderr when error_log = stderr). */
#ifndef AZKM_PROV_ERRORS_H
#define AZKM_PROV_ERRORS_H

#include <openssl/core.h>
#include <openssl/macros.h>

#include <azkm/keystore.h>

#include "provctx.h"

enum {
    AZKM_R_KEYSTORE_OPEN = 1,
    AZKM_R_INVALID_URI,
    AZKM_R_NOT_FOUND,
    AZKM_R_FORBIDDEN,
    AZKM_R_INTEGRITY,
    AZKM_R_AUTH,
    AZKM_R_PERMISSION,
    AZKM_R_IO,
    AZKM_R_CORRUPT,
    AZKM_R_UNSUPPORTED,
    AZKM_R_CRYPTO,
    AZKM_R_NOMEM,
    AZKM_R_INVALID,
    AZKM_R_CONFLICT,
    AZKM_R_PRIVATE_KEY_NOT_EXPORTABLE,
    AZKM_R_NO_PRIVATE_KEY,
    AZKM_R_BAD_REFERENCE_FILE,
    AZKM_R_BAD_PARAMETER,
    AZKM_R_BUFFER_TOO_SMALL,
    AZKM_R_INTERNAL,
};

const OSSL_ITEM *azkm_reason_strings(void);
void azkm_raise(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, int reason, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Raises the keystore's last error, mapping its class to a reason; the text names key and action. */
void azkm_raise_rc(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, azkm_rc rc);
/* Same, for a failed key load: the message is prefixed with the URI unless it names it already. */
void azkm_raise_rc_loading(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, azkm_rc rc,
                           const char *uri);

#define AZKM_RAISE(pctx, reason, ...)                                                                              \
    azkm_raise((pctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (reason), __VA_ARGS__)
#define AZKM_RAISE_RC(pctx, rc) azkm_raise_rc((pctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (rc))
#define AZKM_RAISE_RC_LOADING(pctx, rc, uri)                                                                       \
    azkm_raise_rc_loading((pctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (rc), (uri))

#endif
