/* libcurl's functions resolved from libcurl.so.4 (the ABI of every libcurl 7 and 8) on first use. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tiers/remote/curl_api.h"

#define LIBCURL "libcurl.so.4"

static azkm_curl_api api;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char failure[300]; /* why it could not be loaded */

static int resolve(void *dl, void **slot, const char *name)
{
    *slot = dlsym(dl, name);
    if (*slot == NULL)
        snprintf(failure, sizeof(failure), "%s has no %s", LIBCURL, name);
    return *slot != NULL;
}

static void load(void)
{
    void *dl = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
    CURLcode cc;

    if (dl == NULL) {
        snprintf(failure, sizeof(failure), "%s cannot be loaded (install libcurl4): %s", LIBCURL, dlerror());
        return;
    }
    /* Kept loaded for the life of the process: connections in the pool hold its code. */
    if (!resolve(dl, (void **)&api.global_init, "curl_global_init") ||
        !resolve(dl, (void **)&api.easy_init, "curl_easy_init") ||
        !resolve(dl, (void **)&api.easy_cleanup, "curl_easy_cleanup") ||
        !resolve(dl, (void **)&api.easy_reset, "curl_easy_reset") ||
        !resolve(dl, (void **)&api.easy_setopt, "curl_easy_setopt") ||
        !resolve(dl, (void **)&api.easy_perform, "curl_easy_perform") ||
        !resolve(dl, (void **)&api.easy_getinfo, "curl_easy_getinfo") ||
        !resolve(dl, (void **)&api.easy_strerror, "curl_easy_strerror") ||
        !resolve(dl, (void **)&api.slist_append, "curl_slist_append") ||
        !resolve(dl, (void **)&api.slist_free_all, "curl_slist_free_all"))
        return;
    if ((cc = api.global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
        snprintf(failure, sizeof(failure), "%s cannot start: %s", LIBCURL, api.easy_strerror(cc));
        return;
    }
    loaded = 1;
}

const azkm_curl_api *azkm_curl(void)
{
    pthread_once(&once, load);
    if (!loaded) {
        azkm_fail(AZKM_E_UNSUPPORTED, "%s", failure);
        return NULL;
    }
    return &api;
}

const azkm_curl_api *azkm_curl_loaded(void)
{
    return &api;
}
