/* Key generation into a vault (genpkey -pkeyopt azkm-uri:...): the generation functions the key managers'
 * dispatch tables in keymgmt.c list. */
#ifndef AZKM_PROV_KEYGEN_H
#define AZKM_PROV_KEYGEN_H

#include <openssl/core_dispatch.h>

OSSL_FUNC_keymgmt_gen_init_fn azkm_keygen_rsa_init, azkm_keygen_rsapss_init, azkm_keygen_ec_init,
    azkm_keygen_ed25519_init, azkm_keygen_ed448_init;
OSSL_FUNC_keymgmt_gen_set_params_fn azkm_keygen_set_params;
OSSL_FUNC_keymgmt_gen_settable_params_fn azkm_keygen_rsa_settable_params, azkm_keygen_rsapss_settable_params,
    azkm_keygen_ec_settable_params, azkm_keygen_ed_settable_params;
OSSL_FUNC_keymgmt_gen_fn azkm_keygen;
OSSL_FUNC_keymgmt_gen_cleanup_fn azkm_keygen_cleanup;

#endif
