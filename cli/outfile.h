/* Output files that appear only whole (--out-file of encrypt, decrypt and rewrap): written to an unnamed temporary
 * file in the target's directory (O_TMPFILE), linked into place only on success, so that no exit, signals and
 * kill -9 included, leaves part of one behind. Where the file system has no O_TMPFILE, a named temporary file
 * beside the target, removed on failure and by SIGINT, SIGTERM, SIGHUP and SIGQUIT before the process dies. */
#ifndef AZKM_CLI_OUTFILE_H
#define AZKM_CLI_OUTFILE_H

#include <limits.h>
#include <stdio.h>

typedef struct {
    const char *path;   /* NULL: standard output */
    char tmp[PATH_MAX]; /* the temporary file's name while it has one, else "" */
    FILE *fp;
    int unnamed; /* 1: an O_TMPFILE file, named only when published */
} cli_outfile;

/* Opens path ("-" or NULL: standard output) for writing; the file gets mode when published. flag names the option
 * in errors. Returns 0 or an exit code after printing the error. */
int cli_outfile_open(const char *flag, const char *path, int mode, cli_outfile *o);
/* ok: publishes the file under its name (replacing what was there); else removes every trace of it. Returns 0 or
 * an exit code after printing the error. */
int cli_outfile_close(cli_outfile *o, int ok);

#endif
