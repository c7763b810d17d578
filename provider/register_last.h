/* Registration order in the application's method store: azkm's algorithms after every other provider's (see
 * register_last.c for why). */
#ifndef AZKM_PROV_REGISTER_LAST_H
#define AZKM_PROV_REGISTER_LAST_H

#include "provctx.h"

/* Called by query_operation before it answers for operation_id: the first time, has every other provider
 * register its algorithms of that operation. Returns 1 to answer now, or 0 (with *no_cache set) to answer
 * nothing this time, which is what azkm does while it makes the others register. */
int azkm_register_last(AZKM_PROVCTX *pctx, int operation_id, int *no_cache);

#endif
