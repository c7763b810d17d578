#!/usr/bin/env bash
# Runs a test program with a fresh test keystore and the azkm provider configured (see lib.sh).
. "$(dirname "$0")/lib.sh"
"$@"
