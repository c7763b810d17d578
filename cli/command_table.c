/* The command groups and global flags of the azkm CLI (see command_table.h). */
#include <string.h>

#include "command_table.h"

const cli_flag cli_global_flags[] = {
    {"--keystore-dir", ARG_VALUE, "DIR",
     "Keystore directory. Default: $AZKM_KEYSTORE_DIR, then keystore_dir in the config file, then "
     "/var/lib/azkm (root) or $XDG_DATA_HOME/azkm.",
     0},
    {"--config", ARG_VALUE, "FILE",
     "Config file. Default: $AZKM_CONF, then /etc/azkm/azkm.conf (root) or $XDG_CONFIG_HOME/azkm/azkm.conf.", 0},
    {"--output", ARG_VALUE, "FORMAT",
     "Output format (short: -o): table, json, jsonc (coloured on a terminal), tsv (values only) or none. "
     "Default: table.",
     0},
    {"--passphrase-file", ARG_VALUE, "FILE",
     "Passphrase of a passphrase-protected vault (first line of FILE). Default: $AZKM_PASSPHRASE_FILE, then "
     "$AZKM_PASSPHRASE, then a prompt when stdin is a terminal.",
     0},
    {NULL, 0, NULL, NULL, 0},
};

/* Several groups may share a name ("key"): the help shows each under its own heading. */
const cli_group cli_groups[] = {
    {"vault", "Create, inspect and delete vaults", {cli_vault_commands}},
    {"key",
     "Manage keys (control plane)",
     {cli_key_create_commands, cli_key_lifecycle_commands, cli_key_export_commands}},
    {"key", "Use keys (data plane)", {cli_key_sign_commands, cli_key_cipher_commands}},
    {"key", "Rotation policies", {cli_rotation_policy_commands}},
    {"key", "Random bytes", {cli_key_random_commands}},
    {"rotation", "Apply rotation policies", {cli_rotation_commands}},
    {"byok", "Bring your own key", {cli_byok_commands}},
    {"role", "Roles and role assignments (who may use a vault's keys through azkmd)", {cli_role_commands}},
    {"sp", "Service principals (applications that authenticate to azkmd)", {cli_sp_commands}},
    /* the empty group: commands run as `azkm <command>` */
    {"", "Envelope encryption of files and streams", {cli_envelope_commands}},
};
const size_t cli_n_groups = sizeof(cli_groups) / sizeof(cli_groups[0]);

size_t cli_group_commands(const cli_group *g, const cli_command **out)
{
    size_t n = 0;

    for (size_t t = 0; t < CLI_GROUP_MAX_TABLES && g->tables[t] != NULL; t++)
        for (const cli_command *c = g->tables[t]; c->name != NULL && n < CLI_GROUP_MAX_COMMANDS; c++)
            out[n++] = c;
    return n;
}

const cli_command *cli_find_command(const char *group, const char *name)
{
    const cli_command *cmds[CLI_GROUP_MAX_COMMANDS];

    for (size_t g = 0; g < cli_n_groups; g++) {
        size_t n;

        if (strcmp(cli_groups[g].name, group) != 0)
            continue;
        n = cli_group_commands(&cli_groups[g], cmds);
        for (size_t i = 0; i < n; i++)
            if (strcmp(cmds[i]->name, name) == 0)
                return cmds[i];
    }
    return NULL;
}

int cli_is_group(const char *name)
{
    for (size_t g = 0; g < cli_n_groups; g++)
        if (strcmp(cli_groups[g].name, name) == 0)
            return 1;
    return 0;
}
