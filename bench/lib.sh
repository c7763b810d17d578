# Shared by bench/smoke.sh and scripts/bench.sh: a throwaway SoftHSM token and keystore with the benchmark keys.
# bench_setup <dir> <azkm cli>: writes <dir>/keys.txt (the azkm-bench keys file) and the OpenSSL configurations.
# Sets SOFTHSM2_CONF, AZKM_KEYSTORE_DIR, BENCH_TOKEN, BENCH_PIN_FILE, BENCH_MODULE, BENCH_P11PROV_CONF.

BENCH_MODULE=${BENCH_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
BENCH_TOKEN=azkm-bench

# pkcs11-provider's module, if installed (Debian bookworm-backports package pkcs11-provider)
p11prov_module() {
    local d
    d=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"/\1/p')
    [ -f "$d/pkcs11.so" ] && echo "$d/pkcs11.so"
}

# p11prov_pem <pkcs11 uri> <out>: pkcs11-provider's key reference PEM file ("PKCS#11 PROVIDER URI"), the DER
# SEQUENCE { VisibleString "PKCS#11 Provider URI v1.0", UTF8String uri } its tools/uri2pem.py writes.
p11prov_pem() {
    python3 - "$1" "$2" <<'PY'
import base64, sys
def tlv(tag, body):
    n = len(body)
    ln = bytes([n]) if n < 128 else (bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 255]))
    return bytes([tag]) + ln + body
der = tlv(0x30, tlv(0x1a, b"PKCS#11 Provider URI v1.0") + tlv(0x0c, sys.argv[1].encode()))
b64 = base64.encodebytes(der).decode().replace("\n", "")
with open(sys.argv[2], "w") as f:
    f.write("-----BEGIN PKCS#11 PROVIDER URI-----\n")
    for i in range(0, len(b64), 64):
        f.write(b64[i:i + 64] + "\n")
    f.write("-----END PKCS#11 PROVIDER URI-----\n")
PY
}

# p11_uri_of <hsm version>: the RFC 7512 URI of an azkm HSM key (CKA_ID = the 16 bytes of its version)
p11_uri_of() {
    echo "pkcs11:token=$BENCH_TOKEN;type=private;id=$(sed 's/../%&/g' <<<"$1")"
}

bench_setup() {
    local dir=$1 azkm=$2 k v
    mkdir -p "$dir/tokens" "$dir/keys"
    chmod 755 "$dir"
    cat >"$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
CONF
    export SOFTHSM2_CONF=$dir/softhsm2.conf
    export AZKM_KEYSTORE_DIR=$dir/ks
    softhsm2-util --init-token --free --label "$BENCH_TOKEN" --pin 123456 --so-pin 87654321 >/dev/null
    BENCH_PIN_FILE=$dir/pin
    (umask 077 && echo 123456 >"$BENCH_PIN_FILE")

    # plain: the default provider only (path 1)
    printf 'openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\ndefault = default_sect\n[default_sect]\nactivate = 1\n' \
        >"$dir/plain.cnf"
    BENCH_P11PROV_CONF=
    local m
    if m=$(p11prov_module); then
        BENCH_P11PROV_CONF=$dir/pkcs11-provider.cnf
        cat >"$BENCH_P11PROV_CONF" <<CONF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
alg_section = evp_properties
[evp_properties]
default_properties = ?provider=default
[provider_sect]
default = default_sect
pkcs11 = pkcs11_sect
[default_sect]
activate = 1
[pkcs11_sect]
module = $m
pkcs11-module-path = $BENCH_MODULE
pkcs11-module-token-pin = file:$BENCH_PIN_FILE
activate = 1
CONF
    fi

    "$azkm" vault create --name swv >/dev/null
    "$azkm" vault create --name hsmv --hsm-module "$BENCH_MODULE" --hsm-token "$BENCH_TOKEN" \
        --hsm-pin-source "file:$BENCH_PIN_FILE" >/dev/null
    : >"$dir/keys.txt"
    for k in rsa2048 rsa3072 ec256 ec384; do
        case $k in
        rsa2048) OPENSSL_CONF=/dev/null openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/keys/$k.pem" 2>/dev/null
                 "$azkm" key create --vault-name hsmv --name $k --kty RSA-HSM --size 2048 >/dev/null ;;
        rsa3072) OPENSSL_CONF=/dev/null openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$dir/keys/$k.pem" 2>/dev/null
                 "$azkm" key create --vault-name hsmv --name $k --kty RSA-HSM --size 3072 >/dev/null ;;
        ec256) OPENSSL_CONF=/dev/null openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/keys/$k.pem"
               "$azkm" key create --vault-name hsmv --name $k --kty EC-HSM --curve P-256 >/dev/null ;;
        ec384) OPENSSL_CONF=/dev/null openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$dir/keys/$k.pem"
               "$azkm" key create --vault-name hsmv --name $k --kty EC-HSM --curve P-384 >/dev/null ;;
        esac
        "$azkm" key import --vault-name swv --name $k --file "$dir/keys/$k.pem" >/dev/null
        v=$("$azkm" --output json key show --vault-name hsmv --name $k | sed -n 's|.*"kid": *"azkm://hsmv/keys/[^/]*/\([0-9a-f]\{32\}\)".*|\1|p')
        [ ${#v} = 32 ] || { echo "bench_setup: no version for hsm/$k" >&2; return 1; }
        echo "$k $dir/keys/$k.pem azkm://swv/keys/$k azkm://hsmv/keys/$k $v" >>"$dir/keys.txt"
    done
}
