/* libcurl, loaded when the first remote vault is opened rather than with azkm.so: a process that never opens a
 * remote vault (most openssl commands, a web server on local keys) does not map libcurl and the thirty libraries
 * it brings (Kerberos, LDAP, GnuTLS, SSH). remote_client.c calls it through this table only. */
#ifndef AZKM_TIER_REMOTE_CURL_API_H
#define AZKM_TIER_REMOTE_CURL_API_H

#define CURL_DISABLE_TYPECHECK /* the table's members are not the macros the type checks wrap */
#include <curl/curl.h>

#include "base/base.h"

typedef struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *h);
    void (*easy_reset)(CURL *h);
    CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode cc);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
} azkm_curl_api;

/* The table, libcurl loaded and initialised on the first call (once per process, thread-safe); NULL with the
 * error set (naming the library and what failed) when it cannot be. */
const azkm_curl_api *azkm_curl(void);
/* The same table without a check, for code that runs only once azkm_curl() has succeeded (every remote client
 * is made after it did). */
const azkm_curl_api *azkm_curl_loaded(void);

#endif
