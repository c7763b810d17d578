/* Reply bodies as text: what json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) writes, byte for byte, written
 * directly for the values replies are made of. */
#ifndef AZKMD_DUMP_H
#define AZKMD_DUMP_H

#include <jansson.h>

/* The compact text of v (free(); may hold plaintexts: clear it first), or NULL when out of memory or v cannot be
 * written (as json_dumps). Objects, arrays, strings of ASCII, integers, true, false and null are written here;
 * a value holding a real or a string with other bytes is handed to json_dumps whole. */
char *azkmd_json_dumps(const json_t *v);

#endif
