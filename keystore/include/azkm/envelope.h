/* azkm: envelope encryption of files and streams (docs/envelope.md). */
#ifndef AZKM_ENVELOPE_H
#define AZKM_ENVELOPE_H

#include <stdint.h>
#include <stdio.h>

#include "azkm/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Envelope encryption of files and streams (docs/envelope.md has the file format): a fresh AES-256 data key per
 * file, AES-256-GCM in chunks with the chunk index as nonce and a final-chunk flag in the associated data
 * (tampering, reordering and truncation are detected, memory use is constant), the data key wrapped by a KEK of the
 * vault (oct: AES key wrap; RSA: RSA-OAEP) and kept in the header with the KEK's id and version. */
typedef void (*azkm_progress_cb)(uint64_t done, uint64_t total, void *arg);

typedef struct {
    size_t chunk_size; /* encrypt: plaintext bytes per chunk, 0 = 64 KiB (1 KiB - 16 MiB) */
    uint64_t total;    /* input size for the progress callback, 0 if unknown */
    azkm_progress_cb progress;
    void *progress_arg;
} azkm_envelope_params;

/* Encrypts in to out under the current version of kek_name (key_ops must include wrapKey). p may be NULL. */
azkm_rc azkm_envelope_encrypt(azkm_vault *v, const char *kek_name, FILE *in, FILE *out,
                              const azkm_envelope_params *p);
/* Decrypts with the KEK version named in the header (unwrapKey). Output written before a failure must be
 * discarded: a chunk is written only after it authenticates, but a later chunk may still fail. To release nothing
 * before the whole file authenticated, write to a file that is published only on success, or, when in can be read
 * twice, run azkm_envelope_verify first and decrypt from the same start. */
azkm_rc azkm_envelope_decrypt(azkm_keystore *ks, FILE *in, FILE *out, const azkm_envelope_params *p);
/* Authenticates the whole file as decrypt does (header, data key, every chunk, the final flag) and writes nothing:
 * AZKM_OK only when decrypt would succeed on the same bytes. */
azkm_rc azkm_envelope_verify(azkm_keystore *ks, FILE *in, const azkm_envelope_params *p);
/* Writes the file with its data key re-wrapped under the KEK's current version and the chunks copied unchanged,
 * each authenticated on the way (AZKM_E_INTEGRITY, and the output to be discarded, at a damaged one). *changed is
 * 0 (and the file copied as is) when the header already names the current version. kid (may be NULL) receives the
 * KEK version the output is wrapped with. */
azkm_rc azkm_envelope_rewrap(azkm_keystore *ks, FILE *in, FILE *out, int *changed, char kid[AZKM_URI_MAX]);

#ifdef __cplusplus
}
#endif

#endif
