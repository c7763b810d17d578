#!/usr/bin/env bash
# Configuring without the test tools works: with jq, sqlite3, softhsm2-util and gcore gone from the machine (a mount
# namespace where /usr/bin is an overlay without them; find_program looks beyond PATH, so hiding them from PATH
# would prove nothing), `cmake -DBUILD_TESTING=OFF` configures, and a configure with tests stops naming the tool and
# its Debian package. Needs root (unshare); CI runs as root.
#   configure_without_test_tools.sh SOURCE_DIR
set -euo pipefail
src=$1
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null || { echo "configure_without_test_tools: needs root: skipped"; exit 77; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
# shellcheck disable=SC2016
unshare --mount bash -euo pipefail -c '
    src=$1 d=$2
    fail() { echo "configure_without_test_tools: FAIL: $*" >&2; exit 1; }
    mount --make-rprivate /
    mkdir -p "$d/ovl" && mount -t tmpfs azkm-test "$d/ovl" && mkdir "$d/ovl/upper" "$d/ovl/work"
    mount -t overlay azkm-test -o "lowerdir=/usr/bin,upperdir=$d/ovl/upper,workdir=$d/ovl/work" /usr/bin
    rm -f /usr/bin/jq /usr/bin/sqlite3 /usr/bin/softhsm2-util /usr/bin/gcore
    for t in jq sqlite3 softhsm2-util gcore; do ! command -v $t >/dev/null || fail "$t is still there"; done
    cmake -S "$src" -B "$d/off" -DBUILD_TESTING=OFF >"$d/off.log" 2>&1 || { cat "$d/off.log"; fail "configure with BUILD_TESTING=OFF"; }
    if cmake -S "$src" -B "$d/on" >"$d/on.log" 2>&1; then fail "configure with tests succeeded without jq"; fi
    tr -s "\n " "  " <"$d/on.log" | grep -q "jq is needed by the tests (BUILD_TESTING=ON): install it (apt-get install jq" \
        || { cat "$d/on.log"; fail "the configure with tests does not name jq and its package"; }
' - "$src" "$d"
echo "configure_without_test_tools: ok"
