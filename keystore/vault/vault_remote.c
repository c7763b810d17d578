/* Remote vaults: a keystore entry whose remote.json says which azkmd serves its keys (tiers/remote/). Made by
 * azkm_vault_connect, opened by azkm_vault_open into a vault whose only tier is the remote one. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>

#include "azkm/keyref.h"
#include "vault/vault.h"
#include "tiers/remote/remote.h"
#include "vault/vault_internal.h"

int azkm_vault_is_remote_entry(const char *dir)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof(path), "%s/vault.db", dir);
    if (stat(path, &st) == 0)
        return 0;
    snprintf(path, sizeof(path), "%s/%s", dir, AZKM_REMOTE_FILE);
    return lstat(path, &st) == 0;
}

/* A client key given as a key reference file (the azkm provider, loaded in the process, turns it into a key for
 * the TLS handshake) must name a key of a local vault: a remote vault's key would need a connection to azkmd to
 * make the connection to azkmd. Any other file is a PEM key for libcurl. */
static azkm_rc check_client_key(azkm_keystore *ks, const char *name, const char *path)
{
    BIO *in = path[0] ? BIO_new_file(path, "r") : NULL;
    char *uri = NULL, dir[4096];
    azkm_keyref_rc krc = in != NULL ? azkm_keyref_read_pem(in, &uri) : AZKM_KEYREF_E_LABEL;
    azkm_uri u;
    azkm_rc rc = AZKM_OK;

    BIO_free(in);
    if (krc == AZKM_KEYREF_E_LABEL)
        return AZKM_OK;
    if (krc != AZKM_KEYREF_OK || azkm_uri_parse(uri, &u) != AZKM_OK)
        rc = azkm_fail(AZKM_E_INVALID, "remote vault %s: client key %s is a bad key reference file (%s)", name,
                       path, krc != AZKM_KEYREF_OK ? azkm_keyref_strerror(krc) : azkm_last_error());
    else if (strcmp(u.vault, name) == 0 ||
             (azkm_vault_dir(ks, u.vault, dir, sizeof(dir)) == AZKM_OK && azkm_vault_is_remote_entry(dir)))
        rc = azkm_fail(AZKM_E_INVALID,
                       "remote vault %s: client key %s refers to %s, a key of a remote vault: the client key must "
                       "be in a local vault (connecting would need the connection being made)",
                       name, path, uri);
    azkm_free(uri);
    return rc;
}

azkm_rc azkm_vault_remote_open(azkm_vault *v)
{
    azkm_remote_conf conf;
    azkm_tier_remote_settings s = {v->name, &conf};
    char path[4200];
    azkm_rc rc = azkm_check_private(v->dir, 0, "vault directory");

    if (rc != AZKM_OK)
        return azkm_fail(rc, "vault %s: %s", v->name, azkm_last_error());
    snprintf(path, sizeof(path), "%s/%s", v->dir, AZKM_REMOTE_FILE);
    rc = azkm_remote_conf_read(v->name, path, &conf);
    if (rc == AZKM_OK)
        rc = check_client_key(v->ks, v->name, conf.client_key);
    if (rc == AZKM_OK)
        rc = azkm_tier_new(AZKM_TIER_REMOTE, v->ks->libctx, v->ks->propq, &s, &v->remote);
    return rc;
}

azkm_rc azkm_vault_remote_show(azkm_vault *v, azkm_vault_info *out)
{
    azkm_remote_conf conf;
    char path[4200];
    azkm_rc rc;

    snprintf(path, sizeof(path), "%s/%s", v->dir, AZKM_REMOTE_FILE);
    if ((rc = azkm_remote_conf_read(v->name, path, &conf)) != AZKM_OK)
        return rc;
    out->remote = 1;
    snprintf(out->remote_vault, sizeof(out->remote_vault), "%s", conf.vault);
    out->n_remote_urls = conf.n_urls;
    for (size_t i = 0; i < conf.n_urls; i++)
        snprintf(out->remote_urls[i], sizeof(out->remote_urls[i]), "%s", conf.urls[i]);
    return AZKM_OK;
}

/* A file the entry names (NULL: none), absolute (the entry is used from any directory) and present now; the client
 * key not accessible to others. */
static azkm_rc copy_path(const char *name, const char *what, const char *path, char out[AZKM_REMOTE_PATH_MAX + 1])
{
    char abs[4096];
    azkm_rc rc;

    out[0] = '\0';
    if (path == NULL)
        return AZKM_OK;
    if (realpath(path, abs) == NULL)
        return azkm_fail(AZKM_E_NOT_FOUND, "remote vault %s: %s %.200s: %s", name, what, path, strerror(errno));
    if (strlen(abs) > AZKM_REMOTE_PATH_MAX)
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: %s %.200s: the path is over %d bytes", name, what, path,
                         AZKM_REMOTE_PATH_MAX);
    if ((strcmp(what, "client key") == 0 || strcmp(what, "client assertion key") == 0 ||
         strcmp(what, "client secret file") == 0) &&
        (rc = azkm_check_private(abs, strcmp(what, "client secret file") == 0, what)) != AZKM_OK)
        return azkm_fail(rc, "remote vault %s: %s", name, azkm_last_error());
    memcpy(out, abs, strlen(abs) + 1);
    return AZKM_OK;
}

/* How the entry authenticates: a service principal (a client id) with a secret or assertion, a client
 * certificate, or the peer's credentials. */
static azkm_rc token_auth_of(const char *name, const azkm_remote_params *p, azkm_remote_conf *c)
{
    azkm_rc rc;

    c->auth = c->client_cert[0] || c->client_key[0] ? AZKM_REMOTE_AUTH_CERTIFICATE : AZKM_REMOTE_AUTH_PEER;
    if (p->client_id == NULL && p->tenant == NULL && p->client_secret_file == NULL &&
        p->client_assertion_cert == NULL && p->client_assertion_key == NULL)
        return AZKM_OK;
    if (p->client_id == NULL || strlen(p->client_id) > AZKM_GUID_LEN ||
        (p->tenant != NULL && strlen(p->tenant) > AZKM_REMOTE_TENANT_MAX))
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: a service principal needs --client-id (an appId) and at most a %d-byte "
                         "--tenant",
                         name, AZKM_REMOTE_TENANT_MAX);
    snprintf(c->client_id, sizeof(c->client_id), "%s", p->client_id);
    snprintf(c->tenant, sizeof(c->tenant), "%s", p->tenant != NULL ? p->tenant : AZKM_REMOTE_TENANT_DEFAULT);
    c->auth = p->client_assertion_cert != NULL || p->client_assertion_key != NULL ? AZKM_REMOTE_AUTH_ASSERTION
                                                                                  : AZKM_REMOTE_AUTH_SECRET;
    if ((rc = copy_path(name, "client secret file", p->client_secret_file, c->secret_file)) != AZKM_OK ||
        (rc = copy_path(name, "client assertion certificate", p->client_assertion_cert, c->assertion_cert)) !=
            AZKM_OK ||
        (rc = copy_path(name, "client assertion key", p->client_assertion_key, c->assertion_key)) != AZKM_OK)
        return rc;
    if (c->client_cert[0] || c->client_key[0])
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: a service principal (--client-id) or a client certificate "
                         "(--client-cert), not both",
                         name);
    return AZKM_OK;
}

/* The entry's settings from the caller's, with the defaults filled in. */
static azkm_rc conf_of(const char *name, const azkm_remote_params *p, azkm_remote_conf *c)
{
    azkm_rc rc;

    memset(c, 0, sizeof(*c));
    if (p == NULL || p->n_urls == 0 || p->n_urls > AZKM_REMOTE_URLS_MAX || p->urls == NULL)
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: give 1 to %d azkmd URLs", name, AZKM_REMOTE_URLS_MAX);
    for (size_t i = 0; i < p->n_urls; i++) {
        if (p->urls[i] == NULL || strlen(p->urls[i]) > AZKM_REMOTE_URL_MAX)
            return azkm_fail(AZKM_E_INVALID, "remote vault %s: URL %zu is missing or longer than %d bytes", name,
                             i + 1, AZKM_REMOTE_URL_MAX);
        snprintf(c->urls[i], sizeof(c->urls[i]), "%s", p->urls[i]);
    }
    c->n_urls = p->n_urls;
    if (p->remote_vault != NULL && strlen(p->remote_vault) > AZKM_VAULT_NAME_MAX)
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: the vault name on the server '%.64s' is over %d characters", name,
                         p->remote_vault, AZKM_VAULT_NAME_MAX);
    snprintf(c->vault, sizeof(c->vault), "%s", p->remote_vault != NULL ? p->remote_vault : name);
    if (p->domain != NULL && strlen(p->domain) > AZKM_REMOTE_DOMAIN_MAX)
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: domain is over %d characters", name,
                         AZKM_REMOTE_DOMAIN_MAX);
    snprintf(c->domain, sizeof(c->domain), "%s", p->domain != NULL ? p->domain : AZKM_REMOTE_DOMAIN_DEFAULT);
    if ((rc = copy_path(name, "CA file", p->ca_file, c->ca_file)) != AZKM_OK ||
        (rc = copy_path(name, "client certificate", p->client_cert, c->client_cert)) != AZKM_OK ||
        (rc = copy_path(name, "client key", p->client_key, c->client_key)) != AZKM_OK ||
        (rc = token_auth_of(name, p, c)) != AZKM_OK)
        return rc;
    c->connect_timeout_ms = p->connect_timeout_ms > 0 ? p->connect_timeout_ms : AZKM_REMOTE_CONNECT_TIMEOUT_MS;
    c->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : AZKM_REMOTE_TIMEOUT_MS;
    c->refresh_s = p->refresh_s == 0                            ? AZKM_REMOTE_REFRESH_S
                   : p->refresh_s == AZKM_REMOTE_REFRESH_ALWAYS ? 0
                                                                : p->refresh_s;
    return azkm_remote_conf_check(name, c);
}

static azkm_rc vault_connect_impl(azkm_keystore *ks, const char *name, const azkm_remote_params *params)
{
    azkm_remote_conf conf;
    char dir[4096], path[4200];
    struct stat st;
    azkm_rc rc = azkm_vault_dir(ks, name, dir, sizeof(dir));

    if (rc == AZKM_OK)
        rc = conf_of(name, params, &conf);
    if (rc == AZKM_OK)
        rc = check_client_key(ks, name, conf.client_key);
    if (rc != AZKM_OK)
        return rc;
    if (stat(dir, &st) == 0)
        return azkm_fail(AZKM_E_CONFLICT, "vault %s already exists in %s", name, ks->dir);
    if ((rc = azkm_mkdir_private(ks->dir)) != AZKM_OK)
        return rc;
    if (mkdir(dir, 0700) != 0)
        return azkm_fail(errno == EEXIST ? AZKM_E_CONFLICT : AZKM_E_IO, "vault %s: cannot create %s: %s", name, dir,
                         strerror(errno));
    snprintf(path, sizeof(path), "%s/%s", dir, AZKM_REMOTE_FILE);
    rc = azkm_remote_conf_write(name, path, &conf);
    if (rc != AZKM_OK)
        rmdir(dir);
    return rc;
}

azkm_rc azkm_vault_connect(azkm_keystore *ks, const char *name, const azkm_remote_params *params)
{
    AZKM_AUDITED(ks, "VaultConnect", name, NULL, vault_connect_impl(ks, name, params), NULL);
}
