/* The software tier's constructor, for the tier factory (tiers/tier.c) only. */
#ifndef AZKM_TIER_SOFTWARE_H
#define AZKM_TIER_SOFTWARE_H

#include "tiers/tier.h"

/* settings: azkm_tier_software_settings. */
azkm_rc azkm_tier_software_new(OSSL_LIB_CTX *libctx, const char *propq, const void *settings, azkm_tier **out);

#endif
