/* jansson's json_dumps spends about 16 k instructions on a two-field reply (it checks every string's UTF-8 and
 * dumps through a callback), as much as the rest of a reply; this writer takes a few hundred for the same text
 * (docs/performance.md, "azkmd"). Its output is jansson's (compact, keys in insertion order, which jansson's
 * object iteration follows, strings escaped as jansson escapes them); what it does not write itself (reals, with
 * their formatting rules, and strings beyond ASCII, with their UTF-8 checks) goes to jansson. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "json/dump.h"

typedef struct {
    char *p;
    size_t len, cap;
    int failed, unwritten; /* unwritten: a value for json_dumps */
} text;

/* Grows by copying into a new buffer and clearing the old one: replies may hold plaintexts. */
static void put(text *t, const char *s, size_t n)
{
    if (t->failed || t->unwritten)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *p = malloc(cap);
        if (p == NULL) {
            t->failed = 1;
            return;
        }
        if (t->p != NULL) {
            memcpy(p, t->p, t->len);
            OPENSSL_cleanse(t->p, t->len);
            free(t->p);
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

static void put_string(text *t, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *run = s;
    char esc[6] = {'\\', 'u', '0', '0', 0, 0};

    put(t, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            t->unwritten = 1;
            return;
        }
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(t, run, (size_t)(s + i - run));
        run = s + i + 1;
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            put(t, esc, 2);
            esc[1] = 'u';
        } else if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
            put(t, c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t", 2);
        } else {
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0x0f];
            put(t, esc, 6);
        }
    }
    put(t, run, (size_t)(s + n - run));
    put(t, "\"", 1);
}

static void put_integer(text *t, json_int_t v)
{
    char d[24];
    int n = snprintf(d, sizeof(d), "%" JSON_INTEGER_FORMAT, v);

    put(t, d, (size_t)n);
}

static void put_value(text *t, const json_t *v);

static void put_object(text *t, const json_t *v)
{
    const char *key;
    json_t *value;
    int first = 1;

    put(t, "{", 1);
    json_object_foreach((json_t *)v, key, value)
    {
        put(t, ",", first ? 0 : 1);
        put_string(t, key, strlen(key));
        put(t, ":", 1);
        put_value(t, value);
        first = 0;
    }
    put(t, "}", 1);
}

static void put_array(text *t, const json_t *v)
{
    put(t, "[", 1);
    for (size_t i = 0; i < json_array_size(v); i++) {
        put(t, ",", i == 0 ? 0 : 1);
        put_value(t, json_array_get(v, i));
    }
    put(t, "]", 1);
}

static void put_value(text *t, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put_object(t, v);
        break;
    case JSON_ARRAY:
        put_array(t, v);
        break;
    case JSON_STRING:
        put_string(t, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        put_integer(t, json_integer_value(v));
        break;
    case JSON_TRUE:
        put(t, "true", 4);
        break;
    case JSON_FALSE:
        put(t, "false", 5);
        break;
    case JSON_NULL:
        put(t, "null", 4);
        break;
    default: /* JSON_REAL */
        t->unwritten = 1;
        break;
    }
}

char *azkmd_json_dumps(const json_t *v)
{
    text t = {NULL, 0, 0, 0, 0};

    if (!json_is_object(v) && !json_is_array(v)) /* NULL, as json_dumps without JSON_ENCODE_ANY */
        return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    put_value(&t, v);
    if (!t.failed && !t.unwritten && t.p != NULL) {
        t.p[t.len] = '\0';
        return t.p;
    }
    if (t.p != NULL) {
        OPENSSL_cleanse(t.p, t.len);
        free(t.p);
    }
    return t.failed ? NULL : json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
}
