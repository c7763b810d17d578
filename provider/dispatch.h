/* The dispatch tables of the operation files, which provider.c gathers into its algorithm tables. */
#ifndef AZKM_PROV_DISPATCH_H
#define AZKM_PROV_DISPATCH_H

#include <openssl/core.h>

/* keymgmt.c */
extern const OSSL_DISPATCH azkm_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH azkm_rsapss_keymgmt_functions[];
extern const OSSL_DISPATCH azkm_ec_keymgmt_functions[];
extern const OSSL_DISPATCH azkm_ed25519_keymgmt_functions[];
extern const OSSL_DISPATCH azkm_ed448_keymgmt_functions[];
/* signature.c */
extern const OSSL_DISPATCH azkm_rsa_signature_functions[];
extern const OSSL_DISPATCH azkm_ecdsa_signature_functions[];
/* signature_eddsa.c */
extern const OSSL_DISPATCH azkm_eddsa_signature_functions[];
/* keyexch.c */
extern const OSSL_DISPATCH azkm_ecdh_keyexch_functions[];
/* asym_cipher.c */
extern const OSSL_DISPATCH azkm_rsa_asym_cipher_functions[];
/* store.c */
extern const OSSL_DISPATCH azkm_store_functions[];
/* decoder.c */
extern const OSSL_DISPATCH azkm_pem2der_decoder_functions[];
extern const OSSL_DISPATCH azkm_ref2rsa_decoder_functions[];
extern const OSSL_DISPATCH azkm_ref2ec_decoder_functions[];
extern const OSSL_DISPATCH azkm_ref2ed25519_decoder_functions[];
extern const OSSL_DISPATCH azkm_ref2ed448_decoder_functions[];
/* encoder.c */
extern const OSSL_DISPATCH azkm_ref_pem_encoder_functions[];
extern const OSSL_DISPATCH azkm_refuse_encoder_functions[];
extern const OSSL_DISPATCH azkm_text_encoder_functions[];

#endif
