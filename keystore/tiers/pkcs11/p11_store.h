/* The token store on disk, for tokens whose state is files (SoftHSM's file object store): where it is, the
 * advisory lock that keeps azkm's own processes from initialising or logging in while another one rewrites the
 * token's files, and what a process that cannot read it is told. */
#ifndef AZKM_P11_STORE_H
#define AZKM_P11_STORE_H

#include <stddef.h>

/* The directory the cross-process lock is taken on, for a module: AZKM_PKCS11_LOCK when set ("off": none), else,
 * for SoftHSM, its directories.tokendir (in the configuration file p11_store_missing names), else NULL (a token
 * that is not files: nothing to serialise). Decided once, when the module is loaded (a forked worker keeps the
 * answer of its parent, whose environment nginx scrubs). The caller frees the string. */
char *p11_store_dir(const char *module_path);

/* Takes the lock on dir (flock on the directory itself: no file is created), waiting at most about 10 s; returns
 * the descriptor to pass to p11_store_unlock, or -1 when dir is NULL or the lock cannot be had (then the caller
 * goes on without it: the lock makes races rare, the tier's retries make them harmless). Each call opens its own
 * descriptor, so that a forked child never shares its parent's lock. */
int p11_store_lock(const char *dir);
void p11_store_unlock(int fd);

/* 1 when this process cannot list, read and write dir (a token store must be all three to SoftHSM). */
int p11_store_unusable(const char *dir);

/* Describes, in buf, files of the token store that this process cannot read and write ("3 of 12 files in
 * <dir>/<token> are not readable and writable by uid 33 (www-data), e.g. <file>"); returns the count, 0 when all
 * are fine or dir is NULL (buf is then ""). */
size_t p11_store_unreadable(const char *dir, char *buf, size_t len);

/* For SoftHSM (a module whose name says so): 1 when the configuration file it reads now ($SOFTHSM2_CONF, else
 * ~/.config/softhsm2/softhsm2.conf when there is one, else /etc/softhsm/softhsm2.conf) or the token directory that
 * file names does not exist, described in buf ("its configuration file F (SOFTHSM2_CONF) is missing"); else 0.
 * A module answers a missing configuration with CKR_GENERAL_ERROR, which says nothing. */
int p11_store_missing(const char *module_path, char *buf, size_t len);

/* "uid 33 (www-data)" for this process. */
void p11_store_whoami(char *buf, size_t len);

#endif
