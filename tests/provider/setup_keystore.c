/* Makes the keystore the provider tests use, through the keystore API: vault "vault1" with the keys every
 * scenario needs (RSA, EC, Ed25519, Ed448, EC keys for ECDH, and keys that are refused), and a file "versions"
 * listing "<name> <version>" for tests that name a version. On the HSM tier vault1 is bound to a token and every
 * key is an HSM key; further bound vaults (one EC-HSM key "k" each) serve the HSM error scenarios, which then break
 * their binding (wrong PIN, token gone, module gone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <azkm/keystore.h>

static FILE *versions;
static azkm_protection tier;

static void die(const char *what, azkm_rc rc)
{
    fprintf(stderr, "setup_keystore: %s: %s (%s)\n", what, azkm_last_error(), azkm_rc_name(rc));
    exit(1);
}

static void key(azkm_vault *v, const char *name, azkm_kty kty, unsigned size, azkm_curve curve, unsigned fields,
                const azkm_attributes *attrs)
{
    azkm_keyspec spec;
    azkm_key_info info;
    azkm_rc rc;

    memset(&spec, 0, sizeof(spec));
    memset(&info, 0, sizeof(info));
    spec.kty = kty;
    spec.protection = tier;
    spec.size = size;
    spec.curve = curve;
    if (fields & AZKM_ATTR_KEY_OPS) {
        spec.fields = AZKM_ATTR_KEY_OPS;
        spec.attrs.key_ops = attrs->key_ops;
    }
    if ((rc = azkm_key_create(v, name, &spec, &info)) != AZKM_OK)
        die(name, rc);
    fprintf(versions, "%s %s\n", name, info.version);
    fields &= ~AZKM_ATTR_KEY_OPS;
    if (fields != 0 && (rc = azkm_key_set_attributes(v, name, NULL, fields, attrs, &info)) != AZKM_OK)
        die(name, rc);
}

static void usage(void)
{
    fprintf(stderr, "usage: setup_keystore <keystore-dir> [software]\n"
                    "       setup_keystore <keystore-dir> hsm <module> <token> <pin-source> "
                    "[<vault> <module> <token> <pin-source>]...\n");
    exit(2);
}

/* A vault bound to a token. */
static azkm_vault *bound_vault(azkm_keystore *ks, const char *name, char **binding)
{
    azkm_hsm_binding hsm = {binding[0], binding[1], binding[2]};
    azkm_vault_params params;
    azkm_vault *v;
    azkm_rc rc;

    memset(&params, 0, sizeof(params));
    params.hsm = &hsm;
    if ((rc = azkm_vault_create(ks, name, &params)) != AZKM_OK)
        die(name, rc);
    if ((rc = azkm_vault_open(ks, name, &v)) != AZKM_OK)
        die(name, rc);
    return v;
}

int main(int argc, char **argv)
{
    azkm_options opt;
    azkm_keystore *ks;
    azkm_vault *v;
    azkm_attributes a;
    azkm_key_info info;
    char path[4096];
    azkm_rc rc;

    if (argc < 2 || (argc == 3 && strcmp(argv[2], "software") != 0) ||
        (argc > 3 && (strcmp(argv[2], "hsm") != 0 || argc < 6 || (argc - 6) % 4 != 0)))
        usage();
    tier = argc > 3 ? AZKM_PROTECTION_HSM : AZKM_PROTECTION_SOFTWARE;
    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = argv[1];
    if ((rc = azkm_keystore_open(&opt, &ks)) != AZKM_OK)
        die("open keystore", rc);
    if (tier == AZKM_PROTECTION_HSM) {
        v = bound_vault(ks, "vault1", argv + 3);
    } else {
        if ((rc = azkm_vault_create(ks, "vault1", NULL)) != AZKM_OK)
            die("create vault1", rc);
        if ((rc = azkm_vault_open(ks, "vault1", &v)) != AZKM_OK)
            die("open vault1", rc);
    }
    snprintf(path, sizeof(path), "%s/versions", argv[1]);
    if ((versions = fopen(path, "w")) == NULL)
        return 1;

    memset(&a, 0, sizeof(a));
    key(v, "rsa1", AZKM_KTY_RSA, 2048, AZKM_CURVE_NONE, 0, &a);
    key(v, "ec1", AZKM_KTY_EC, 0, AZKM_CURVE_P256, 0, &a);
    key(v, "ec384", AZKM_KTY_EC, 0, AZKM_CURVE_P384, 0, &a);
    a.enabled = 0;
    key(v, "rsa-off", AZKM_KTY_RSA, 2048, AZKM_CURVE_NONE, AZKM_ATTR_ENABLED, &a);
    a.enabled = 1;
    a.expires = (int64_t)time(NULL) - 3600;
    key(v, "ec-expired", AZKM_KTY_EC, 0, AZKM_CURVE_P256, AZKM_ATTR_EXPIRES, &a);
    a.expires = 0;
    a.key_ops = AZKM_OP_DECRYPT | AZKM_OP_ENCRYPT;
    key(v, "rsa-nosign", AZKM_KTY_RSA, 2048, AZKM_CURVE_NONE, AZKM_ATTR_KEY_OPS, &a);
    a.key_ops = AZKM_OP_SIGN | AZKM_OP_VERIFY;
    key(v, "rsa-nodecrypt", AZKM_KTY_RSA, 2048, AZKM_CURVE_NONE, AZKM_ATTR_KEY_OPS, &a);
    /* A rotated key: "rot" is the first version, the current one differs. */
    key(v, "rot", AZKM_KTY_EC, 0, AZKM_CURVE_P256, 0, &a);
    memset(&info, 0, sizeof(info));
    if ((rc = azkm_key_rotate(v, "rot", &info)) != AZKM_OK)
        die("rotate rot", rc);
    fprintf(versions, "rot-current %s\n", info.version);
    /* EdDSA keys, and EC keys for ECDH: one that only derives, one that also signs. */
    memset(&a, 0, sizeof(a));
    key(v, "ed1", AZKM_KTY_OKP, 0, AZKM_CURVE_ED25519, 0, &a);
    key(v, "ed448", AZKM_KTY_OKP, 0, AZKM_CURVE_ED448, 0, &a);
    a.key_ops = AZKM_OP_DERIVE;
    key(v, "ecdh1", AZKM_KTY_EC, 0, AZKM_CURVE_P256, AZKM_ATTR_KEY_OPS, &a);
    a.key_ops = AZKM_OP_SIGN | AZKM_OP_VERIFY | AZKM_OP_DERIVE;
    key(v, "ecdh384", AZKM_KTY_EC, 0, AZKM_CURVE_P384, AZKM_ATTR_KEY_OPS, &a);
    azkm_vault_close(v);

    /* The HSM error scenarios' vaults. */
    for (int i = 6; i + 4 <= argc; i += 4) {
        v = bound_vault(ks, argv[i], argv + i + 1);
        memset(&a, 0, sizeof(a));
        key(v, "k", AZKM_KTY_EC, 0, AZKM_CURVE_P256, 0, &a);
        azkm_vault_close(v);
    }

    fclose(versions);
    azkm_keystore_free(ks);
    return 0;
}
