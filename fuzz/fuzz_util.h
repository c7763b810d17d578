/* Helpers shared by the azkm fuzz targets: private temp keystores made from the committed seed keystore, file
 * writing, and checks that abort (so libFuzzer records a crash) when an invariant breaks. */
#ifndef AZKM_FUZZ_UTIL_H
#define AZKM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "azkm/keystore.h"

/* The passphrase of the seed keystore's passphrase vault and of the encrypted seed key files. */
#define FUZZ_PASSPHRASE "fuzz-passphrase"
/* Vaults of the seed keystore (fuzz/seed-keystore/, made by fuzz_seedgen). */
#define FUZZ_VAULT "fuzzvault"     /* platform protector: rsa1 (2 versions), ec1, oct1, gone1 (soft-deleted) */
#define FUZZ_VAULT_PASS "fuzzpass" /* passphrase protector (scrypt N = 2^10): ec2 */

/* Aborts with a message when cond is false: a broken invariant is a finding, like a crash. */
#define FUZZ_CHECK(cond, ...)                                                                                      \
    do {                                                                                                           \
        if (!(cond))                                                                                               \
            fuzz_die(__FILE__, __LINE__, #cond, __VA_ARGS__);                                                      \
    } while (0)

void fuzz_die(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* A fresh private directory under $TMPDIR (or /tmp), removed at exit. */
const char *fuzz_tmpdir(const char *tag);
/* Copies the seed keystore (every vault in it) into dir with private modes. Returns 0 on success. */
int fuzz_copy_seed_keystore(const char *dir);
/* The same for one vault only. */
int fuzz_copy_seed_vault(const char *dir, const char *vault);
/* Opens a keystore handle on dir that answers passphrase prompts with FUZZ_PASSPHRASE. */
azkm_keystore *fuzz_keystore_open(const char *dir);
/* Writes len bytes to path (mode 0600), replacing it. Returns 0 on success. */
int fuzz_write_file(const char *path, const void *data, size_t len);
/* Reads a whole file into a malloc'd buffer. Returns 0 on success. */
int fuzz_read_file(const char *path, unsigned char **data, size_t *len);
/* Deletes a key and purges it so that its name is free again. Returns 0 on success. */
int fuzz_purge_key(azkm_vault *v, const char *name);

/* A private copy of the seed keystore with FUZZ_VAULT open and the keys its corpus backups hold (ec1, rsa1, oct1)
 * purged, so that those backups restore. fuzz_vault_reset puts it back in that state from the seed files. */
typedef struct {
    const char *dir;
    azkm_keystore *ks;
    azkm_vault *v;
} fuzz_vault;
void fuzz_vault_setup(fuzz_vault *fv, const char *tag, int purge_backed_up);
void fuzz_vault_reset(fuzz_vault *fv, int purge_backed_up);
/* After a successful restore of name: use the key, then purge it; if the vault cannot be brought back that way
 * (a restored record it cannot delete), reset it from the seed files. */
void fuzz_after_restore(fuzz_vault *fv, const char *name);
/* Exercises a loaded or listed key the cheap ways a caller would (show, versions, load, check, sign/encrypt). */
void fuzz_use_key(azkm_vault *v, const char *name);

#endif
