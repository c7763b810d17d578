#!/usr/bin/env bash
# Envelope encryption throughput: `azkm encrypt` / `azkm decrypt` against openssl on the same data.
# `openssl enc` refuses AEAD ciphers (AES-GCM) in OpenSSL 3.0, so the file-level baseline is -aes-256-ctr (the same
# AES core without GHASH), and `openssl speed -evp aes-256-gcm` gives the raw GCM ceiling of this machine.
# Usage: bench/envelope.sh AZKM [SIZE_MB]   (default 256 MB; data in a temp dir, removed afterwards)
set -euo pipefail
AZKM=${1:?usage: envelope.sh path/to/azkm [SIZE_MB]}
MB=${2:-256}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export AZKM_KEYSTORE_DIR="$TMP/ks"
cd "$TMP"
"$AZKM" vault create --name bench >/dev/null
"$AZKM" key create --vault-name bench --name kek --kty oct --ops wrapKey unwrapKey >/dev/null
head -c $((MB * 1048576)) /dev/urandom >data.bin
cat data.bin >/dev/null # warm the page cache

rate() { # rate LABEL COMMAND...: runs the command, prints MB/s
    local label=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    "$@"
    t1=$(date +%s.%N)
    printf '%-40s %8.1f MB/s\n' "$label" "$(echo "$MB / ($t1 - $t0)" | bc -l)"
}

key=$(openssl rand -hex 32)
iv=$(openssl rand -hex 16)
rate "azkm encrypt (AES-256-GCM, 64 KiB chunks)" "$AZKM" encrypt --vault-name bench --name kek --in-file data.bin \
    --out-file data.azkm
rate "azkm decrypt" "$AZKM" decrypt --in-file data.azkm --out-file data.out
cmp data.bin data.out
rate "openssl enc -aes-256-ctr (encrypt)" openssl enc -aes-256-ctr -K "$key" -iv "$iv" -in data.bin -out data.ctr
rate "openssl enc -aes-256-ctr (decrypt)" openssl enc -d -aes-256-ctr -K "$key" -iv "$iv" -in data.ctr -out data.out
echo "openssl speed -evp aes-256-gcm (16 KiB blocks, in memory):"
openssl speed -seconds 1 -bytes 16384 -evp aes-256-gcm 2>/dev/null | tail -1
