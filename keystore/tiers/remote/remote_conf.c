/* A remote vault's entry, remote.json: where its azkmd listens and the vault's name there, each field checked
 * before it is written and again when it is read. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/crypto.h>

#include "tiers/remote/remote.h"

static int domain_valid(const char *d);

/* [IPv6 address]: the brackets kept (libcurl's CONNECT_TO takes the host so), the address checked. */
static int ipv6_valid(const char *host)
{
    char inner[INET6_ADDRSTRLEN + 1];
    struct in6_addr a;
    size_t n = strlen(host);

    if (n < 4 || host[0] != '[' || host[n - 1] != ']' || n - 2 > INET6_ADDRSTRLEN)
        return 0;
    memcpy(inner, host + 1, n - 2);
    inner[n - 2] = '\0';
    return inet_pton(AF_INET6, inner, &a) == 1;
}

azkm_rc azkm_remote_https_split(const char *entry, const char *url, char host[AZKM_REMOTE_DOMAIN_MAX + 1],
                                unsigned *port)
{
    const char *h = url + 8, *bracket = h[0] == '[' ? strchr(h, ']') : NULL;
    /* "[" without "]" is all host, and refused as such */
    const char *colon = h[0] == '[' && bracket == NULL ? NULL : strchr(bracket != NULL ? bracket : h, ':');
    size_t hlen = colon != NULL ? (size_t)(colon - h) : strlen(h);
    char *end = NULL;
    unsigned long p = 443;

    if (h[0] != '[' && colon != NULL && strchr(colon + 1, ':') != NULL)
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: URL '%.200s': an IPv6 address goes in brackets, as in "
                         "https://[::1]:8443",
                         entry, url);
    if (colon != NULL) {
        p = strtoul(colon + 1, &end, 10);
        if (end == colon + 1 || *end != '\0' || colon[1] == '+' || colon[1] == '-' || p == 0 || p > 65535)
            return azkm_fail(AZKM_E_INVALID,
                             "remote vault %s: URL '%.200s': the port must be 1-65535, nothing after it", entry,
                             url);
    }
    if (hlen == 0 || hlen > AZKM_REMOTE_DOMAIN_MAX)
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: URL '%.200s' names no host", entry, url);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (h[0] == '[' ? !ipv6_valid(host) : !domain_valid(host))
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: URL '%.200s': the host must be a DNS name, an IPv4 address or an IPv6 "
                         "address in brackets (no path)",
                         entry, url);
    *port = (unsigned)p;
    return AZKM_OK;
}

/* unix:/absolute/path, short enough for a socket address (sun_path holds 108 bytes with the NUL), or
 * https://host[:port]. */
static azkm_rc check_url(const char *entry, const char *url)
{
    const char *path = url + 5;
    char host[AZKM_REMOTE_DOMAIN_MAX + 1];
    unsigned port;

    if (strncmp(url, "https://", 8) == 0)
        return azkm_remote_https_split(entry, url, host, &port);
    if (strncmp(url, "unix:", 5) != 0)
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: URL '%.200s' is neither unix:/path/to/azkmd.sock nor https://host:port",
                         entry, url);
    if (path[0] != '/')
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: URL '%.200s': the socket path must be absolute", entry,
                         url);
    if (strlen(path) > 107)
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: URL '%.200s': a socket path is at most 107 bytes", entry,
                         url);
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7f)
            return azkm_fail(AZKM_E_INVALID,
                             "remote vault %s: URL '%.200s': the socket path holds a space or control character",
                             entry, url);
    return AZKM_OK;
}

/* A DNS name: labels of a-z, 0-9 and '-', not starting or ending with '-'. */
static int domain_valid(const char *d)
{
    size_t label = 0, n = strlen(d);

    if (n == 0 || n > AZKM_REMOTE_DOMAIN_MAX || d[0] == '.' || d[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = d[i];

        if (ch == '.') {
            if (label == 0 || d[i - 1] == '-')
                return 0;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                   (ch == '-' && label > 0)) {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return d[n - 1] != '-';
}

/* An appId as azkm sp create makes it: 8-4-4-4-12 hexadecimal digits. */
static int guid_valid(const char *g)
{
    if (strlen(g) != AZKM_GUID_LEN)
        return 0;
    for (size_t i = 0; i < AZKM_GUID_LEN; i++)
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? g[i] != '-' : !isxdigit((unsigned char)g[i]))
            return 0;
    return 1;
}

/* azkmd's tenant is a path segment of its token endpoint. */
static int tenant_valid(const char *t)
{
    size_t n = strlen(t);

    if (n == 0 || n > AZKM_REMOTE_TENANT_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '.')
            return 0;
    return 1;
}

static const char *const auth_names[] = {"peer", "certificate", "secret", "assertion"};

const char *azkm_remote_auth_name(azkm_remote_auth auth)
{
    return auth_names[auth];
}

/* Files are named by absolute paths, since the entry is used from any working directory. */
static azkm_rc check_paths(const char *entry, const azkm_remote_conf *c)
{
    const char *const files[] = {c->ca_file,     c->client_cert,    c->client_key,
                                 c->secret_file, c->assertion_cert, c->assertion_key};
    const char *const what[] = {"the CA file",
                                "the client certificate",
                                "the client key",
                                "the client secret file",
                                "the client assertion certificate",
                                "the client assertion key"};

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (files[i][0] != '\0' && files[i][0] != '/')
            return azkm_fail(AZKM_E_INVALID, "remote vault %s: %s '%.200s' must be an absolute path", entry,
                             what[i], files[i]);
    return AZKM_OK;
}

/* https URLs need a credential: a client certificate and its key, or a bearer token. A CA file is for https. */
static azkm_rc check_tls(const char *entry, const azkm_remote_conf *c)
{
    int https = 0;

    for (size_t i = 0; i < c->n_urls; i++)
        https |= strncmp(c->urls[i], "https://", 8) == 0;
    if (https && c->auth == AZKM_REMOTE_AUTH_PEER)
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: https URLs need a client certificate and its key (--client-cert and "
                         "--client-key) or a service principal (--client-id with --client-secret-file or "
                         "--client-assertion-cert)",
                         entry);
    if (!https && (c->ca_file[0] || c->auth == AZKM_REMOTE_AUTH_CERTIFICATE))
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: a CA file or client certificate is for https URLs; unix: URLs "
                         "authenticate by peer credentials or a bearer token",
                         entry);
    return check_paths(entry, c);
}

/* Exactly the fields of c's auth: a certificate and key for mTLS; a tenant, client_id and one credential for
 * bearer tokens. */
static azkm_rc check_auth(const char *entry, const azkm_remote_conf *c)
{
    int token = c->auth == AZKM_REMOTE_AUTH_SECRET || c->auth == AZKM_REMOTE_AUTH_ASSERTION;
    int cert = c->auth == AZKM_REMOTE_AUTH_CERTIFICATE;

    if ((unsigned)c->auth > AZKM_REMOTE_AUTH_ASSERTION)
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: unknown authentication %d", entry, (int)c->auth);
    if (cert != (c->client_cert[0] != '\0') || cert != (c->client_key[0] != '\0'))
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: a client certificate and its key go together, and only with auth "
                         "\"certificate\" (not \"%s\")",
                         entry, auth_names[c->auth]);
    if (token != (c->client_id[0] != '\0') || (c->auth == AZKM_REMOTE_AUTH_SECRET) != (c->secret_file[0] != '\0') ||
        (c->auth == AZKM_REMOTE_AUTH_ASSERTION) != (c->assertion_cert[0] != '\0') ||
        (c->assertion_cert[0] != '\0') != (c->assertion_key[0] != '\0'))
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: a service principal is --client-id with either --client-secret-file or "
                         "--client-assertion-cert and --client-assertion-key (auth \"%s\")",
                         entry, auth_names[c->auth]);
    if (token && !guid_valid(c->client_id))
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: client id '%.64s' is not an appId (a GUID)", entry,
                         c->client_id);
    if (token && !tenant_valid(c->tenant))
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: tenant '%.64s' is invalid: 1-64 of a-z, A-Z, 0-9, '.' and '-'", entry,
                         c->tenant);
    return check_tls(entry, c);
}

azkm_rc azkm_remote_conf_check(const char *entry, const azkm_remote_conf *c)
{
    azkm_rc rc;

    if (c->n_urls == 0 || c->n_urls > AZKM_REMOTE_URLS_MAX)
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: give 1 to %d azkmd URLs, not %zu", entry,
                         AZKM_REMOTE_URLS_MAX, c->n_urls);
    for (size_t i = 0; i < c->n_urls; i++)
        if ((rc = check_url(entry, c->urls[i])) != AZKM_OK)
            return rc;
    if (!azkm_vault_name_valid(c->vault))
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: the vault name on the server '%.64s' is invalid: 3-24 of a-z, A-Z, 0-9 "
                         "and '-', starting with a letter",
                         entry, c->vault);
    if (!domain_valid(c->domain))
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: domain '%.64s' is not a DNS name", entry, c->domain);
    if ((rc = check_auth(entry, c)) != AZKM_OK)
        return rc;
    if (c->connect_timeout_ms < 100 || c->connect_timeout_ms > 60000 || c->timeout_ms < 100 ||
        c->timeout_ms > 600000)
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: timeouts out of range (connect 100-60000 ms, request 100-600000 ms)",
                         entry);
    if (c->refresh_s < 0 || c->refresh_s > AZKM_REMOTE_REFRESH_S_MAX)
        return azkm_fail(AZKM_E_INVALID,
                         "remote vault %s: refresh_s %ld out of range (0-%d seconds; 0: on every use)", entry,
                         c->refresh_s, AZKM_REMOTE_REFRESH_S_MAX);
    return AZKM_OK;
}

/* A string member into buf; AZKM_E_CORRUPT when missing, not a string or too long. */
static azkm_rc get_string(const char *entry, const json_t *obj, const char *member, char *buf, size_t len)
{
    const json_t *v = json_object_get(obj, member);

    if (!json_is_string(v) || json_string_length(v) >= len)
        return azkm_fail(AZKM_E_CORRUPT,
                         "remote vault %s: remote.json: \"%s\" is missing, not a string or too long", entry,
                         member);
    memcpy(buf, json_string_value(v), json_string_length(v) + 1);
    return AZKM_OK;
}

/* An optional string member: "" when absent. */
static azkm_rc get_optional(const char *entry, const json_t *obj, const char *member, char *buf, size_t len)
{
    buf[0] = '\0';
    return json_object_get(obj, member) == NULL ? AZKM_OK : get_string(entry, obj, member, buf, len);
}

/* "auth" and its fields. An entry written before bearer tokens may lack "auth": a client certificate, or peer. */
static azkm_rc auth_from_json(const char *entry, const json_t *root, azkm_remote_conf *c)
{
    const json_t *v = json_object_get(root, "auth");
    size_t i, n_names = sizeof(auth_names) / sizeof(auth_names[0]);
    azkm_rc rc;

    c->auth = c->client_cert[0] ? AZKM_REMOTE_AUTH_CERTIFICATE : AZKM_REMOTE_AUTH_PEER;
    if (v != NULL) {
        for (i = 0; i < n_names && !(json_is_string(v) && strcmp(json_string_value(v), auth_names[i]) == 0); i++)
            ;
        if (i == n_names)
            return azkm_fail(AZKM_E_CORRUPT,
                             "remote vault %s: remote.json: \"auth\" must be \"peer\", \"certificate\", "
                             "\"secret\" or \"assertion\"",
                             entry);
        c->auth = (azkm_remote_auth)i;
    }
    if ((rc = get_optional(entry, root, "tenant", c->tenant, sizeof(c->tenant))) != AZKM_OK ||
        (rc = get_optional(entry, root, "client_id", c->client_id, sizeof(c->client_id))) != AZKM_OK ||
        (rc = get_optional(entry, root, "client_secret_file", c->secret_file, sizeof(c->secret_file))) != AZKM_OK ||
        (rc = get_optional(entry, root, "client_assertion_cert", c->assertion_cert, sizeof(c->assertion_cert))) !=
            AZKM_OK ||
        (rc = get_optional(entry, root, "client_assertion_key", c->assertion_key, sizeof(c->assertion_key))) !=
            AZKM_OK)
        return rc;
    return AZKM_OK;
}

static azkm_rc conf_from_json(const char *entry, const json_t *root, azkm_remote_conf *c)
{
    const json_t *urls = json_object_get(root, "urls"), *v;
    azkm_rc rc;
    size_t i;

    memset(c, 0, sizeof(*c));
    if (!json_is_array(urls) || json_array_size(urls) == 0 || json_array_size(urls) > AZKM_REMOTE_URLS_MAX)
        return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: remote.json: \"urls\" must be an array of 1 to %d URLs",
                         entry, AZKM_REMOTE_URLS_MAX);
    json_array_foreach(urls, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) > AZKM_REMOTE_URL_MAX)
            return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: remote.json: URL %zu is not a string of at most %d",
                             entry, i + 1, AZKM_REMOTE_URL_MAX);
        snprintf(c->urls[i], sizeof(c->urls[i]), "%s", json_string_value(v));
    }
    c->n_urls = json_array_size(urls);
    if ((rc = get_string(entry, root, "vault", c->vault, sizeof(c->vault))) != AZKM_OK ||
        (rc = get_string(entry, root, "domain", c->domain, sizeof(c->domain))) != AZKM_OK)
        return rc;
    if ((rc = get_optional(entry, root, "ca", c->ca_file, sizeof(c->ca_file))) != AZKM_OK ||
        (rc = get_optional(entry, root, "client_cert", c->client_cert, sizeof(c->client_cert))) != AZKM_OK ||
        (rc = get_optional(entry, root, "client_key", c->client_key, sizeof(c->client_key))) != AZKM_OK ||
        (rc = auth_from_json(entry, root, c)) != AZKM_OK)
        return rc;
    v = json_object_get(root, "connect_timeout_ms");
    c->connect_timeout_ms = json_is_integer(v) ? (long)json_integer_value(v) : AZKM_REMOTE_CONNECT_TIMEOUT_MS;
    v = json_object_get(root, "timeout_ms");
    c->timeout_ms = json_is_integer(v) ? (long)json_integer_value(v) : AZKM_REMOTE_TIMEOUT_MS;
    v = json_object_get(root, "refresh_s");
    if (v != NULL && !json_is_integer(v))
        return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: remote.json: \"refresh_s\" is not an integer", entry);
    c->refresh_s = v != NULL ? (long)json_integer_value(v) : AZKM_REMOTE_REFRESH_S;
    return azkm_remote_conf_check(entry, c);
}

azkm_rc azkm_remote_conf_read(const char *entry, const char *path, azkm_remote_conf *c)
{
    unsigned char *text = NULL;
    size_t len = 0;
    json_error_t err;
    json_t *root;
    azkm_rc rc = azkm_check_private(path, 0, "remote vault entry");

    if (rc == AZKM_OK)
        rc = azkm_read_file(path, &text, &len, 65536);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "remote vault %s: %s", entry, azkm_last_error());
    root = json_loadb((const char *)text, len, 0, &err);
    OPENSSL_free(text);
    if (!json_is_object(root)) {
        json_decref(root);
        return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: %s is not a JSON object (line %d: %s)", entry, path,
                         err.line, err.text);
    }
    rc = conf_from_json(entry, root, c);
    json_decref(root);
    return rc;
}

/* A service principal's fields: its appId, tenant and credential's file names, never the secret itself. */
static void write_token_auth(json_t *root, const azkm_remote_conf *c)
{
    if (c->client_id[0] == '\0')
        return;
    json_object_set_new(root, "tenant", json_string(c->tenant));
    json_object_set_new(root, "client_id", json_string(c->client_id));
    if (c->secret_file[0])
        json_object_set_new(root, "client_secret_file", json_string(c->secret_file));
    if (c->assertion_cert[0]) {
        json_object_set_new(root, "client_assertion_cert", json_string(c->assertion_cert));
        json_object_set_new(root, "client_assertion_key", json_string(c->assertion_key));
    }
}

azkm_rc azkm_remote_conf_write(const char *entry, const char *path, const azkm_remote_conf *c)
{
    json_t *root = json_object(), *urls = json_array();
    char *text;
    azkm_rc rc = azkm_remote_conf_check(entry, c);

    for (size_t i = 0; rc == AZKM_OK && i < c->n_urls; i++)
        json_array_append_new(urls, json_string(c->urls[i]));
    json_object_set_new(root, "urls", urls);
    json_object_set_new(root, "vault", json_string(c->vault));
    json_object_set_new(root, "domain", json_string(c->domain));
    json_object_set_new(root, "auth", json_string(auth_names[c->auth]));
    if (c->ca_file[0])
        json_object_set_new(root, "ca", json_string(c->ca_file));
    if (c->client_cert[0]) {
        json_object_set_new(root, "client_cert", json_string(c->client_cert));
        json_object_set_new(root, "client_key", json_string(c->client_key));
    }
    write_token_auth(root, c);
    json_object_set_new(root, "connect_timeout_ms", json_integer(c->connect_timeout_ms));
    json_object_set_new(root, "timeout_ms", json_integer(c->timeout_ms));
    json_object_set_new(root, "refresh_s", json_integer(c->refresh_s));
    text = rc == AZKM_OK ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (rc != AZKM_OK)
        return rc;
    if (text == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    rc = azkm_write_file_atomic(path, (const unsigned char *)text, strlen(text));
    free(text);
    return rc;
}
