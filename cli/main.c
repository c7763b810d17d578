/* The azkm admin CLI: global flags, dispatch to `azkm <group> <command>`, help at every level, and the one
 * place that turns an error class into a message on stderr and an exit code. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "cli.h"
#include "output.h"

const cli_flag cli_global_flags[] = {
    {"--keystore-dir", ARG_VALUE, "DIR",
     "Keystore directory. Default: $AZKM_KEYSTORE_DIR, then keystore_dir in the config file, then "
     "/var/lib/azkm (root) or $XDG_DATA_HOME/azkm.",
     0},
    {"--config", ARG_VALUE, "FILE",
     "Config file. Default: $AZKM_CONF, then /etc/azkm/azkm.conf (root) or $XDG_CONFIG_HOME/azkm/azkm.conf.", 0},
    {"--output", ARG_VALUE, "table|json", "Output format (short: -o). Default: table.", 0},
    {"--passphrase-file", ARG_VALUE, "FILE",
     "Passphrase of a passphrase-protected vault (first line of FILE). Default: $AZKM_PASSPHRASE_FILE, then "
     "$AZKM_PASSPHRASE, then a prompt when stdin is a terminal.",
     0},
    {NULL, 0, NULL, NULL, 0},
};

static const cli_group groups[] = {
    {"vault", "Create, inspect and delete vaults", cli_vault_commands},
    {"key", "Manage keys (control plane)", cli_key_admin_commands},
    {"key", "Use keys (data plane)", cli_key_crypto_commands},
    {"key", "Rotation policies", cli_rotation_policy_commands},
    {"rotation", "Apply rotation policies", cli_rotation_commands},
    {"byok", "Bring your own key", cli_byok_commands},
    /* the empty group: commands run as `azkm <command>` */
    {"", "Envelope encryption of files and streams", cli_envelope_commands},
};
#define N_GROUPS (sizeof(groups) / sizeof(groups[0]))

static azkm_uri target_uri; /* storage for names parsed from --id */

int cli_exit_code(azkm_rc rc)
{
    switch (rc) {
    case AZKM_OK:
        return CLI_EXIT_OK;
    case AZKM_E_INVALID:
        return CLI_EXIT_USAGE;
    case AZKM_E_NOT_FOUND:
        return CLI_EXIT_NOT_FOUND;
    case AZKM_E_FORBIDDEN:
        return CLI_EXIT_FORBIDDEN;
    case AZKM_E_CONFLICT:
        return CLI_EXIT_CONFLICT;
    case AZKM_E_INTEGRITY:
        return CLI_EXIT_INTEGRITY;
    case AZKM_E_AUTH:
        return CLI_EXIT_AUTH;
    case AZKM_E_PERMISSION:
        return CLI_EXIT_PERMISSION;
    default:
        return CLI_EXIT_FAILURE;
    }
}

int cli_failf(azkm_rc rc, const char *fmt, ...)
{
    va_list ap;
    char msg[1024];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Through the keystore's error buffer, which escapes control characters quoted from the user's input. */
    azkm_set_error(rc, "%s", msg);
    fprintf(stderr, "azkm: error: %s: %s\n", azkm_rc_name(rc), azkm_last_error());
    return cli_exit_code(rc);
}

int cli_fail(azkm_rc rc)
{
    const char *msg = azkm_last_error();
    const char *why = cli_passphrase_error();

    if (msg == NULL || msg[0] == '\0')
        msg = "operation failed";
    /* The passphrase callback cannot report; its reason belongs to the Unauthorized error it leads to. */
    if (rc == AZKM_E_AUTH && why[0] != '\0')
        return cli_failf(rc, "%s (%s)", msg, why);
    return cli_failf(rc, "%s", msg);
}

int cli_keystore(cli_ctx *ctx, azkm_keystore **ks)
{
    azkm_options opt;
    azkm_rc rc;

    if (ctx->ks == NULL) {
        memset(&opt, 0, sizeof(opt));
        opt.keystore_dir = ctx->keystore_dir;
        opt.config_file = ctx->config_file;
        opt.passphrase_cb = cli_passphrase_cb;
        opt.passphrase_arg = ctx;
        opt.pin_cb = cli_pin_cb;
        opt.pin_arg = ctx;
        if ((rc = azkm_keystore_open(&opt, &ctx->ks)) != AZKM_OK)
            return cli_fail(rc);
    }
    *ks = ctx->ks;
    return 0;
}

int cli_vault_open(cli_ctx *ctx, const char *name, azkm_vault **v)
{
    azkm_keystore *ks = NULL;
    azkm_rc rc;
    int ret;

    if ((ret = cli_keystore(ctx, &ks)) != 0)
        return ret;
    if ((rc = azkm_vault_open(ks, name, v)) != AZKM_OK)
        return cli_fail(rc);
    return 0;
}

int cli_key_target(cli_ctx *ctx, const cli_args *a, azkm_vault **v, const char **name, const char **version)
{
    const char *id = args_get(a, "--id");
    const char *vault = args_get(a, "--vault-name");
    azkm_rc rc;

    *name = args_get(a, "--name");
    if (version != NULL)
        *version = args_get(a, "--version");
    if (id != NULL) {
        if (vault != NULL || *name != NULL || (version != NULL && *version != NULL))
            return args_usage("--id", "cannot be combined with --vault-name, --name or --version");
        if ((rc = azkm_uri_parse(id, &target_uri)) != AZKM_OK)
            return args_usage("--id", "%s", azkm_last_error());
        if (version == NULL && target_uri.version[0] != '\0')
            return args_usage("--id", "this command acts on all versions: give the key URI without a version");
        vault = target_uri.vault;
        *name = target_uri.name;
        if (version != NULL)
            *version = target_uri.version[0] ? target_uri.version : NULL;
    } else if (vault == NULL) {
        return args_usage("--vault-name", "required (or --id azkm://VAULT/keys/NAME)");
    } else if (*name == NULL) {
        return args_usage("--name", "required (or --id azkm://VAULT/keys/NAME)");
    }
    return cli_vault_open(ctx, vault, v);
}

/* ---- Help ------------------------------------------------------------------------------------------------ */

#define HELP_WIDTH 100
#define HELP_INDENT 33

/* Prints text word-wrapped to HELP_WIDTH, continuation lines indented to the help column. */
static void print_wrapped(FILE *f, const char *text)
{
    int col = HELP_INDENT;

    while (*text != '\0') {
        size_t word = strcspn(text, " ");

        if (col > HELP_INDENT && col + 1 + (int)word > HELP_WIDTH) {
            fprintf(f, "\n%*s", HELP_INDENT, "");
            col = HELP_INDENT;
        } else if (col > HELP_INDENT) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", (int)word, text);
        col += (int)word;
        text += word;
        while (*text == ' ')
            text++;
    }
    fputc('\n', f);
}

static void print_flags(FILE *f, const cli_flag *flags)
{
    for (; flags->name != NULL; flags++) {
        char head[64], help[512];

        if (flags->kind == ARG_SWITCH)
            snprintf(head, sizeof(head), "%s", flags->name);
        else
            snprintf(head, sizeof(head), "%s %s", flags->name, flags->metavar);
        snprintf(help, sizeof(help), "%s%s", flags->help, flags->required ? " (required)" : "");
        fprintf(f, "  %-*s", HELP_INDENT - 2, head);
        if (strlen(head) > HELP_INDENT - 3)
            fprintf(f, "\n%*s", HELP_INDENT, "");
        print_wrapped(f, help);
    }
    fprintf(f, "  %-*s%s\n", HELP_INDENT - 2, "-h, --help", "Show this help.");
}

static void print_command_help(FILE *f, const char *group, const cli_command *c)
{
    fprintf(f, "Usage: azkm %s%s%s", group, *group ? " " : "", c->name);
    for (const cli_flag *fl = c->flags; fl->name != NULL; fl++)
        if (fl->required)
            fprintf(f, " %s %s", fl->name, fl->metavar);
    fprintf(f, " [flags]\n\n%s.\n", c->summary);
    if (c->details != NULL)
        fprintf(f, "\n%s\n", c->details);
    fprintf(f, "\nFlags:\n");
    print_flags(f, c->flags);
    fprintf(f, "\nGlobal flags:\n");
    print_flags(f, cli_global_flags);
    if (c->examples != NULL)
        fprintf(f, "\nExamples:\n%s", c->examples);
    fprintf(f, "\nExit codes: 0 ok, 1 failure, 2 bad parameter, 3 not found, 4 forbidden, 5 conflict,\n"
               "6 integrity check failed, 7 wrong passphrase, 8 permission denied (see azkm --help).\n");
}

static void print_group_help(FILE *f, const char *group)
{
    fprintf(f, "Usage: azkm %s <command> [flags]\n", group);
    for (size_t g = 0; g < N_GROUPS; g++) {
        if (strcmp(groups[g].name, group) != 0)
            continue;
        fprintf(f, "\n%s:\n", groups[g].summary);
        for (const cli_command *c = groups[g].commands; c->name != NULL; c++)
            fprintf(f, "  %-16s %s\n", c->name, c->summary);
    }
    fprintf(f, "\nRun 'azkm %s <command> --help' for the flags of a command.\n", group);
}

static void print_main_help(FILE *f)
{
    fprintf(f, "Usage: azkm [global flags] <group> <command> [flags]\n"
               "       azkm version\n\n"
               "azkm administers the azkm keystore: vaults holding keys and their versions, protected at rest,\n"
               "used by the azkm OpenSSL provider. Commands and flags follow `az keyvault`.\n");
    for (size_t g = 0; g < N_GROUPS; g++) {
        if (groups[g].name[0] == '\0')
            fprintf(f, "\n%s (azkm <command>):\n", groups[g].summary);
        else
            fprintf(f, "\n%s (azkm %s):\n", groups[g].summary, groups[g].name);
        for (const cli_command *c = groups[g].commands; c->name != NULL; c++)
            fprintf(f, "  %-16s %s\n", c->name, c->summary);
    }
    fprintf(f, "\nOther commands:\n  %-16s %s\n", "version", "Print the azkm and OpenSSL versions");
    fprintf(f, "\nGlobal flags (accepted before the group or after the command):\n");
    print_flags(f, cli_global_flags);
    fprintf(
        f,
        "\nCommon key flags: --vault-name NAME, --name NAME (1-127 of [0-9a-zA-Z-]), --version VERSION (32 hex;\n"
        "default: the current version), or --id azkm://VAULT/keys/NAME[/VERSION] instead of the three.\n"
        "Times (--expires, --not-before): ISO-8601 UTC like 2027-01-01T00:00:00Z, or epoch seconds.\n"
        "\nEnvironment:\n"
        "  AZKM_KEYSTORE_DIR      keystore directory (when --keystore-dir is not given)\n"
        "  AZKM_CONF              config file (when --config is not given)\n"
        "  AZKM_PASSPHRASE_FILE   file holding the vault passphrase\n"
        "  AZKM_PASSPHRASE        the vault passphrase itself (prefer a file)\n"
        "\nExit codes:\n"
        "  0 ok   1 failure (I/O, corrupt data, unsupported, crypto, invalid signature)   2 bad parameter\n"
        "  3 not found   4 forbidden   5 conflict   6 integrity check failed   7 wrong passphrase\n"
        "  8 permission denied\n"
        "Errors are printed once to stderr as 'azkm: error: <Class>: <message>'.\n"
        "\nExamples:\n"
        "  azkm vault create --name prod\n"
        "  azkm key create --vault-name prod --name web-tls --kty EC --curve P-256\n"
        "  azkm key show --vault-name prod --name web-tls --output json\n"
        "  azkm key download --vault-name prod --name web-tls --file web-tls.pub.pem\n"
        "  azkm key sign --vault-name prod --name web-tls --algorithm ES256 --data-file msg.txt \\\n"
        "      --signature-file msg.sig\n"
        "\nRun 'azkm <group> --help' or 'azkm <group> <command> --help' for more. Full reference: "
        "docs/cli.md.\n");
}

/* ---- Dispatch -------------------------------------------------------------------------------------------- */

static const cli_command *find_command(const char *group, const char *name)
{
    for (size_t g = 0; g < N_GROUPS; g++) {
        if (strcmp(groups[g].name, group) != 0)
            continue;
        for (const cli_command *c = groups[g].commands; c->name != NULL; c++)
            if (strcmp(c->name, name) == 0)
                return c;
    }
    return NULL;
}

static int is_group(const char *name)
{
    for (size_t g = 0; g < N_GROUPS; g++)
        if (strcmp(groups[g].name, name) == 0)
            return 1;
    return 0;
}

/* Global flags that take a value, to find where the group starts. */
static int global_takes_value(const char *arg)
{
    if (strcmp(arg, "-o") == 0)
        return 1;
    for (const cli_flag *f = cli_global_flags; f->name != NULL; f++)
        if (strcmp(f->name, arg) == 0)
            return f->kind != ARG_SWITCH;
    return 0;
}

static int set_globals(cli_ctx *ctx, const cli_args *a)
{
    const char *out = args_get(a, "--output");

    ctx->keystore_dir = args_get(a, "--keystore-dir");
    ctx->config_file = args_get(a, "--config");
    ctx->passphrase_file = args_get(a, "--passphrase-file");
    if (out != NULL && strcmp(out, "json") != 0 && strcmp(out, "table") != 0)
        return args_usage("--output", "must be table or json (got '%s')", out);
    ctx->json = out != NULL && strcmp(out, "json") == 0;
    return 0;
}

static int run_version(cli_ctx *ctx)
{
    if (ctx->json) {
        json_t *doc = json_pack("{s:s, s:s}", "azkm", AZKM_VERSION_STRING, "openssl",
                                OpenSSL_version(OPENSSL_VERSION_STRING));
        return out_json(doc);
    }
    printf("azkm %s (OpenSSL %s)\n", AZKM_VERSION_STRING, OpenSSL_version(OPENSSL_VERSION_STRING));
    return 0;
}

static int dispatch(cli_ctx *ctx, int argc, char **argv)
{
    int i = 1, npre, ret, nargs = 0;
    const char *group = NULL, *name = NULL;
    const cli_command *cmd = NULL;
    char **rest;
    cli_args a;

    while (i < argc && argv[i][0] == '-')
        i += global_takes_value(argv[i]) && strchr(argv[i], '=') == NULL ? 2 : 1;
    npre = i > argc ? argc - 1 : i - 1;
    if (i < argc)
        group = argv[i++];
    if (group != NULL && (cmd = find_command("", group)) != NULL) {
        /* a command without a group: azkm encrypt */
        name = group;
        group = "";
    } else if (group != NULL && strcmp(group, "version") != 0 && strcmp(group, "help") != 0) {
        if (!is_group(group) || *group == '\0')
            return args_usage(NULL,
                              "unknown command group '%s' (groups: vault, key, rotation, byok; commands: encrypt, "
                              "decrypt, rewrap; see azkm --help)",
                              group);
        if (i < argc && argv[i][0] != '-')
            name = argv[i++];
        if (name != NULL && (cmd = find_command(group, name)) == NULL && i < argc && argv[i][0] != '-') {
            /* two-word commands: azkm key rotation-policy show */
            char joined[128];

            snprintf(joined, sizeof(joined), "%s %s", name, argv[i]);
            if ((cmd = find_command(group, joined)) != NULL)
                i++;
        }
        if (name != NULL && cmd == NULL)
            return args_usage(NULL, "unknown command 'azkm %s %s' (see azkm %s --help)", group, name, group);
    }

    /* One flag list: the global flags given before the group, then everything after the command. */
    if ((rest = calloc((size_t)argc + 1, sizeof(*rest))) == NULL)
        return cli_failf(AZKM_E_NOMEM, "out of memory");
    for (int k = 1; k <= npre; k++)
        rest[nargs++] = argv[k];
    for (int k = i; k < argc; k++)
        rest[nargs++] = argv[k];
    ret = args_parse(&a, cmd ? cmd->flags : NULL, cli_global_flags, nargs, rest);
    if (ret == 0)
        ret = set_globals(ctx, &a);
    if (ret != 0)
        goto end;

    if (group == NULL || strcmp(group, "help") == 0) {
        print_main_help(a.help || group != NULL ? stdout : stderr);
        if (!a.help && group == NULL)
            ret = args_usage(NULL, "missing command group (see above)");
    } else if (strcmp(group, "version") == 0) {
        ret = run_version(ctx);
    } else if (cmd == NULL) {
        print_group_help(a.help ? stdout : stderr, group);
        if (!a.help)
            ret = args_usage(NULL, "missing command after 'azkm %s'", group);
    } else if (a.help) {
        print_command_help(stdout, group, cmd);
    } else {
        ret = cmd->run(ctx, &a);
    }
end:
    args_free(&a);
    free(rest);
    return ret;
}

int main(int argc, char **argv)
{
    cli_ctx ctx;
    int ret;

    /* The CLI holds passphrases, PINs and decrypted keys: no core dump of it, and no ptrace or /proc/PID/mem
     * reading by other processes of the same user. Done before anything secret is read. */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    memset(&ctx, 0, sizeof(ctx));
    ret = dispatch(&ctx, argc, argv);
    azkm_keystore_free(ctx.ks);
    OPENSSL_cleanse(ctx.typed_pass, sizeof(ctx.typed_pass));
    return ret;
}
