/* Rotation policies: `azkm key rotation-policy show|set` (Azure's policy JSON) and `azkm rotation run`, which
 * applies every policy of one vault or of all vaults and reports what it did (for cron or
 * conf/azkm-rotation.timer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "command.h"
#include "fileio.h"
#include "key_flags.h"
#include "output.h"
#include "report.h"

static int policy_show(cli_ctx *ctx, const cli_args *a)
{
    const char *name;
    azkm_vault *v = NULL;
    char *policy = NULL;
    azkm_rc rc;
    int ret;

    if ((ret = cli_key_target(ctx, a, &v, &name, NULL)) != 0)
        return ret;
    rc = azkm_rotation_policy_get(v, name, &policy);
    if (rc != AZKM_OK) {
        ret = cli_fail(rc);
    } else {
        /* no policy reads as an empty one, as in Key Vault */
        json_t *doc = json_loads(policy ? policy : "{\"lifetimeActions\":[],\"attributes\":{}}", 0, NULL);

        ret = doc ? out_json(doc) : cli_failf(AZKM_E_CORRUPT, "the stored rotation policy is not JSON");
    }
    azkm_free(policy);
    azkm_vault_close(v);
    return ret;
}

static int policy_set(cli_ctx *ctx, const cli_args *a)
{
    const char *name, *value = args_get(a, "--value");
    unsigned char *buf = NULL;
    size_t len = 0;
    azkm_vault *v = NULL;
    char *stored = NULL, *text = NULL;
    int clear = 0, ret;
    azkm_rc rc;

    if ((ret = args_bool(a, "--clear", &clear)) != 0)
        return ret;
    if ((value == NULL) == !clear)
        return args_usage("--value", "give the policy (JSON, or @FILE) or --clear");
    if (value != NULL && value[0] == '@') {
        if ((ret = cli_read_file(value + 1, "--value", &buf, &len)) != 0)
            return ret;
        if ((text = OPENSSL_strndup((const char *)buf, len)) == NULL)
            ret = cli_failf(AZKM_E_NOMEM, "out of memory");
        OPENSSL_free(buf);
        if (ret != 0)
            return ret;
        value = text;
    }
    if ((ret = cli_key_target(ctx, a, &v, &name, NULL)) == 0) {
        rc = azkm_rotation_policy_set(v, name, clear ? NULL : value, &stored);
        if (rc != AZKM_OK)
            ret = cli_fail(rc);
        else
            ret = out_json(json_loads(stored ? stored : "{\"lifetimeActions\":[],\"attributes\":{}}", 0, NULL));
    }
    azkm_free(stored);
    OPENSSL_free(text);
    azkm_vault_close(v);
    return ret;
}

static const char *action_name(azkm_rotation_action a)
{
    return a == AZKM_ROTATION_ROTATED ? "rotated" : a == AZKM_ROTATION_NOTIFIED ? "notified" : "failed";
}

/* One event: a JSON object appended to all with --output json, a line of text otherwise. */
static void print_event(const char *vault, const azkm_rotation_event *ev, json_t *all)
{
    char when[32];

    if (all != NULL) {
        json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "vault", vault, "key", ev->name, "action",
                              action_name(ev->action), "message", ev->message);

        if (ev->version[0])
            json_object_set_new(e, "version", json_string(ev->version));
        if (ev->new_version[0])
            json_object_set_new(e, "newVersion", json_string(ev->new_version));
        if (ev->expires)
            json_object_set_new(e, "expires", json_integer((json_int_t)ev->expires));
        json_array_append_new(all, e);
    } else if (ev->action == AZKM_ROTATION_ROTATED) {
        printf("%s/%s: rotated %s -> %s (%s)%s%s\n", vault, ev->name, ev->version, ev->new_version, ev->message,
               ev->expires ? ", new version expires " : "",
               ev->expires ? out_time(ev->expires, when, sizeof(when)) : "");
    } else if (ev->action == AZKM_ROTATION_NOTIFIED) {
        printf("%s/%s: near expiry: version %s %s\n", vault, ev->name, ev->version, ev->message);
    } else {
        printf("%s/%s: failed: %s\n", vault, ev->name, ev->message);
    }
}

/* 1 for a remote vault: its keys and their policies are azkmd's, which rotates them; a run over every vault of
 * the keystore passes it by. */
static int remote_vault(azkm_vault *v, const char *vault, json_t *all)
{
    azkm_vault_info info;

    if (azkm_vault_show(v, &info) != AZKM_OK || !info.remote)
        return 0;
    if (all == NULL)
        printf("%s: remote vault (its keys rotate in azkmd): skipped\n", vault);
    return 1;
}

/* Runs the policies of one vault, printing each event; returns the vault's first failure or AZKM_OK. every: the
 * run is over every vault of the keystore. */
static azkm_rc run_vault(azkm_keystore *ks, const char *vault, json_t *all, int every)
{
    azkm_rotation_event *ev = NULL;
    azkm_vault *v = NULL;
    size_t n = 0;
    azkm_rc rc;

    if ((rc = azkm_vault_open(ks, vault, &v)) != AZKM_OK) {
        cli_report(rc);
        return rc;
    }
    if (every && remote_vault(v, vault, all)) {
        azkm_vault_close(v);
        return AZKM_OK;
    }
    rc = azkm_rotation_run(v, &ev, &n);
    for (size_t i = 0; i < n; i++)
        print_event(vault, &ev[i], all);
    if (rc != AZKM_OK)
        cli_report(rc);
    if (all == NULL && n == 0)
        printf("%s: nothing due\n", vault);
    azkm_free(ev);
    azkm_vault_close(v);
    return rc;
}

static int rotation_run(cli_ctx *ctx, const cli_args *a)
{
    const char *vault = args_get(a, "--vault-name");
    json_t *all = ctx->json ? json_array() : NULL;
    azkm_keystore *ks = NULL;
    char **names = NULL;
    size_t n = 0;
    azkm_rc rc, first = AZKM_OK;
    int ret;

    /* unattended (cron, systemd): a passphrase vault without a passphrase source fails instead of prompting */
    ctx->pass.no_prompt = 1;
    if ((ret = cli_keystore(ctx, &ks)) != 0)
        return ret;
    if (vault != NULL) {
        first = run_vault(ks, vault, all, 0);
    } else if ((rc = azkm_vault_list(ks, &names, &n)) != AZKM_OK) {
        json_decref(all);
        return cli_fail(rc);
    } else {
        for (size_t i = 0; i < n; i++) {
            rc = run_vault(ks, names[i], all, 1);
            if (first == AZKM_OK)
                first = rc;
        }
        azkm_free(names);
    }
    if (all != NULL)
        out_json(all);
    return cli_exit_code(first);
}

static const cli_flag show_flags[] = {FLAG_VAULT, FLAG_NAME, FLAG_ID, FLAG_END};

static const cli_flag set_flags[] = {
    FLAG_VAULT,
    FLAG_NAME,
    FLAG_ID,
    {"--value", ARG_VALUE, "JSON|@FILE",
     "The policy in Azure's shape: {\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P90D\"},"
     "\"action\":{\"type\":\"Rotate\"}}],\"attributes\":{\"expiryTime\":\"P1Y\"}}, or @FILE holding it.",
     0},
    {"--clear", ARG_SWITCH, NULL, "Remove the key's rotation policy.", 0},
    FLAG_END,
};

static const cli_flag run_flags[] = {
    {"--vault-name", ARG_VALUE, "VAULT", "Only this vault. Default: every vault of the keystore.", 0},
    FLAG_END,
};

const cli_command cli_rotation_policy_commands[] = {
    {"rotation-policy show", "Show a key's rotation policy (Azure's JSON shape)", NULL, show_flags,
     "  azkm key rotation-policy show --vault-name prod --name web-tls\n", policy_show},
    {"rotation-policy set", "Set or clear a key's rotation policy",
     "Lifetime actions: Rotate after a time since the current version was created (timeAfterCreate) or before it\n"
     "expires (timeBeforeExpiry); Notify before it expires (timeBeforeExpiry). attributes.expiryTime is the\n"
     "lifetime of every new version a rotation makes, by `azkm key rotate` or `azkm rotation run`. Durations are\n"
     "ISO-8601 (P90D, P1Y, P2M, PT12H; compared with a year as 365 days and a month as 30). Azure's limits are\n"
     "enforced: expiryTime at least 28 days, timeAfterCreate and timeBeforeExpiry at least 7 days,\n"
     "timeBeforeExpiry shorter than expiryTime, at most one Rotate and one Notify action. The policy is\n"
     "authenticated with the vault's MAC key, and carried by the key's backup.",
     set_flags,
     "  azkm key rotation-policy set --vault-name prod --name web-tls --value '{\"lifetimeActions\":[\n"
     "      {\"trigger\":{\"timeAfterCreate\":\"P90D\"},\"action\":{\"type\":\"Rotate\"}},\n"
     "      {\"trigger\":{\"timeBeforeExpiry\":\"P30D\"},\"action\":{\"type\":\"Notify\"}}],\n"
     "      \"attributes\":{\"expiryTime\":\"P1Y\"}}'\n"
     "  azkm key rotation-policy set --vault-name prod --name web-tls --value @policy.json\n",
     policy_set},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

const cli_command cli_rotation_commands[] = {
    {"run", "Rotate the keys whose rotation policy says they are due, and report what was done",
     "Idempotent: a key rotated by one run is not due again until its policy says so; a near-expiry notification\n"
     "is given once per version (an audit record KeyNearExpiry and a line of output). Exit code: 0, or the first\n"
     "failure's code after trying every key. Meant for cron or conf/azkm-rotation.timer.",
     run_flags,
     "  azkm rotation run\n"
     "  azkm rotation run --vault-name prod --output json\n",
     rotation_run},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
