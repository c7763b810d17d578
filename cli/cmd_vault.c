/* `azkm vault create|list|show|update|verify|delete`: vaults, their soft-delete retention, purge protection and the
 * protector of their master key. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "command.h"
#include "output.h"
#include "report.h"

static int show_vault(cli_ctx *ctx, const char *name)
{
    azkm_vault *v = NULL;
    azkm_vault_info info;
    azkm_rc rc;
    int ret;

    if ((ret = cli_vault_open(ctx, name, &v)) != 0)
        return ret;
    rc = azkm_vault_show(v, &info);
    ret = rc == AZKM_OK ? out_vault(ctx->json, &info) : cli_fail(rc);
    azkm_vault_close(v);
    return ret;
}

/* --hsm-module, --hsm-token and --hsm-pin-source into b; *given is 0 when none of them is present. */
static int hsm_binding(const cli_args *a, azkm_hsm_binding *b, int *given)
{
    b->module = args_get(a, "--hsm-module");
    b->token = args_get(a, "--hsm-token");
    b->pin_source = args_get(a, "--hsm-pin-source");
    *given = b->module || b->token || b->pin_source;
    if (!*given)
        return 0;
    if (b->module == NULL)
        return args_usage("--hsm-module", "required with --hsm-token and --hsm-pin-source");
    if (b->token == NULL)
        return args_usage("--hsm-token", "required with --hsm-module");
    if (b->pin_source == NULL)
        b->pin_source = "prompt";
    return 0;
}

static int vault_create(cli_ctx *ctx, const cli_args *a)
{
    const char *name = args_get(a, "--name");
    const char *prot = args_get(a, "--protector");
    azkm_vault_params params;
    azkm_hsm_binding hsm;
    azkm_keystore *ks;
    long days = 90;
    int ret, bound;
    azkm_rc rc;

    memset(&params, 0, sizeof(params));
    if ((ret = args_long(a, "--retention-days", 7, 90, &days)) != 0 ||
        (ret = args_bool(a, "--enable-purge-protection", &params.purge_protection)) != 0)
        return ret;
    params.retention_days = (int)days;
    if (prot == NULL || strcmp(prot, "platform") == 0)
        params.protector = AZKM_PROTECTOR_PLATFORM;
    else if (strcmp(prot, "passphrase") == 0)
        params.protector = AZKM_PROTECTOR_PASSPHRASE;
    else if (strcmp(prot, "hsm") == 0)
        params.protector = AZKM_PROTECTOR_HSM;
    else
        return args_usage("--protector", "must be platform, passphrase or hsm (got '%s')", prot);
    if ((ret = hsm_binding(a, &hsm, &bound)) != 0)
        return ret;
    if (params.protector == AZKM_PROTECTOR_HSM && !bound)
        return args_usage("--protector", "hsm needs the vault's token: give --hsm-module and --hsm-token");
    params.hsm = bound ? &hsm : NULL;
    if ((ret = cli_keystore(ctx, &ks)) != 0)
        return ret;
    if ((rc = azkm_vault_create(ks, name, &params)) != AZKM_OK)
        return cli_fail(rc);
    return show_vault(ctx, name);
}

/* --url's words (one or more URLs, in the order they are tried) into urls; text is cut in place. */
static int split_urls(char *text, const char **urls, size_t *n)
{
    *n = 0;
    for (char *save = NULL, *w = strtok_r(text, " ,", &save); w != NULL; w = strtok_r(NULL, " ,", &save)) {
        if (*n == AZKM_REMOTE_URLS_MAX)
            return args_usage("--url", "at most %d URLs", AZKM_REMOTE_URLS_MAX);
        urls[(*n)++] = w;
    }
    return *n == 0 ? args_usage("--url", "needs at least one URL") : 0;
}

static int vault_connect(cli_ctx *ctx, const cli_args *a)
{
    const char *urls[AZKM_REMOTE_URLS_MAX];
    char *text = strdup(args_get(a, "--url"));
    azkm_remote_params params = {0};
    azkm_keystore *ks;
    long connect_ms = 0, timeout_ms = 0, refresh_s = -1;
    int ret;
    azkm_rc rc;

    if (text == NULL)
        return cli_failf(AZKM_E_NOMEM, "out of memory");
    if ((ret = split_urls(text, urls, &params.n_urls)) == 0 &&
        (ret = args_long(a, "--connect-timeout-ms", 100, 60000, &connect_ms)) == 0 &&
        (ret = args_long(a, "--timeout-ms", 100, 600000, &timeout_ms)) == 0 &&
        (ret = args_long(a, "--refresh-s", 0, 86400, &refresh_s)) == 0)
        ret = cli_keystore(ctx, &ks);
    if (ret == 0) {
        params.urls = urls;
        params.remote_vault = args_get(a, "--remote-vault");
        params.domain = args_get(a, "--domain");
        params.connect_timeout_ms = connect_ms;
        params.timeout_ms = timeout_ms;
        params.refresh_s = refresh_s < 0 ? 0 : refresh_s == 0 ? AZKM_REMOTE_REFRESH_ALWAYS : refresh_s;
        params.ca_file = args_get(a, "--ca");
        params.client_cert = args_get(a, "--client-cert");
        params.client_key = args_get(a, "--client-key");
        params.client_id = args_get(a, "--client-id");
        params.tenant = args_get(a, "--tenant");
        params.client_secret_file = args_get(a, "--client-secret-file");
        params.client_assertion_cert = args_get(a, "--client-assertion-cert");
        params.client_assertion_key = args_get(a, "--client-assertion-key");
        rc = azkm_vault_connect(ks, args_get(a, "--name"), &params);
        ret = rc == AZKM_OK ? show_vault(ctx, args_get(a, "--name")) : cli_fail(rc);
    }
    free(text);
    return ret;
}

static int vault_show(cli_ctx *ctx, const cli_args *a)
{
    return show_vault(ctx, args_get(a, "--name"));
}

static int vault_list(cli_ctx *ctx, const cli_args *a)
{
    azkm_keystore *ks;
    azkm_vault_info *infos = NULL;
    char **names = NULL, **errors = NULL;
    size_t n = 0;
    int ret;
    azkm_rc rc;

    if ((ret = cli_keystore(ctx, &ks)) != 0)
        return ret;
    if ((rc = azkm_vault_list(ks, &names, &n)) != AZKM_OK)
        return cli_fail(rc);
    if ((ret = args_maxresults(a, &n)) != 0) {
        azkm_free(names);
        return ret;
    }
    if (n > 0 && ((infos = calloc(n, sizeof(*infos))) == NULL || (errors = calloc(n, sizeof(*errors))) == NULL)) {
        ret = cli_failf(AZKM_E_NOMEM, "out of memory");
        goto end;
    }
    /* Listing never prompts: a vault that cannot be opened shows its name and why. */
    ctx->pass.no_prompt = 1;
    for (size_t i = 0; i < n; i++) {
        azkm_vault *v = NULL;

        snprintf(infos[i].name, sizeof(infos[i].name), "%s", names[i]);
        rc = azkm_vault_open(ks, names[i], &v);
        if (rc == AZKM_OK)
            rc = azkm_vault_show(v, &infos[i]);
        azkm_vault_close(v);
        if (rc != AZKM_OK && asprintf(&errors[i], "%s: %s", azkm_rc_name(rc), azkm_last_error()) < 0)
            errors[i] = NULL;
    }
    ctx->pass.no_prompt = 0;
    azkm_clear_error();
    ret = out_vault_list(ctx->json, infos, errors, n);
end:
    for (size_t i = 0; errors != NULL && i < n; i++)
        free(errors[i]);
    free(errors);
    free(infos);
    azkm_free(names);
    return ret;
}

static int vault_update(cli_ctx *ctx, const cli_args *a)
{
    azkm_hsm_binding hsm;
    azkm_vault *v = NULL;
    int enable = -1, bound, ret;
    azkm_rc rc = AZKM_OK;

    if ((ret = args_bool(a, "--enable-purge-protection", &enable)) != 0 ||
        (ret = hsm_binding(a, &hsm, &bound)) != 0)
        return ret;
    if (enable == 0)
        return args_usage("--enable-purge-protection", "purge protection cannot be turned off once enabled");
    if (enable < 0 && !bound)
        return args_usage(NULL, "nothing to update: give --enable-purge-protection or --hsm-module/--hsm-token");
    if ((ret = cli_vault_open(ctx, args_get(a, "--name"), &v)) != 0)
        return ret;
    if (bound)
        rc = azkm_vault_bind_hsm(v, &hsm);
    if (rc == AZKM_OK && enable == 1)
        rc = azkm_vault_enable_purge_protection(v);
    azkm_vault_close(v);
    if (rc != AZKM_OK)
        return cli_fail(rc);
    return show_vault(ctx, args_get(a, "--name"));
}

static int vault_verify(cli_ctx *ctx, const cli_args *a)
{
    azkm_vault *v = NULL;
    size_t checked = 0;
    azkm_rc rc;
    int ret;

    if ((ret = cli_vault_open(ctx, args_get(a, "--name"), &v)) != 0)
        return ret;
    rc = azkm_vault_verify(v, &checked);
    if (rc != AZKM_OK) {
        ret = cli_fail(rc);
    } else if (ctx->json) {
        ret = out_json(json_pack("{s:s, s:b, s:I}", "name", azkm_vault_get_name(v), "ok", 1, "versionsChecked",
                                 (json_int_t)checked));
    } else {
        printf("vault %s: ok (%zu key versions checked)\n", azkm_vault_get_name(v), checked);
    }
    azkm_vault_close(v);
    return ret;
}

static int vault_delete(cli_ctx *ctx, const cli_args *a)
{
    azkm_keystore *ks;
    azkm_rc rc;
    int ret;

    if ((ret = cli_keystore(ctx, &ks)) != 0)
        return ret;
    if ((rc = azkm_vault_delete(ks, args_get(a, "--name"))) != AZKM_OK)
        return cli_fail(rc);
    return 0;
}

#define VAULT_NAME_FLAG                                                                                            \
    {                                                                                                              \
        "--name", ARG_VALUE, "NAME", "Vault name: 3-24 of [0-9a-zA-Z-], starting with a letter.", 1                \
    }

#define HSM_FLAGS                                                                                                  \
    {"--hsm-module", ARG_VALUE, "PATH",                                                                            \
     "PKCS#11 module of the vault's token, e.g. /usr/lib/softhsm/libsofthsm2.so (owned by root or you, "           \
     "writable by nobody else). Default: no token.",                                                               \
     0},                                                                                                           \
        {"--hsm-token", ARG_VALUE, "LABEL|URI", "Token label, or an RFC 7512 pkcs11: URI selecting the token.",    \
         0},                                                                                                       \
    {                                                                                                              \
        "--hsm-pin-source", ARG_VALUE, "SRC",                                                                      \
            "Where the token PIN comes from: file:PATH (a 0600 file), env:NAME, or prompt (the terminal). "        \
            "Default: prompt.",                                                                                    \
            0                                                                                                      \
    }

static const cli_flag create_flags[] = {
    VAULT_NAME_FLAG,
    {"--retention-days", ARG_VALUE, "DAYS", "Soft-delete retention, 7-90 days. Default: 90.", 0},
    {"--enable-purge-protection", ARG_SWITCH, "",
     "Refuse purges until the retention ends (one-way; optional value true|false). Default: false.", 0},
    {"--protector", ARG_VALUE, "platform|passphrase|hsm",
     "What protects the vault's master key: a 0600 key file (platform), a passphrase (scrypt), or an AES key in "
     "the vault's token (hsm; needs --hsm-module and --hsm-token). Default: platform.",
     0},
    HSM_FLAGS,
    {NULL, 0, NULL, NULL, 0},
};

static const cli_flag name_flags[] = {VAULT_NAME_FLAG, {NULL, 0, NULL, NULL, 0}};

static const cli_flag update_flags[] = {
    VAULT_NAME_FLAG,
    {"--enable-purge-protection", ARG_SWITCH, "", "Turn purge protection on (it cannot be turned off).", 0},
    HSM_FLAGS,
    {NULL, 0, NULL, NULL, 0},
};

static const cli_flag connect_flags[] = {
    {"--name", ARG_VALUE, "NAME", "Name of the remote vault in this keystore (azkm://NAME/keys/...).", 1},
    {"--url", ARG_LIST, "URL...",
     "azkmd's address(es), tried in this order: unix:/path/to/azkmd.sock (the caller authenticated by its uid "
     "and groups, or --client-id) or https://host[:port] (by --client-cert or --client-id).",
     1},
    {"--remote-vault", ARG_VALUE, "NAME", "The vault's name on the server. Default: --name.", 0},
    {"--domain", ARG_VALUE, "DNS-NAME",
     "azkmd's domain: vaults are addressed as <vault>.<domain>. Default: vault.azkm.localhost.", 0},
    {"--ca", ARG_VALUE, "FILE",
     "https: CA certificates (PEM) for azkmd's certificate, which must name <vault>.<domain>. Default: the "
     "system's.",
     0},
    {"--client-cert", ARG_VALUE, "FILE", "https: the client certificate (PEM) azkmd knows as a service principal.",
     0},
    {"--client-key", ARG_VALUE, "FILE",
     "https: its private key (PEM), not readable by others; or a key reference file (azkm key ref) to a key of "
     "a local vault, for processes with the azkm provider loaded.",
     0},
    {"--client-id", ARG_VALUE, "APPID",
     "Authenticate as this service principal with a bearer token from azkmd's token endpoint (unix: or https).", 0},
    {"--tenant", ARG_VALUE, "TENANT",
     "azkmd's tenant (its token endpoint is /TENANT/oauth2/v2.0/token). Default: azkm.", 0},
    {"--client-secret-file", ARG_VALUE, "FILE",
     "--client-id's secret: a file only its owner may read (0600), read whenever a token is needed.", 0},
    {"--client-assertion-cert", ARG_VALUE, "FILE",
     "Or a client assertion signed with the key of --client-id's certificate (PEM, RSA).", 0},
    {"--client-assertion-key", ARG_VALUE, "FILE", "That certificate's private key (PEM), not readable by others.",
     0},
    {"--connect-timeout-ms", ARG_VALUE, "MS", "Connect timeout per URL, 100-60000. Default: 2000.", 0},
    {"--timeout-ms", ARG_VALUE, "MS", "Timeout of a whole request, 100-600000. Default: 30000.", 0},
    {"--refresh-s", ARG_VALUE, "SECONDS",
     "A key loaded without a version follows its rotation in azkmd: which version is current is asked at most "
     "this often, 0-86400 (0: before every use). Default: 60.",
     0},
    {NULL, 0, NULL, NULL, 0},
};

static const cli_flag list_flags[] = {FLAG_MAXRESULTS, {NULL, 0, NULL, NULL, 0}};

const cli_command cli_vault_commands[] = {
    {"create", "Create a vault",
     "The master key is generated now. With --protector passphrase it is sealed under a key derived with scrypt\n"
     "from a passphrase read from --passphrase-file, $AZKM_PASSPHRASE_FILE, $AZKM_PASSPHRASE or the terminal.\n"
     "With --hsm-module and --hsm-token the vault is bound to a PKCS#11 token for HSM keys (RSA-HSM, EC-HSM,\n"
     "oct-HSM); with --protector hsm the token also holds the key that wraps the master key.",
     create_flags,
     "  azkm vault create --name prod\n"
     "  azkm vault create --name payments --retention-days 30 --enable-purge-protection\n"
     "  azkm vault create --name offline --protector passphrase --passphrase-file pass.txt\n"
     "  azkm vault create --name hsm1 --protector hsm --hsm-module /usr/lib/softhsm/libsofthsm2.so \\\n"
     "      --hsm-token azkm --hsm-pin-source file:/etc/azkm/azkm.pin\n",
     vault_create},
    {"connect", "Add a remote vault: a vault served by azkmd, used through this keystore",
     "Writes the entry (a 0700 directory with remote.json) without contacting azkmd. Its keys are then used as\n"
     "azkm://NAME/keys/KEY by the provider and by `azkm key show|list|sign|verify|decrypt`, and administered\n"
     "through azkmd by the other `azkm key` commands (azkmd's roles decide who may). `azkm vault delete`\n"
     "removes the entry only. See docs/remote-vaults.md.",
     connect_flags,
     "  azkm vault connect --name web --url unix:/run/azkm/azkmd.sock\n"
     "  azkm vault connect --name web --url unix:/run/azkm/a.sock unix:/run/azkm/b.sock --remote-vault prod\n"
     "  azkm vault connect --name web --url https://kv1.example:8443 --ca ca.pem --client-cert app.pem \\\n"
     "      --client-key app.key\n"
     "  azkm vault connect --name web --url unix:/run/azkm/azkmd.sock --client-id <appId> \\\n"
     "      --client-secret-file /etc/azkm/app.secret\n",
     vault_connect},
    {"list", "List the vaults of the keystore",
     "Passphrase-protected vaults are not unlocked: without a passphrase source they show their name and why.",
     list_flags, "  azkm vault list --output json\n", vault_list},
    {"show", "Show a vault's settings and key counts", NULL, name_flags, "  azkm vault show --name prod\n",
     vault_show},
    {"update", "Enable purge protection, or bind the vault to a PKCS#11 token",
     "The token binding is checked (module, token, PIN) before it is saved. It cannot change once the token\n"
     "holds the master key (--protector hsm).",
     update_flags,
     "  azkm vault update --name prod --enable-purge-protection\n"
     "  azkm vault update --name prod --hsm-module /usr/lib/softhsm/libsofthsm2.so --hsm-token azkm \\\n"
     "      --hsm-pin-source env:AZKM_PIN\n",
     vault_update},
    {"verify", "Check a vault end to end: database, every version's attributes and sealed material",
     "Exits 0 when everything checks out; otherwise the error names the first damaged key and version.", name_flags,
     "  azkm vault verify --name prod\n", vault_verify},
    {"delete", "Delete a vault and all its keys, at once and for good",
     "Refused while the vault holds keys under purge protection.", name_flags, "  azkm vault delete --name test\n",
     vault_delete},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
