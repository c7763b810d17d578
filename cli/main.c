/* The azkm admin CLI: finds the command in `azkm [global flags] <group> <command> [flags]`, parses its flags
 * with the global ones, and runs it, or prints the help asked for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "command_table.h"
#include "context.h"
#include "help.h"
#include "output.h"
#include "output_format.h"
#include "report.h"
#include "suggest.h"

/* Where the words of the command line go. */
typedef struct {
    const char *group;      /* NULL when none is given; "" for a command without a group (azkm encrypt) */
    const cli_command *cmd; /* NULL when none is given */
    int npre;               /* argv[1..npre]: global flags before the group */
    int next;               /* argv[next..]: the command's flags */
} command_line;

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

/* The closest group or top-level command to a mistyped group (plus "version" and "help"). */
static const char *suggest_group(const char *word)
{
    static const char *const extra[] = {"version", "help"};
    const cli_command *cmds[CLI_GROUP_MAX_COMMANDS];
    const char *best = NULL;
    int dist = 100;

    for (size_t g = 0; g < cli_n_groups; g++) {
        if (*cli_groups[g].name != '\0') {
            cli_suggest_consider(word, cli_groups[g].name, &best, &dist);
            continue;
        }
        for (size_t c = 0, n = cli_group_commands(&cli_groups[g], cmds); c < n; c++)
            cli_suggest_consider(word, cmds[c]->name, &best, &dist);
    }
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        cli_suggest_consider(word, extra[i], &best, &dist);
    return best;
}

/* The closest command of a group (any group of that name) to a mistyped command name. */
static const char *suggest_command(const char *group, const char *word)
{
    const cli_command *cmds[CLI_GROUP_MAX_COMMANDS];
    const char *best = NULL;
    int dist = 100;

    for (size_t g = 0; g < cli_n_groups; g++) {
        if (strcmp(cli_groups[g].name, group) != 0)
            continue;
        for (size_t c = 0, n = cli_group_commands(&cli_groups[g], cmds); c < n; c++)
            cli_suggest_consider(word, cmds[c]->name, &best, &dist);
    }
    return best;
}

/* The command after the group, one word or two (azkm key rotation-policy show). */
static int find_group_command(int argc, char **argv, command_line *cl)
{
    const char *group = cl->group, *name = NULL;

    char hint[96];

    if (!cli_is_group(group) || *group == '\0')
        return args_usage(NULL,
                          "unknown command group '%s' (%sgroups: vault, key, rotation, byok; commands: encrypt, "
                          "decrypt, rewrap; see azkm --help)",
                          group, cli_suggest_text(suggest_group(group), hint, sizeof(hint)));
    if (cl->next < argc && argv[cl->next][0] != '-')
        name = argv[cl->next++];
    if (name != NULL && (cl->cmd = cli_find_command(group, name)) == NULL && cl->next < argc &&
        argv[cl->next][0] != '-') {
        char joined[128];

        snprintf(joined, sizeof(joined), "%s %s", name, argv[cl->next]);
        if ((cl->cmd = cli_find_command(group, joined)) != NULL)
            cl->next++;
    }
    if (name != NULL && cl->cmd == NULL)
        return args_usage(NULL, "unknown command 'azkm %s %s' (%ssee azkm %s --help)", group, name,
                          cli_suggest_text(suggest_command(group, name), hint, sizeof(hint)), group);
    return 0;
}

static int find_command(int argc, char **argv, command_line *cl)
{
    int i = 1;

    memset(cl, 0, sizeof(*cl));
    while (i < argc && argv[i][0] == '-')
        i += global_takes_value(argv[i]) && strchr(argv[i], '=') == NULL ? 2 : 1;
    cl->npre = i > argc ? argc - 1 : i - 1;
    if (i < argc)
        cl->group = argv[i++];
    cl->next = i;
    if (cl->group != NULL && (cl->cmd = cli_find_command("", cl->group)) != NULL) {
        cl->group = "";
        return 0;
    }
    if (cl->group != NULL && strcmp(cl->group, "version") != 0 && strcmp(cl->group, "help") != 0)
        return find_group_command(argc, argv, cl);
    return 0;
}

static int set_globals(cli_ctx *ctx, const cli_args *a)
{
    const char *out = args_get(a, "--output");

    ctx->keystore_dir = args_get(a, "--keystore-dir");
    ctx->config_file = args_get(a, "--config");
    ctx->pass.file = args_get(a, "--passphrase-file");
    out_format fmt = OUT_TABLE;

    if (out != NULL && out_format_parse(out, &fmt) != 0)
        return args_usage("--output", "must be json, jsonc, table, tsv or none (got '%s')", out);
    out_format_set(fmt);
    /* Every format but table renders the commands' json documents (output_format.c). */
    ctx->json = fmt != OUT_TABLE;
    return 0;
}

static int run_version(const cli_ctx *ctx)
{
    if (ctx->json) {
        json_t *doc = json_pack("{s:s, s:s}", "azkm", AZKM_VERSION_STRING, "openssl",
                                OpenSSL_version(OPENSSL_VERSION_STRING));
        return out_json(doc);
    }
    printf("azkm %s (OpenSSL %s)\n", AZKM_VERSION_STRING, OpenSSL_version(OPENSSL_VERSION_STRING));
    return 0;
}

/* Runs the command, or prints the help asked for (or, on stderr, the help of what is missing). */
static int run(cli_ctx *ctx, const command_line *cl, const cli_args *a)
{
    int ret = 0;

    if (cl->group == NULL || strcmp(cl->group, "help") == 0) {
        cli_help_main(a->help || cl->group != NULL ? stdout : stderr);
        if (!a->help && cl->group == NULL)
            ret = args_usage(NULL, "missing command group (see above)");
    } else if (strcmp(cl->group, "version") == 0) {
        ret = run_version(ctx);
    } else if (cl->cmd == NULL) {
        cli_help_group(a->help ? stdout : stderr, cl->group);
        if (!a->help)
            ret = args_usage(NULL, "missing command after 'azkm %s'", cl->group);
    } else if (a->help) {
        cli_help_command(stdout, cl->group, cl->cmd);
    } else {
        ret = cl->cmd->run(ctx, a);
    }
    return ret;
}

static int dispatch(cli_ctx *ctx, int argc, char **argv)
{
    command_line cl;
    char **rest;
    int ret, nargs = 0;
    cli_args a;

    if ((ret = find_command(argc, argv, &cl)) != 0)
        return ret;
    /* One flag list: the global flags given before the group, then everything after the command. */
    if ((rest = calloc((size_t)argc + 1, sizeof(*rest))) == NULL)
        return cli_failf(AZKM_E_NOMEM, "out of memory");
    for (int k = 1; k <= cl.npre; k++)
        rest[nargs++] = argv[k];
    for (int k = cl.next; k < argc; k++)
        rest[nargs++] = argv[k];
    ret = args_parse(&a, cl.cmd ? cl.cmd->flags : NULL, cli_global_flags, nargs, rest);
    if (ret == 0)
        ret = set_globals(ctx, &a);
    if (ret == 0)
        ret = run(ctx, &cl, &a);
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
    cli_ctx_free(&ctx);
    return ret;
}
