/* A command of the azkm CLI as the cmd_*.c files declare it: its name, help and flags, and the function that
 * runs it. Each cmd_*.c file exports one table of them, listed here; command_table.c puts them in groups. */
#ifndef AZKM_CLI_COMMAND_H
#define AZKM_CLI_COMMAND_H

#include "args.h"
#include "context.h"

typedef struct cli_command {
    const char *name;      /* "create", or two words: "rotation-policy show" */
    const char *summary;   /* one line */
    const char *details;   /* paragraph for --help, may be NULL */
    const cli_flag *flags; /* terminated by an entry with name NULL */
    const char *examples;  /* lines for --help */
    int (*run)(cli_ctx *ctx, const cli_args *a);
} cli_command;

/* Each table is terminated by an entry with name NULL. */
extern const cli_command cli_vault_commands[];           /* cmd_vault.c */
extern const cli_command cli_key_create_commands[];      /* cmd_key_create.c: create, import, adopt */
extern const cli_command cli_key_lifecycle_commands[];   /* cmd_key_lifecycle.c: show, list, ..., purge */
extern const cli_command cli_key_export_commands[];      /* cmd_key_export.c: backup, restore, ref, download */
extern const cli_command cli_key_sign_commands[];        /* cmd_key_sign.c: sign, verify */
extern const cli_command cli_key_cipher_commands[];      /* cmd_key_cipher.c: encrypt, decrypt, wrap, unwrap */
extern const cli_command cli_rotation_policy_commands[]; /* cmd_rotation.c: "rotation-policy show|set" */
extern const cli_command cli_rotation_commands[];        /* cmd_rotation.c: "rotation run" */
extern const cli_command cli_byok_commands[];            /* cmd_byok.c */
extern const cli_command cli_envelope_commands[];        /* cmd_envelope.c: top level encrypt, decrypt, rewrap */
extern const cli_command cli_key_random_commands[];      /* cmd_key_random.c: random */
extern const cli_command cli_sp_commands[];              /* cmd_sp.c: service principals */
extern const cli_command cli_role_commands[];            /* cmd_role.c: "definition list", "assignment ..." */

#endif
