/* The key object the provider hands between store, decoders, key management, signature and cipher: a loaded
 * keystore key and its public half, reference counted, passed to OpenSSL by reference. */
#ifndef AZKM_PROV_KEY_OBJECT_H
#define AZKM_PROV_KEY_OBJECT_H

#include <openssl/core.h>
#include <openssl/evp.h>
#include <openssl/macros.h>

#include <azkm/keystore.h>

#include "provctx.h"

typedef enum {
    AZKM_TYPE_RSA = 1,
    AZKM_TYPE_RSA_PSS = 2,
    AZKM_TYPE_EC = 3,
    AZKM_TYPE_ED25519 = 4,
    AZKM_TYPE_ED448 = 5,
} azkm_pkey_type;

/* The families of key the operations serve, for azkm_pkey_hold: its existing callers pass 1 (RSA) or 0 (EC). */
typedef enum { AZKM_FAMILY_EC = 0, AZKM_FAMILY_RSA = 1, AZKM_FAMILY_EDDSA = 2 } azkm_pkey_family;

/* A key as the provider sees it: a loaded keystore key (NULL for a public key imported from elsewhere) and its
 * public half as an EVP_PKEY in our own library context, used for public values, verify and encrypt.
 * Immutable once filled, reference counted: store, decoder and keymgmt hand it on by reference. */
typedef struct azkm_pkey {
    int refcnt;
    AZKM_PROVCTX *provctx;
    azkm_pkey_type type;
    azkm_key *key;
    EVP_PKEY *pub;
    char *uri;     /* canonical URI of the loaded version, for messages */
    char *ref_uri; /* canonical URI as requested (no version: the current one), for reference files */
    int bits;
    int security_bits;
    int max_size;
    azkm_rsa_pss pss; /* an RSA-PSS vault key's restrictions, as the keystore read them from its public key */
} AZKM_PKEY;

AZKM_PKEY *azkm_pkey_new(AZKM_PROVCTX *pctx, azkm_pkey_type type);
void azkm_pkey_free(AZKM_PKEY *pk);
int azkm_pkey_up_ref(AZKM_PKEY *pk);
/* Loads a vault key by URI into a new key object; raises an error naming the key on failure. */
AZKM_PKEY *azkm_pkey_load_uri(AZKM_PROVCTX *pctx, const char *uri);
/* Takes over pub (an EVP_PKEY of our library context) as the public half and caches its sizes. */
int azkm_pkey_set_pub(AZKM_PKEY *pk, EVP_PKEY *pub);
const char *azkm_pkey_type_name(azkm_pkey_type type);

/* Whether the private half can sign, decrypt or derive now (or there is none); raises nothing. */
int azkm_pkey_private_usable(const AZKM_PKEY *pk);
/* Refuses (raising the keystore's reason) a private key that can neither sign, decrypt nor derive now. */
int azkm_pkey_check_private_use(AZKM_PKEY *pk);
/* An operation's init: checks that keydata is an azkm key of the family the operation serves (rsa: an
 * azkm_pkey_family, 1 for RSA, 0 for EC) and, for a private operation (private_op AZKM_OP_SIGN, AZKM_OP_DECRYPT or
 * AZKM_OP_DERIVE; 0 for verify and encrypt), that its private half may do that now, raising an error naming the key
 * if not. Then makes *held a reference to it, dropping the one *held had. Through AZKM_PKEY_HOLD, the error names
 * the caller's function (sig_init, cipher_init), as administrators see it in their logs. */
int azkm_pkey_hold(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, AZKM_PKEY **held,
                   void *keydata, int rsa, unsigned private_op);
#define AZKM_PKEY_HOLD(pctx, held, keydata, rsa, private_op)                                                       \
    azkm_pkey_hold((pctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (held), (keydata), (rsa), (private_op))

/* Hands pk to a store or decoder callback as an OSSL_OBJECT_PKEY passed by reference: the private half only if
 * want_private, and then only a key that can be used now (see azkm_pkey_check_private_use). The callee's key
 * manager takes its own reference (azkm_pkey_from_reference). */
int azkm_pkey_hand_out(AZKM_PKEY *pk, int want_private, OSSL_CALLBACK *cb, void *cbarg);
/* The same without the check: a vault listing shows every key, and its operations refuse what cannot be used. */
int azkm_pkey_pass(AZKM_PKEY *pk, int want_private, OSSL_CALLBACK *cb, void *cbarg);
/* The key object behind an OSSL_OBJECT_PARAM_REFERENCE made by azkm_pkey_hand_out, or NULL; no new reference. */
AZKM_PKEY *azkm_pkey_from_reference(const void *reference, size_t reference_sz);

#endif
