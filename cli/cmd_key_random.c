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

static int key_random(cli_ctx *ctx, const cli_args *a)
{
    unsigned char buf[RANDOM_MAX];
    long count = 0;
    char *b64 = NULL;
    int ret;

    if ((ret = args_long(a, "--count", 1, RANDOM_MAX, &count)) != 0)
        return ret;
    if (RAND_priv_bytes(buf, (int)count) != 1)
        return cli_failf(AZKM_E_CRYPTO, "the random generator failed");
    b64 = azkm_b64_encode(buf, (size_t)count);
    OPENSSL_cleanse(buf, sizeof(buf));
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
    {NULL, 0, NULL, NULL, 0},
};

const cli_command cli_key_random_commands[] = {
    {"random", "Get random bytes from the CSPRNG, base64 (Azure's POST /rng)",
     "The bytes come from OpenSSL's private DRBG (RAND_priv_bytes), seeded by the operating system; no vault is "
     "involved. JSON output is Azure's shape: {\"value\": \"<base64>\"}.",
     random_flags, "  azkm key random --count 32\n  azkm key random --count 16 --output tsv\n", key_random},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
