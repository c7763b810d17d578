/* SoftHSMv2 fixtures for HSM-tier tests: a token store in a temp dir and tokens made with softhsm2-util. */
#ifndef AZKM_HSMUTIL_H
#define AZKM_HSMUTIL_H

#include "testutil.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/* Points SOFTHSM2_CONF at a fresh token directory under dir (once per process). */
int hsm_store_setup(const char *dir);
/* Initialises a token with this label and user PIN; writes the PIN to <dir>/<label>.pin (0600). */
int hsm_token_create(const char *dir, const char *label, const char *pin);
/* Binds f->v to the token with PIN source file:<dir>/<label>.pin. */
azkm_rc hsm_bind(fixture *f, const char *label);

#endif
