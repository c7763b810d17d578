/* Helpers shared by the azkm fuzz targets (see fuzz_util.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"

#ifndef AZKM_FUZZ_SEED_KEYSTORE
#error "AZKM_FUZZ_SEED_KEYSTORE must name the seed keystore directory (fuzz/seed-keystore)"
#endif

void fuzz_die(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "\n%s:%d: invariant broken: %s\n  ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  last keystore error: %s: %s\n", azkm_rc_name(azkm_last_rc()), azkm_last_error());
    abort();
}

#define MAX_TMPDIRS 4
static char tmpdirs[MAX_TMPDIRS][512];
static int n_tmpdirs;

static void remove_tmpdirs(void)
{
    for (int i = 0; i < n_tmpdirs; i++) {
        char cmd[600];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdirs[i]);
        if (system(cmd) != 0)
            fprintf(stderr, "fuzz: could not remove %s\n", tmpdirs[i]);
    }
}

const char *fuzz_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *dir;

    if (n_tmpdirs == MAX_TMPDIRS)
        fuzz_die(__FILE__, __LINE__, "n_tmpdirs < MAX_TMPDIRS", "too many temp dirs");
    dir = tmpdirs[n_tmpdirs];
    snprintf(dir, sizeof(tmpdirs[0]), "%s/azkm-fuzz-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (mkdtemp(dir) == NULL)
        fuzz_die(__FILE__, __LINE__, "mkdtemp", "cannot create %s: %s", dir, strerror(errno));
    if (n_tmpdirs++ == 0)
        atexit(remove_tmpdirs);
    return dir;
}

int fuzz_write_file(const char *path, const void *data, size_t len)
{
    FILE *f;
    int ok;

    unlink(path);
    f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    ok = fchmod(fileno(f), 0600) == 0 && (len == 0 || fwrite(data, 1, len, f) == len);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int fuzz_read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL)
        return -1;
    for (;;) {
        if (n == cap) {
            unsigned char *grown = realloc(buf, cap ? cap * 2 : 4096);

            if (grown == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = grown;
            cap = cap ? cap * 2 : 4096;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
}

int fuzz_copy_seed_keystore(const char *dir)
{
    return fuzz_copy_seed_vault(dir, NULL);
}

int fuzz_copy_seed_vault(const char *dir, const char *only)
{
    static const char *const vaults[] = {FUZZ_VAULT, FUZZ_VAULT_PASS};
    static const char *const files[] = {"master.key", "vault.db"};

    chmod(dir, 0700);
    for (size_t i = 0; i < sizeof(vaults) / sizeof(vaults[0]); i++) {
        char vdir[1024];

        if (only != NULL && strcmp(only, vaults[i]) != 0)
            continue;
        snprintf(vdir, sizeof(vdir), "%s/%s", dir, vaults[i]);
        if (mkdir(vdir, 0700) != 0 && errno != EEXIST)
            return -1;
        for (size_t j = 0; j < sizeof(files) / sizeof(files[0]); j++) {
            char src[1024], dst[1100];
            unsigned char *data;
            size_t len;

            snprintf(src, sizeof(src), "%s/%s/%s", AZKM_FUZZ_SEED_KEYSTORE, vaults[i], files[j]);
            snprintf(dst, sizeof(dst), "%s/%s", vdir, files[j]);
            if (fuzz_read_file(src, &data, &len) != 0) {
                fprintf(stderr, "fuzz: cannot read the seed keystore file %s\n", src);
                return -1;
            }
            int rc = fuzz_write_file(dst, data, len);
            free(data);
            if (rc != 0)
                return -1;
        }
    }
    return 0;
}

static int fuzz_pass_cb(char *buf, size_t len, const char *purpose, void *arg)
{
    (void)purpose;
    (void)arg;
    if (len <= strlen(FUZZ_PASSPHRASE))
        return 0;
    strcpy(buf, FUZZ_PASSPHRASE);
    return 1;
}

static int64_t fuzz_clock(void *arg)
{
    (void)arg;
    return 1800000000; /* fixed, so that runs repeat exactly (2027-01-15) */
}

azkm_keystore *fuzz_keystore_open(const char *dir)
{
    azkm_options opt;
    azkm_keystore *ks = NULL;

    memset(&opt, 0, sizeof(opt));
    opt.keystore_dir = dir;
    opt.config_file = "/dev/null";
    opt.passphrase_cb = fuzz_pass_cb;
    opt.clock = fuzz_clock;
    if (azkm_keystore_open(&opt, &ks) != AZKM_OK)
        fuzz_die(__FILE__, __LINE__, "azkm_keystore_open", "%s", azkm_last_error());
    return ks;
}

int fuzz_purge_key(azkm_vault *v, const char *name)
{
    if (azkm_key_delete(v, name, NULL) != AZKM_OK)
        return -1;
    return azkm_key_purge(v, name) == AZKM_OK ? 0 : -1;
}

static const char *const backed_up[] = {"ec1", "rsa1", "oct1"};

static void open_vault(fuzz_vault *fv, int purge_backed_up)
{
    FUZZ_CHECK(fuzz_copy_seed_keystore(fv->dir) == 0, "cannot copy the seed keystore into %s", fv->dir);
    fv->ks = fuzz_keystore_open(fv->dir);
    FUZZ_CHECK(azkm_vault_open(fv->ks, FUZZ_VAULT, &fv->v) == AZKM_OK, "%s", azkm_last_error());
    for (size_t i = 0; purge_backed_up && i < sizeof(backed_up) / sizeof(backed_up[0]); i++)
        FUZZ_CHECK(fuzz_purge_key(fv->v, backed_up[i]) == 0, "purging %s: %s", backed_up[i], azkm_last_error());
}

void fuzz_vault_setup(fuzz_vault *fv, const char *tag, int purge_backed_up)
{
    fv->dir = fuzz_tmpdir(tag);
    open_vault(fv, purge_backed_up);
}

void fuzz_vault_reset(fuzz_vault *fv, int purge_backed_up)
{
    static const char *const files[] = {"vault.db-wal", "vault.db-shm"};

    azkm_vault_close(fv->v);
    azkm_keystore_free(fv->ks);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[1024];

        snprintf(path, sizeof(path), "%s/%s/%s", fv->dir, FUZZ_VAULT, files[i]);
        unlink(path);
    }
    open_vault(fv, purge_backed_up);
}

void fuzz_after_restore(fuzz_vault *fv, const char *name)
{
    static int reported;

    fuzz_use_key(fv->v, name);
    if (fuzz_purge_key(fv->v, name) != 0) {
        if (!reported++)
            fprintf(stderr,
                    "fuzz: note: restored key %s cannot be deleted and purged (%s); resetting the vault "
                    "(reported once)\n",
                    name, azkm_last_error());
        fuzz_vault_reset(fv, 1);
    }
}

void fuzz_use_key(azkm_vault *v, const char *name)
{
    azkm_key_info info, *versions = NULL;
    size_t n = 0;
    azkm_key *k = NULL;
    static const unsigned char msg[32] = "azkm fuzz: a 32-byte test digest";

    if (azkm_key_show(v, name, NULL, &info) == AZKM_OK) {
        FUZZ_CHECK(azkm_version_valid(info.version), "shown version '%s' is invalid", info.version);
    }
    if (azkm_key_list_versions(v, name, &versions, &n) == AZKM_OK)
        azkm_free(versions);
    if (azkm_key_load(v, name, NULL, &k) != AZKM_OK)
        return;
    {
        const azkm_key_info *ki = azkm_key_get_info(k);
        size_t max = azkm_key_max_output(k);
        unsigned char *out = malloc(max + 64);
        size_t outlen = max + 64;

        FUZZ_CHECK(out != NULL, "out of memory");
        if (ki->kty == AZKM_KTY_OCT) {
            azkm_cipher_params p;
            unsigned char iv[12], tag[16];

            azkm_cipher_params_from_alg("A256GCM", &p);
            p.key_bits = 0;
            p.iv_out = iv;
            p.tag = tag;
            outlen = max + 64;
            (void)azkm_key_encrypt(k, &p, msg, sizeof(msg), out, &outlen);
        } else if (azkm_key_check(k, AZKM_OP_SIGN) == AZKM_OK) {
            azkm_sign_params p;
            int valid = 0;

            azkm_sign_params_from_alg(ki->kty == AZKM_KTY_EC ? "ES256" : "PS256", &p);
            /* key_ops may permit sign without verify (Azure allows any subset) */
            if (azkm_key_sign(k, &p, msg, sizeof(msg), out, &outlen) == AZKM_OK &&
                azkm_key_check(k, AZKM_OP_VERIFY) == AZKM_OK)
                FUZZ_CHECK(azkm_key_verify(k, &p, msg, sizeof(msg), out, outlen, &valid) == AZKM_OK && valid == 1,
                           "a signature of key %s does not verify", name);
        }
        free(out);
    }
    azkm_key_free(k);
}
