/* `azkm encrypt`, `azkm decrypt`, `azkm rewrap`: envelope encryption of files and streams under a vault KEK
 * (docs/envelope.md). Output files appear only whole (outfile.h), so that no exit leaves partial plaintext behind;
 * plaintext goes to standard output only after the whole input authenticated, unless --stream asks otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"
#include "key_flags.h"
#include "outfile.h"
#include "report.h"

/* A progress bar on stderr, only when stderr is a terminal. */
typedef struct {
    int shown;
    int last_pct;
    uint64_t last_done;
} progress_bar;

static void draw_progress(uint64_t done, uint64_t total, void *arg)
{
    progress_bar *b = arg;
    char bar[41];
    int pct;

    if (total == 0) {
        if (done - b->last_done < (8u << 20))
            return;
        b->last_done = done;
        fprintf(stderr, "\r%.1f MiB", (double)done / 1048576.0);
        b->shown = 1;
        return;
    }
    pct = (int)(done * 100 / (total ? total : 1));
    if (pct == b->last_pct)
        return;
    b->last_pct = pct;
    for (int i = 0; i < 40; i++)
        bar[i] = i < pct * 40 / 100 ? '#' : ' ';
    bar[40] = '\0';
    fprintf(stderr, "\r[%s] %3d%% %.1f/%.1f MiB", bar, pct, (double)done / 1048576.0, (double)total / 1048576.0);
    b->shown = 1;
}

/* Opens the input ("-" or none: stdin) and sets up the progress bar for it. */
static int open_input(const char *path, FILE **in, azkm_envelope_params *p, progress_bar *bar)
{
    struct stat st;

    memset(p, 0, sizeof(*p));
    memset(bar, 0, sizeof(*bar));
    bar->last_pct = -1;
    if (path == NULL || strcmp(path, "-") == 0) {
        *in = stdin;
    } else if ((*in = fopen(path, "rb")) == NULL) {
        if (errno == EACCES)
            return cli_failf(AZKM_E_PERMISSION, "--in-file: cannot read %s: %s", path, strerror(errno));
        return args_usage("--in-file", "cannot read %s: %s", path, strerror(errno));
    }
    if (fstat(fileno(*in), &st) == 0 && S_ISREG(st.st_mode))
        p->total = (uint64_t)st.st_size;
    if (isatty(STDERR_FILENO)) {
        p->progress = draw_progress;
        p->progress_arg = bar;
    }
    return 0;
}

static void end_progress(const progress_bar *bar)
{
    if (bar->shown)
        fputc('\n', stderr);
}

static int env_encrypt(cli_ctx *ctx, const cli_args *a)
{
    azkm_envelope_params p;
    progress_bar bar;
    azkm_vault *v = NULL;
    const char *name;
    FILE *in = NULL;
    cli_outfile o;
    long chunk = 0;
    azkm_rc rc;
    int ret;

    if ((ret = args_long(a, "--chunk-size", 1024, 16L << 20, &chunk)) != 0)
        return ret;
    if ((ret = cli_key_target(ctx, a, &v, &name, NULL)) != 0)
        return ret;
    if ((ret = open_input(args_get(a, "--in-file"), &in, &p, &bar)) != 0)
        goto end;
    p.chunk_size = (size_t)chunk;
    if ((ret = cli_outfile_open("--out-file", args_get(a, "--out-file"), 0644, &o)) != 0)
        goto end;
    rc = azkm_envelope_encrypt(v, name, in, o.fp, &p);
    end_progress(&bar);
    ret = cli_outfile_close(&o, rc == AZKM_OK);
    if (rc != AZKM_OK)
        ret = cli_fail(rc);
end:
    if (in != NULL && in != stdin)
        fclose(in);
    azkm_vault_close(v);
    return ret;
}

/* 1 when in can be read twice: a regular file, positioned where it can be returned to. */
static int rereadable(FILE *in, off_t *start)
{
    struct stat st;

    return fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) && (*start = ftello(in)) >= 0;
}

/* Plaintext to standard output is released only once the whole file authenticated: read once to check every chunk,
 * then again to decrypt. Input that cannot be read twice (a pipe) needs --stream, which releases each chunk as it
 * authenticates: a later failure then leaves the reader with plaintext to discard. */
static azkm_rc decrypt_to_stdout(azkm_keystore *ks, FILE *in, int stream, azkm_envelope_params *p)
{
    off_t start = 0;
    azkm_rc rc;

    if (stream)
        return azkm_envelope_decrypt(ks, in, stdout, p);
    if (!rereadable(in, &start))
        return azkm_set_error(
            AZKM_E_INVALID, "decrypt: the input is not a file that can be read twice, so it cannot be "
                            "authenticated before plaintext is written to standard output: give --out-file, "
                            "or --in-file FILE (or <FILE), or --stream to release each chunk as it authenticates");
    rc = azkm_envelope_verify(ks, in, p);
    if (rc == AZKM_OK && fseeko(in, start, SEEK_SET) != 0)
        rc = azkm_set_error(AZKM_E_IO, "decrypt: cannot read the input a second time");
    if (rc == AZKM_OK)
        rc = azkm_envelope_decrypt(ks, in, stdout, p);
    return rc;
}

static int env_decrypt(cli_ctx *ctx, const cli_args *a)
{
    azkm_envelope_params p;
    progress_bar bar;
    azkm_keystore *ks = NULL;
    FILE *in = NULL;
    cli_outfile o;
    azkm_rc rc;
    int ret, stream = 0;

    if ((ret = args_bool(a, "--stream", &stream)) != 0)
        return ret;
    if (stream && args_get(a, "--out-file") != NULL && strcmp(args_get(a, "--out-file"), "-") != 0)
        return args_usage("--stream", "only for standard output (a --out-file appears only once all of it "
                                      "authenticated)");
    if ((ret = cli_keystore(ctx, &ks)) != 0)
        return ret;
    if ((ret = open_input(args_get(a, "--in-file"), &in, &p, &bar)) != 0)
        return ret;
    if ((ret = cli_outfile_open("--out-file", args_get(a, "--out-file"), 0600, &o)) == 0) {
        rc = o.path != NULL ? azkm_envelope_decrypt(ks, in, o.fp, &p) : decrypt_to_stdout(ks, in, stream, &p);
        end_progress(&bar);
        ret = cli_outfile_close(&o, rc == AZKM_OK);
        if (rc != AZKM_OK)
            ret = cli_fail(rc);
    }
    if (in != stdin)
        fclose(in);
    return ret;
}

static int env_rewrap(cli_ctx *ctx, const cli_args *a)
{
    const char *in_path = args_get(a, "--in-file"), *out_path = args_get(a, "--out-file");
    azkm_keystore *ks = NULL;
    char kid[AZKM_URI_MAX];
    struct stat st;
    FILE *in;
    cli_outfile o;
    int ret, changed = 0;
    azkm_rc rc;

    if ((ret = cli_keystore(ctx, &ks)) != 0)
        return ret;
    if (strcmp(in_path, "-") == 0) {
        in = stdin;
        if (out_path == NULL)
            out_path = "-";
    } else if ((in = fopen(in_path, "rb")) == NULL) {
        return args_usage("--in-file", "cannot read %s: %s", in_path, strerror(errno));
    }
    /* default: the file is replaced in place, keeping its mode */
    ret = cli_outfile_open("--out-file", out_path ? out_path : in_path,
                           in != stdin && fstat(fileno(in), &st) == 0 ? (int)(st.st_mode & 07777) : 0644, &o);
    if (ret == 0) {
        rc = azkm_envelope_rewrap(ks, in, o.fp, &changed, kid);
        ret = cli_outfile_close(&o, rc == AZKM_OK);
        if (rc != AZKM_OK)
            ret = cli_fail(rc);
        else if (ctx->json)
            printf("{\"kid\": \"%s\", \"changed\": %s}\n", kid, changed ? "true" : "false");
        else
            fprintf(o.path ? stdout : stderr, "%s %s\n", changed ? "rewrapped with" : "already wrapped with", kid);
    }
    if (in != stdin)
        fclose(in);
    return ret;
}

static const cli_flag encrypt_flags[] = {
    {"--vault-name", ARG_VALUE, "VAULT", "Vault holding the key encryption key.", 0},
    {"--name", ARG_VALUE, "NAME", "The key encryption key (KEK): an oct or RSA key with wrapKey.", 0},
    {"--id", ARG_VALUE, "URI", "azkm://VAULT/keys/NAME, instead of --vault-name/--name.", 0},
    {"--in-file", ARG_VALUE, "FILE", "Plaintext. Default: standard input.", 0},
    {"--out-file", ARG_VALUE, "FILE", "Encrypted file. Default: standard output.", 0},
    {"--chunk-size", ARG_VALUE, "BYTES", "Plaintext bytes per authenticated chunk, 1024-16777216. Default: 65536.",
     0},
    FLAG_END,
};

static const cli_flag decrypt_flags[] = {
    {"--in-file", ARG_VALUE, "FILE", "Encrypted file. Default: standard input.", 0},
    {"--out-file", ARG_VALUE, "FILE",
     "Plaintext (mode 0600, appears only once all of it authenticated). Default: standard output.", 0},
    {"--stream", ARG_SWITCH, NULL,
     "To standard output from a pipe: write each chunk as it authenticates (a later failure leaves plaintext "
     "to discard). Default: false.",
     0},
    FLAG_END,
};

static const cli_flag rewrap_flags[] = {
    {"--in-file", ARG_VALUE, "FILE", "Encrypted file ('-' for standard input).", 1},
    {"--out-file", ARG_VALUE, "FILE", "Where to write the result. Default: replace the input file.", 0},
    FLAG_END,
};

const cli_command cli_envelope_commands[] = {
    {"encrypt", "Encrypt a file or stream under a vault key encryption key (envelope encryption)",
     "A fresh AES-256 data key encrypts the data with AES-256-GCM in chunks; the KEK's current version wraps the\n"
     "data key (oct: AES key wrap; RSA: RSA-OAEP) into the header, with the KEK's id and version. Memory use does\n"
     "not grow with the file. A progress bar is drawn when stderr is a terminal. Format: docs/envelope.md.",
     encrypt_flags,
     "  azkm key create --vault-name prod --name kek --kty oct --ops wrapKey unwrapKey\n"
     "  azkm encrypt --vault-name prod --name kek --in-file backup.tar --out-file backup.tar.azkm\n"
     "  tar c /srv/data | azkm encrypt --vault-name prod --name kek >data.tar.azkm\n",
     env_encrypt},
    {"decrypt", "Decrypt a file made by azkm encrypt",
     "The header names the KEK version that wrapped the data key, so files stay readable after the KEK rotates.\n"
     "A modified, reordered or truncated file fails, and no plaintext is released before all of it\n"
     "authenticated: a --out-file appears only then (nothing is left behind on any failure, signals included);\n"
     "to standard output, a file is read twice, first to authenticate it all. Input from a pipe to standard\n"
     "output needs --stream, which writes each chunk as it authenticates (on failure, discard the output).",
     decrypt_flags,
     "  azkm decrypt --in-file backup.tar.azkm --out-file backup.tar\n"
     "  azkm decrypt --in-file data.tar.azkm | tar x\n"
     "  curl -s https://backup.example/data.tar.azkm | azkm decrypt --stream | tar x   # unverified release\n",
     env_decrypt},
    {"rewrap", "Re-wrap a file's data key with the KEK's current version, without touching the data",
     "Only the header changes; the encrypted chunks are copied as they are, each authenticated on the way: a\n"
     "damaged file fails (IntegrityCheckFailed) and is left as it was. Run it after rotating the KEK.",
     rewrap_flags,
     "  azkm key rotate --vault-name prod --name kek\n"
     "  azkm rewrap --in-file backup.tar.azkm\n",
     env_rewrap},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
