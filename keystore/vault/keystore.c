/* Keystores: a directory of vaults, opened with the caller's options and the configuration; the keystore's clock
 * and the process's secure heap. */
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "vault/vault.h"
#include "base/secmem.h"
#include "vault/vault_internal.h"

azkm_rc azkm_keystore_open(const azkm_options *opt, azkm_keystore **out)
{
    azkm_keystore *ks = OPENSSL_zalloc(sizeof(*ks));
    azkm_config *cfg = OPENSSL_zalloc(sizeof(*cfg));
    azkm_rc rc;

    if (ks == NULL || cfg == NULL) {
        OPENSSL_free(ks);
        OPENSSL_free(cfg);
        return azkm_fail(AZKM_E_NOMEM, "out of memory opening the keystore");
    }
    ks->audit_fd = -1;
    rc = azkm_config_load(opt, cfg);
    if (rc == AZKM_OK) {
        memcpy(ks->dir, cfg->dir, sizeof(ks->dir));
        ks->audit_key_operations = cfg->audit_key_operations;
        ks->secure_heap_size = cfg->secure_heap_size;
        if (cfg->audit_log[0] && (ks->audit_path = OPENSSL_strdup(cfg->audit_log)) == NULL)
            rc = azkm_fail(AZKM_E_NOMEM, "out of memory opening the keystore");
    }
    OPENSSL_free(cfg);
    if (rc == AZKM_OK)
        rc = azkm_audit_open(ks);
    if (rc != AZKM_OK) {
        OPENSSL_free(ks->audit_path);
        OPENSSL_free(ks);
        return rc;
    }
    if (opt != NULL) {
        ks->libctx = opt->libctx;
        ks->propq = opt->propq ? OPENSSL_strdup(opt->propq) : NULL;
        ks->passphrase_cb = opt->passphrase_cb;
        ks->passphrase_arg = opt->passphrase_arg;
        ks->clock = opt->clock;
        ks->clock_arg = opt->clock_arg;
        ks->pin_cb = opt->pin_cb;
        ks->pin_arg = opt->pin_arg;
    }
    *out = ks;
    return AZKM_OK;
}

void azkm_keystore_free(azkm_keystore *ks)
{
    if (ks == NULL)
        return;
    azkm_audit_close(ks);
    OPENSSL_free(ks->audit_path);
    OPENSSL_free(ks->propq);
    OPENSSL_free(ks);
}

const char *azkm_keystore_get_dir(const azkm_keystore *ks)
{
    return ks->dir;
}

int64_t azkm_keystore_now(const azkm_keystore *ks)
{
    return azkm_now(ks);
}

int64_t azkm_now(const azkm_keystore *ks)
{
    return ks->clock ? ks->clock(ks->clock_arg) : (int64_t)time(NULL);
}

/* A note in the audit log when the secure heap could not be set up as configured (once per process, in the log of
 * the keystore that set it up). */
void azkm_keystore_secmem_setup(azkm_keystore *ks)
{
    char note[512];

    if (azkm_secmem_init(ks->secure_heap_size, note, sizeof(note)) && note[0] != '\0')
        azkm_audit_note(ks, "SecureMemory", AZKM_OK, note);
}
