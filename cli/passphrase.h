/* Where the CLI gets vault passphrases and token PINs: --passphrase-file F, then $AZKM_PASSPHRASE_FILE, then
 * $AZKM_PASSPHRASE, then an interactive prompt with echo off when stdin is a terminal. Never a plain
 * command-line argument. */
#ifndef AZKM_CLI_PASSPHRASE_H
#define AZKM_CLI_PASSPHRASE_H

#include <stddef.h>

/* This run's passphrase sources: the callbacks' arg. */
typedef struct {
    const char *file; /* --passphrase-file, or NULL */
    int no_prompt;    /* set by commands that must not ask (vault list, rotation run) */
    char typed[1024]; /* a passphrase typed at the prompt, reused within this run; zeroed at exit */
} cli_passphrases;

/* The keystore's passphrase callback: purpose is "unlock vault <name>" or "new passphrase for vault <name>". */
int cli_passphrase_cb(char *buf, size_t len, const char *purpose, void *arg);
/* Token PINs for vaults whose PIN source is "prompt" ("PIN for token <label>"): a terminal prompt, never
 * cached. */
int cli_pin_cb(char *buf, size_t len, const char *purpose, void *arg);
/* Reads the first line of a file into buf; returns 0 or an exit code after printing the error. */
int cli_passphrase_from_file(const char *path, const char *flag, char *buf, size_t len);
/* Prompts on the terminal with echo off; returns 1 on success, 0 if there is no terminal or on EOF. */
int cli_passphrase_prompt(const char *prompt, char *buf, size_t len);

#endif
