/* --output formats for json documents (see output_format.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output_format.h"

static out_format current = OUT_TABLE;

int out_format_parse(const char *text, out_format *fmt)
{
    static const char *const names[] = {"table", "json", "jsonc", "tsv", "none"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(text, names[i]) == 0) {
            *fmt = (out_format)i;
            return 0;
        }
    }
    return -1;
}

void out_format_set(out_format fmt)
{
    current = fmt;
}

out_format out_format_get(void)
{
    return current;
}

/* A scalar as a TSV field: strings as they are (tabs and newlines made spaces), null as an empty field. */
static void tsv_scalar(FILE *f, const json_t *v)
{
    if (json_is_string(v)) {
        for (const char *s = json_string_value(v); *s; s++)
            fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
    } else if (json_is_integer(v)) {
        fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        fprintf(f, "%.17g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        fputs(json_is_true(v) ? "True" : "False", f);
    }
}

/* The values of an item depth first, in document order, each after a tab but the first. */
static void tsv_fields(FILE *f, const json_t *v, int *first)
{
    const char *key;
    json_t *member;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, member) tsv_fields(f, member, first);
        return;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, member) tsv_fields(f, member, first);
        return;
    }
    if (!*first)
        fputc('\t', f);
    *first = 0;
    tsv_scalar(f, v);
}

/* az's tsv: a list gives one line per element, anything else one line. */
static void write_tsv(FILE *f, const json_t *doc)
{
    size_t i;
    json_t *item;
    int first;

    if (!json_is_array(doc)) {
        first = 1;
        tsv_fields(f, doc, &first);
        fputc('\n', f);
        return;
    }
    json_array_foreach(doc, i, item)
    {
        first = 1;
        tsv_fields(f, item, &first);
        fputc('\n', f);
    }
}

/* Colours json text: keys blue, strings green, numbers, true, false and null yellow. */
static void write_coloured(FILE *f, const char *s)
{
    while (*s) {
        if (*s == '"') {
            const char *e = s + 1;
            const char *after;

            while (*e && *e != '"')
                e += e[0] == '\\' && e[1] ? 2 : 1;
            after = *e ? e + 1 : e;
            while (*after == ' ')
                after++;
            fprintf(f, "%s%.*s\033[0m", *after == ':' ? "\033[34m" : "\033[32m", (int)(after - s), s);
            s = *e ? e + 1 : e;
            continue;
        }
        if (strchr("-0123456789tfn", *s) != NULL) {
            size_t n = strcspn(s, ",]} \n");

            fprintf(f, "\033[33m%.*s\033[0m", (int)n, s);
            s += n;
            continue;
        }
        fputc(*s++, f);
    }
}

int out_format_write(FILE *f, const json_t *doc)
{
    char *text;

    if (current == OUT_NONE)
        return 0;
    if (current == OUT_TSV) {
        write_tsv(f, doc);
        return ferror(f) ? -1 : 0;
    }
    if (current != OUT_JSONC || !isatty(fileno(f)))
        return json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', f) == EOF ? -1 : 0;
    if ((text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
        return -1;
    write_coloured(f, text);
    free(text);
    return fputc('\n', f) == EOF ? -1 : 0;
}
