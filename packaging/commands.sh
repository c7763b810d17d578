#!/usr/bin/env bash
# Prints every azkm command, one per line ("vault create", "key rotation-policy show", "encrypt", "version"),
# read from `azkm --help`, which prints the CLI's command tables (cli/command_table.c). Used by gen-man.sh and
# the completion test, so that neither keeps its own list.
#   commands.sh AZKM
set -euo pipefail
"$1" --help | awk '
    /^[A-Z].*\(azkm [a-z<>-]+\):$/ { g = $NF; sub(/\):$/, "", g); if (g == "<command>") g = ""; next }
    /^Other commands:$/ { g = ""; next }
    /^Global flags/ { exit }
    /^  [a-z]/ {
        c = ""
        for (i = 1; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++) c = c (c == "" ? "" : " ") $i
        print (g == "" ? c : g " " c)
    }'
