/* The PKCS#11 layer under the HSM tier: modules loaded once per process, tokens found by label or RFC 7512 URI,
 * one login per process, a session pool per token, lazy re-initialisation after fork, and every token call run by
 * azkm_p11_run, which re-initialises the module, finds the token again and logs in again when the token fails in a
 * way that can pass (p11_run.c). */
#ifndef AZKM_P11_H
#define AZKM_P11_H

#include <p11-kit/pkcs11.h>

#include "tiers/tier.h"

typedef struct azkm_p11_token azkm_p11_token;

/* Finds (or sets up) the process-wide handle of a token. Nothing is initialised or logged in until first use. */
azkm_rc azkm_p11_token_get(const char *module, const char *token, const char *pin_source, azkm_passphrase_cb pin_cb,
                           void *pin_arg, azkm_p11_token **out);

/* ---- running work on the token (p11_run.c) ---------------------------------------------------------------- */

/* What a failed step of work tells azkm_p11_run: the token's return value (CKR_OK when the failure was not the
 * token's); final = 1 when that value may depend on the data (a decryption or unwrap that the token refused:
 * trying again would be slower on bad ciphertexts only, a timing oracle), so that it is never retried; stale = 1
 * when the answer may come from this process's stale view of the token (a key object not found: SoftHSM does not
 * look at its store again until it is re-initialised), worth one re-initialisation before it is believed. */
typedef struct {
    CK_RV rv;
    int final;
    int stale;
} azkm_p11_result;

/* One piece of work on a logged-in session. Returns AZKM_OK, or an error recorded with azkm_fail / azkm_p11_fail
 * and, for a token failure, res->rv. It may run more than once: work that makes objects first removes what an
 * earlier, failed run of it may have left. */
typedef azkm_rc (*azkm_p11_op)(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res);

/* Runs op on a borrowed session. A failure that can pass (the token missing from the slot list,
 * CKR_SLOT_ID_INVALID, CKR_GENERAL_ERROR, CKR_USER_PIN_NOT_INITIALIZED, CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_ERROR, a
 * lost session or handle ...) re-initialises the module in this process, finds the token again by its label, logs
 * in again and runs op again, with a bounded backoff (about 1 s in all); only then is the error reported, saying
 * which case it is and what to do. A rejected PIN, a locked or final-try token, and everything else are reported at
 * once. The op names its action in its own errors. */
azkm_rc azkm_p11_run(azkm_p11_token *t, azkm_p11_op op, void *arg);

/* ---- sessions and state (p11_module.c) -------------------------------------------------------------------- */

/* A session lent by the pool, and the module initialisation it belongs to. */
typedef struct {
    CK_SESSION_HANDLE h;
    unsigned long epoch;
} azkm_p11_session;

/* Why getting a session failed: a rejected PIN or a bad configuration (final), the token or its files in a passing
 * state (retry), or the token not in the slot list (retry, then report with the token store's diagnosis). */
typedef enum { AZKM_P11_FINAL = 0, AZKM_P11_RETRY, AZKM_P11_NO_TOKEN, AZKM_P11_LOGIN_RACE } azkm_p11_failure;

/* Brings module, token and login up to date for this process (taking the token store's cross-process lock for
 * C_Initialize and C_Login only) and lends a session. While it is lent, the module is not re-initialised. */
azkm_rc azkm_p11_session_get(azkm_p11_token *t, azkm_p11_session *s, azkm_p11_failure *why, CK_RV *rv);
/* Gives the session back; last is the token's answer to its last call (a broken session is dropped). */
void azkm_p11_session_put(azkm_p11_token *t, azkm_p11_session *s, CK_RV last);
/* Forgets the token's slot, sessions, login and object handles in this process, and finalises the module (when azkm
 * initialised it and no other thread of the process is inside it), so that the next session_get initialises it
 * again and finds the token anew. Does nothing when another thread already did so since epoch. */
void azkm_p11_recover(azkm_p11_token *t, unsigned long epoch);

/* Copies a key object into a session object of the token's long-lived owner session (never pooled: the copy lives
 * until the process ends, forks or re-initialises). Only within azkm_p11_run. */
CK_RV azkm_p11_copy_object(azkm_p11_token *t, CK_OBJECT_HANDLE h, CK_OBJECT_HANDLE *copy);
/* Destroys such a copy, if it still belongs to this process at this generation. */
void azkm_p11_destroy_copy(azkm_p11_token *t, CK_OBJECT_HANDLE copy, unsigned long generation);

CK_FUNCTION_LIST *azkm_p11_functions(azkm_p11_token *t);
/* Changes whenever object handles may have become invalid (re-initialisation after fork or after a token failure).
 */
unsigned long azkm_p11_generation(azkm_p11_token *t);
const char *azkm_p11_token_label(azkm_p11_token *t);
/* The directory of the token store when it is files (p11_store.h), or NULL. */
const char *azkm_p11_store_dir(azkm_p11_token *t);
/* 1 if the mechanism is listed by the token. */
int azkm_p11_has_mechanism(azkm_p11_token *t, CK_MECHANISM_TYPE m);
/* Records a PKCS#11 failure as an azkm error naming the token and action. */
azkm_rc azkm_p11_fail(azkm_p11_token *t, CK_RV rv, const char *action);
const char *azkm_p11_rv_name(CK_RV rv);

/* ---- objects (p11_find.c) ---------------------------------------------------------------------------------- */

/* Finds the one object with this class and CKA_ID (and label when given). A key that is not there is reported as
 * missing only when the token store is readable; otherwise the error names the files this process cannot read.
 * A failure of the token itself is also left in res (when not NULL), for azkm_p11_run. */
azkm_rc azkm_p11_find(azkm_p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const unsigned char *id,
                      size_t idlen, const char *label, CK_OBJECT_HANDLE *out, azkm_p11_result *res);

#endif
