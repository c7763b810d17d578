/* `azkm byok wrap`: the sender side of Bring Your Own Key. Makes an Azure-format key transfer blob from a private
 * key file (or raw AES bytes) for a key exchange key's public key, to import with `azkm key import --byok-file`
 * here or `az keyvault key import --byok-file` in Azure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "command.h"
#include "fileio.h"
#include "key_flags.h"
#include "keyfile.h"
#include "report.h"

/* The KEK's SubjectPublicKeyInfo DER from a PEM or DER public key file. */
static int kek_from_file(const char *path, unsigned char **der, size_t *der_len)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    BIO *bio;
    EVP_PKEY *pkey = NULL;
    int ret, n;

    if ((ret = cli_read_file(path, "--kek-public-key", &buf, &len)) != 0)
        return ret;
    bio = BIO_new_mem_buf(buf, (int)len);
    if (bio != NULL)
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (pkey == NULL) {
        const unsigned char *p = buf;

        pkey = d2i_PUBKEY(NULL, &p, (long)len);
    }
    BIO_free(bio);
    OPENSSL_free(buf);
    *der = NULL;
    if (pkey == NULL || (n = i2d_PUBKEY(pkey, der)) <= 0) {
        EVP_PKEY_free(pkey);
        return args_usage("--kek-public-key", "%s is not a PEM or DER public key (azkm key download writes one)",
                          path);
    }
    *der_len = (size_t)n;
    EVP_PKEY_free(pkey);
    return 0;
}

/* A blob made for a KEK version that cannot import it is wasted work, found out only at the import: said now, on
 * stderr, without failing (the KEK may be enabled, or its key_ops fixed, before the blob is used). */
static void warn_kek(const char *kid, const azkm_key_info *info)
{
    int64_t now = (int64_t)time(NULL);
    char ops[128] = "";

    for (unsigned op = 1; op <= AZKM_OP_IMPORT; op <<= 1)
        if (info->attrs.key_ops & op)
            snprintf(ops + strlen(ops), sizeof(ops) - strlen(ops), "%s%s", ops[0] ? "," : "", azkm_op_name(op));
    if (info->protection != AZKM_PROTECTION_HSM)
        fprintf(stderr,
                "azkm: warning: key exchange key %s is %s, not RSA-HSM: a key exchange key lives on the "
                "vault's token\n",
                kid, azkm_kty_name(info->kty, info->protection));
    if (info->attrs.key_ops != AZKM_OP_IMPORT)
        fprintf(stderr,
                "azkm: warning: key exchange key %s is not import-only (key_ops: %s): an import of this blob "
                "will be refused\n",
                kid, ops[0] ? ops : "none");
    if (!info->attrs.enabled)
        fprintf(stderr,
                "azkm: warning: key exchange key %s is disabled: an import of this blob will be refused "
                "while it is\n",
                kid);
    if (info->attrs.expires != 0 && now >= info->attrs.expires)
        fprintf(stderr, "azkm: warning: key exchange key %s has expired: an import of this blob will be refused\n",
                kid);
    if (info->attrs.not_before != 0 && now < info->attrs.not_before)
        fprintf(stderr,
                "azkm: warning: key exchange key %s is not valid yet: an import of this blob will be "
                "refused until it is\n",
                kid);
}

/* The KEK's public key from the local keystore, when --kek-id names one of its versions. */
static int kek_from_keystore(cli_ctx *ctx, const char *kid, unsigned char **der, size_t *der_len)
{
    azkm_uri uri;
    azkm_vault *v = NULL;
    azkm_key_info info;
    azkm_rc rc;
    int ret;

    if (azkm_uri_parse(kid, &uri) != AZKM_OK || uri.version[0] == '\0')
        return args_usage("--kek-public-key",
                          "required unless --kek-id is an azkm://VAULT/keys/NAME/VERSION of this keystore");
    if ((ret = cli_vault_open(ctx, uri.vault, &v)) != 0)
        return ret;
    memset(&info, 0, sizeof(info));
    rc = azkm_key_show(v, uri.name, uri.version, &info);
    if (rc != AZKM_OK) {
        ret = cli_fail(rc);
    } else if (info.public_der_len == 0) {
        ret = cli_failf(AZKM_E_INVALID, "key %s is not an RSA key: it cannot be a key exchange key", kid);
    } else {
        warn_kek(kid, &info);
        *der = OPENSSL_memdup(info.public_der, info.public_der_len);
        *der_len = info.public_der_len;
        ret = *der ? 0 : cli_failf(AZKM_E_NOMEM, "out of memory");
    }
    azkm_vault_close(v);
    return ret;
}

static int byok_wrap(cli_ctx *ctx, const cli_args *a)
{
    const char *kty_text = args_get(a, "--kty"), *kid = args_get(a, "--kek-id");
    const char *kek_file = args_get(a, "--kek-public-key"), *out = args_get(a, "--out-file");
    unsigned char *kek = NULL;
    size_t kek_len = 0;
    azkm_kty kty = 0;
    azkm_protection prot;
    cli_key_file kf;
    char *blob = NULL;
    int ret;
    azkm_rc rc;

    if (kty_text != NULL && azkm_kty_parse(kty_text, &kty, &prot) != AZKM_OK)
        return args_usage("--kty", "must be RSA, EC or oct (got '%s')", kty_text);
    ret = kek_file ? kek_from_file(kek_file, &kek, &kek_len) : kek_from_keystore(ctx, kid, &kek, &kek_len);
    if (ret != 0)
        return ret;
    ret = cli_key_file_read(a, args_get(a, "--file"), kty, kty_text, "passphrase of the key file to wrap", &kf);
    if (ret == 0) {
        rc = azkm_byok_wrap(NULL, &kf.m, kek, kek_len, kid, args_get(a, "--generator"), &blob);
        ret = rc == AZKM_OK ? 0 : cli_fail(rc);
    }
    if (ret == 0)
        ret = cli_write_file(out ? out : "-", "--out-file", (const unsigned char *)blob, strlen(blob), 0600);
    if (ret == 0 && out == NULL)
        ret = cli_write_file("-", "--out-file", (const unsigned char *)"\n", 1, 0600);
    cli_key_file_clear(&kf);
    OPENSSL_free(kek);
    azkm_free(blob);
    return ret;
}

static const cli_flag wrap_flags[] = {
    {"--file", ARG_VALUE, "FILE",
     "The key to transfer: PEM or DER (PKCS#8, encrypted PKCS#8, traditional RSA/EC) or PKCS#12; with --kty oct, "
     "the raw 16/24/32 AES key bytes.",
     1},
    {"--kek-id", ARG_VALUE, "KID",
     "Id of the key exchange key with its version, as `azkm key show` gives it (azkm://VAULT/keys/NAME/VERSION) "
     "or Azure's https://VAULT.vault.azure.net/keys/NAME/VERSION.",
     1},
    {"--kek-public-key", ARG_VALUE, "FILE",
     "The KEK's public key, PEM or DER (azkm key download, az keyvault key download). Default: read from this "
     "keystore when --kek-id is an azkm: id.",
     0},
    {"--kty", ARG_VALUE, "KTY", "oct: the file holds raw AES key bytes. RSA or EC: check the file's key type.", 0},
    {"--import-passphrase-file", ARG_VALUE, "FILE", "Passphrase of an encrypted key file (first line).", 0},
    {"--out-file", ARG_VALUE, "FILE", "Where to write the blob (created 0600). Default: standard output.", 0},
    {"--generator", ARG_VALUE, "TEXT", "The blob's generator field. Default: azkm and its version.", 0},
    FLAG_END,
};

const cli_command cli_byok_commands[] = {
    {"wrap", "Make an Azure-format BYOK transfer blob of a key for a key exchange key",
     "The blob holds the key wrapped for the key exchange key (KEK): RSA-OAEP (SHA-1) of a fresh AES-256 key, "
     "then\n"
     "AES key wrap with padding (RFC 5649) of the key, as Azure's BYOK specification describes. Only the holder "
     "of\n"
     "the KEK's private key, inside its HSM, can unwrap it. Import it with `azkm key import --byok-file` (or\n"
     "`az keyvault key import --byok-file` for an Azure KEK). See docs/byok.md.",
     wrap_flags,
     "  azkm key create --vault-name dst --name kek --kty RSA-HSM --ops import\n"
     "  azkm key download --vault-name dst --name kek --file kek.pub.pem\n"
     "  azkm byok wrap --file key.pem --kek-public-key kek.pub.pem \\\n"
     "      --kek-id azkm://dst/keys/kek/0123456789abcdef0123456789abcdef --out-file key.byok\n"
     "  azkm key import --vault-name dst --name web-tls --byok-file key.byok --kty RSA-HSM\n",
     byok_wrap},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
