/* The PKCS#11 tier's constructor, for the tier factory (tiers/tier.c) only. */
#ifndef AZKM_TIER_PKCS11_H
#define AZKM_TIER_PKCS11_H

#include "tiers/tier.h"

/* settings: azkm_tier_pkcs11_settings. */
azkm_rc azkm_tier_pkcs11_new(OSSL_LIB_CTX *libctx, const char *propq, const void *settings, azkm_tier **out);

#endif
