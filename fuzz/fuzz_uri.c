/* Fuzzes the azkm: URI parser and formatter: parse never crashes, a parsed URI formats canonically, the canonical
 * form parses back to the same fields, and formatting respects every buffer size. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_fields(const azkm_uri *u, const char *text)
{
    FUZZ_CHECK(azkm_vault_name_valid(u->vault), "'%s' parsed to invalid vault '%s'", text, u->vault);
    FUZZ_CHECK(azkm_key_name_valid(u->name), "'%s' parsed to invalid key name '%s'", text, u->name);
    if (u->version[0] != '\0') {
        FUZZ_CHECK(azkm_version_valid(u->version), "'%s' parsed to invalid version '%s'", text, u->version);
        for (const char *p = u->version; *p; p++)
            FUZZ_CHECK(*p < 'A' || *p > 'F', "'%s': version '%s' is not lowercase", text, u->version);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), canon[AZKM_URI_MAX], again[AZKM_URI_MAX];
    azkm_uri u, u2;
    int n;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    azkm_clear_error();
    /* The store's parse takes every key URI the same way, and whole vaults besides (name "", version ""). */
    if (azkm_uri_parse_store(text, &u2) == AZKM_OK && u2.name[0] == '\0')
        FUZZ_CHECK(u2.version[0] == '\0' && azkm_vault_name_valid(u2.vault), "vault URI '%.80s' misparsed", text);
    else if (azkm_uri_parse(text, &u) == AZKM_OK)
        FUZZ_CHECK(azkm_uri_parse_store(text, &u2) == AZKM_OK && memcmp(&u, &u2, sizeof(u)) == 0,
                   "'%.80s' parses as a key but not the same way for the store", text);
    azkm_clear_error();
    if (azkm_uri_parse(text, &u) != AZKM_OK) {
        FUZZ_CHECK(azkm_last_error()[0] != '\0', "URI '%.80s' refused without a message", text);
        FUZZ_CHECK(azkm_last_rc() == AZKM_E_INVALID, "URI refused with %s", azkm_rc_name(azkm_last_rc()));
        free(text);
        return 0;
    }
    check_fields(&u, text);
    FUZZ_CHECK(strlen(text) < AZKM_URI_MAX, "a URI of %zu characters was accepted", strlen(text));

    FUZZ_CHECK(azkm_uri_format(&u, canon, sizeof(canon)) == AZKM_OK, "formatting '%s' failed: %s", text,
               azkm_last_error());
    n = (int)strlen(canon);
    /* Canonical = the input up to case and one trailing slash. */
    FUZZ_CHECK(strncasecmp(canon, text, (size_t)n) == 0 && (text[n] == '\0' || strcmp(text + n, "/") == 0),
               "'%s' formats as '%s'", text, canon);
    FUZZ_CHECK(strncmp(canon, "azkm://", 7) == 0, "canonical URI '%s' has no lowercase scheme", canon);

    FUZZ_CHECK(azkm_uri_parse(canon, &u2) == AZKM_OK, "canonical '%s' does not parse: %s", canon,
               azkm_last_error());
    FUZZ_CHECK(memcmp(&u, &u2, sizeof(u)) == 0, "'%s' and its canonical form '%s' parse differently", text, canon);
    FUZZ_CHECK(azkm_uri_format(&u2, again, sizeof(again)) == AZKM_OK && strcmp(again, canon) == 0,
               "formatting is not idempotent: '%s' then '%s'", canon, again);

    /* Exact-size heap buffers so that ASan sees any write past the end; too small must be refused. */
    {
        size_t sizes[] = {0, 1, (size_t)n / 2, (size_t)n - 1, (size_t)n, (size_t)n + 1};

        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            size_t len = sizes[i];
            char *buf = malloc(len ? len : 1);
            azkm_rc r;

            FUZZ_CHECK(buf != NULL, "out of memory");
            r = azkm_uri_format(&u, len ? buf : NULL, len);
            if (len > (size_t)n)
                FUZZ_CHECK(r == AZKM_OK && strcmp(buf, canon) == 0, "format into %zu bytes: %s", len,
                           azkm_rc_name(r));
            else
                FUZZ_CHECK(r == AZKM_E_INVALID, "format of %d characters into %zu bytes: %s", n, len,
                           azkm_rc_name(r));
            free(buf);
        }
    }
    free(text);
    return 0;
}
