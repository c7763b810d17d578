/* Writes the per-request audit record through the keystore's audit log (azkm_audit_record), in the field names of
 * Azure Monitor's Key Vault logs where they exist (operationName, resultType, resultSignature, httpStatusCode,
 * durationMs, callerIpAddress, identity). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <string.h>

#include "audit/request_audit.h"

/* The record is written field by field into one buffer rather than built as a jansson object and dumped: that
 * cost about a third of a P-256 signature per request (docs/performance.md, "azkmd"). The output is what jansson
 * wrote: compact, fields in this order, strings escaped as jansson escapes them (", \\, control characters;
 * UTF-8 passed through), and a string that is not valid UTF-8 leaves its field out, as json_string() refused it. */
typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} line;

#define PUT_LITERAL(b, text) put((b), (text), sizeof(text) - 1)

static void put(line *b, const char *s, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (b->len + n + 2 > b->cap) {
        size_t cap = (b->len + n + 2) * 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Length of the UTF-8 sequence at s (1-4), or 0 when it is not one (overlong, surrogate, above U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0], cp;
    size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;

    if (n <= 1)
        return n;
    cp = c & (0xffu >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static int utf8_valid(const char *s)
{
    for (size_t n; *s != '\0'; s += n)
        if ((n = utf8_len((const unsigned char *)s)) == 0)
            return 0;
    return 1;
}

static void put_string(line *b, const char *s)
{
    static const char *const short_escape[32] = {
        ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t"};
    char esc[8];
    const char *run = s;

    PUT_LITERAL(b, "\"");
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(b, run, (size_t)(s - run));
        if (c < 0x20 && short_escape[c] != NULL)
            put(b, short_escape[c], 2);
        else if (c < 0x20)
            put(b, esc, (size_t)snprintf(esc, sizeof(esc), "\\u%04X", c));
        else
            put(b, c == '"' ? "\\\"" : "\\\\", 2);
        run = s + 1;
    }
    put(b, run, (size_t)(s - run));
    PUT_LITERAL(b, "\"");
}

/* ,"name":"value" (the first field without the comma); nothing when value is NULL, empty (unless always) or not
 * UTF-8. */
static void field(line *b, const char *name, const char *value, int always)
{
    if (value == NULL || (*value == '\0' && !always) || !utf8_valid(value))
        return;
    put(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1);
    put(b, name, strlen(name));
    PUT_LITERAL(b, "\":");
    put_string(b, value);
}

static void field_raw(line *b, const char *name, const char *text)
{
    PUT_LITERAL(b, ",\"");
    put(b, name, strlen(name));
    PUT_LITERAL(b, "\":");
    put(b, text, strlen(text));
}

/* A real as jansson prints it: %.17g, with ".0" when that reads as an integer. */
static void field_real(line *b, const char *name, double v)
{
    char text[40];
    int n = snprintf(text, sizeof(text) - 2, "%.6g", v); /* as the keystore's records: six significant digits */

    if (n > 0 && strpbrk(text, ".eE") == NULL && strspn(text, "-0123456789") == (size_t)n)
        strcat(text, ".0");
    field_raw(b, name, text);
}

static void identity_fields(line *b, const azkmd_identity *id)
{
    size_t first = 1;

    PUT_LITERAL(b, ",\"identity\":{\"principals\":[");
    for (size_t i = 0; i < id->n_principals; i++)
        if (utf8_valid(id->principals[i])) {
            put(b, first ? "" : ",", first ? 0 : 1);
            put_string(b, id->principals[i]);
            first = 0;
        }
    PUT_LITERAL(b, "],\"authenticatedBy\":");
    put_string(b, azkmd_auth_method_name(id->method));
    if (id->cert_sha256[0] != '\0') {
        PUT_LITERAL(b, ",\"clientCertificateSha256\":");
        put_string(b, id->cert_sha256);
    }
    PUT_LITERAL(b, "}");
}

static void now_text(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void azkmd_audit_request(azkm_keystore *ks, const azkmd_audit_fields *f)
{
    line b = {NULL, 0, 0, 0};
    char when[40], status[16];

    now_text(when, sizeof(when));
    snprintf(status, sizeof(status), "%d", f->status);
    PUT_LITERAL(&b, "{");
    field(&b, "time", when, 1);
    field(&b, "category", "AuditEvent", 1);
    field(&b, "operationName", f->operation != NULL ? f->operation : "Unknown", 1);
    field(&b, "resultType", f->error_code == NULL ? "Success" : "Failure", 1);
    field(&b, "resultSignature", f->error_code, 0);
    field(&b, "resultDescription", f->message, 0);
    field_raw(&b, "httpStatusCode", status);
    field_real(&b, "durationMs", f->duration_ms);
    field(&b, "requestId", f->request_id, 1);
    field(&b, "clientRequestId", f->client_request_id, 0);
    field(&b, "callerIpAddress", f->id->address, 1);
    identity_fields(&b, f->id);
    field(&b, "httpMethod", f->method, 1);
    field(&b, "requestPath", f->path, 1);
    field(&b, "vault", f->vault, 0);
    field(&b, "key", f->key, 0);
    field(&b, "version", f->version, 0);
    PUT_LITERAL(&b, "}");
    /* An audit write that fails leaves the request's result as it is: the keystore logs the same way. */
    if (!b.failed && b.p != NULL) {
        b.p[b.len] = '\0';
        if (azkm_audit_record(ks, b.p) != AZKM_OK)
            azkm_clear_error();
    }
    free(b.p);
}
