/* The help of the azkm CLI: for the whole CLI, for a group of commands, and for one command with its flags,
 * examples and exit codes. */
#ifndef AZKM_CLI_HELP_H
#define AZKM_CLI_HELP_H

#include <stdio.h>

#include "command.h"

void cli_help_main(FILE *f);
/* group "" is the top level commands' group. */
void cli_help_group(FILE *f, const char *group);
void cli_help_command(FILE *f, const char *group, const cli_command *c);

#endif
