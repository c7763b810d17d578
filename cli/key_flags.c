/* The attribute flags of the `azkm key` commands read into the keystore's attributes (see key_flags.h). */
#include <string.h>

#include "key_flags.h"

int cli_attrs_from_flags(const cli_args *a, unsigned *fields, azkm_attributes *attrs)
{
    const char *ops = args_get(a, "--ops"), *tags = args_get(a, "--tags");
    int ret;

    *fields = 0;
    memset(attrs, 0, sizeof(*attrs));
    if (args_get(a, "--enabled") != NULL) {
        if ((ret = args_bool(a, "--enabled", &attrs->enabled)) != 0)
            return ret;
        *fields |= AZKM_ATTR_ENABLED;
    }
    if (args_get(a, "--not-before") != NULL) {
        if ((ret = args_time(a, "--not-before", &attrs->not_before)) != 0)
            return ret;
        *fields |= AZKM_ATTR_NOT_BEFORE;
    }
    if (args_get(a, "--expires") != NULL) {
        if ((ret = args_time(a, "--expires", &attrs->expires)) != 0)
            return ret;
        *fields |= AZKM_ATTR_EXPIRES;
    }
    if (ops != NULL) {
        if (azkm_ops_parse(ops, &attrs->key_ops) != AZKM_OK)
            return args_usage("--ops", "%s", azkm_last_error());
        *fields |= AZKM_ATTR_KEY_OPS;
    }
    if (tags != NULL) {
        if (azkm_tags_parse(tags, attrs) != AZKM_OK)
            return args_usage("--tags", "%s", azkm_last_error());
        *fields |= AZKM_ATTR_TAGS;
    }
    return 0;
}
