/* The tier factory: the only place that knows which tiers exist. A new tier is one folder and one line here. */
#include "tiers/tier.h"
#include "tiers/pkcs11/pkcs11.h"
#include "tiers/remote/remote.h"
#include "tiers/software/software.h"

typedef azkm_rc (*tier_maker)(OSSL_LIB_CTX *libctx, const char *propq, const void *settings, azkm_tier **out);

/* Indexed by azkm_tier_kind: a new tier is one line here. */
static const tier_maker makers[] = {
    [AZKM_TIER_SOFTWARE] = azkm_tier_software_new,
    [AZKM_TIER_PKCS11] = azkm_tier_pkcs11_new,
    [AZKM_TIER_REMOTE] = azkm_tier_remote_new,
};

azkm_rc azkm_tier_new(azkm_tier_kind kind, OSSL_LIB_CTX *libctx, const char *propq, const void *settings,
                      azkm_tier **out)
{
    *out = NULL;
    if ((size_t)kind >= sizeof(makers) / sizeof(makers[0]) || makers[kind] == NULL || settings == NULL)
        return azkm_fail(AZKM_E_UNSUPPORTED, "protection tier %d is not known to this build", (int)kind);
    return makers[kind](libctx, propq, settings, out);
}
