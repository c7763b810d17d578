/* azkm: bring your own key with Azure's transfer blob (docs/byok.md). */
#ifndef AZKM_BYOK_H
#define AZKM_BYOK_H

#include <stddef.h>

#include <openssl/types.h>

#include "azkm/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* BYOK, Azure's transfer blob: JSON {"schema_version":"1.0.0","header":{"kid","alg":"dir",
 * "enc":"CKM_RSA_AES_KEY_WRAP"},"ciphertext","generator"}; ciphertext = RSA-OAEP (SHA-1, MGF1-SHA-1) of an
 * ephemeral AES-256 key under the key exchange key (KEK), then AES key wrap with padding (RFC 5649) of the target
 * key (PKCS#8 DER for RSA and EC, raw bytes for oct).
 * Imports the target as an HSM key of type kty (RSA, EC or oct: the blob does not say), a new key or a new version
 * of an existing HSM key of that type. header.kid names the KEK with its version (azkm://VAULT/keys/NAME/VERSION or
 * https://VAULT.vault.azure.net/keys/NAME/VERSION): an RSA-HSM version of this vault whose key_ops are exactly
 * import, enabled and within its validity. The target is unwrapped inside the vault's token and never exists in
 * the clear outside it. Audited as KeyImport. */
azkm_rc azkm_key_import_byok(azkm_vault *v, const char *name, azkm_kty kty, const unsigned char *blob, size_t len,
                             unsigned fields, const azkm_attributes *attrs, azkm_key_info *out);
/* The sender side: a transfer blob of target (as from azkm_material_parse; raw AES bytes for oct) for the KEK
 * whose public key is kek_spki (SubjectPublicKeyInfo DER, RSA 2048-4096) and whose id with version is kek_kid.
 * generator: free text, NULL for "azkm <version>". *blob is NUL-terminated JSON (azkm_free). */
azkm_rc azkm_byok_wrap(OSSL_LIB_CTX *libctx, const azkm_material *target, const unsigned char *kek_spki,
                       size_t kek_spki_len, const char *kek_kid, const char *generator, char **blob);

#ifdef __cplusplus
}
#endif

#endif
