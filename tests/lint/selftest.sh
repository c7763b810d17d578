#!/usr/bin/env bash
# lint_selftest: each structural check of tests/lint/ fails on a small tree that breaks its rule (naming the file or
# function at fault) and passes on one that keeps it. usage: selftest.sh [PYTHON3] [CC] [CLANG_FORMAT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
py=${1:-python3}
cc=${2:-cc}
clang_format=${3:-clang-format}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect_fail NAME REGEX COMMAND...: the command exits 1 and its output matches REGEX.
expect_fail() {
    local name=$1 regex=$2 rc=0
    shift 2
    "$@" >"$tmp/out" 2>&1 || rc=$?
    if [ "$rc" -ne 1 ] || ! grep -Eq "$regex" "$tmp/out"; then
        echo "selftest FAILED: $name: expected exit 1 and output matching /$regex/, got exit $rc:"
        sed 's/^/    /' "$tmp/out"
        failures=$((failures + 1))
    else
        echo "ok: $name fails: $(grep -Em1 "$regex" "$tmp/out")"
    fi
}

expect_pass() {
    local name=$1 rc=0
    shift
    "$@" >"$tmp/out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "selftest FAILED: $name: expected exit 0, got exit $rc:"
        sed 's/^/    /' "$tmp/out"
        failures=$((failures + 1))
    else
        echo "ok: $name passes"
    fi
}

# put TREE PATH TEXT: writes TEXT to TREE/PATH.
put() {
    mkdir -p "$(dirname "$1/$2")"
    printf '%s\n' "$3" >"$1/$2"
}

# A tree with the folders the checks read, clang-formatted by the repository's own style.
new_tree() {
    rm -rf "$1"
    mkdir -p "$1"/{keystore/include/azkm,keystore/base,provider,cli,server/api,tests,fuzz,bench}
    cp "$top/.clang-format" "$1/"
    put "$1" keystore/include/azkm/keystore.h "int azkm_public(void);"
    put "$1" keystore/internal.h "int azkm_private(void);"
    put "$1" keystore/base/secmem.h "int azkm_secmem(void);"
    put "$1" cli/cli.h "int cli_main(void);"
    put "$1" provider/provider.h "int azkm_prov(void);"
    put "$1" server/api/request.h "int azkmd_request(void);"
}

# objects TREE FILE...: compiles each TREE/FILE.c as CMake would, prints the object list separated by ';'.
objects() {
    local tree=$1 list="" f
    shift
    for f in "$@"; do
        local top_folder=${f%%/*} rest=${f#*/}
        local obj="$tree/build/$top_folder/CMakeFiles/t.dir/$rest.c.o"
        mkdir -p "$(dirname "$obj")"
        "$cc" -c -o "$obj" "$tree/$f.c"
        list="$list;$obj"
    done
    echo "${list#;}"
}

# --- lint_no_loops ---
t=$tmp/loops
new_tree "$t"
put "$t" keystore/base/a.c "int azkm_b(void); int azkm_a(void) { return azkm_b(); }"
put "$t" keystore/base/b.c "int azkm_a(void); int azkm_b(void) { return azkm_a(); }"
objs=$(objects "$t" keystore/base/a keystore/base/b)
expect_fail "no_loops on a.c <-> b.c" 'keystore/base/a.c -> keystore/base/b.c: azkm_b' \
    "$py" "$here/no_loops.py" --build-dir "$t/build" --program lib "$objs"
put "$t" keystore/base/b.c "int azkm_b(void) { return 2; }"
objs=$(objects "$t" keystore/base/a keystore/base/b)
expect_pass "no_loops on a.c -> b.c" "$py" "$here/no_loops.py" --build-dir "$t/build" --program lib "$objs"

put "$t" keystore/keys/k.c "int azkm_k(void) { return 1; }"
put "$t" keystore/base/low.c "int azkm_k(void); int azkm_low(void) { return azkm_k(); }"
put "$t" keystore/tiers/software/sw.c "int azkm_hw(void); int azkm_sw(void) { return azkm_hw(); }"
put "$t" keystore/tiers/pkcs11/hw.c "int azkm_hw(void) { return 3; }"
put "$t" keystore/misc/m.c "int azkm_m(void) { return 4; }"
put "$t" cli/main.c "int azkm_k(void); int main(void) { return azkm_k(); }"
put "$t" keystore/keys/up.c "int main(void); int azkm_up(void) { return main(); }"
objs=$(objects "$t" keystore/keys/k keystore/base/low keystore/tiers/software/sw keystore/tiers/pkcs11/hw \
    keystore/misc/m)
expect_fail "no_loops on base/ using keys/" 'keystore/base/low.c \(base/\) uses keystore/keys/k.c \(keys/, above it\)' \
    "$py" "$here/no_loops.py" --build-dir "$t/build" --program lib "$objs"
expect_fail "no_loops on tiers/software/ using tiers/pkcs11/" 'sw.c \(tiers/software/\) uses .*hw.c .*beside it' \
    "$py" "$here/no_loops.py" --build-dir "$t/build" --program lib "$objs"
expect_fail "no_loops on a folder missing from LAYERS" 'keystore/misc/m.c is in no folder of the LAYERS table' \
    "$py" "$here/no_loops.py" --build-dir "$t/build" --program lib "$objs"
objs=$(objects "$t" keystore/keys/k keystore/keys/up cli/main)
expect_fail "no_loops on the library using the CLI" 'keystore/keys/up.c uses cli/main.c, outside the library' \
    "$py" "$here/no_loops.py" --build-dir "$t/build" --program azkm "$objs"
put "$t" keystore/tiers/tier.c "int azkm_sw(void); int azkm_tier(void) { return azkm_sw(); }"
objs=$(objects "$t" keystore/tiers/tier keystore/tiers/software/sw keystore/tiers/pkcs11/hw)
expect_fail "no_loops on tiers/ using tiers/software/" 'tiers/tier.c \(tiers/\) uses .*sw.c \(tiers/software/, above it\)' \
    "$py" "$here/no_loops.py" --build-dir "$t/build" --program lib "$objs"
put "$t" keystore/tiers/tier.c "int azkm_tier(void) { return 0; }"
put "$t" keystore/tiers/software/sw.c "int azkm_tier(void); int azkm_sw(void) { return azkm_tier(); }"
put "$t" keystore/tiers/pkcs11/hw.c "int azkm_tier(void); int azkm_hw(void) { return azkm_tier(); }"
objs=$(objects "$t" keystore/keys/k cli/main keystore/tiers/tier keystore/tiers/software/sw keystore/tiers/pkcs11/hw \
    keystore/base/b)
expect_pass "no_loops on folders in order" "$py" "$here/no_loops.py" --build-dir "$t/build" --program azkm "$objs"

# --- lint_function_length ---
t=$tmp/length
new_tree "$t"
body() { # body N: a function body of N lines
    local i
    for ((i = 1; i <= $1; i++)); do echo "    x += $i;"; done
}
printf 'static int short_one(int x)\n{\n%s\n}\n\n__attribute__((noinline)) int long_one(int x)\n{\n%s\n    return x;\n}\n' \
    "$(body 3)" "$(body 100)" >"$t/provider/p.c"
expect_fail "function_length on 101 lines" 'provider/p.c:9: long_one\(\) has 101 lines' \
    "$py" "$here/function_length.py" --source-dir "$t"
printf 'int long_one(int x)\n{\n%s\n    return x;\n}\n' "$(body 99)" >"$t/provider/p.c"
expect_pass "function_length on 100 lines" "$py" "$here/function_length.py" --source-dir "$t"
printf 'int odd_one(int x) {\n    return x;\n}\n\nint k(void)\n{\n    return 1;\n' >"$t/cli/c.c"
expect_fail "function_length on an unclosed brace" 'cli/c.c: line 6: this `\{` is never closed' \
    "$py" "$here/function_length.py" --source-dir "$t"

# --- lint_private_headers ---
t=$tmp/headers
new_tree "$t"
put "$t" cli/ok.c $'#include <stdio.h>\n#include <azkm/keystore.h>\n#include "azkm/keystore.h"\n#include "cli.h"'
put "$t" provider/ok.c $'#include "provider.h"\n#include <azkm/keystore.h>\n/* #include "internal.h" */'
put "$t" server/api/ok.c $'#include "api/request.h"\n#include "request.h"\n#include "azkm/keystore.h"'
expect_pass "private_headers on public and own headers" "$py" "$here/private_headers.py" --source-dir "$t"
put "$t" cli/bad.c $'#include "internal.h"\n#include "../keystore/base/secmem.h"\n#include <base/secmem.h>'
put "$t" provider/bad.c $'#include "../cli/cli.h"\n#include "azkm/secret.h"'
put "$t" server/bad.c $'#include "../cli/cli.h"\n#include "../keystore/base/secmem.h"'
for regex in 'cli/bad.c:1: internal.h' 'cli/bad.c:2: .*secmem.h" is not a header of cli/' \
    'cli/bad.c:3: <base/secmem.h> is the library.s private header' 'provider/bad.c:1: .*cli.h" is not a header' \
    'provider/bad.c:2: azkm/secret.h is not a public header' 'server/bad.c:1: .*cli.h" is not a header' \
    'server/bad.c:2: .*secmem.h" is not a header'; do
    expect_fail "private_headers: $regex" "$regex" "$py" "$here/private_headers.py" --source-dir "$t"
done

# --- lint_no_sql_outside_catalog ---
t=$tmp/sql
new_tree "$t"
put "$t" keystore/catalog/catalog.c $'#include <sqlite3.h>\nint f(sqlite3 *db) { return SQLITE_OK; }'
put "$t" keystore/keys/k.c $'/* sqlite3_step is the catalog\'s */\nconst char *s = "sqlite3_step";'
expect_pass "no_sql_outside_catalog on SQL in catalog/ and prose elsewhere" \
    "$py" "$here/no_sql_outside_catalog.py" --source-dir "$t"
put "$t" keystore/keys/k.c $'#include "sqlite3.h"\nint g(void *st) { return sqlite3_step(st) == SQLITE_ROW; }'
expect_fail "no_sql_outside_catalog on an include" 'keystore/keys/k.c:1: #include sqlite3.h' \
    "$py" "$here/no_sql_outside_catalog.py" --source-dir "$t"
expect_fail "no_sql_outside_catalog on a call" 'keystore/keys/k.c:2: SQLITE_ROW, sqlite3_step' \
    "$py" "$here/no_sql_outside_catalog.py" --source-dir "$t"

# --- lint_format ---
t=$tmp/format
new_tree "$t"
printf 'int good(void)\n{\n    return 0;\n}\n' >"$t/bench/good.c"
expect_pass "format on a formatted file" bash "$here/format.sh" "$t" "$clang_format"
printf 'int  bad( void ) {return 0;}\n' >"$t/fuzz/bad.c"
expect_fail "format on an unformatted file" 'fuzz/bad.c is not clang-formatted' \
    bash "$here/format.sh" "$t" "$clang_format"

if [ "$failures" -gt 0 ]; then
    echo "lint_selftest: FAILED: $failures case(s)"
    exit 1
fi
echo "lint_selftest: every check fails on its bad tree and passes on its good one"
