# A private SoftHSMv2 token store for one test (sourced by tests/cli/lib.sh and tests/provider/lib.sh).
# softhsm_init DIR LABEL...: writes DIR/softhsm2.conf (tokens in DIR/tokens), exports SOFTHSM2_CONF, makes one
# token per LABEL with user PIN $HSM_PIN, and a 0600 PIN file $HSM_PIN_FILE. SoftHSM only sees tokens that exist
# when a process initialises the module: call this before starting anything that uses them. Labels must not be
# prefixes of each other (pkcs11-tool --token-label matches prefixes).
HSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
HSM_PIN=123456
HSM_SO_PIN=87654321

softhsm_init() {
    local dir=$1 label
    shift
    [ -f "$HSM_MODULE" ] || { echo "FAIL: SoftHSM is not installed ($HSM_MODULE; scripts/setup.sh installs softhsm2)" >&2; exit 1; }
    command -v softhsm2-util >/dev/null || { echo "FAIL: softhsm2-util is missing" >&2; exit 1; }
    mkdir -p "$dir/tokens"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir" \
        >"$dir/softhsm2.conf"
    export SOFTHSM2_CONF="$dir/softhsm2.conf"
    for label in "$@"; do
        softhsm2-util --init-token --free --label "$label" --pin "$HSM_PIN" --so-pin "$HSM_SO_PIN" >/dev/null ||
            { echo "FAIL: softhsm2-util could not make token $label" >&2; exit 1; }
    done
    HSM_PIN_FILE=$dir/pin
    (umask 077 && printf '%s\n' "$HSM_PIN" >"$HSM_PIN_FILE")
}

# p11tool LABEL ARGS...: pkcs11-tool on the token LABEL of the test's SoftHSM, logged in.
p11tool() {
    local label=$1
    shift
    pkcs11-tool --module "$HSM_MODULE" --token-label "$label" --login --pin "$HSM_PIN" "$@"
}
