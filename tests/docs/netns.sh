#!/usr/bin/env bash
# doc_blocks.py: runs a doc's session (DRIVER); in a network namespace of its own (AZKM_DOC_NETNS), with its
# loopback up first.
#   netns.sh DRIVER
set -euo pipefail
if [ -n "${AZKM_DOC_NETNS:-}" ]; then
    ip link set lo up
fi
exec bash "$1"
