#!/usr/bin/env bash
# doc_blocks.py itself: a failing block, an unmarked command block, a covered path that does not exist or does
# not run the block's commands, an illustrative block without a reason, a server that never listens or never
# prints its ready= text each fail it; working blocks (state kept between them, blocks of other passes left out,
# a server reached by the next block, covered blocks whose commands the path runs) pass; as root, --system blocks
# run as root in overlays that leave the machine untouched.
#   selftest.sh PYTHON BUILD_DIR
set -euo pipefail
py=$1 build=$2 here=$(cd "$(dirname "$0")" && pwd) top=$(cd "$(dirname "$0")/../.." && pwd)
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/conf" "$d/tests" && cp "$top/conf/azkm-provider.cnf" "$d/conf/"
printf '%s\n' 'cd "$top" && bash scripts/x.sh --flag' >"$d/tests/covering.sh"
doc() { printf '%s\n' "$@" >"$d/doc.md"; }
expect() { [ -z "${AZKM_SELFTEST_TIMES:-}" ] || echo "$(date +%T.%N) $2" >&2; # expect 0|1 DESCRIPTION [doc_blocks.py options and doc specs]
    local want=$1 what=$2 rc=0
    shift 2
    local opts=()
    [ "${1:-}" != --system ] || { opts=(--system); shift; }
    [ $# -gt 0 ] || set -- doc.md
    "$py" "$here/doc_blocks.py" "${opts[@]}" "$d" "$build" "$@" >"$d/out" 2>&1 || rc=$?
    if [ $((rc != 0)) != "$want" ]; then cat "$d/out"; echo "selftest: FAIL: $what" >&2; exit 1; fi
}
doc '<!-- doc-test: run -->' '```sh' 'azkm vault create --name docv' 'name=k' \
    'azkm key create --vault-name docv --name $name --kty EC' '```' \
    '<!-- doc-test: run -->' '```' 'azkm key show --vault-name docv --name $name' '```' '```text' 'output' '```'
expect 0 "working blocks, state kept between blocks"
doc '<!-- doc-test: run -->' '```sh' 'azkm key show --vault-name nosuch --name k' '```'
expect 1 "a failing block"
doc '<!-- doc-test: run -->' '```sh' 'true' '```' '<!-- doc-test: run -->' '```sh' 'false' 'true' '```'
expect 1 "a failing command inside a later block"
doc '<!-- doc-test: run when=other -->' '```sh' 'false' '```' '<!-- doc-test: run when=this -->' '```sh' 'true' '```'
expect 1 "a block that no pass runs" doc.md:this
grep -q "doc.md:2: no pass runs this block" "$d/out" && ! grep -q "block failed" "$d/out" ||
    { cat "$d/out"; echo "selftest: FAIL: a block of another pass was run" >&2; exit 1; }
expect 1 "... and run in its own pass" doc.md:this doc.md:other
doc '<!-- doc-test: run when=other -->' '```sh' 'true' '```' '<!-- doc-test: run when=this -->' '```sh' 'true' '```'
expect 0 "every block in one of the passes" doc.md:this doc.md:other
doc '```sh' 'true' '```'
expect 1 "an unmarked block"
doc '<!-- doc-test: covered tests/nosuch.sh -->' '```sh' 'true' '```'
expect 1 "a covered path that does not exist"
doc '<!-- doc-test: covered tests/covering.sh -->' '```sh' 'bash scripts/y.sh' '```'
expect 1 "a covered path that does not run the command"
doc '<!-- doc-test: covered tests/covering.sh -->' '```sh' 'git clone <repo>' 'sudo bash scripts/x.sh --flag  # x' '```'
expect 0 "a covered path that runs the command"
doc '<!-- doc-test: illustrative -->' '```sh' 'true' '```'
expect 1 "illustrative without a reason"
doc '<!-- doc-test: illustrative: needs a person -->' '```sh' 'false' '```'
expect 0 "illustrative with a reason"
port=$(bash "$top/scripts/free-port.sh")
doc '<!-- doc-test: server port='$port' -->' '```sh' 'echo bye' '```'
expect 1 "a server block that ends without listening"
doc '<!-- doc-test: server port='$port' -->' '```sh' "$py -m http.server --bind 127.0.0.1 $port" '```' \
    '<!-- doc-test: run -->' '```sh' "curl -sf http://127.0.0.1:$port/ >/dev/null" '```'
expect 0 "a server block, reached by the next block"
doc '<!-- doc-test: server ready="server: up now" -->' '```sh' 'echo "server: starting"' '```'
expect 1 "a ready= server block that ends without printing its text"
doc '<!-- doc-test: server ready="server: up now" -->' '```sh' 'echo up >state; echo "server: up now" >&2; sleep 600' \
    '```' '<!-- doc-test: run -->' '```sh' 'test "$(cat state)" = up' '```'
expect 0 "a ready= server block (a line on stderr), used by the next block"
doc '<!-- doc-test: server -->' '```sh' 'sleep 600' '```'
expect 1 "a server block with neither port= nor ready="
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
    mark=/etc/azkm-doc-selftest-$$
    doc '<!-- doc-test: run -->' '```sh' "touch $mark /usr/azkm-doc-selftest-$$ && test -x /usr/bin/azkm" \
        'test "$(id -u)" = 0 && azkm version >/dev/null' '```'
    expect 0 "--system: root, the build installed in /usr" --system doc.md
    [ ! -e "$mark" ] && [ ! -e "/usr/azkm-doc-selftest-$$" ] || { echo "selftest: FAIL: --system wrote to /etc" >&2; exit 1; }
    doc '<!-- doc-test: run -->' '```sh' "test -e $mark" '```'
    expect 1 "--system: a failing block" --system doc.md
fi
echo "doc_blocks selftest: ok"
