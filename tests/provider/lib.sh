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

OPENSSL_CONF=/dev/null "$AZKM_SETUP" "$KS"
export OPENSSL_CONF="$AZKM_CONF_SNIPPET"
export OPENSSL_MODULES="$AZKM_PROVIDER_DIR"
export AZKM_KEYSTORE_DIR="$KS"
cd "$T"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

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
