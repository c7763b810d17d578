/* material/: key material and its encodings. Sealing with AES-256-GCM and HMAC (seal.c), keys in libcrypto form
 * and PKCS#8 / SubjectPublicKeyInfo DER (material.c), base64 (base64.c) and key reference files (keyref.c).
 * May use base/. */
#ifndef AZKM_MATERIAL_H
#define AZKM_MATERIAL_H

#include <stddef.h>

#include <openssl/types.h>

#include "base/base.h"

/* ---- sealing (seal.c): AES-256-GCM, output nonce(12) || ciphertext || tag(16) */
#define AZKM_SEAL_OVERHEAD 28
azkm_rc azkm_seal(OSSL_LIB_CTX *libctx, const unsigned char key[32], const unsigned char *aad, size_t aadlen,
                  const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen);
/* Returns AZKM_E_INTEGRITY (without a message) when authentication fails. *out is NUL-terminated, from
 * OPENSSL_malloc (free with OPENSSL_clear_free). */
azkm_rc azkm_unseal(OSSL_LIB_CTX *libctx, const unsigned char key[32], const unsigned char *aad, size_t aadlen,
                    const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen);
/* The same, with *out in memory kept out of core dumps (secmem.h): free it with azkm_secret_free. For anything
 * that outlives the call or holds key material. */
azkm_rc azkm_unseal_secret(OSSL_LIB_CTX *libctx, const unsigned char key[32], const unsigned char *aad,
                           size_t aadlen, const unsigned char *in, size_t inlen, unsigned char **out,
                           size_t *outlen);
void azkm_hmac(const unsigned char key[32], const unsigned char *data, size_t len, unsigned char mac[32]);

/* ---- keys in libcrypto form (material.c) */
azkm_rc azkm_pkey_from_material(OSSL_LIB_CTX *libctx, const char *propq, azkm_kty kty, const unsigned char *der,
                                size_t len, EVP_PKEY **out);
azkm_rc azkm_pkey_describe(const EVP_PKEY *pkey, azkm_kty *kty, unsigned *size, azkm_curve *curve);
azkm_rc azkm_pkey_to_pkcs8(const EVP_PKEY *pkey, unsigned char **der, size_t *len);
azkm_rc azkm_pkey_public_der(const EVP_PKEY *pkey, unsigned char **der, size_t *len);
azkm_rc azkm_pkey_from_public_der(OSSL_LIB_CTX *libctx, const char *propq, const unsigned char *der, size_t len,
                                  EVP_PKEY **out);

/* ---- why an import found no private key (diagnose.c): always fails, with the exact reason (a PEM block cut
 * short, without its END line, with a second BEGIN line, a label its body does not match, an encrypted key and
 * the passphrase, a public key or certificate), else the generic "no private key found". */
azkm_rc azkm_material_why_not(const unsigned char *in, size_t len, const char *passphrase);

/* ---- RSA-PSS public keys (rsa_pss.c), RFC 4055 */
/* Whether der (SubjectPublicKeyInfo) is an id-RSASSA-PSS key, and its restrictions (out->enabled 0 if not). */
azkm_rc azkm_spki_rsa_pss_read(OSSL_LIB_CTX *libctx, const unsigned char *der, size_t len, azkm_rsa_pss *out);
/* The id-RSASSA-PSS SubjectPublicKeyInfo of the RSA key in der, carrying pss's restrictions (checked: digests
 * azkm uses, a salt the key can hold). *out from OPENSSL_malloc. */
azkm_rc azkm_spki_rsa_pss_make(OSSL_LIB_CTX *libctx, const unsigned char *der, size_t len, const azkm_rsa_pss *pss,
                               unsigned char **out, size_t *outlen);
/* ---- EC public points for ECDH (material.c). AZKM_EC_POINT_MAX: an uncompressed P-521 point. */
#define AZKM_EC_POINT_MAX 133
/* The curve and public point of an EC SubjectPublicKeyInfo, the point checked to be on the curve and written
 * uncompressed into point (AZKM_EC_POINT_MAX bytes). Parsed without OpenSSL 3.0's decoders, which cost about as
 * much as the ECDH itself. AZKM_E_INVALID (no message) for anything else. */
azkm_rc azkm_ec_spki_point(OSSL_LIB_CTX *libctx, const char *propq, const unsigned char *der, size_t len,
                           azkm_curve *curve, unsigned char *point, size_t *plen);
/* A public EC key of curve from a point (checked to be on the curve). */
azkm_rc azkm_ec_pkey_from_point(OSSL_LIB_CTX *libctx, const char *propq, azkm_curve curve,
                                const unsigned char *point, size_t plen, EVP_PKEY **out);

#endif
