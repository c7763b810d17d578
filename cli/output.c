/* How the CLI prints: JSON documents, rows of a vertical table, times, and the results of data-plane
 * operations (see output.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include <azkm/base64.h>

#include "output.h"
#include "output_format.h"
#include "report.h"

const char *out_time(int64_t t, char *buf, size_t len)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (t == 0 || gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "-");
    return buf;
}

int out_json(json_t *doc)
{
    int rc = 0;

    if (doc == NULL)
        return cli_failf(AZKM_E_NOMEM, "cannot build JSON output");
    if (out_format_write(stdout, doc) != 0)
        rc = cli_failf(AZKM_E_IO, "cannot write to standard output");
    json_decref(doc);
    return rc;
}

void out_row(const char *label, const char *fmt, ...)
{
    va_list ap;

    printf("%-18s", label);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

int out_op_result(int json, const char *kid, const char *alg, const out_bytes *parts, size_t n)
{
    json_t *doc = json ? json_object() : NULL;

    if (json) {
        json_object_set_new(doc, "kid", json_string(kid));
        json_object_set_new(doc, "algorithm", json_string(alg));
    } else {
        out_row("Key ID", "%s", kid);
        out_row("Algorithm", "%s", alg);
    }
    for (size_t i = 0; i < n; i++) {
        char *txt;

        if (parts[i].bytes == NULL)
            continue;
        if ((txt = azkm_b64_encode(parts[i].bytes, parts[i].len)) == NULL) {
            json_decref(doc);
            return cli_failf(AZKM_E_NOMEM, "out of memory");
        }
        if (json)
            json_object_set_new(doc, parts[i].field, json_string(txt));
        else
            out_row(parts[i].label, "%s", txt);
        OPENSSL_clear_free(txt, strlen(txt));
    }
    return json ? out_json(doc) : 0;
}
