/* Every piece of work on the token runs here: on a failure that can pass, the module is re-initialised in this
 * process, the token found again by its label, the user logged in again, and the work run again, with a bounded
 * backoff; only then is the failure reported, saying which case it is (token not found, login race, a token that
 * keeps failing) and what to do. Nothing here retries a PIN the token rejected. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tiers/pkcs11/p11.h"

/* Six tries: the pauses between them add up to about 1 s (each +-25%, so that processes that failed together do
 * not try again together). Long enough for another process to finish C_Initialize or C_Login on a large token
 * store, short enough for a server worker that holds a handshake meanwhile. */
#define ATTEMPTS 6
static const unsigned pause_ms[ATTEMPTS - 1] = {10, 40, 120, 300, 600};
/* After a token failed all its tries, work on it gets one try for this long: a token that is gone must not cost
 * every handshake of a worker a second. */
#define DOWN_MS 2000
#define MAX_DOWN 64

static pthread_mutex_t down_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const azkm_p11_token *t;
    long long until;
} down[MAX_DOWN];

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sets (until > 0) or clears the token's "failed every try" mark; returns whether it was set and not expired. */
static int down_mark(const azkm_p11_token *t, long long until)
{
    int was = 0, free_slot = -1;

    pthread_mutex_lock(&down_lock);
    for (int i = 0; i < MAX_DOWN; i++) {
        if (down[i].t == t) {
            was = down[i].until > now_ms();
            down[i].until = until >= 0 ? until : down[i].until;
            free_slot = -2;
            break;
        }
        if (down[i].t == NULL && free_slot == -1)
            free_slot = i;
    }
    if (free_slot >= 0 && until > 0) {
        down[free_slot].t = t;
        down[free_slot].until = until;
    }
    pthread_mutex_unlock(&down_lock);
    return was;
}

/* Return values after which the token, its store or this process's view of them may be fine again after a
 * re-initialisation: SoftHSM gives all of these while another process rewrites the token's files, and a token
 * that was removed and put back gives the others. */
static int can_pass(CK_RV rv)
{
    switch (rv) {
    case CKR_SLOT_ID_INVALID:
    case CKR_GENERAL_ERROR:
    case CKR_USER_PIN_NOT_INITIALIZED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_REMOVED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
        return 1;
    default:
        return 0;
    }
}

static void pause_before(int attempt)
{
    unsigned ms = pause_ms[attempt], seed;
    struct timespec ts;

    /* seeded per call from the pid and the clock: forked children share rand()'s state */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    seed = (unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec;
    ms = ms * 3 / 4 + (unsigned)rand_r(&seed) % (ms / 2 + 1);
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* The error after the last try, by case; the last try's own message is kept in it. */
static azkm_rc report(azkm_p11_token *t, azkm_p11_failure why, CK_RV rv, int tries, long long ms)
{
    char last[1024];
    azkm_rc rc = azkm_last_rc();

    snprintf(last, sizeof(last), "%s", azkm_last_error());
    if (why == AZKM_P11_NO_TOKEN)
        return azkm_fail(rc, "%s [looked for it %d times over %lld ms, re-initialising the module each time]", last,
                         tries, ms);
    if (why == AZKM_P11_LOGIN_RACE)
        return azkm_fail(rc == AZKM_E_CRYPTO ? AZKM_E_IO : rc,
                         "token %s: logging in failed %d times over %lld ms with %s, although the token did not "
                         "reject the PIN: each time another program was rewriting the token's files (SoftHSM "
                         "rewrites them on every login; azkm's own processes take turns, other PKCS#11 "
                         "programs do not)%s. Try again; if it persists, check what else uses the token "
                         "[%s]",
                         azkm_p11_token_label(t), tries, ms, azkm_p11_rv_name(rv),
                         rv == CKR_USER_PIN_NOT_INITIALIZED
                             ? ", or the token's user PIN was never set (softhsm2-util --init-token ... --pin)"
                             : "",
                         last);
    return azkm_fail(rc,
                     "%s [the token failed %d times over %lld ms although azkm re-initialised the module, found "
                     "the token again and logged in again each time: the token or its store is failing; check "
                     "the token, its store's disk and permissions, and other programs using it]",
                     last, tries, ms);
}

/* After a failed op: 1 when it is worth a recovery and another try (why and rv then say what failed). */
static int op_may_pass(const azkm_p11_result *res, int *stale_tried, azkm_p11_failure *why, CK_RV *rv)
{
    if (res->stale && !*stale_tried) {
        *stale_tried = 1;
        *why = AZKM_P11_RETRY;
        *rv = res->rv;
        return 1;
    }
    if (res->final || !can_pass(res->rv))
        return 0;
    *why = AZKM_P11_RETRY;
    *rv = res->rv;
    return 1;
}

azkm_rc azkm_p11_run(azkm_p11_token *t, azkm_p11_op op, void *arg)
{
    int limit = down_mark(t, -1) ? 2 : ATTEMPTS, stale_tried = 0;
    long long start = now_ms();
    azkm_p11_failure why = AZKM_P11_FINAL;
    CK_RV rv = CKR_OK;
    azkm_rc rc;
    int attempt;

    for (attempt = 0;; attempt++) {
        azkm_p11_session s = {CK_INVALID_HANDLE, 0};
        azkm_p11_result res = {CKR_OK, 0, 0};

        rc = azkm_p11_session_get(t, &s, &why, &rv);
        if (rc == AZKM_OK) {
            rc = op(t, s.h, arg, &res);
            azkm_p11_session_put(t, &s, res.rv);
            if (rc == AZKM_OK) {
                if (attempt > 0 || limit < ATTEMPTS)
                    down_mark(t, 0);
                return AZKM_OK;
            }
            if (!op_may_pass(&res, &stale_tried, &why, &rv))
                return rc;
        } else if (why == AZKM_P11_FINAL || (why != AZKM_P11_NO_TOKEN && !can_pass(rv))) {
            return rc;
        }
        if (attempt + 1 >= limit)
            break;
        azkm_p11_recover(t, s.epoch);
        pause_before(attempt);
    }
    down_mark(t, now_ms() + DOWN_MS);
    return report(t, why, rv, attempt + 1, now_ms() - start);
}
