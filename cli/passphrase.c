/* Vault passphrases and token PINs for the keystore's callbacks, from files, the environment or the terminal (see
 * passphrase.h). Why a callback gave up goes to cli_auth_reason_set, for the error it leads to. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "args.h"
#include "fileio.h"
#include "passphrase.h"
#include "report.h"

/* A passphrase file is a secret file, as a PIN file is: the group and others must have no access to it, and it
 * must be this user's (or root's). Returns 0, or -1 with the reason (a PermissionDenied one) set. */
static int check_private(const char *path, const char *flag)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return 0; /* reading it reports why */
    if (st.st_mode & 077) {
        cli_auth_refused(
            AZKM_E_PERMISSION,
            "%s: passphrase file %s has mode %04o: a passphrase file must not be accessible to group or "
            "others (chmod 600)",
            flag, path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        cli_auth_refused(AZKM_E_PERMISSION,
                         "%s: passphrase file %s is owned by uid %u, not by this user (uid %u) or root", flag, path,
                         (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    return 0;
}

/* First line of a file into buf. Returns 0, or -1 with the reason in cli_auth_reason. */
static int first_line(const char *path, const char *flag, char *buf, size_t len)
{
    unsigned char *data = NULL;
    size_t n = 0, line;
    int err;

    if (check_private(path, flag) != 0)
        return -1;
    if ((err = cli_slurp(path, &data, &n)) != 0) {
        cli_auth_reason_set("%s: cannot read %s: %s", flag, path, strerror(err));
        return -1;
    }
    for (line = 0; line < n && data[line] != '\n' && data[line] != '\r'; line++)
        ;
    if (line == 0 || line >= len || memchr(data, '\0', line) != NULL) {
        cli_auth_reason_set("%s: %s must hold a passphrase of 1-%zu bytes on its first line", flag, path, len - 1);
        OPENSSL_clear_free(data, n);
        return -1;
    }
    memcpy(buf, data, line);
    buf[line] = '\0';
    OPENSSL_clear_free(data, n);
    return 0;
}

int cli_passphrase_from_file(const char *path, const char *flag, char *buf, size_t len)
{
    cli_auth_reason_clear();
    if (first_line(path, flag, buf, len) == 0)
        return 0;
    if (cli_auth_class() != AZKM_OK)
        return cli_failf(cli_auth_class(), "%s", cli_auth_reason());
    return args_usage(NULL, "%s", cli_auth_reason());
}

/* Reads one line from the terminal with read(2), not stdio, so that no copy stays in a stdio buffer. A line
 * longer than the buffer is refused whole. Returns the length, or -1. */
static long read_line(char *buf, size_t len)
{
    size_t n = 0;
    int too_long = 0;
    char c;

    for (;;) {
        ssize_t r = read(STDIN_FILENO, &c, 1);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (n == 0)
                return -1;
            break;
        }
        if (c == '\n' || c == '\r')
            break;
        if (n + 1 < len)
            buf[n++] = c;
        else
            too_long = 1;
    }
    c = 0;
    buf[n] = '\0';
    if (too_long) {
        OPENSSL_cleanse(buf, len);
        return -1;
    }
    return (long)n;
}

int cli_passphrase_prompt(const char *prompt, char *buf, size_t len)
{
    struct termios old, quiet;
    long n;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &old) != 0)
        return 0;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    /* Echo goes off (and typeahead is dropped) before the prompt shows, so nothing typed after it echoes. */
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
        return 0;
    fprintf(stderr, "%s: ", prompt);
    fflush(stderr);
    n = read_line(buf, len);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    if (n == -1)
        cli_auth_reason_set("no passphrase typed, or longer than %zu bytes", len - 1);
    return n > 0;
}

static int prompt_new(const char *purpose, char *buf, size_t len)
{
    char again[1024];
    int same;

    if (len > sizeof(again) || !cli_passphrase_prompt(purpose, buf, len))
        return 0;
    if (!cli_passphrase_prompt("repeat the passphrase", again, sizeof(again))) {
        OPENSSL_cleanse(buf, len);
        return 0;
    }
    same = strcmp(buf, again) == 0;
    OPENSSL_cleanse(again, sizeof(again));
    if (!same) {
        cli_auth_reason_set("the two passphrases typed differ");
        OPENSSL_cleanse(buf, len);
    }
    return same;
}

int cli_pin_cb(char *buf, size_t len, const char *purpose, void *arg)
{
    const cli_passphrases *src = arg;

    cli_auth_reason_clear();
    if (src->no_prompt)
        return 0;
    return cli_passphrase_prompt(purpose, buf, len);
}

int cli_passphrase_cb(char *buf, size_t len, const char *purpose, void *arg)
{
    cli_passphrases *src = arg;
    const char *file = src->file;
    const char *flag = "--passphrase-file";
    const char *env;
    char prompt[256];

    cli_auth_reason_clear();
    if (file == NULL) {
        file = getenv("AZKM_PASSPHRASE_FILE");
        flag = "AZKM_PASSPHRASE_FILE";
    }
    if (file != NULL && file[0] != '\0')
        return first_line(file, flag, buf, len) == 0;
    if ((env = getenv("AZKM_PASSPHRASE")) != NULL && env[0] != '\0') {
        if (strlen(env) >= len) {
            cli_auth_reason_set("AZKM_PASSPHRASE is longer than %zu bytes", len - 1);
            return 0;
        }
        strcpy(buf, env);
        return 1;
    }
    if (src->typed[0] != '\0' && strlen(src->typed) < len) {
        strcpy(buf, src->typed);
        return 1;
    }
    if (src->no_prompt) {
        cli_auth_reason_set("not prompting for a passphrase here");
        return 0;
    }
    snprintf(prompt, sizeof(prompt), "%s%s", strncmp(purpose, "new ", 4) == 0 ? "" : "passphrase to ", purpose);
    if (strncmp(purpose, "new ", 4) == 0 ? prompt_new(prompt, buf, len) : cli_passphrase_prompt(prompt, buf, len)) {
        /* Remembered so that `vault create` does not ask again when it opens the vault it made. */
        if (strlen(buf) < sizeof(src->typed))
            strcpy(src->typed, buf);
        return 1;
    }
    if (cli_auth_reason()[0] == '\0')
        cli_auth_reason_set(
            "no passphrase: use --passphrase-file, AZKM_PASSPHRASE_FILE or AZKM_PASSPHRASE, or run on a terminal");
    return 0;
}
