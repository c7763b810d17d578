#!/usr/bin/env bash
# doc_blocks.py itself: a failing runnable block, an unmarked command block and a covered path that does not exist
# each fail it; marked blocks that work pass.
#   selftest.sh PYTHON BUILD_DIR
set -euo pipefail
py=$1 build=$2 here=$(cd "$(dirname "$0")" && pwd) top=$(cd "$(dirname "$0")/../.." && pwd)
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/conf" && cp "$top/conf/azkm-provider.cnf" "$d/conf/"
doc() { printf '%s\n' "$@" >"$d/doc.md"; }
expect() { # expect 0|1 DESCRIPTION
    local rc=0
    "$py" "$here/doc_blocks.py" "$d" "$build" doc.md >"$d/out" 2>&1 || rc=$?
    if [ $((rc != 0)) != "$1" ]; then cat "$d/out"; echo "selftest: FAIL: $2" >&2; exit 1; fi
}
doc '<!-- doc-test: run -->' '```sh' 'azkm vault create --name docv' 'azkm key create --vault-name docv --name k --kty EC' '```' \
    '<!-- doc-test: run -->' '```' 'azkm key show --vault-name docv --name k' '```' '```text' 'output' '```'
expect 0 "working blocks, state kept between blocks"
doc '<!-- doc-test: run -->' '```sh' 'azkm key show --vault-name nosuch --name k' '```'
expect 1 "a failing block"
doc '```sh' 'true' '```'
expect 1 "an unmarked block"
doc '<!-- doc-test: covered tests/nosuch.sh -->' '```sh' 'true' '```'
expect 1 "a covered path that does not exist"
echo "doc_blocks selftest: ok"
