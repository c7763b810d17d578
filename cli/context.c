/* The per-run context of the azkm CLI and its ways into the keystore (see context.h). */
#include <string.h>

#include <openssl/crypto.h>

#include "context.h"
#include "report.h"

int cli_keystore(cli_ctx *ctx, azkm_keystore **ks)
{
    azkm_options opt;
    azkm_rc rc;

    if (ctx->ks == NULL) {
        memset(&opt, 0, sizeof(opt));
        opt.keystore_dir = ctx->keystore_dir;
        opt.config_file = ctx->config_file;
        opt.passphrase_cb = cli_passphrase_cb;
        opt.passphrase_arg = &ctx->pass;
        opt.pin_cb = cli_pin_cb;
        opt.pin_arg = &ctx->pass;
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
    azkm_uri *uri = &ctx->target;
    azkm_rc rc;

    *name = args_get(a, "--name");
    if (version != NULL)
        *version = args_get(a, "--version");
    if (id != NULL) {
        if (vault != NULL || *name != NULL || (version != NULL && *version != NULL))
            return args_usage("--id", "cannot be combined with --vault-name, --name or --version");
        if ((rc = azkm_uri_parse(id, uri)) != AZKM_OK)
            return args_usage("--id", "%s", azkm_last_error());
        if (version == NULL && uri->version[0] != '\0')
            return args_usage("--id", "this command acts on all versions: give the key URI without a version");
        vault = uri->vault;
        *name = uri->name;
        if (version != NULL)
            *version = uri->version[0] ? uri->version : NULL;
    } else if (vault == NULL) {
        return args_usage("--vault-name", "required (or --id azkm://VAULT/keys/NAME)");
    } else if (*name == NULL) {
        return args_usage("--name", "required (or --id azkm://VAULT/keys/NAME)");
    }
    return cli_vault_open(ctx, vault, v);
}

int cli_key_load(cli_ctx *ctx, const cli_args *a, azkm_vault **v, azkm_key **k)
{
    const char *name, *version;
    azkm_rc rc;
    int ret;

    if ((ret = cli_key_target(ctx, a, v, &name, &version)) != 0)
        return ret;
    rc = azkm_key_load(*v, name, version, k);
    return rc == AZKM_OK ? 0 : cli_fail(rc);
}

void cli_key_release(azkm_vault *v, azkm_key *k)
{
    azkm_key_free(k);
    azkm_vault_close(v);
}

void cli_ctx_free(cli_ctx *ctx)
{
    azkm_keystore_free(ctx->ks);
    ctx->ks = NULL;
    OPENSSL_cleanse(ctx->pass.typed, sizeof(ctx->pass.typed));
}
