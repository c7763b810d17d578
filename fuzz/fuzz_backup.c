/* Fuzzes azkm_key_restore with arbitrary blobs into a real vault (a private copy of the seed keystore's fuzzvault,
 * from which the corpus blobs were made, minus the keys they hold). Restoring never crashes; when it succeeds the
 * key is usable, then purged so that the next input finds the same vault. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static fuzz_vault fv;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_vault_setup(&fv, "backup", 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    azkm_key_info info;
    azkm_key_info *keys = NULL;
    size_t n = 0;
    char name[AZKM_NAME_MAX + 1];
    azkm_rc rc;

    memset(&info, 0, sizeof(info));
    rc = azkm_key_restore(fv.v, data, size, &info);
    if (getenv("AZKM_FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "restore: %s %s\n", azkm_rc_name(rc), rc ? azkm_last_error() : info.name);
    if (rc != AZKM_OK) {
        FUZZ_CHECK(azkm_last_error()[0] != '\0', "restore refused without a message");
        /* A refused restore leaves nothing behind: no active key (the backed-up ones were purged at start). */
        FUZZ_CHECK(azkm_key_list(fv.v, 0, &keys, &n) == AZKM_OK && n == 0, "refused restore left %zu keys", n);
        azkm_free(keys);
        return 0;
    }
    FUZZ_CHECK(azkm_key_name_valid(info.name) && azkm_version_valid(info.version), "restored '%s' version '%s'",
               info.name, info.version);
    memcpy(name, info.name, sizeof(name));
    fuzz_after_restore(&fv, name);
    return 0;
}
