/* The help of the azkm CLI at every level: `azkm --help`, `azkm <group> --help` and `azkm <group> <command>
 * --help`, built from the command tables (see help.h). */
#include <stdio.h>
#include <string.h>

#include "command_table.h"
#include "help.h"

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

void cli_help_command(FILE *f, const char *group, const cli_command *c)
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

/* One line per command of the group: name and summary. */
static void print_commands(FILE *f, const cli_group *g)
{
    const cli_command *cmds[CLI_GROUP_MAX_COMMANDS];
    size_t n = cli_group_commands(g, cmds);

    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-16s %s\n", cmds[i]->name, cmds[i]->summary);
}

void cli_help_group(FILE *f, const char *group)
{
    fprintf(f, "Usage: azkm %s <command> [flags]\n", group);
    for (size_t g = 0; g < cli_n_groups; g++) {
        if (strcmp(cli_groups[g].name, group) != 0)
            continue;
        fprintf(f, "\n%s:\n", cli_groups[g].summary);
        print_commands(f, &cli_groups[g]);
    }
    fprintf(f, "\nRun 'azkm %s <command> --help' for the flags of a command.\n", group);
}

void cli_help_main(FILE *f)
{
    fprintf(f, "Usage: azkm [global flags] <group> <command> [flags]\n"
               "       azkm version\n\n"
               "azkm administers the azkm keystore: vaults holding keys and their versions, protected at rest,\n"
               "used by the azkm OpenSSL provider. Commands and flags follow `az keyvault`.\n");
    for (size_t g = 0; g < cli_n_groups; g++) {
        if (cli_groups[g].name[0] == '\0')
            fprintf(f, "\n%s (azkm <command>):\n", cli_groups[g].summary);
        else
            fprintf(f, "\n%s (azkm %s):\n", cli_groups[g].summary, cli_groups[g].name);
        print_commands(f, &cli_groups[g]);
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
