/* `azkm key` control plane: create, import, show, list, list-versions, set-attributes, rotate, delete,
 * list-deleted, recover, purge, backup, restore and download. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "cli.h"
#include "azkm/keyref.h"
#include "jwk.h"
#include "key_flags.h"
#include "output.h"

/* Reads --enabled, --not-before, --expires, --ops and --tags into attrs, setting the AZKM_ATTR_* bits. */
static int attrs_from_flags(const cli_args *a, unsigned *fields, azkm_attributes *attrs)
{
    const char *ops = args_get(a, "--ops"), *tags = args_get(a, "--tags");
    int ret;

    *fields = 0;
    memset(attrs, 0, sizeof(*attrs));
    if (args_get(a, "--enabled") != NULL) {
        if ((ret = args_bool(a, "--enabled", &attrs->enabled)) != 0)
            return ret;
        *fields |= AZKM_ATTR_ENABLED;
    }
    if (args_get(a, "--not-before") != NULL) {
        if ((ret = args_time(a, "--not-before", &attrs->not_before)) != 0)
            return ret;
        *fields |= AZKM_ATTR_NOT_BEFORE;
    }
    if (args_get(a, "--expires") != NULL) {
        if ((ret = args_time(a, "--expires", &attrs->expires)) != 0)
            return ret;
        *fields |= AZKM_ATTR_EXPIRES;
    }
    if (ops != NULL) {
        if (azkm_ops_parse(ops, &attrs->key_ops) != AZKM_OK)
            return args_usage("--ops", "%s", azkm_last_error());
        *fields |= AZKM_ATTR_KEY_OPS;
    }
    if (tags != NULL) {
        if (azkm_tags_parse(tags, attrs) != AZKM_OK)
            return args_usage("--tags", "%s", azkm_last_error());
        *fields |= AZKM_ATTR_TAGS;
    }
    return 0;
}

/* Prints info and clears it; rc is the library's result. */
static int show_result(cli_ctx *ctx, azkm_rc rc, azkm_key_info *info)
{
    int ret = rc == AZKM_OK ? out_key(ctx, info) : cli_fail(rc);

    azkm_key_info_clear(info);
    return ret;
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
        return args_usage("--kty", "must be RSA, EC, oct, RSA-HSM, EC-HSM or oct-HSM (got '%s')", kty);
    if ((ret = args_long(a, "--size", 1, 16384, &size)) != 0)
        return ret;
    if (size != 0 && spec.kty == AZKM_KTY_EC)
        return args_usage("--size", "not used with EC keys: give --curve");
    if (curve != NULL && spec.kty != AZKM_KTY_EC)
        return args_usage("--curve", "only for EC keys (--kty EC)");
    if (curve != NULL && azkm_curve_parse(curve, &spec.curve) != AZKM_OK)
        return args_usage("--curve", "must be P-256, P-384 or P-521 (got '%s')", curve);
    spec.size = (unsigned)size;
    if ((ret = attrs_from_flags(a, &spec.fields, &spec.attrs)) != 0)
        return ret;
    if ((ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v)) != 0)
        return ret;
    rc = azkm_key_create(v, args_get(a, "--name"), &spec, &info);
    ret = show_result(ctx, rc, &info);
    azkm_vault_close(v);
    return ret;
}

/* Parses the key file, asking for its passphrase on the terminal when it turns out to be encrypted. */
static int parse_material(const cli_args *a, const unsigned char *buf, size_t len, azkm_material *m)
{
    const char *pfile = args_get(a, "--import-passphrase-file");
    char pass[1024];
    azkm_rc rc;
    int ret;

    pass[0] = '\0';
    if (pfile != NULL &&
        (ret = cli_passphrase_from_file(pfile, "--import-passphrase-file", pass, sizeof(pass))) != 0)
        return ret;
    rc = azkm_material_parse(NULL, buf, len, pfile ? pass : NULL, m);
    if (rc == AZKM_E_AUTH && pfile == NULL &&
        cli_passphrase_prompt("passphrase of the key file to import", pass, sizeof(pass)))
        rc = azkm_material_parse(NULL, buf, len, pass, m);
    OPENSSL_cleanse(pass, sizeof(pass));
    return rc == AZKM_OK ? 0 : cli_fail(rc);
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
    if ((ret = attrs_from_flags(a, &fields, &attrs)) != 0)
        return ret;
    if ((ret = cli_read_file(path, "--byok-file", &blob, &len)) != 0)
        return ret;
    if ((ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v)) == 0)
        ret = show_result(
            ctx, azkm_key_import_byok(v, args_get(a, "--name"), kty, blob, len, fields, &attrs, &info), &info);
    OPENSSL_free(blob);
    azkm_vault_close(v);
    return ret;
}

static int key_import(cli_ctx *ctx, const cli_args *a)
{
    const char *kty_text = args_get(a, "--kty"), *file = args_get(a, "--file");
    azkm_kty kty = 0;
    azkm_protection prot = AZKM_PROTECTION_SOFTWARE;
    azkm_material m;
    azkm_attributes attrs;
    azkm_key_info info;
    azkm_vault *v = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    unsigned fields;
    int ret, parsed = 0;

    memset(&m, 0, sizeof(m));
    memset(&info, 0, sizeof(info));
    if (args_get(a, "--byok-file") != NULL)
        return key_import_byok(ctx, a, args_get(a, "--byok-file"));
    if (file == NULL)
        return args_usage("--file", "required (or --byok-file)");
    if (kty_text != NULL && azkm_kty_parse(kty_text, &kty, &prot) != AZKM_OK)
        return args_usage("--kty", "must be RSA, EC, oct, RSA-HSM, EC-HSM or oct-HSM (got '%s')", kty_text);
    if (kty == AZKM_KTY_OCT && args_get(a, "--import-passphrase-file") != NULL)
        return args_usage("--import-passphrase-file", "not used with --kty oct (the file holds raw key bytes)");
    if ((ret = attrs_from_flags(a, &fields, &attrs)) != 0)
        return ret;
    if ((ret = cli_read_file(file, "--file", &buf, &len)) != 0)
        return ret;
    if (kty == AZKM_KTY_OCT) {
        /* Raw AES key bytes: 16, 24 or 32 of them. */
        m.kty = AZKM_KTY_OCT;
        m.der = buf;
        m.der_len = len;
    } else {
        if ((ret = parse_material(a, buf, len, &m)) != 0)
            goto end;
        parsed = 1;
        if (kty != 0 && m.kty != kty) {
            ret = args_usage("--kty", "%s holds an %s key, not %s", file, azkm_kty_name(m.kty, 0), kty_text);
            goto end;
        }
    }
    if ((ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v)) != 0)
        goto end;
    ret = show_result(ctx, azkm_key_import(v, args_get(a, "--name"), &m, prot, fields, &attrs, &info), &info);
end:
    if (parsed)
        azkm_material_clear(&m);
    OPENSSL_clear_free(buf, len);
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
    if ((ret = attrs_from_flags(a, &fields, &attrs)) != 0)
        return ret;
    if ((ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v)) != 0)
        return ret;
    ret = show_result(
        ctx, azkm_key_adopt(v, args_get(a, "--name"), args_get(a, "--pkcs11-uri"), fields, &attrs, &info), &info);
    azkm_vault_close(v);
    return ret;
}

static int key_show(cli_ctx *ctx, const cli_args *a)
{
    const char *name, *version;
    azkm_key_info info;
    azkm_vault *v = NULL;
    int ret;

    memset(&info, 0, sizeof(info));
    if ((ret = cli_key_target(ctx, a, &v, &name, &version)) != 0)
        return ret;
    ret = show_result(ctx, azkm_key_show(v, name, version, &info), &info);
    azkm_vault_close(v);
    return ret;
}

static int list_common(cli_ctx *ctx, const cli_args *a, int deleted, int versions)
{
    azkm_key_info *arr = NULL;
    azkm_vault *v = NULL;
    const char *name = NULL;
    size_t n = 0;
    azkm_rc rc;
    int ret;

    if (versions)
        ret = cli_key_target(ctx, a, &v, &name, NULL);
    else
        ret = cli_vault_open(ctx, args_get(a, "--vault-name"), &v);
    if (ret != 0)
        return ret;
    rc = versions ? azkm_key_list_versions(v, name, &arr, &n) : azkm_key_list(v, deleted, &arr, &n);
    if (rc != AZKM_OK)
        ret = cli_fail(rc);
    else
        ret = versions ? out_key_versions(ctx, arr, n) : out_key_list(ctx, arr, n, deleted);
    azkm_key_info_array_free(arr, n);
    azkm_vault_close(v);
    return ret;
}

static int key_list(cli_ctx *ctx, const cli_args *a)
{
    return list_common(ctx, a, 0, 0);
}

static int key_list_deleted(cli_ctx *ctx, const cli_args *a)
{
    return list_common(ctx, a, 1, 0);
}

static int key_list_versions(cli_ctx *ctx, const cli_args *a)
{
    return list_common(ctx, a, 0, 1);
}

/* Azure's show-deleted: the header has no direct call, so the key is picked from the deleted list. */
static int key_show_deleted(cli_ctx *ctx, const cli_args *a)
{
    azkm_key_info *arr = NULL;
    azkm_vault *v = NULL;
    const char *name;
    size_t n = 0, i;
    azkm_rc rc;
    int ret;

    if ((ret = cli_key_target(ctx, a, &v, &name, NULL)) != 0)
        return ret;
    if (!azkm_key_name_valid(name)) {
        ret = cli_failf(AZKM_E_INVALID, "key name '%.64s' is invalid: 1-127 characters of a-z, A-Z, 0-9 and '-'",
                        name);
    } else if ((rc = azkm_key_list(v, 1, &arr, &n)) != AZKM_OK) {
        ret = cli_fail(rc);
    } else {
        for (i = 0; i < n && strcasecmp(arr[i].name, name) != 0; i++)
            ;
        ret = i < n ? out_key(ctx, &arr[i])
                    : cli_failf(AZKM_E_NOT_FOUND, "key %s/%s is not a deleted key", azkm_vault_name(v), name);
    }
    azkm_key_info_array_free(arr, n);
    azkm_vault_close(v);
    return ret;
}

static int key_set_attributes(cli_ctx *ctx, const cli_args *a)
{
    const char *name, *version;
    azkm_attributes attrs;
    azkm_key_info info;
    azkm_vault *v = NULL;
    unsigned fields;
    int ret;

    memset(&info, 0, sizeof(info));
    if ((ret = attrs_from_flags(a, &fields, &attrs)) != 0)
        return ret;
    if (fields == 0)
        return args_usage(NULL, "nothing to change: give --enabled, --expires, --not-before, --ops or --tags");
    if ((ret = cli_key_target(ctx, a, &v, &name, &version)) != 0)
        return ret;
    ret = show_result(ctx, azkm_key_set_attributes(v, name, version, fields, &attrs, &info), &info);
    azkm_vault_close(v);
    return ret;
}

enum { ACT_ROTATE, ACT_DELETE, ACT_RECOVER, ACT_PURGE };

static int key_lifecycle(cli_ctx *ctx, const cli_args *a, int act)
{
    const char *name;
    azkm_key_info info;
    azkm_vault *v = NULL;
    azkm_rc rc;
    int ret;

    memset(&info, 0, sizeof(info));
    if ((ret = cli_key_target(ctx, a, &v, &name, NULL)) != 0)
        return ret;
    switch (act) {
    case ACT_ROTATE:
        ret = show_result(ctx, azkm_key_rotate(v, name, &info), &info);
        break;
    case ACT_DELETE:
        ret = show_result(ctx, azkm_key_delete(v, name, &info), &info);
        break;
    case ACT_RECOVER:
        ret = show_result(ctx, azkm_key_recover(v, name, &info), &info);
        break;
    default:
        rc = azkm_key_purge(v, name);
        ret = rc == AZKM_OK ? 0 : cli_fail(rc);
        break;
    }
    azkm_vault_close(v);
    return ret;
}

static int key_rotate(cli_ctx *ctx, const cli_args *a)
{
    return key_lifecycle(ctx, a, ACT_ROTATE);
}

static int key_delete(cli_ctx *ctx, const cli_args *a)
{
    return key_lifecycle(ctx, a, ACT_DELETE);
}

static int key_recover(cli_ctx *ctx, const cli_args *a)
{
    return key_lifecycle(ctx, a, ACT_RECOVER);
}

static int key_purge(cli_ctx *ctx, const cli_args *a)
{
    return key_lifecycle(ctx, a, ACT_PURGE);
}

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
    OPENSSL_clear_free(blob, len);
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
        ret = show_result(ctx, azkm_key_restore(v, blob, len, &info), &info);
    OPENSSL_clear_free(blob, len);
    azkm_vault_close(v);
    return ret;
}

static int write_text(const char *file, const char *text)
{
    return cli_write_file(file ? file : "-", "--file", (const unsigned char *)text, strlen(text), 0644);
}

static int key_ref(cli_ctx *ctx, const cli_args *a)
{
    const char *name, *version, *file = args_get(a, "--file");
    azkm_key_info info;
    azkm_vault *v = NULL;
    azkm_uri uri;
    char text[AZKM_URI_MAX];
    azkm_keyref_rc krc;
    azkm_rc rc;
    BIO *mem = NULL;
    int ret;

    memset(&info, 0, sizeof(info));
    if ((ret = cli_key_target(ctx, a, &v, &name, &version)) != 0)
        return ret;
    /* The reference names the key as stored; it must exist and be usable by OpenSSL as a private key. */
    if ((rc = azkm_key_show(v, name, version, &info)) != AZKM_OK) {
        ret = cli_fail(rc);
        goto done;
    }
    if (info.kty == AZKM_KTY_OCT) {
        ret = cli_failf(AZKM_E_INVALID,
                        "key %s/%s is an oct (symmetric) key: OpenSSL applications cannot use it "
                        "as a private key",
                        info.vault, info.name);
        goto done;
    }
    memset(&uri, 0, sizeof(uri));
    snprintf(uri.vault, sizeof(uri.vault), "%s", info.vault);
    snprintf(uri.name, sizeof(uri.name), "%s", info.name);
    if (version != NULL && *version != '\0')
        snprintf(uri.version, sizeof(uri.version), "%s", info.version);
    azkm_uri_format(&uri, text, sizeof(text));
    mem = BIO_new(BIO_s_mem());
    if (mem == NULL || (krc = azkm_keyref_write_pem(mem, text)) != AZKM_KEYREF_OK) {
        ret = cli_failf(AZKM_E_CRYPTO, "key %s/%s: cannot encode the reference", info.vault, info.name);
    } else {
        char *pem = NULL;
        long n = BIO_get_mem_data(mem, &pem);

        ret = cli_write_file(file ? file : "-", "--file", (const unsigned char *)pem, (size_t)n, 0644);
    }
done:
    BIO_free(mem);
    azkm_key_info_clear(&info);
    azkm_vault_close(v);
    return ret;
}

static int key_download(cli_ctx *ctx, const cli_args *a)
{
    const char *name, *version, *enc = args_get(a, "--encoding"), *file = args_get(a, "--file");
    azkm_key_info info;
    azkm_vault *v = NULL;
    azkm_rc rc;
    int ret, jwk;

    memset(&info, 0, sizeof(info));
    if (enc == NULL || strcmp(enc, "PEM") == 0 || strcmp(enc, "pem") == 0)
        jwk = 0;
    else if (strcmp(enc, "JWK") == 0 || strcmp(enc, "jwk") == 0)
        jwk = 1;
    else
        return args_usage("--encoding", "must be PEM or JWK (got '%s')", enc);
    if ((ret = cli_key_target(ctx, a, &v, &name, &version)) != 0)
        return ret;
    if ((rc = azkm_key_show(v, name, version, &info)) != AZKM_OK) {
        ret = cli_fail(rc);
    } else if (info.public_der == NULL) {
        ret = cli_failf(AZKM_E_INVALID, "key %s/%s is an oct (symmetric) key: it has no public part to download",
                        info.vault, info.name);
    } else if (jwk) {
        json_t *doc = jwk_from_info(&info, 1);
        char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        size_t n = text ? strlen(text) : 0;
        char *line = text ? realloc(text, n + 2) : NULL;

        if (line == NULL) {
            free(text);
            ret = cli_failf(AZKM_E_CRYPTO, "key %s/%s: cannot encode the public key as JWK", info.vault, info.name);
        } else {
            strcpy(line + n, "\n");
            ret = write_text(file, line);
            free(line);
        }
        json_decref(doc);
    } else {
        BIO *mem = BIO_new(BIO_s_mem());
        char *pem = NULL;
        long n;

        if (mem == NULL || !PEM_write_bio(mem, PEM_STRING_PUBLIC, "", info.public_der, (long)info.public_der_len) ||
            BIO_write(mem, "", 1) != 1 || (n = BIO_get_mem_data(mem, &pem)) <= 0)
            ret = cli_failf(AZKM_E_CRYPTO, "key %s/%s: cannot encode the public key as PEM", info.vault, info.name);
        else
            ret = write_text(file, pem);
        BIO_free(mem);
    }
    azkm_key_info_clear(&info);
    azkm_vault_close(v);
    return ret;
}

static const cli_flag create_flags[] = {
    FLAG_VAULT_REQ,
    FLAG_NAME_REQ,
    {"--kty", ARG_VALUE, "KTY",
     "Key type: RSA, EC or oct (AES); RSA-HSM, EC-HSM, oct-HSM need an HSM tier. Default: RSA.", 0},
    {"--size", ARG_VALUE, "BITS", "RSA: 2048, 3072 or 4096 (default 2048); oct: 128, 192 or 256 (default 256).", 0},
    {"--curve", ARG_VALUE, "CURVE", "EC curve: P-256, P-384 or P-521. Default: P-256.", 0},
    FLAG_OPS,
    FLAG_ENABLED,
    FLAG_NOT_BEFORE,
    FLAG_EXPIRES,
    FLAG_TAGS,
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
     "oct: the file holds raw AES key bytes. RSA or EC: check the file's key type. Default: from the file. With "
     "--byok-file: RSA-HSM (default), EC-HSM or oct-HSM.",
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

static const cli_flag show_flags[] = {FLAG_VAULT, FLAG_NAME, FLAG_VERSION, FLAG_ID, FLAG_END};
static const cli_flag key_flags[] = {FLAG_VAULT, FLAG_NAME, FLAG_ID, FLAG_END};
static const cli_flag vault_flags[] = {FLAG_VAULT_REQ, FLAG_END};

static const cli_flag set_attr_flags[] = {
    FLAG_VAULT,   FLAG_NAME,       FLAG_VERSION, FLAG_ID,   FLAG_OPS,
    FLAG_ENABLED, FLAG_NOT_BEFORE, FLAG_EXPIRES, FLAG_TAGS, FLAG_END,
};

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
    {"--encoding", ARG_VALUE, "PEM|JWK", "PEM (SubjectPublicKeyInfo) or JWK (RFC 7517). Default: PEM.", 0},
    FLAG_END,
};

const cli_command cli_key_admin_commands[] = {
    {"create", "Create a new key in a vault",
     "Generates the key in the vault's protection tier; private and secret material never leaves it\n"
     "unencrypted. Key types and their operations: RSA (sign verify encrypt decrypt wrapKey unwrapKey), EC\n"
     "(sign verify), oct AES keys (encrypt decrypt wrapKey unwrapKey). A name already in use (even by a\n"
     "deleted key) is a conflict: add versions with `azkm key rotate` or `azkm key import`.",
     create_flags,
     "  azkm key create --vault-name prod --name web-tls\n"
     "  azkm key create --vault-name prod --name web-ec --kty EC --curve P-384 --ops sign verify\n"
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
     "becomes an RSA-HSM, EC-HSM or oct-HSM key, or a new version of one. Purge leaves it on the token.",
     adopt_flags,
     "  azkm key adopt --vault-name hsm1 --name legacy-tls --pkcs11-uri 'pkcs11:token=azkm;id=%01;type=private'\n",
     key_adopt},
    {"show", "Show a key version: public key as JWK, attributes and tags", NULL, show_flags,
     "  azkm key show --vault-name prod --name web-tls --output json\n"
     "  azkm key show --id azkm://prod/keys/web-tls/0123456789abcdef0123456789abcdef\n",
     key_show},
    {"list", "List the keys of a vault (current versions)", NULL, vault_flags,
     "  azkm key list --vault-name prod\n", key_list},
    {"list-versions", "List the versions of a key", NULL, key_flags,
     "  azkm key list-versions --vault-name prod --name web-tls\n", key_list_versions},
    {"set-attributes", "Change a version's enabled flag, validity, key_ops or tags",
     "Key material is immutable; only these attributes change. Default version: the current one.", set_attr_flags,
     "  azkm key set-attributes --vault-name prod --name web-tls --enabled false\n"
     "  azkm key set-attributes --vault-name prod --name web-tls --expires 2028-01-01T00:00:00Z --tags env=prod\n",
     key_set_attributes},
    {"rotate", "Make a new current version of the same type, size, key_ops and tags", NULL, key_flags,
     "  azkm key rotate --vault-name prod --name web-tls\n", key_rotate},
    {"delete", "Soft-delete a key with all its versions",
     "A deleted key can be listed, shown, recovered or purged until its scheduled purge date (the vault's\n"
     "retention); its name cannot be reused until then.",
     key_flags, "  azkm key delete --vault-name prod --name old-key\n", key_delete},
    {"list-deleted", "List the soft-deleted keys of a vault", NULL, vault_flags,
     "  azkm key list-deleted --vault-name prod\n", key_list_deleted},
    {"show-deleted", "Show a soft-deleted key: its current version and deletion dates", NULL, key_flags,
     "  azkm key show-deleted --vault-name prod --name old-key --output json\n", key_show_deleted},
    {"recover", "Recover a soft-deleted key with all its versions", NULL, key_flags,
     "  azkm key recover --vault-name prod --name old-key\n", key_recover},
    {"purge", "Permanently remove a soft-deleted key", "Refused under purge protection until the retention ends.",
     key_flags, "  azkm key purge --vault-name prod --name old-key\n", key_purge},
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
    {"download", "Write the public key as PEM or JWK", NULL, download_flags,
     "  azkm key download --vault-name prod --name web-tls --file web-tls.pub.pem\n"
     "  azkm key download --vault-name prod --name web-ec --encoding JWK\n",
     key_download},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
