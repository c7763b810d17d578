/* Fuzzes what a backup holds behind its authentication: the input is the plaintext (JSON) of a backup, sealed
 * here with the vault's own backup key, then restored. This is what an attacker holding the vault's master key
 * could feed; the decoder must still fail cleanly or restore a usable, well-formed key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fuzz_util.h"
#include "keys/records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static fuzz_vault fv;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_vault_setup(&fv, "backup-sealed", 1);
    return 0;
}

/* A restored version describes a key this vault can hold: a backup never carries an HSM key (their backup is
 * refused), and type, size and curve agree as they do for every key that create and import make. */
static void check_restored(const azkm_key_info *info)
{
    FUZZ_CHECK(info->protection == AZKM_PROTECTION_SOFTWARE, "restored %s with protection %d", info->name,
               (int)info->protection);
    switch (info->kty) {
    case AZKM_KTY_RSA:
        FUZZ_CHECK((info->size == 2048 || info->size == 3072 || info->size == 4096) &&
                       info->curve == AZKM_CURVE_NONE && info->public_der_len != 0,
                   "restored RSA key %s: size %u, curve %d", info->name, info->size, (int)info->curve);
        break;
    case AZKM_KTY_EC:
        FUZZ_CHECK(azkm_curve_bits(info->curve) > 0 && info->size == (unsigned)azkm_curve_bits(info->curve) &&
                       info->public_der_len != 0,
                   "restored EC key %s: size %u, curve %d", info->name, info->size, (int)info->curve);
        break;
    case AZKM_KTY_OCT:
        FUZZ_CHECK((info->size == 128 || info->size == 192 || info->size == 256) && info->public_der_len == 0,
                   "restored oct key %s: size %u", info->name, info->size);
        break;
    default:
        FUZZ_CHECK(0, "restored key %s has key type %d", info->name, (int)info->kty);
    }
    /* key_ops as create and update allow them: those of the key type, and import only alone (a KEK) */
    FUZZ_CHECK((info->attrs.key_ops & ~azkm_ops_allowed(info->kty, info->protection)) == 0 &&
                   (!(info->attrs.key_ops & AZKM_OP_IMPORT) || info->attrs.key_ops == AZKM_OP_IMPORT),
               "restored key %s has key_ops %#x", info->name, info->attrs.key_ops);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char hdr[8 + AZKM_VAULT_ID_LEN], *sealed = NULL, *blob;
    size_t sealed_len = 0;
    azkm_key_info info, *keys = NULL;
    size_t n = 0;
    char name[AZKM_NAME_MAX + 1];
    azkm_rc rc;

    memcpy(hdr, "AZKMBAK1", 8);
    memcpy(hdr + 8, fv.v->vault_id, AZKM_VAULT_ID_LEN);
    FUZZ_CHECK(azkm_seal(NULL, fv.v->backup_key, hdr, sizeof(hdr), data, size, &sealed, &sealed_len) == AZKM_OK,
               "sealing failed");
    blob = malloc(sizeof(hdr) + sealed_len);
    FUZZ_CHECK(blob != NULL, "out of memory");
    memcpy(blob, hdr, sizeof(hdr));
    memcpy(blob + sizeof(hdr), sealed, sealed_len);
    OPENSSL_free(sealed);
    memset(&info, 0, sizeof(info));
    rc = azkm_key_restore(fv.v, blob, sizeof(hdr) + sealed_len, &info);
    if (getenv("AZKM_FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "restore: %s%s%s (kty %d, protection %d)\n", azkm_rc_name(rc), rc ? ": " : "",
                rc ? azkm_last_error() : info.name, (int)info.kty, (int)info.protection);
    if (rc != AZKM_OK) {
        free(blob);
        FUZZ_CHECK(azkm_last_error()[0] != '\0', "restore refused without a message");
        FUZZ_CHECK(azkm_key_list(fv.v, 0, &keys, &n) == AZKM_OK && n == 0, "refused restore left %zu keys", n);
        azkm_free(keys);
        return 0;
    }
    free(blob);
    FUZZ_CHECK(azkm_key_name_valid(info.name) && azkm_version_valid(info.version), "restored '%s' version '%s'",
               info.name, info.version);
    check_restored(&info);
    memcpy(name, info.name, sizeof(name));
    {
        /* Whatever was restored loads: the vault never holds a record it cannot use. */
        azkm_key *k = NULL;

        FUZZ_CHECK(azkm_key_load(fv.v, name, NULL, &k) == AZKM_OK, "restored key %s does not load", name);
        azkm_key_free(k);
    }
    fuzz_after_restore(&fv, name);
    return 0;
}
