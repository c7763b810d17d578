/* Internal interface of the azkm admin CLI: the command table, the per-run context and the helpers that the
 * cmd_*.c files share. The CLI is a thin shell over <azkm/keystore.h>; it prints, the library never does. */
#ifndef AZKM_CLI_H
#define AZKM_CLI_H

#include <stddef.h>

#include <azkm/keystore.h>

#include "args.h"

/* Exit codes, one per error class (docs/cli.md). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1, /* I/O, corrupt data, unsupported, crypto, invalid signature */
    CLI_EXIT_USAGE = 2,   /* bad flag or value (BadParameter) */
    CLI_EXIT_NOT_FOUND = 3,
    CLI_EXIT_FORBIDDEN = 4,
    CLI_EXIT_CONFLICT = 5,
    CLI_EXIT_INTEGRITY = 6,
    CLI_EXIT_AUTH = 7,
    CLI_EXIT_PERMISSION = 8,
};

/* What one run of the CLI knows: global flags and the keystore, opened on first use. */
typedef struct {
    const char *keystore_dir;
    const char *config_file;
    const char *passphrase_file;
    int json;
    int no_prompt;         /* set by commands that must not ask (vault list) */
    char typed_pass[1024]; /* a passphrase typed at the prompt, reused within this run; zeroed at exit */
    azkm_keystore *ks;
} cli_ctx;

typedef struct cli_command {
    const char *name;      /* "create" */
    const char *summary;   /* one line */
    const char *details;   /* paragraph for --help, may be NULL */
    const cli_flag *flags; /* terminated by an entry with name NULL */
    const char *examples;  /* lines for --help */
    int (*run)(cli_ctx *ctx, const cli_args *a);
} cli_command;

typedef struct {
    const char *name;
    const char *summary;
    const cli_command *commands; /* terminated by an entry with name NULL */
} cli_group;

extern const cli_command cli_vault_commands[];
extern const cli_command cli_key_admin_commands[];
extern const cli_command cli_key_crypto_commands[];
extern const cli_command cli_rotation_policy_commands[]; /* "rotation-policy show", "rotation-policy set" */
extern const cli_command cli_byok_commands[];
extern const cli_command cli_rotation_commands[];
extern const cli_command cli_envelope_commands[]; /* top level: azkm encrypt, decrypt, rewrap */
extern const cli_flag cli_global_flags[];

/* Errors: each prints one line "azkm: error: <Class>: <message>" to stderr and returns the exit code. */
int cli_fail(azkm_rc rc);
int cli_failf(azkm_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_exit_code(azkm_rc rc);

/* Keystore access; return an exit code (0 on success) and print the error. */
int cli_keystore(cli_ctx *ctx, azkm_keystore **ks);
int cli_vault_open(cli_ctx *ctx, const char *name, azkm_vault **v);
/* The vault and key named by --id URI or --vault-name/--name[/--version]. version may be NULL. */
int cli_key_target(cli_ctx *ctx, const cli_args *a, azkm_vault **v, const char **name, const char **version);

/* Passphrases (passphrase.c). */
int cli_passphrase_cb(char *buf, size_t len, const char *purpose, void *arg);
/* Token PINs for vaults whose PIN source is "prompt" ("PIN for token <label>"). */
int cli_pin_cb(char *buf, size_t len, const char *purpose, void *arg);
/* Reads the first line of a file into buf; returns 0 or an exit code after printing the error. */
int cli_passphrase_from_file(const char *path, const char *flag, char *buf, size_t len);
/* Why the last passphrase callback gave up ("" if it did not): cli_fail adds it to the library's message. */
const char *cli_passphrase_error(void);
/* Prompts on the terminal with echo off; returns 1 on success, 0 if there is no terminal or on EOF. */
int cli_passphrase_prompt(const char *prompt, char *buf, size_t len);

/* Files (fileio.c). cli_slurp reads a whole file quietly and returns 0 or an errno value. Buffers read are
 * OPENSSL_malloc'd: release them with OPENSSL_clear_free (they may hold key material). */
int cli_slurp(const char *path, unsigned char **buf, size_t *len);
/* Read: the whole file; flag names the option in errors. Write: mode applies on creation. */
int cli_read_file(const char *path, const char *flag, unsigned char **buf, size_t *len);
int cli_write_file(const char *path, const char *flag, const unsigned char *buf, size_t len, int mode);

#endif
