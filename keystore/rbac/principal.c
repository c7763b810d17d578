/* Principals: "uid:<n>", "gid:<n>" and "sp:<appId>" in canonical form, and the forms a user may write them in
 * ("user:<name>", "group:<name>", an upper-case appId). */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac/rbac.h"

/* A Unix id as written in a principal: decimal, no sign, no leading zero, below (uid_t)-1. */
static int id_valid(const char *s)
{
    unsigned long long n = 0;
    size_t len = strlen(s);

    if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        n = n * 10 + (unsigned)(s[i] - '0');
    }
    return n < 4294967295ULL;
}

/* 8-4-4-4-12 hex digits; lower: lower case only. */
static int guid_valid(const char *s, int lower)
{
    if (strlen(s) != AZKM_GUID_LEN)
        return 0;
    for (size_t i = 0; i < AZKM_GUID_LEN; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]) || (lower && isupper((unsigned char)s[i])))
            return 0;
    }
    return 1;
}

int azkm_principal_valid(const char *text)
{
    if (text == NULL)
        return 0;
    if (strncmp(text, "uid:", 4) == 0 || strncmp(text, "gid:", 4) == 0)
        return id_valid(text + 4);
    if (strncmp(text, "sp:", 3) == 0)
        return guid_valid(text + 3, 1);
    return 0;
}

/* user:<name> or group:<name> looked up in the system's databases, into "uid:N" / "gid:N". */
static azkm_rc lookup_name(const char *text, int group, char out[AZKM_PRINCIPAL_MAX + 1])
{
    const char *name = text + (group ? 6 : 5);
    char buf[16384];
    struct passwd pw, *pwr = NULL;
    struct group gr, *grr = NULL;
    int err;

    if (*name == '\0' || strlen(name) > 256)
        return azkm_fail(AZKM_E_INVALID, "principal '%.300s': the %s name is empty or too long", text,
                         group ? "group" : "user");
    err = group ? getgrnam_r(name, &gr, buf, sizeof(buf), &grr) : getpwnam_r(name, &pw, buf, sizeof(buf), &pwr);
    if (err != 0 && err != ENOENT && err != ESRCH)
        return azkm_fail(AZKM_E_IO, "principal '%s': looking up the %s failed: %s", text, group ? "group" : "user",
                         strerror(err));
    if (group ? grr == NULL : pwr == NULL)
        return azkm_fail(AZKM_E_NOT_FOUND, "principal '%s': no such %s on this system", text,
                         group ? "group" : "user");
    snprintf(out, AZKM_PRINCIPAL_MAX + 1, "%s:%lu", group ? "gid" : "uid",
             group ? (unsigned long)grr->gr_gid : (unsigned long)pwr->pw_uid);
    return AZKM_OK;
}

azkm_rc azkm_principal_parse(const char *text, char out[AZKM_PRINCIPAL_MAX + 1])
{
    if (text == NULL)
        text = "";
    if (strncmp(text, "user:", 5) == 0 || strncmp(text, "group:", 6) == 0)
        return lookup_name(text, text[0] == 'g', out);
    if (strncmp(text, "sp:", 3) == 0 && guid_valid(text + 3, 0)) {
        for (size_t i = 0; i <= 3 + AZKM_GUID_LEN; i++)
            out[i] = (char)tolower((unsigned char)text[i]);
        return AZKM_OK;
    }
    if (!azkm_principal_valid(text))
        return azkm_fail(
            AZKM_E_INVALID,
            "principal '%.300s' is not one of uid:<number>, gid:<number>, user:<name>, group:<name> or "
            "sp:<appId GUID>",
            text);
    snprintf(out, AZKM_PRINCIPAL_MAX + 1, "%s", text);
    return AZKM_OK;
}
