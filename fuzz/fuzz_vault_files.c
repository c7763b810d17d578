/* Fuzzes opening a vault whose master.key or vault.db comes from the fuzzer (the other file is the real one):
 * azkm_vault_open, then listing, showing, loading, using and verifying every key must fail cleanly or work.
 * Input: one mode byte (bit 0: 0 master.key, 1 vault.db; bit 1: 0 the platform vault, 1 the passphrase vault),
 * then the file's bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *dir;
static azkm_keystore *ks;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dir = fuzz_tmpdir("vault-files");
    ks = fuzz_keystore_open(dir);
    return 0;
}

static void exercise(azkm_vault *v)
{
    azkm_vault_info vi;
    azkm_key_info *keys = NULL;
    size_t n = 0, checked = 0;

    (void)azkm_vault_show(v, &vi);
    for (int deleted = 0; deleted < 2; deleted++) {
        if (azkm_key_list(v, deleted, &keys, &n) != AZKM_OK)
            continue;
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(strnlen(keys[i].name, sizeof(keys[i].name)) < sizeof(keys[i].name), "unterminated name");
            if (!deleted)
                fuzz_use_key(v, keys[i].name);
        }
        azkm_free(keys);
    }
    if (azkm_vault_verify(v, &checked) != AZKM_OK)
        FUZZ_CHECK(azkm_last_error()[0] != '\0', "verify failed without a message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const files[] = {"master.key", "vault.db"};
    const char *vault;
    int which;
    azkm_vault *v = NULL;
    char path[1024];

    if (size < 1)
        return 0;
    which = data[0] & 1;
    vault = (data[0] & 2) ? FUZZ_VAULT_PASS : FUZZ_VAULT;
    /* Start from the real files each time: a previous input may have left a WAL or an edited database. */
    FUZZ_CHECK(fuzz_copy_seed_vault(dir, vault) == 0, "cannot copy the seed keystore");
    snprintf(path, sizeof(path), "%s/%s/vault.db-wal", dir, vault);
    unlink(path);
    snprintf(path, sizeof(path), "%s/%s/vault.db-shm", dir, vault);
    unlink(path);
    snprintf(path, sizeof(path), "%s/%s/%s", dir, vault, files[which]);
    FUZZ_CHECK(fuzz_write_file(path, data + 1, size - 1) == 0, "cannot write %s", path);
    if (azkm_vault_open(ks, vault, &v) != AZKM_OK) {
        FUZZ_CHECK(azkm_last_error()[0] != '\0', "open refused without a message");
        return 0;
    }
    exercise(v);
    azkm_vault_close(v);
    return 0;
}
