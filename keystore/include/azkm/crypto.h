/* azkm: cryptographic operations with a loaded key (the data plane): sign, verify, encrypt, decrypt, wrap,
 * unwrap. */
#ifndef AZKM_CRYPTO_H
#define AZKM_CRYPTO_H

#include <stddef.h>

#include "azkm/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Cryptographic operations (data plane) --------------------------------------------------------------- */
/* AZKM_SIG_EDDSA: pure Ed25519 or Ed448 (RFC 8032) of an OKP key, over the message itself (no digest). */
typedef enum {
    AZKM_SIG_RSA_PKCS1 = 1,
    AZKM_SIG_RSA_PSS = 2,
    AZKM_SIG_ECDSA = 3,
    AZKM_SIG_EDDSA = 4
} azkm_sig_scheme;

#define AZKM_PSS_SALT_DIGEST (-1) /* salt length = digest length */
#define AZKM_PSS_SALT_AUTO (-2)   /* verify: any; sign: max */
#define AZKM_PSS_SALT_MAX (-3)

typedef struct {
    azkm_sig_scheme scheme;
    const char *digest; /* "SHA256", ...; NULL: the input is signed as given (RSA: already DigestInfo-encoded) */
    int pss_saltlen;    /* bytes, or AZKM_PSS_SALT_* */
    const char *mgf1_digest; /* NULL: same as digest */
} azkm_sign_params;

/* "RS256" -> PKCS#1 SHA256, "PS384" -> PSS SHA384 salt=digest, "ES512" -> ECDSA SHA512, "EdDSA" (RFC 8037) ->
 * EdDSA, no digest. */
azkm_rc azkm_sign_params_from_alg(const char *alg, azkm_sign_params *out);

typedef enum {
    AZKM_ENC_RSA_PKCS1 = 1, /* RSA1_5 */
    AZKM_ENC_RSA_OAEP = 2,  /* RSA-OAEP (SHA-1) / RSA-OAEP-256 by oaep_digest */
    AZKM_ENC_RSA_TLS = 3,   /* PKCS#1 v1.5 of a TLS premaster secret, depadded in constant time */
    AZKM_ENC_AES_GCM = 4,   /* A128GCM..A256GCM */
    AZKM_ENC_AES_KW = 5,    /* A128KW..A256KW, RFC 3394 */
    AZKM_ENC_AES_KWP = 6,   /* CKM_AES_KEY_WRAP_PAD, RFC 5649 */
} azkm_enc_scheme;

typedef struct {
    azkm_enc_scheme scheme;
    const char *oaep_digest; /* NULL: SHA1 */
    const char *mgf1_digest; /* NULL: same as oaep_digest */
    const unsigned char *label;
    size_t label_len;
    unsigned tls_client_version; /* AZKM_ENC_RSA_TLS */
    unsigned tls_alt_version;
    const unsigned char *iv; /* AES-GCM: 12 bytes; on encrypt NULL makes a random one written to iv_out */
    size_t iv_len;
    unsigned char *iv_out;
    const unsigned char *aad;
    size_t aad_len;
    unsigned char *tag; /* AES-GCM: 16 bytes, written on encrypt, read on decrypt */
    unsigned key_bits;  /* AES algorithms that name a size (A128KW, A256GCM): the key must have it; 0 = any */
} azkm_cipher_params;

/* "RSA-OAEP", "RSA-OAEP-256", "RSA1_5", "A256KW", "A256GCM", "CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD" */
azkm_rc azkm_cipher_params_from_alg(const char *alg, azkm_cipher_params *out);

/* Loads a version for use. Checks that the key exists and is not deleted; enabled, nbf/exp and key_ops are
 * checked by every operation, against the attributes as they were at load time (a remote vault's key loaded
 * without a version: as azkmd showed them at the last check, see azkm_key_refresh). */
azkm_rc azkm_key_load(azkm_vault *v, const char *name, const char *version, azkm_key **out);
azkm_rc azkm_key_load_uri(azkm_keystore *ks, const char *uri, azkm_key **out);
/* A loaded key keeps its vault open: it stays usable after azkm_vault_close, until azkm_key_free, as long as its
 * keystore is not freed. In a forked child it keeps working; the child never touches the parent's catalog
 * connection (attributes stay as loaded, azkm_key_refresh is a no-op there). */
void azkm_key_free(azkm_key *k);
/* Re-reads the attributes of a loaded key if the vault changed since (cheap when it did not). A key of a remote
 * vault loaded without a version asks azkmd which version is current and switches to it (as its operations do on
 * their own once the entry's refresh_s has passed: docs/remote-vaults.md); azkm_key_get_info then shows it. */
azkm_rc azkm_key_refresh(azkm_key *k);
const azkm_key_info *azkm_key_get_info(const azkm_key *k);
/* Canonical URI of the loaded version. */
const char *azkm_key_get_uri(const azkm_key *k);
/* Checks that op is allowed now (enabled, nbf, exp, key_ops), with the error naming the key. */
azkm_rc azkm_key_check(const azkm_key *k, unsigned op);
/* Largest signature or ciphertext the key produces, in bytes. */
size_t azkm_key_max_output(const azkm_key *k);

/* Output lengths (*siglen, *outlen) are written, never read: out buffers must hold azkm_key_max_output(k) bytes
 * for RSA, EC and OKP keys, and inlen + 16 for AES. EdDSA signs the message in (any length) itself; the other
 * schemes sign a digest. */
azkm_rc azkm_key_sign(azkm_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                      unsigned char *sig, size_t *siglen);
/* *valid: 1 when the signature is valid, 0 when it is not (both AZKM_OK); an error class otherwise. */
azkm_rc azkm_key_verify(azkm_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                        const unsigned char *sig, size_t siglen, int *valid);
/* out must hold azkm_key_max_output(k) bytes (RSA) or inlen + 16 (AES). */
azkm_rc azkm_key_encrypt(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                         unsigned char *out, size_t *outlen);
azkm_rc azkm_key_decrypt(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                         unsigned char *out, size_t *outlen);
/* Same as encrypt/decrypt, checked against wrapKey/unwrapKey instead of encrypt/decrypt. */
azkm_rc azkm_key_wrap(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                      unsigned char *out, size_t *outlen);
azkm_rc azkm_key_unwrap(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                        unsigned char *out, size_t *outlen);
/* ECDH (key_ops deriveBits) of an EC key with a peer's public key on the same curve (SubjectPublicKeyInfo DER):
 * the raw shared secret Z, the x-coordinate of the shared point, as many bytes as the field (32, 48 or 66). secret
 * must hold azkm_key_max_output(k) bytes; the caller owns it and clears it. No KDF is applied. */
azkm_rc azkm_key_derive(azkm_key *k, const unsigned char *peer_der, size_t peer_len, unsigned char *secret,
                        size_t *secret_len);

#ifdef __cplusplus
}
#endif

#endif
