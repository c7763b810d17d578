/* The PKCS#11 layer under the HSM tier: modules loaded once per process, tokens found by label or RFC 7512 URI,
 * one login per process, a session pool per token, and lazy re-initialisation after fork. */
#ifndef AZKM_P11_H
#define AZKM_P11_H

#include <p11-kit/pkcs11.h>

#include "tiers/tier.h"

typedef struct azkm_p11_token azkm_p11_token;

/* Finds (or sets up) the process-wide handle of a token. Nothing is initialised or logged in until first use. */
azkm_rc azkm_p11_token_get(const char *module, const char *token, const char *pin_source, azkm_passphrase_cb pin_cb,
                           void *pin_arg, azkm_p11_token **out);
/* Borrows a logged-in session (re-initialising the module after fork, logging in on first use). */
azkm_rc azkm_p11_session_get(azkm_p11_token *t, CK_SESSION_HANDLE *s);
/* Returns a session; broken = 1 closes it instead (after CKR_SESSION_HANDLE_INVALID and the like). */
void azkm_p11_session_put(azkm_p11_token *t, CK_SESSION_HANDLE s, int broken);
/* The token's long-lived session in this process, never pooled: session objects made in it (copies of keys)
 * stay valid until the process ends or forks. Used only to create and destroy those objects. */
azkm_rc azkm_p11_owner_session(azkm_p11_token *t, CK_SESSION_HANDLE *s);
CK_FUNCTION_LIST *azkm_p11_functions(azkm_p11_token *t);
/* Changes whenever object handles may have become invalid (re-initialisation after fork). */
unsigned long azkm_p11_generation(azkm_p11_token *t);
const char *azkm_p11_token_label(azkm_p11_token *t);
/* 1 if the mechanism is listed by the token. */
int azkm_p11_has_mechanism(azkm_p11_token *t, CK_MECHANISM_TYPE m);
/* Records a PKCS#11 failure as an azkm error naming the token and action. */
azkm_rc azkm_p11_fail(azkm_p11_token *t, CK_RV rv, const char *action);
const char *azkm_p11_rv_name(CK_RV rv);
/* 1 for return values after which a session must not be reused. */
int azkm_p11_session_broken(CK_RV rv);

/* Finds the one object with this class and CKA_ID (and label when given). */
azkm_rc azkm_p11_find(azkm_p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const unsigned char *id,
                      size_t idlen, const char *label, CK_OBJECT_HANDLE *out);

#endif
