/* What one run of the azkm CLI knows (the global flags), and how commands reach the keystore through it: the
 * keystore opened on first use, vaults by name, and the key a command names by --id or --vault-name/--name. */
#ifndef AZKM_CLI_CONTEXT_H
#define AZKM_CLI_CONTEXT_H

#include <azkm/keystore.h>

#include "args.h"
#include "passphrase.h"

typedef struct {
    const char *keystore_dir;
    const char *config_file;
    int json;             /* --output json */
    cli_passphrases pass; /* the passphrase and PIN callbacks' sources */
    azkm_uri target;      /* storage for the names parsed from --id */
    azkm_keystore *ks;    /* opened on first use */
} cli_ctx;

/* Each returns 0, or an exit code after printing the error. */
int cli_keystore(cli_ctx *ctx, azkm_keystore **ks);
int cli_vault_open(cli_ctx *ctx, const char *name, azkm_vault **v);
/* The vault and key named by --id URI or --vault-name/--name[/--version]. With version NULL the command acts on
 * all versions and --id must not name one. The names stay valid while ctx does. */
int cli_key_target(cli_ctx *ctx, const cli_args *a, azkm_vault **v, const char **name, const char **version);
/* Loads the target key; the vault stays open until cli_key_release, since a loaded key may use its tiers. */
int cli_key_load(cli_ctx *ctx, const cli_args *a, azkm_vault **v, azkm_key **k);
void cli_key_release(azkm_vault *v, azkm_key *k);

/* Closes the keystore and clears the passphrase typed during the run. */
void cli_ctx_free(cli_ctx *ctx);

#endif
