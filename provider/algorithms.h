/* Algorithm names and properties: what provider.c registers in its algorithm tables, and what the key managers
 * and decoders answer with, which must agree with those tables. */
#ifndef AZKM_PROV_ALGORITHMS_H
#define AZKM_PROV_ALGORITHMS_H

#define AZKM_PROPS "provider=azkm"

/* Names shared with the default provider's namemap, so that keys and certificates from both agree. */
#define AZKM_NAMES_RSA "RSA:rsaEncryption:1.2.840.113549.1.1.1"
#define AZKM_NAMES_RSA_PSS "RSA-PSS:RSASSA-PSS:1.2.840.113549.1.1.10"
#define AZKM_NAMES_EC "EC:id-ecPublicKey:1.2.840.10045.2.1"
#define AZKM_NAMES_ECDSA "ECDSA"
#define AZKM_NAMES_ED25519 "ED25519:1.3.101.112"
#define AZKM_NAMES_ED448 "ED448:1.3.101.113"
/* What our key managers answer to query_operation_name: names only azkm offers, so that OpenSSL 3.0's operation
 * init finds azkm's implementation on its first try instead of first fetching the default provider's, trying to
 * export the key there (refused: it is private) and then fetching again from the key's provider. */
#define AZKM_OP_NAME_RSA "AZKM-RSA"
#define AZKM_OP_NAME_ECDSA "AZKM-ECDSA"
/* EdDSA (Ed25519 and Ed448 alike) and ECDH exist in azkm only under names of its own: the default provider's keys
 * never name them, so these implementations are never offered a key that is not azkm's. "EdDSA" is JOSE's name
 * for the algorithm (RFC 8037), which the default provider does not use. */
#define AZKM_OP_NAME_EDDSA "AZKM-EDDSA"
#define AZKM_NAMES_EDDSA AZKM_OP_NAME_EDDSA ":EdDSA"
#define AZKM_OP_NAME_ECDH "AZKM-ECDH"

/* Data structure name of the DER body of a key reference file, passed between our decoders. */
#define AZKM_REF_STRUCTURE "azkm-ref"

#endif
