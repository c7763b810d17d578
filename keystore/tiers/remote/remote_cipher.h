/* AES through azkmd with a remote vault's oct key (remote_cipher.c), used by the tier (tier_remote.c). */
#ifndef AZKM_TIER_REMOTE_CIPHER_H
#define AZKM_TIER_REMOTE_CIPHER_H

#include "tiers/remote/remote_client.h"

/* POST keypath/{encrypt|decrypt|wrapkey|unwrapkey} (op AZKM_OP_ENCRYPT, _DECRYPT, _WRAP, _UNWRAP) with p's AES
 * algorithm (A<key_bits>GCM when p names no size), in as "value", and AES-GCM's iv, aad and tag; out (inlen + 16
 * bytes) receives the answer's value, and an AES-GCM encryption's tag and IV go to p->tag and p->iv_out. */
azkm_rc azkm_remote_aes(azkm_remote_client *c, const char *entry, const char *keypath, unsigned op,
                        const azkm_cipher_params *p, unsigned key_bits, const unsigned char *in, size_t inlen,
                        unsigned char *out, size_t *outlen);

#endif
