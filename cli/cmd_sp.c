/* `azkm sp create|list|show|delete|credential-reset`, following `az ad sp`: service principals of the keystore
 * (an appId with a client secret azkm generates, shown once, and/or a certificate), the principals "sp:<appId>" of
 * role assignments (docs/cli.md, "Service principals"). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "command.h"
#include "fileio.h"
#include "output.h"
#include "report.h"

/* Microsoft Graph's servicePrincipal shape, as far as azkm has it. */
static json_t *sp_json(const azkm_service_principal *sp)
{
    char principal[AZKM_PRINCIPAL_MAX + 1], created[32], secret[32];
    json_t *keys = json_array(), *passwords = json_array();

    snprintf(principal, sizeof(principal), "sp:%s", sp->app_id);
    if (sp->has_secret)
        json_array_append_new(
            passwords, json_pack("{s:s}", "startDateTime", out_time(sp->secret_created, secret, sizeof(secret))));
    /* usage "Verify" (Graph's word for a key that verifies client assertions) when its public key is kept. */
    if (sp->has_certificate)
        json_array_append_new(keys,
                              json_pack("{s:s, s:s, s:s, s:s, s:s*}", "type", "AsymmetricX509Cert",
                                        "thumbprintSha256", sp->cert_sha256, "issuer", sp->cert_issuer, "subject",
                                        sp->cert_subject, "usage", sp->has_certificate_key ? "Verify" : NULL));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "appId", sp->app_id, "displayName", sp->display_name,
                     "principal", principal, "servicePrincipalType", "Application", "createdDateTime",
                     out_time(sp->created, created, sizeof(created)), "passwordCredentials", passwords,
                     "keyCredentials", keys);
}

static void sp_rows(const azkm_service_principal *sp)
{
    char t[32];

    out_row("App id", "%s", sp->app_id);
    out_row("Display name", "%s", sp->display_name);
    out_row("Principal", "sp:%s", sp->app_id);
    out_row("Created", "%s", out_time(sp->created, t, sizeof(t)));
    out_row("Client secret", "%s", sp->has_secret ? out_time(sp->secret_created, t, sizeof(t)) : "none");
    if (sp->has_certificate) {
        out_row("Certificate SHA-256", "%s", sp->cert_sha256);
        out_row("Certificate subject", "%s", sp->cert_subject);
        out_row("Certificate issuer", "%s", sp->cert_issuer);
        out_row("Client assertions", "%s",
                sp->has_certificate_key ? "yes" : "no: registered without its public key, re-add the certificate");
    }
}

/* Prints a created or reset principal, and the secret made with it, which is shown this once. */
static int print_with_secret(cli_ctx *ctx, const azkm_service_principal *sp, char *secret)
{
    int ret = 0;

    if (ctx->json) {
        json_t *doc = sp_json(sp);

        if (secret != NULL)
            json_object_set_new(doc, "password", json_string(secret));
        ret = out_json(doc);
    } else {
        sp_rows(sp);
        if (secret != NULL)
            out_row("Password", "%s", secret);
    }
    if (secret != NULL) {
        fprintf(stderr, "azkm: the client secret (password) is shown only now; azkm keeps only its hash\n");
        OPENSSL_cleanse(secret, strlen(secret));
        azkm_free(secret);
    }
    return ret;
}

/* --cert FILE and --create-secret into c (the file in *buf, OPENSSL_free); default_secret when --cert is absent.
 */
static int creds_get(const cli_args *a, azkm_sp_credentials *c, unsigned char **buf)
{
    const char *cert = args_get(a, "--cert");
    int ret, secret = cert == NULL;

    memset(c, 0, sizeof(*c));
    *buf = NULL;
    if ((ret = args_bool(a, "--create-secret", &secret)) != 0)
        return ret;
    if (cert != NULL && (ret = cli_read_file(cert, "--cert", buf, &c->cert_len)) != 0)
        return ret;
    c->cert = *buf;
    c->new_secret = secret;
    if (!secret && cert == NULL)
        return args_usage("--create-secret", "false leaves no credential: give --cert FILE");
    return 0;
}

static int sp_create(cli_ctx *ctx, const cli_args *a)
{
    azkm_sp_credentials c;
    azkm_service_principal sp;
    azkm_keystore *ks = NULL;
    unsigned char *buf = NULL;
    char *secret = NULL;
    azkm_rc rc;
    int ret;

    if ((ret = creds_get(a, &c, &buf)) != 0 || (ret = cli_keystore(ctx, &ks)) != 0) {
        OPENSSL_free(buf);
        return ret;
    }
    rc = azkm_sp_create(ks, args_get(a, "--display-name"), &c, &sp, &secret);
    OPENSSL_free(buf);
    return rc == AZKM_OK ? print_with_secret(ctx, &sp, secret) : cli_fail(rc);
}

/* --id: an application id, a GUID in either case as az takes it; the keystore keeps it in lower case. */
static int app_id_get(const cli_args *a, char out[AZKM_PRINCIPAL_MAX + 1])
{
    const char *id = args_get(a, "--id");
    char text[AZKM_PRINCIPAL_MAX + 1];

    snprintf(text, sizeof(text), "sp:%.*s", AZKM_PRINCIPAL_MAX - 3, id);
    if (strlen(id) > AZKM_PRINCIPAL_MAX - 3 || strncmp(text, "sp:", 3) != 0 ||
        azkm_principal_parse(text, out) != AZKM_OK || strncmp(out, "sp:", 3) != 0)
        return cli_failf(AZKM_E_INVALID, "--id '%.100s' is not an application id (a GUID such as %s)", id,
                         "0f8fad5b-d9cb-469f-a165-70867728950e");
    memmove(out, out + 3, strlen(out + 3) + 1);
    return 0;
}

static int sp_credential_reset(cli_ctx *ctx, const cli_args *a)
{
    azkm_sp_credentials c;
    azkm_service_principal sp;
    azkm_keystore *ks = NULL;
    unsigned char *buf = NULL;
    char *secret = NULL, id[AZKM_PRINCIPAL_MAX + 1];
    azkm_rc rc;
    int ret;

    if ((ret = app_id_get(a, id)) != 0)
        return ret;
    if ((ret = creds_get(a, &c, &buf)) != 0 || (ret = cli_keystore(ctx, &ks)) != 0) {
        OPENSSL_free(buf);
        return ret;
    }
    rc = azkm_sp_credential_reset(ks, id, &c, &sp, &secret);
    OPENSSL_free(buf);
    return rc == AZKM_OK ? print_with_secret(ctx, &sp, secret) : cli_fail(rc);
}

static int sp_list(cli_ctx *ctx, const cli_args *a)
{
    azkm_service_principal *list = NULL;
    azkm_keystore *ks = NULL;
    size_t n = 0;
    azkm_rc rc;
    int ret;

    if ((ret = cli_keystore(ctx, &ks)) != 0 || (ret = args_maxresults(a, &n)) != 0)
        return ret;
    if ((rc = azkm_sp_list(ks, &list, &n)) != AZKM_OK)
        return cli_fail(rc);
    if ((ret = args_maxresults(a, &n)) == 0 && ctx->json) {
        json_t *arr = json_array();

        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, sp_json(&list[i]));
        ret = out_json(arr);
    } else if (ret == 0) {
        printf("%-36s %-8s %-11s %s\n", "APP ID", "SECRET", "CERTIFICATE", "DISPLAY NAME");
        for (size_t i = 0; i < n; i++)
            printf("%-36s %-8s %-11s %s\n", list[i].app_id, list[i].has_secret ? "yes" : "no",
                   list[i].has_certificate ? "yes" : "no", list[i].display_name);
    }
    azkm_free(list);
    return ret;
}

static int sp_show(cli_ctx *ctx, const cli_args *a)
{
    azkm_service_principal sp;
    azkm_keystore *ks = NULL;
    char id[AZKM_PRINCIPAL_MAX + 1];
    azkm_rc rc;
    int ret;

    if ((ret = app_id_get(a, id)) != 0 || (ret = cli_keystore(ctx, &ks)) != 0)
        return ret;
    if ((rc = azkm_sp_show(ks, id, &sp)) != AZKM_OK)
        return cli_fail(rc);
    if (ctx->json)
        return out_json(sp_json(&sp));
    sp_rows(&sp);
    return 0;
}

static int sp_delete(cli_ctx *ctx, const cli_args *a)
{
    azkm_keystore *ks = NULL;
    char id[AZKM_PRINCIPAL_MAX + 1];
    azkm_rc rc;
    int ret;

    if ((ret = app_id_get(a, id)) != 0 || (ret = cli_keystore(ctx, &ks)) != 0)
        return ret;
    if ((rc = azkm_sp_delete(ks, id)) != AZKM_OK)
        return cli_fail(rc);
    return 0;
}

#define SP_ID_FLAG                                                                                                 \
    {                                                                                                              \
        "--id", ARG_VALUE, "APPID", "The service principal's application id (a GUID).", 1                          \
    }
#define CERT_FLAG                                                                                                  \
    {                                                                                                              \
        "--cert", ARG_VALUE, "FILE",                                                                               \
            "An X.509 certificate (PEM or DER) the principal authenticates with in mutual TLS: its SHA-256 "       \
            "fingerprint, issuer and subject are kept.",                                                           \
            0                                                                                                      \
    }

static const cli_flag create_flags[] = {
    {"--display-name", ARG_VALUE, "NAME", "Display name: 1-120 characters, no control characters.", 1},
    CERT_FLAG,
    {"--create-secret", ARG_SWITCH, "",
     "Generate a client secret (printed once). Default: true unless --cert is given.", 0},
    {NULL, 0, NULL, NULL, 0},
};

static const cli_flag reset_flags[] = {
    SP_ID_FLAG,
    CERT_FLAG,
    {"--create-secret", ARG_SWITCH, "",
     "Replace the client secret with a new one (printed once). Default: true unless --cert is given.", 0},
    {NULL, 0, NULL, NULL, 0},
};

static const cli_flag id_flags[] = {SP_ID_FLAG, {NULL, 0, NULL, NULL, 0}};
static const cli_flag list_flags[] = {FLAG_MAXRESULTS, {NULL, 0, NULL, NULL, 0}};

const cli_command cli_sp_commands[] = {
    {"create", "Create a service principal with a client secret and/or a certificate",
     "Service principals belong to the keystore (as Entra ID's to a tenant) and are the principals sp:<appId> of\n"
     "role assignments in any of its vaults. The client secret is generated by azkm and printed once: azkm keeps\n"
     "only a salted scrypt hash of it. They are kept in the keystore's identity store (the directory\n"
     "_identities, made and protected as a vault is; not a vault).",
     create_flags,
     "  azkm sp create --display-name web-frontend\n"
     "  azkm sp create --display-name batch --cert client.pem\n",
     sp_create},
    {"list", "List the keystore's service principals", NULL, list_flags, "  azkm sp list --output json\n", sp_list},
    {"show", "Show a service principal (never its secret)", NULL, id_flags,
     "  azkm sp show --id 6f1c2a3e-0b1d-4c5e-8f90-123456789abc\n", sp_show},
    {"delete", "Delete a service principal and its credentials",
     "Its role assignments stay in the vaults and grant nothing (an appId is never reused).", id_flags,
     "  azkm sp delete --id 6f1c2a3e-0b1d-4c5e-8f90-123456789abc\n", sp_delete},
    {"credential-reset", "Replace a service principal's client secret or certificate",
     "A new secret (the default) replaces the old one at once; --cert replaces the certificate. A credential not\n"
     "replaced stays.",
     reset_flags,
     "  azkm sp credential-reset --id 6f1c2a3e-0b1d-4c5e-8f90-123456789abc\n"
     "  azkm sp credential-reset --id 6f1c2a3e-0b1d-4c5e-8f90-123456789abc --cert renewed.pem\n",
     sp_credential_reset},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
