/* Reading key_ops, attributes and tags from a create or update body (json/attributes.c). */
#ifndef AZKMD_ATTRIBUTES_H
#define AZKMD_ATTRIBUTES_H

#include <jansson.h>

#include "azkm/keystore.h"

/* Each sets its field(s) and the matching AZKM_ATTR_* bit in *fields when the body has them; BadParameter naming
 * the field otherwise. */
azkm_rc azkmd_read_key_ops(const json_t *body, unsigned *key_ops, unsigned *fields);
azkm_rc azkmd_read_attributes(const json_t *body, azkm_attributes *attrs, unsigned *fields);
azkm_rc azkmd_read_tags(const json_t *body, azkm_attributes *attrs, unsigned *fields);

#endif
