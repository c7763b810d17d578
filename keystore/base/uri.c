/* The azkm: URI grammar (docs/uri.md): azkm://<vault>/keys/<name>[/<version>], parsed strictly, and the vault's
 * keys as a whole, azkm://<vault>[/keys], for the OpenSSL store. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"

static size_t segment(const char *p)
{
    return strcspn(p, "/?#");
}

/* "azkm://" and the vault name; *rest points after the vault name. */
static azkm_rc parse_vault(const char *text, azkm_uri *out, const char **rest)
{
    const char *p;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (text == NULL || strncasecmp(text, "azkm://", 7) != 0)
        return azkm_fail(AZKM_E_INVALID, "URI '%.80s' does not start with azkm://", text ? text : "");
    if (strlen(text) >= AZKM_URI_MAX)
        return azkm_fail(AZKM_E_INVALID, "URI '%.80s...' is longer than %d characters", text, AZKM_URI_MAX - 1);
    p = text + 7;
    n = segment(p);
    if (n == 0 || n > AZKM_VAULT_NAME_MAX)
        return azkm_fail(AZKM_E_INVALID, "URI '%s': the vault name must be 3-%d characters", text,
                         AZKM_VAULT_NAME_MAX);
    memcpy(out->vault, p, n);
    if (!azkm_vault_name_valid(out->vault))
        return azkm_fail(AZKM_E_INVALID,
                         "URI '%s': vault name '%s' is invalid (3-24 of a-z, A-Z, 0-9 and '-', starting with a "
                         "letter)",
                         text, out->vault);
    *rest = p + n;
    return AZKM_OK;
}

/* "<name>[/<version>][/]" after "/keys/". */
static azkm_rc parse_key(const char *text, const char *p, azkm_uri *out)
{
    size_t n = segment(p);

    if (n == 0 || n > AZKM_NAME_MAX)
        return azkm_fail(AZKM_E_INVALID, "URI '%s': the key name must be 1-%d characters", text, AZKM_NAME_MAX);
    memcpy(out->name, p, n);
    if (!azkm_key_name_valid(out->name))
        return azkm_fail(AZKM_E_INVALID, "URI '%s': key name '%s' is invalid (only a-z, A-Z, 0-9 and '-')", text,
                         out->name);
    p += n;
    if (*p == '/' && p[1] != '\0') {
        p++;
        n = segment(p);
        if (n != AZKM_VERSION_LEN)
            return azkm_fail(AZKM_E_INVALID, "URI '%s': a version is 32 hexadecimal characters", text);
        memcpy(out->version, p, n);
        if (!azkm_version_valid(out->version))
            return azkm_fail(AZKM_E_INVALID, "URI '%s': a version is 32 hexadecimal characters", text);
        for (size_t i = 0; i < n; i++)
            out->version[i] = (char)tolower((unsigned char)out->version[i]);
        p += n;
    }
    if (*p == '/')
        p++;
    if (*p != '\0')
        return azkm_fail(AZKM_E_INVALID, "URI '%s': unexpected '%.20s' after the key", text, p);
    return AZKM_OK;
}

azkm_rc azkm_uri_parse(const char *text, azkm_uri *out)
{
    const char *p = NULL;
    azkm_rc rc = parse_vault(text, out, &p);

    if (rc != AZKM_OK)
        return rc;
    if (strncmp(p, "/keys/", 6) != 0)
        return azkm_fail(AZKM_E_INVALID, "URI '%s': expected /keys/<name> after the vault name", text);
    return parse_key(text, p + 6, out);
}

azkm_rc azkm_uri_parse_store(const char *text, azkm_uri *out)
{
    const char *p = NULL;
    azkm_rc rc = parse_vault(text, out, &p);

    if (rc != AZKM_OK)
        return rc;
    if (strcmp(p, "") == 0 || strcmp(p, "/") == 0 || strcmp(p, "/keys") == 0 || strcmp(p, "/keys/") == 0)
        return AZKM_OK;
    if (strncmp(p, "/keys/", 6) != 0)
        return azkm_fail(AZKM_E_INVALID, "URI '%s': expected /keys or /keys/<name> after the vault name", text);
    return parse_key(text, p + 6, out);
}

azkm_rc azkm_uri_format(const azkm_uri *uri, char *buf, size_t len)
{
    int n;

    if (uri->version[0])
        n = snprintf(buf, len, "azkm://%s/keys/%s/%s", uri->vault, uri->name, uri->version);
    else
        n = snprintf(buf, len, "azkm://%s/keys/%s", uri->vault, uri->name);
    if (n < 0 || (size_t)n >= len)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: its URI does not fit in %zu bytes", uri->vault, uri->name,
                         len);
    return AZKM_OK;
}
