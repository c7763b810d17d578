/* The --output formats (-o): table (default), json, jsonc (json coloured on a terminal), tsv (values only, tab
 * separated, one line per item) and none (no result on stdout). Commands print json documents through out_json,
 * which renders them in the chosen format. */
#ifndef AZKM_CLI_OUTPUT_FORMAT_H
#define AZKM_CLI_OUTPUT_FORMAT_H

#include <stdio.h>

#include <jansson.h>

typedef enum { OUT_TABLE, OUT_JSON, OUT_JSONC, OUT_TSV, OUT_NONE } out_format;

/* Parses "table", "json", "jsonc", "tsv" or "none"; returns 0, or -1 for anything else. */
int out_format_parse(const char *text, out_format *fmt);
void out_format_set(out_format fmt);
out_format out_format_get(void);

/* Writes doc in the format set (json for table, which has its own printers); returns 0 or -1 on a write error.
 * Does not release doc. */
int out_format_write(FILE *f, const json_t *doc);

#endif
