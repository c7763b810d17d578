# Helpers shared by the azkm CLI scenario tests (sourced, not run). Each test gets a fresh keystore in a
# temporary directory that is removed on exit; AZKM names the azkm binary under test.
set -euo pipefail
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

: "${AZKM:?AZKM must name the azkm binary}"
[ -x "$AZKM" ] || { echo "FAIL: AZKM=$AZKM is not executable" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export AZKM_KEYSTORE_DIR="$TMP/keystore"
export HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/home/.config" XDG_DATA_HOME="$TMP/home/.local/share"
unset AZKM_CONF AZKM_PASSPHRASE AZKM_PASSPHRASE_FILE
mkdir -p "$HOME"
cd "$TMP"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# The protection tier the scenario runs on (ctest registers each key scenario once per tier, see CMakeLists.txt):
# software keys, or HSM keys on a SoftHSM token the test makes. Scenarios create vaults with vault_create and name
# key types as $RSA, $EC and $OCT; hsm_tier tells the scenario which tier it runs on where the tiers differ.
AZKM_TEST_TIER=${AZKM_TEST_TIER:-software}
case "$AZKM_TEST_TIER" in
software)
    RSA=RSA EC=EC OCT=oct
    HSM_BIND=()
    HSM_TOKEN=
    ;;
hsm)
    . "$TESTS_DIR/softhsm.sh"
    HSM_TOKEN=azkm-cli
    softhsm_init "$TMP/hsm" "$HSM_TOKEN"
    RSA=RSA-HSM EC=EC-HSM OCT=oct-HSM
    HSM_BIND=(--hsm-module "$HSM_MODULE" --hsm-token "$HSM_TOKEN" --hsm-pin-source "file:$HSM_PIN_FILE")
    ;;
*) fail "AZKM_TEST_TIER must be software or hsm, not '$AZKM_TEST_TIER'" ;;
esac
echo "== tier: $AZKM_TEST_TIER" >&2

hsm_tier() {
    [ "$AZKM_TEST_TIER" = hsm ]
}

# vault_create ARGS...: azkm vault create, bound to the test's token on the HSM tier.
vault_create() {
    "$AZKM" vault create "$@" "${HSM_BIND[@]}"
}

step() {
    echo "== $*" >&2
}

azkm() {
    "$AZKM" "$@"
}

# ok CMD...: runs CMD, which must succeed; its stdout passes through.
ok() {
    local rc=0
    "$@" 2>"$TMP/ok.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: '$*' exited $rc" >&2
        cat "$TMP/ok.err" >&2
        exit 1
    fi
    cat "$TMP/ok.err" >&2
}

# should_fail CODE REGEX CMD...: CMD must exit with CODE and print exactly one error line matching REGEX.
should_fail() {
    local want=$1 regex=$2 rc=0 lines
    shift 2
    "$@" >"$TMP/sf.out" 2>"$TMP/sf.err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL: '$*' exited $rc, expected $want" >&2
        cat "$TMP/sf.err" >&2
        exit 1
    fi
    if ! grep -Eq -- "$regex" "$TMP/sf.err"; then
        echo "FAIL: '$*': stderr does not match /$regex/:" >&2
        cat "$TMP/sf.err" >&2
        exit 1
    fi
    lines=$(grep -c '^azkm: error: ' "$TMP/sf.err" || true)
    if [ "$lines" -ne 1 ]; then
        echo "FAIL: '$*': expected one 'azkm: error:' line, got $lines:" >&2
        cat "$TMP/sf.err" >&2
        exit 1
    fi
    echo "   refused as expected: $(grep '^azkm: error: ' "$TMP/sf.err")" >&2
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
    [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# expect_match TEXT REGEX WHAT
expect_match() {
    # a here-string, not a pipe: grep -q may exit before printf is done, and pipefail would count that SIGPIPE
    grep -Eq -- "$2" <<<"$1" || fail "$3: '$1' does not match /$2/"
}

# jqr FILTER JSON: one raw value from a JSON document.
jqr() {
    jq -r "$1" <<<"$2" || fail "jq '$1' failed on: $2"
}

b64() {
    base64 -w0 "$@"
}

pass() {
    echo "PASS: $(basename "$0" .sh)" >&2
}

# flip_byte FILE OFFSET: inverts the lowest bit of one byte (writing a fixed value would change nothing when the
# byte already has it, and the test would then fail by chance).
flip_byte() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
