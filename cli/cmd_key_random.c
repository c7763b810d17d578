/* `azkm key random`: random bytes, as Azure's `az keyvault key random` (POST /rng): 1 to 128 bytes, base64. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <azkm/base64.h>
#include <azkm/keystore.h>

#include "command.h"
#include "output.h"
#include "report.h"

#define RANDOM_MAX 128

/* count bytes from the vault's generator (azkmd's for a remote vault) when --vault-name is given, else here. */
static int random_into(cli_ctx *ctx, const cli_args *a, unsigned char *buf, long count)
{
    const char *vault = args_get(a, "--vault-name");
    azkm_vault *v = NULL;
    azkm_rc rc;
    int ret;

    if (vault == NULL)
        return RAND_priv_bytes(buf, (int)count) == 1 ? 0 : cli_failf(AZKM_E_CRYPTO, "the random generator failed");
    if ((ret = cli_vault_open(ctx, vault, &v)) != 0)
        return ret;
    rc = azkm_key_random(v, buf, (size_t)count);
    azkm_vault_close(v);
    return rc == AZKM_OK ? 0 : cli_fail(rc);
}

static int key_random(cli_ctx *ctx, const cli_args *a)
{
    unsigned char buf[RANDOM_MAX];
    long count = 0;
    char *b64 = NULL;
    int ret;

    if ((ret = args_long(a, "--count", 1, RANDOM_MAX, &count)) != 0)
        return ret;
    ret = random_into(ctx, a, buf, count);
    b64 = ret == 0 ? azkm_b64_encode(buf, (size_t)count) : NULL;
    OPENSSL_cleanse(buf, sizeof(buf));
    if (ret != 0)
        return ret;
    if (b64 == NULL)
        return cli_failf(AZKM_E_NOMEM, "out of memory");
    if (ctx->json)
        ret = out_json(json_pack("{s:s}", "value", b64));
    else
        out_row("Value", "%s", b64);
    OPENSSL_cleanse(b64, strlen(b64));
    azkm_free(b64);
    return ret;
}

static const cli_flag random_flags[] = {
    {"--count", ARG_VALUE, "N", "How many random bytes: 1 to 128 (Azure's limit).", 1},
    {"--vault-name", ARG_VALUE, "VAULT",
     "Take them from this vault's generator: azkmd's (POST /rng) for a remote vault. Default: this process's.", 0},
    {NULL, 0, NULL, NULL, 0},
};

const cli_command cli_key_random_commands[] = {
    {"random", "Get random bytes from the CSPRNG, base64 (Azure's POST /rng)",
     "The bytes come from OpenSSL's private DRBG (RAND_priv_bytes), seeded by the operating system; with "
     "--vault-name, from that vault's: azkmd's (POST /rng, Managed HSM's rng/action) for a remote vault. JSON "
     "output is Azure's shape: {\"value\": \"<base64>\"}.",
     random_flags,
     "  azkm key random --count 32\n  azkm key random --count 16 --output tsv\n"
     "  azkm key random --count 32 --vault-name web\n",
     key_random},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
