/* Structure-aware backup fuzzing: the input is a list of edits applied to a real backup blob made at start-up.
 * Restoring an edited blob must never crash and must fail; only the untouched blob restores. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *const names[] = {"ec1", "oct1", "rsa1"};
#define N_BLOBS (sizeof(names) / sizeof(names[0]))
static fuzz_vault fv;
static unsigned char *blobs[N_BLOBS];
static size_t blob_lens[N_BLOBS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_vault_setup(&fv, "backup-mutate", 0);
    for (size_t i = 0; i < N_BLOBS; i++) {
        FUZZ_CHECK(azkm_key_backup(fv.v, names[i], &blobs[i], &blob_lens[i]) == AZKM_OK, "backup of %s: %s",
                   names[i], azkm_last_error());
        FUZZ_CHECK(fuzz_purge_key(fv.v, names[i]) == 0, "purging %s: %s", names[i], azkm_last_error());
    }
    return 0;
}

/* Edits, 4 bytes each: op, offset (16 bits, modulo the length), value.
 * op % 5: 0 xor the byte, 1 truncate, 2 insert a byte, 3 delete a byte, 4 set the byte. */
static unsigned char *apply_edits(const unsigned char *blob, size_t blob_len, const uint8_t *ed, size_t ed_len,
                                  size_t *out_len)
{
    size_t cap = blob_len + ed_len / 4 + 1, len = blob_len;
    unsigned char *b = malloc(cap);

    FUZZ_CHECK(b != NULL, "out of memory");
    memcpy(b, blob, blob_len);
    for (size_t i = 0; i + 4 <= ed_len; i += 4) {
        size_t off = ((size_t)ed[i + 1] << 8 | ed[i + 2]);
        unsigned char val = ed[i + 3];

        switch (ed[i] % 5) {
        case 0:
            if (len > 0)
                b[off % len] ^= val;
            break;
        case 1:
            if (len > 0)
                len = off % len;
            break;
        case 2:
            off = off % (len + 1);
            memmove(b + off + 1, b + off, len - off);
            b[off] = val;
            len++;
            break;
        case 3:
            if (len > 0) {
                off %= len;
                memmove(b + off, b + off + 1, len - off - 1);
                len--;
            }
            break;
        default:
            if (len > 0)
                b[off % len] = val;
        }
    }
    *out_len = len;
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t which, len;
    unsigned char *b;
    azkm_key_info info;
    azkm_rc rc;
    int untouched;

    if (size < 1)
        return 0;
    which = data[0] % N_BLOBS;
    b = apply_edits(blobs[which], blob_lens[which], data + 1, size - 1, &len);
    untouched = len == blob_lens[which] && memcmp(b, blobs[which], len) == 0;
    memset(&info, 0, sizeof(info));
    rc = azkm_key_restore(fv.v, b, len, &info);
    if (untouched) {
        FUZZ_CHECK(rc == AZKM_OK, "the untouched backup of %s was refused: %s", names[which], azkm_last_error());
        FUZZ_CHECK(strcmp(info.name, names[which]) == 0, "backup of %s restored as %s", names[which], info.name);
        FUZZ_CHECK(fuzz_purge_key(fv.v, names[which]) == 0, "purging %s: %s", names[which], azkm_last_error());
    } else {
        FUZZ_CHECK(rc != AZKM_OK, "an edited backup of %s (%zu bytes, was %zu) was restored as %s", names[which],
                   len, blob_lens[which], info.name);
        FUZZ_CHECK(rc == AZKM_E_INVALID || rc == AZKM_E_INTEGRITY || rc == AZKM_E_FORBIDDEN,
                   "an edited backup was refused with %s (%s), not as damaged", azkm_rc_name(rc),
                   azkm_last_error());
    }
    free(b);
    return 0;
}
