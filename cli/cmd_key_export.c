/* `azkm key backup|restore|ref|download`: what leaves a vault and what comes back: encrypted backups of a key
 * with all its versions, key reference files for OpenSSL applications, and public keys as PEM or JWK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <azkm/keyref.h>

#include "command.h"
#include "fileio.h"
#include "jwk.h"
#include "key_flags.h"
#include "output.h"
#include "report.h"

static int key_backup(cli_ctx *ctx, const cli_args *a)
{
    const char *name;
    azkm_vault *v = NULL;
    unsigned char *blob = NULL;
    size_t len = 0;
    azkm_rc rc;
    int ret;

    if ((ret = cli_key_target(ctx, a, &v, &name, NULL)) != 0)
        return ret;
    rc = azkm_key_backup(v, name, &blob, &len);
    if (rc != AZKM_OK)
        ret = cli_fail(rc);
    else
        ret = cli_write_file(args_get(a, "--file"), "--file", blob, len, 0600);
    azkm_free(blob);
    azkm_vault_close(v);
    return ret;
}

static int key_restore(cli_ctx *ctx, const cli_args *a)
{
    azkm_key_info info;
    azkm_vault *v = NULL;
    unsigned char *blob = NULL;
    size_t len = 0;
    int ret;

    memset(&info, 0, sizeof(info));
    if ((ret = cli_read_file(args_get(a, "--file"), "--file", &blob, &len)) != 0)
        return ret;
    if ((ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v)) == 0)
        ret = out_key_result(ctx->json, azkm_key_restore(v, blob, len, &info), &info);
    OPENSSL_clear_free(blob, len);
    azkm_vault_close(v);
    return ret;
}

static int write_text(const char *file, const char *text)
{
    return cli_write_file(file ? file : "-", "--file", (const unsigned char *)text, strlen(text), 0644);
}

/* The reference file: the key's URI, pinned to a version only when --version was given. */
static int write_ref(const azkm_key_info *info, int pinned, const char *file)
{
    azkm_uri uri;
    char text[AZKM_URI_MAX];
    BIO *mem = NULL;
    int ret;

    memset(&uri, 0, sizeof(uri));
    snprintf(uri.vault, sizeof(uri.vault), "%s", info->vault);
    snprintf(uri.name, sizeof(uri.name), "%s", info->name);
    if (pinned)
        snprintf(uri.version, sizeof(uri.version), "%s", info->version);
    azkm_uri_format(&uri, text, sizeof(text));
    mem = BIO_new(BIO_s_mem());
    if (mem == NULL || azkm_keyref_write_pem(mem, text) != AZKM_KEYREF_OK) {
        ret = cli_failf(AZKM_E_CRYPTO, "key %s/%s: cannot encode the reference", info->vault, info->name);
    } else {
        char *pem = NULL;
        long n = BIO_get_mem_data(mem, &pem);

        ret = cli_write_file(file ? file : "-", "--file", (const unsigned char *)pem, (size_t)n, 0644);
    }
    BIO_free(mem);
    return ret;
}

static int key_ref(cli_ctx *ctx, const cli_args *a)
{
    const char *name, *version;
    azkm_key_info info;
    azkm_vault *v = NULL;
    azkm_rc rc;
    int ret;

    memset(&info, 0, sizeof(info));
    if ((ret = cli_key_target(ctx, a, &v, &name, &version)) != 0)
        return ret;
    /* The reference names the key as stored; it must exist and be usable by OpenSSL as a private key. */
    if ((rc = azkm_key_show(v, name, version, &info)) != AZKM_OK)
        ret = cli_fail(rc);
    else if (info.kty == AZKM_KTY_OCT)
        ret = cli_failf(AZKM_E_INVALID,
                        "key %s/%s is an oct (symmetric) key: OpenSSL applications cannot use it "
                        "as a private key",
                        info.vault, info.name);
    else
        ret = write_ref(&info, version != NULL && *version != '\0', args_get(a, "--file"));
    azkm_vault_close(v);
    return ret;
}

static int download_jwk(const azkm_key_info *info, const char *file)
{
    json_t *doc = jwk_from_info(info, 1);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    size_t n = text ? strlen(text) : 0;
    char *line = text ? realloc(text, n + 2) : NULL;
    int ret;

    if (line == NULL) {
        free(text);
        ret = cli_failf(AZKM_E_CRYPTO, "key %s/%s: cannot encode the public key as JWK", info->vault, info->name);
    } else {
        strcpy(line + n, "\n");
        ret = write_text(file, line);
        free(line);
    }
    json_decref(doc);
    return ret;
}

static int download_pem(const azkm_key_info *info, const char *file)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long n;
    int ret;

    if (mem == NULL || !PEM_write_bio(mem, PEM_STRING_PUBLIC, "", info->public_der, (long)info->public_der_len) ||
        BIO_write(mem, "", 1) != 1 || (n = BIO_get_mem_data(mem, &pem)) <= 0)
        ret = cli_failf(AZKM_E_CRYPTO, "key %s/%s: cannot encode the public key as PEM", info->vault, info->name);
    else
        ret = write_text(file, pem);
    BIO_free(mem);
    return ret;
}

static int key_download(cli_ctx *ctx, const cli_args *a)
{
    const char *name, *version, *enc = args_get(a, "--encoding"), *file = args_get(a, "--file");
    azkm_key_info info;
    azkm_vault *v = NULL;
    azkm_rc rc;
    int ret, kind; /* 0 PEM, 1 JWK, 2 DER */

    memset(&info, 0, sizeof(info));
    if (enc == NULL || strcasecmp(enc, "PEM") == 0)
        kind = 0;
    else if (strcasecmp(enc, "JWK") == 0)
        kind = 1;
    else if (strcasecmp(enc, "DER") == 0)
        kind = 2;
    else
        return args_usage("--encoding", "must be PEM, DER or JWK (got '%s')", enc);
    if ((ret = cli_key_target(ctx, a, &v, &name, &version)) != 0)
        return ret;
    if ((rc = azkm_key_show(v, name, version, &info)) != AZKM_OK)
        ret = cli_fail(rc);
    else if (info.public_der_len == 0)
        ret = cli_failf(AZKM_E_INVALID, "key %s/%s is an oct (symmetric) key: it has no public part to download",
                        info.vault, info.name);
    else
        ret = kind == 1   ? download_jwk(&info, file)
              : kind == 2 ? cli_write_file(file ? file : "-", "--file", info.public_der, info.public_der_len, 0644)
                          : download_pem(&info, file);
    azkm_vault_close(v);
    return ret;
}

static const cli_flag backup_flags[] = {
    FLAG_VAULT, FLAG_NAME,
    FLAG_ID,    {"--file", ARG_VALUE, "FILE", "Where to write the backup blob (created 0600; '-' for stdout).", 1},
    FLAG_END,
};

static const cli_flag restore_flags[] = {
    FLAG_VAULT_REQ,
    {"--file", ARG_VALUE, "FILE", "Backup blob written by azkm key backup.", 1},
    FLAG_END,
};

static const cli_flag ref_flags[] = {
    FLAG_VAULT,
    FLAG_NAME,
    FLAG_VERSION,
    FLAG_ID,
    {"--file", ARG_VALUE, "FILE", "Where to write the reference. Default: standard output.", 0},
    FLAG_END,
};

static const cli_flag download_flags[] = {
    FLAG_VAULT,
    FLAG_NAME,
    FLAG_VERSION,
    FLAG_ID,
    {"--file", ARG_VALUE, "FILE", "Where to write the public key. Default: standard output.", 0},
    {"--encoding", ARG_VALUE, "PEM|DER|JWK", "PEM or DER (SubjectPublicKeyInfo), or JWK (RFC 7517). Default: PEM.",
     0},
    FLAG_END,
};

const cli_command cli_key_export_commands[] = {
    {"backup", "Write an encrypted, authenticated backup of a key with all its versions",
     "The blob holds no key material in the clear and restores only into the vault it came from.", backup_flags,
     "  azkm key backup --vault-name prod --name web-tls --file web-tls.azkmbackup\n", key_backup},
    {"restore", "Restore a key from a backup blob into the vault it came from",
     "Refused while a key of that name exists (deleted or not) and for a tampered blob.", restore_flags,
     "  azkm key restore --vault-name prod --file web-tls.azkmbackup\n", key_restore},
    {"ref", "Write a key reference file that OpenSSL applications load as the private key",
     "The PEM file (label AZKM KEY REFERENCE) holds the key's azkm: URI and no secret: with the azkm provider\n"
     "active, PEM_read_bio_PrivateKey (nginx, Apache, openssl -key) returns a reference to the vault key.\n"
     "Without --version the reference follows the current version (rotation needs only a reload); with it,\n"
     "the reference pins that version.",
     ref_flags,
     "  azkm key ref --vault-name prod --name web-tls --file /etc/nginx/web-tls.ref.pem\n"
     "  azkm key ref --id azkm://prod/keys/web-tls/0123456789abcdef0123456789abcdef\n",
     key_ref},
    {"download", "Write the public key as PEM, DER or JWK", NULL, download_flags,
     "  azkm key download --vault-name prod --name web-tls --file web-tls.pub.pem\n"
     "  azkm key download --vault-name prod --name web-ec --encoding JWK\n",
     key_download},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
