/* Shared by the HSM process scenarios (tests/hsm): signing with a vault key and checking the signature, a
 * barrier that releases processes together, and a failure log the parent reads back. */
#ifndef AZKM_TEST_HSMPROC_H
#define AZKM_TEST_HSMPROC_H

#include <stddef.h>
#include <sys/types.h>

#include <azkm/keystore.h>

/* The keystore of AZKM_KEYSTORE_DIR, or NULL with the reason on stderr. */
azkm_keystore *hp_keystore(void);

/* Signs a fresh random digest with the key (ES256/384/512 by curve, RS256 for RSA) and verifies it with the
 * key's public key. 0 on success; otherwise the error, prefixed with what, is written to err. */
int hp_sign_and_verify(azkm_key *k, const char *what, char *err, size_t errlen);

/* A fresh process's whole path: open the keystore, load the key by URI (C_Initialize, token search, C_Login),
 * sign and verify. 0 on success, else the error in err. */
int hp_sign_uri_once(const char *uri, char *err, size_t errlen);

/* A barrier in shared memory for n processes (made before fork). */
typedef struct hp_barrier hp_barrier;
hp_barrier *hp_barrier_new(unsigned n);
void hp_barrier_wait(hp_barrier *b);

/* Failures reported by any process, collected in shared memory: hp_failed(...) from a child, hp_report() in the
 * parent prints them (at most the first 20) and returns how many there were. */
void hp_failures_init(void);
void hp_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned hp_report(void);

/* Waits for a child; 0 if it exited 0. */
int hp_wait(pid_t pid);

/* Milliseconds of the monotonic clock. */
long long hp_now_ms(void);

#endif
