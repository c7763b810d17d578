/* `azkm key create|import|adopt`: new keys, or new versions of existing ones, generated in the vault's tier,
 * imported from a key file or a BYOK transfer blob, or adopted from the vault's PKCS#11 token. */
#include <string.h>

#include <openssl/crypto.h>

#include "command.h"
#include "fileio.h"
#include "key_flags.h"
#include "key_bulk.h"
#include "keyfile.h"
#include "output.h"
#include "report.h"

/* An unsupported size is a bad parameter (exit 2), as an unsupported curve is. */
static int check_size(azkm_kty kty, long size)
{
    if (size == 0 || kty == AZKM_KTY_EC || kty == AZKM_KTY_OKP)
        return 0;
    if (kty == AZKM_KTY_RSA && size != 2048 && size != 3072 && size != 4096)
        return args_usage("--size", "RSA keys are 2048, 3072 or 4096 bits (got %ld)", size);
    if (kty == AZKM_KTY_OCT && size != 128 && size != 192 && size != 256)
        return args_usage("--size", "oct keys are 128, 192 or 256 bits (got %ld)", size);
    return 0;
}

static int key_create(cli_ctx *ctx, const cli_args *a)
{
    const char *kty = args_get(a, "--kty"), *curve = args_get(a, "--curve");
    azkm_keyspec spec;
    azkm_key_info info;
    azkm_vault *v = NULL;
    long size = 0;
    int ret;
    azkm_rc rc;

    memset(&spec, 0, sizeof(spec));
    memset(&info, 0, sizeof(info));
    if (azkm_kty_parse(kty ? kty : "RSA", &spec.kty, &spec.protection) != AZKM_OK)
        return args_usage("--kty", "must be RSA, EC, oct, OKP, RSA-HSM, EC-HSM, oct-HSM or OKP-HSM (got '%s')",
                          kty);
    if ((ret = args_long(a, "--size", 1, 16384, &size)) != 0)
        return ret;
    if (size != 0 && (spec.kty == AZKM_KTY_EC || spec.kty == AZKM_KTY_OKP))
        return args_usage("--size", "not used with %s keys: give --curve", spec.kty == AZKM_KTY_EC ? "EC" : "OKP");
    if ((ret = check_size(spec.kty, size)) != 0)
        return ret;
    if (curve != NULL && spec.kty != AZKM_KTY_EC && spec.kty != AZKM_KTY_OKP)
        return args_usage("--curve", "only for EC keys and OKP keys (--kty EC or OKP)");
    if (curve != NULL &&
        (azkm_curve_parse(curve, &spec.curve) != AZKM_OK || azkm_curve_kty(spec.curve) != spec.kty))
        return args_usage("--curve", "must be %s for %s keys (got '%s')",
                          spec.kty == AZKM_KTY_EC ? "P-256, P-384 or P-521" : "Ed25519 or Ed448",
                          spec.kty == AZKM_KTY_EC ? "EC" : "OKP", curve);
    spec.size = (unsigned)size;
    if ((ret = cli_attrs_from_flags(a, &spec.fields, &spec.attrs)) != 0)
        return ret;
    if ((ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v)) != 0)
        return ret;
    if (args_get(a, "--count") != NULL) {
        ret = cli_key_create_bulk(ctx, a, v, &spec);
        azkm_vault_close(v);
        return ret;
    }
    rc = azkm_key_create(v, args_get(a, "--name"), &spec, &info);
    ret = out_key_result(ctx->json, rc, &info);
    azkm_vault_close(v);
    return ret;
}

/* --byok-file: an Azure key transfer blob, unwrapped inside the vault's token (docs/byok.md). */
static int key_import_byok(cli_ctx *ctx, const cli_args *a, const char *path)
{
    const char *kty_text = args_get(a, "--kty");
    azkm_kty kty = AZKM_KTY_RSA;
    azkm_protection prot;
    azkm_attributes attrs;
    azkm_key_info info;
    azkm_vault *v = NULL;
    unsigned char *blob = NULL;
    size_t len = 0;
    unsigned fields;
    int ret;

    memset(&info, 0, sizeof(info));
    if (args_get(a, "--file") != NULL)
        return args_usage("--byok-file", "give either --file or --byok-file");
    if (args_get(a, "--import-passphrase-file") != NULL)
        return args_usage("--import-passphrase-file", "not used with --byok-file");
    if (kty_text != NULL && azkm_kty_parse(kty_text, &kty, &prot) != AZKM_OK)
        return args_usage("--kty", "must be RSA-HSM, EC-HSM or oct-HSM (got '%s')", kty_text);
    if ((ret = cli_attrs_from_flags(a, &fields, &attrs)) != 0)
        return ret;
    if ((ret = cli_read_file(path, "--byok-file", &blob, &len)) != 0)
        return ret;
    if ((ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v)) == 0)
        ret = out_key_result(ctx->json,
                             azkm_key_import_byok(v, args_get(a, "--name"), kty, blob, len, fields, &attrs, &info),
                             &info);
    OPENSSL_free(blob);
    azkm_vault_close(v);
    return ret;
}

static int key_import(cli_ctx *ctx, const cli_args *a)
{
    const char *kty_text = args_get(a, "--kty"), *file = args_get(a, "--file");
    azkm_kty kty = 0;
    azkm_protection prot = AZKM_PROTECTION_SOFTWARE;
    azkm_attributes attrs;
    azkm_key_info info;
    azkm_vault *v = NULL;
    cli_key_file kf;
    unsigned fields;
    int ret;

    memset(&info, 0, sizeof(info));
    if (args_get(a, "--byok-file") != NULL)
        return key_import_byok(ctx, a, args_get(a, "--byok-file"));
    if (file == NULL)
        return args_usage("--file", "required (or --byok-file)");
    if (kty_text != NULL && azkm_kty_parse(kty_text, &kty, &prot) != AZKM_OK)
        return args_usage("--kty", "must be RSA, EC, oct, OKP, RSA-HSM, EC-HSM, oct-HSM or OKP-HSM (got '%s')",
                          kty_text);
    if (kty == AZKM_KTY_OCT && args_get(a, "--import-passphrase-file") != NULL)
        return args_usage("--import-passphrase-file", "not used with --kty oct (the file holds raw key bytes)");
    if ((ret = cli_attrs_from_flags(a, &fields, &attrs)) != 0)
        return ret;
    if ((ret = cli_key_file_read(a, file, kty, kty_text, "passphrase of the key file to import", &kf)) == 0 &&
        (ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v)) == 0)
        ret = out_key_result(ctx->json,
                             azkm_key_import(v, args_get(a, "--name"), &kf.m, prot, fields, &attrs, &info), &info);
    cli_key_file_clear(&kf);
    azkm_vault_close(v);
    return ret;
}

static int key_adopt(cli_ctx *ctx, const cli_args *a)
{
    azkm_attributes attrs;
    azkm_key_info info;
    azkm_vault *v = NULL;
    unsigned fields;
    int ret;

    memset(&info, 0, sizeof(info));
    if ((ret = cli_attrs_from_flags(a, &fields, &attrs)) != 0)
        return ret;
    if ((ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v)) != 0)
        return ret;
    ret = out_key_result(
        ctx->json, azkm_key_adopt(v, args_get(a, "--name"), args_get(a, "--pkcs11-uri"), fields, &attrs, &info),
        &info);
    azkm_vault_close(v);
    return ret;
}

static const cli_flag create_flags[] = {
    FLAG_VAULT_REQ,
    FLAG_NAME_REQ,
    {"--kty", ARG_VALUE, "KTY",
     "Key type: RSA, EC, OKP (EdDSA) or oct (AES); RSA-HSM, EC-HSM, OKP-HSM, oct-HSM need an HSM tier. Default: "
     "RSA.",
     0},
    {"--size", ARG_VALUE, "BITS", "RSA: 2048, 3072 or 4096 (default 2048); oct: 128, 192 or 256 (default 256).", 0},
    {"--curve", ARG_VALUE, "CURVE",
     "EC curve: P-256, P-384 or P-521 (default P-256); OKP curve: Ed25519 or Ed448 (default Ed25519).", 0},
    FLAG_OPS,
    FLAG_ENABLED,
    FLAG_NOT_BEFORE,
    FLAG_EXPIRES,
    FLAG_TAGS,
    FLAG_COUNT,
    FLAG_END,
};

static const cli_flag import_flags[] = {
    FLAG_VAULT_REQ,
    FLAG_NAME_REQ,
    {"--file", ARG_VALUE, "FILE",
     "Key file: PEM or DER (PKCS#8, encrypted PKCS#8, traditional RSA/EC) or PKCS#12; with --kty oct, the raw "
     "16/24/32 AES key bytes.",
     0},
    {"--byok-file", ARG_VALUE, "FILE",
     "Instead of --file: an Azure BYOK transfer blob (azkm byok wrap, or Azure's BYOK tools) for a key exchange "
     "key of the vault; the key is unwrapped inside the vault's HSM token.",
     0},
    {"--kty", ARG_VALUE, "KTY",
     "oct: the file holds raw AES key bytes. RSA, EC or OKP: check the file's key type. Default: from the file. "
     "With --byok-file: RSA-HSM (default), EC-HSM or oct-HSM.",
     0},
    {"--import-passphrase-file", ARG_VALUE, "FILE",
     "Passphrase of an encrypted key file (first line). Default: prompt on the terminal if the file is encrypted.",
     0},
    FLAG_OPS,
    FLAG_ENABLED,
    FLAG_NOT_BEFORE,
    FLAG_EXPIRES,
    FLAG_TAGS,
    FLAG_END,
};

static const cli_flag adopt_flags[] = {
    FLAG_VAULT_REQ,
    FLAG_NAME_REQ,
    {"--pkcs11-uri", ARG_VALUE, "URI",
     "RFC 7512 URI of the private key (or AES key) on the vault's token, with its id, e.g. "
     "'pkcs11:token=azkm;id=%01;type=private'.",
     1},
    FLAG_OPS,
    FLAG_ENABLED,
    FLAG_NOT_BEFORE,
    FLAG_EXPIRES,
    FLAG_TAGS,
    FLAG_END,
};

const cli_command cli_key_create_commands[] = {
    {"create", "Create a new key in a vault",
     "Generates the key in the vault's protection tier; private and secret material never leaves it\n"
     "unencrypted. Key types and their operations: RSA (sign verify encrypt decrypt wrapKey unwrapKey), EC\n"
     "(sign verify, and deriveBits for ECDH when asked for), OKP EdDSA keys on Ed25519 or Ed448 (sign\n"
     "verify), oct AES keys (encrypt decrypt wrapKey unwrapKey). A name already in use (even by a deleted\n"
     "key) is a conflict: add versions with `azkm key rotate` or `azkm key import`.",
     create_flags,
     "  azkm key create --vault-name prod --name web-tls\n"
     "  azkm key create --vault-name prod --name web-ec --kty EC --curve P-384 --ops sign verify\n"
     "  azkm key create --vault-name prod --name web-ed --kty OKP --curve Ed25519\n"
     "  azkm key create --vault-name prod --name ecdh --kty EC --ops deriveBits\n"
     "  azkm key create --vault-name prod --name kek --kty oct --size 256 --ops wrapKey unwrapKey\n"
     "  azkm key create --vault-name prod --name signer --kty RSA --size 3072 \\\n"
     "      --expires 2027-01-01T00:00:00Z --tags team=web env=prod\n",
     key_create},
    {"import", "Import a private key (PEM, DER, PKCS#12) or raw AES key bytes",
     "The key becomes a new key, or a new version of an existing key of the same type.", import_flags,
     "  azkm key import --vault-name prod --name web-tls --file key.pem\n"
     "  azkm key import --vault-name prod --name legacy --file key.p12 --import-passphrase-file p12.pass\n"
     "  azkm key import --vault-name prod --name kek --kty oct --file kek.bin --ops wrapKey unwrapKey\n"
     "  azkm key import --vault-name hsm1 --name web-tls --byok-file web-tls.byok --kty RSA-HSM\n",
     key_import},
    {"adopt", "Add a key that already lives on the vault's PKCS#11 token, without copying it",
     "The vault must be bound to the token (azkm vault create/update --hsm-module --hsm-token). The key\n"
     "becomes an RSA-HSM, EC-HSM, OKP-HSM or oct-HSM key, or a new version of one. Purge leaves it on the\n"
     "token.",
     adopt_flags,
     "  azkm key adopt --vault-name hsm1 --name legacy-tls --pkcs11-uri 'pkcs11:token=azkm;id=%01;type=private'\n",
     key_adopt},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
