# Shared by the provider scenario scripts: a fresh keystore made through the keystore API, the shipped
# conf/azkm-provider.cnf pointed at it and at the freshly built azkm.so, and small assertion helpers.
# ctest provides AZKM_PROVIDER_DIR (directory of azkm.so), AZKM_SETUP (setup_keystore) and AZKM_CONF_SNIPPET.
set -euo pipefail

: "${AZKM_PROVIDER_DIR:?}" "${AZKM_SETUP:?}" "${AZKM_CONF_SNIPPET:?}"

T=$(mktemp -d "${TMPDIR:-/tmp}/azkm-prov.XXXXXX")
KS=$T/ks
cleanup() {
    local pids
    pids=$(jobs -p)
    [ -n "$pids" ] && kill $pids 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# The protection tier (ctest registers each scenario once per tier): software keys, or HSM keys on a SoftHSM token
# made here (vault1 bound to token azkm-prov, every key an HSM key). With HSM_ERROR_VAULTS=1 (set before sourcing)
# three more vaults get one EC-HSM key "k" each and then lose what they need: badpin (its PIN file now holds a
# wrong PIN), notoken (its token azkm-gone was deleted), nomodule (its module copy was deleted).
AZKM_TEST_TIER=${AZKM_TEST_TIER:-software}
export AZKM_TEST_TIER
case "$AZKM_TEST_TIER" in
software)
    OPENSSL_CONF=/dev/null "$AZKM_SETUP" "$KS" software
    ;;
hsm)
    . "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/softhsm.sh"
    HSM_TOKEN=azkm-prov
    extra=()
    if [ "${HSM_ERROR_VAULTS:-0}" = 1 ]; then
        softhsm_init "$T/hsm" "$HSM_TOKEN" azkm-badpin azkm-gone
        (umask 077 && printf '%s\n' "$HSM_PIN" >"$T/hsm/badpin")
        mkdir -p "$T/hsm/mod" && cp "$HSM_MODULE" "$T/hsm/mod/"
        extra=(badpin "$HSM_MODULE" azkm-badpin "file:$T/hsm/badpin"
            notoken "$HSM_MODULE" azkm-gone "file:$HSM_PIN_FILE"
            nomodule "$T/hsm/mod/libsofthsm2.so" "$HSM_TOKEN" "file:$HSM_PIN_FILE")
    else
        softhsm_init "$T/hsm" "$HSM_TOKEN"
    fi
    OPENSSL_CONF=/dev/null "$AZKM_SETUP" "$KS" hsm "$HSM_MODULE" "$HSM_TOKEN" "file:$HSM_PIN_FILE" "${extra[@]}"
    if [ "${HSM_ERROR_VAULTS:-0}" = 1 ]; then
        printf '654321\n' >"$T/hsm/badpin"
        export HSM_BADPIN_FILE="$T/hsm/badpin"
        gone=$(grep -l -- azkm-gone "$T"/hsm/tokens/*/token.object) || fail "token azkm-gone not found"
        rm -rf "$(dirname "$gone")"
        rm -f "$T/hsm/mod/libsofthsm2.so"
    fi
    # Forked workers may run as another user (nginx, Apache): the token store is readable to them, the PIN file
    # and the keystore are not.
    chmod 711 "$T" "$T/hsm"
    chmod -R go+rX "$T/hsm/tokens" "$T/hsm/softhsm2.conf"
    export HSM_MODULE HSM_TOKEN HSM_PIN
    ;;
*)
    fail "AZKM_TEST_TIER must be software or hsm, not '$AZKM_TEST_TIER'"
    ;;
esac
export OPENSSL_CONF="$AZKM_CONF_SNIPPET"
export OPENSSL_MODULES="$AZKM_PROVIDER_DIR"
export AZKM_KEYSTORE_DIR="$KS"
cd "$T"

hsm_tier() {
    [ "$AZKM_TEST_TIER" = hsm ]
}

# genpkey options that put a new vault key on the test's tier
TIER_PKEYOPTS=()
hsm_tier && TIER_PKEYOPTS=(-pkeyopt azkm-hsm:1)

# The default provider alone, without azkm: the independent cross-check.
plain() {
    OPENSSL_CONF=/dev/null OPENSSL_MODULES= openssl "$@"
}

# version_of <key name> -> the version setup_keystore recorded
version_of() {
    awk -v k="$1" '$1 == k { print $2 }' "$KS/versions"
}

# should_fail "<regex>" command...: the command must fail and its output match the regex.
should_fail() {
    local re=$1 out
    shift
    if out=$("$@" 2>&1); then
        fail "expected failure: $*"
    fi
    grep -Eq -- "$re" <<<"$out" || fail "'$*' failed without /$re/: $out"
    echo "ok (refused as expected): $*"
}

# A test CA made with the default provider; server certificates for azkm keys are issued by it.
make_ca() {
    plain req -x509 -newkey rsa:2048 -nodes -keyout ca.key -subj /CN=azkm-test-ca -days 2 -out ca.crt 2>/dev/null
}

# issue_cert <key (URI or file)> <out.crt>: CSR signed by the azkm key, certificate by the test CA.
issue_cert() {
    openssl req -new -key "$1" -subj /CN=localhost -out "$2.csr"
    plain req -in "$2.csr" -verify -noout 2>/dev/null || fail "CSR signed by $1 does not verify"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf
    plain x509 -req -in "$2.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out "$2" \
        2>/dev/null
}
