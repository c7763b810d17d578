/* Every command of the azkm CLI, in the groups `azkm <group> <command>` runs them by, and the global flags that
 * every command accepts. */
#ifndef AZKM_CLI_COMMAND_TABLE_H
#define AZKM_CLI_COMMAND_TABLE_H

#include <stddef.h>

#include "command.h"

#define CLI_GROUP_MAX_TABLES 4
#define CLI_GROUP_MAX_COMMANDS 32

typedef struct {
    const char *name;                                /* "key"; "" for the commands run as `azkm <command>` */
    const char *summary;                             /* heading in the help */
    const cli_command *tables[CLI_GROUP_MAX_TABLES]; /* the cmd_*.c tables listed in help order; NULL ends */
} cli_group;

extern const cli_group cli_groups[];
extern const size_t cli_n_groups;
extern const cli_flag cli_global_flags[];

/* The commands of a group in help order, into out (up to CLI_GROUP_MAX_COMMANDS); returns how many. */
size_t cli_group_commands(const cli_group *g, const cli_command **out);
/* The command of that name in any group of that name, or NULL. */
const cli_command *cli_find_command(const char *group, const char *name);
int cli_is_group(const char *name);

#endif
