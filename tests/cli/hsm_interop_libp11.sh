#!/usr/bin/env bash
# Interop with independent PKCS#11 clients on the same token: keys azkm made sign through libp11's pkcs11 engine
# (libengine-pkcs11-openssl) and verify with the public key `azkm key download` gives; keys made by pkcs11-tool
# and adopted with `azkm key adopt` sign through azkm, from the CLI and through the provider, and verify with the
# public key pkcs11-tool reads from the token.
. "$(dirname "$0")/lib.sh"
hsm_tier || fail "this scenario runs on the HSM tier only (AZKM_TEST_TIER=hsm)"
: "${AZKM_PROVIDER_DIR:?AZKM_PROVIDER_DIR must name the directory holding azkm.so}"
command -v pkcs11-tool >/dev/null || fail "pkcs11-tool is missing (scripts/setup.sh installs opensc)"
ENGINE=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')/pkcs11.so
[ -f "$ENGINE" ] || fail "libp11's engine $ENGINE is missing (scripts/setup.sh installs libengine-pkcs11-openssl)"

# libp11's engine, configured the way its documentation does it (an openssl.cnf engine section).
cat >engine.cnf <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $HSM_MODULE
PIN = $HSM_PIN
init = 0
CNF
# The azkm provider, on the test's keystore.
sed "s|^keystore_dir = .*|keystore_dir = $AZKM_KEYSTORE_DIR|" "$TESTS_DIR/../conf/azkm-provider.cnf" >provider.cnf
export OPENSSL_MODULES="$AZKM_PROVIDER_DIR"
head -c 5000 /dev/urandom >data

# engine_sign URI DGST-ARGS...: signs data with libp11's engine, into engine.sig
engine_sign() {
    local uri=$1
    shift
    OPENSSL_CONF=engine.cnf openssl dgst -engine pkcs11 -keyform engine -sign "$uri" "$@" -out engine.sig data \
        2>engine.err || fail "libp11 engine could not sign with $uri: $(cat engine.err)"
}

# pct HEX: RFC 7512 percent-encoding of bytes given in hex
pct() {
    sed 's/../%&/g' <<<"$1"
}

ok vault_create --name hv1 >/dev/null

for kty in RSA-HSM EC-HSM; do
    step "an azkm $kty key signs through libp11's engine"
    j=$(ok azkm key create --vault-name hv1 --name made-${kty%-HSM} --kty $kty --output json)
    version=$(jqr .key.kid "$j" | awk -F/ '{print $NF}')
    ok azkm key download --vault-name hv1 --name made-${kty%-HSM} --file made.pub
    # azkm's objects carry CKA_ID = the 16 bytes of the version (docs/architecture.md)
    uri="pkcs11:token=$HSM_TOKEN;id=$(pct "$version");type=private"
    engine_sign "$uri" -sha256
    openssl dgst -sha256 -verify made.pub -signature engine.sig data >/dev/null ||
        fail "$kty: libp11's signature does not verify with azkm's public key"
    if [ $kty = RSA-HSM ]; then
        engine_sign "$uri" -sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
        openssl dgst -sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -verify made.pub \
            -signature engine.sig data >/dev/null || fail "$kty: libp11's PSS signature does not verify"
    fi
    # and azkm still signs with it afterwards (the engine's session did not disturb the key)
    alg=ES256
    [ $kty = RSA-HSM ] && alg=PS256
    ok azkm key sign --vault-name hv1 --name made-${kty%-HSM} --algorithm $alg --data-file data \
        --signature-file azkm.sig >/dev/null
    ok azkm key verify --vault-name hv1 --name made-${kty%-HSM} --algorithm $alg --data-file data \
        --signature-file azkm.sig >/dev/null
done

adopt_and_sign() { # KEY-TYPE ID NAME ALG DGST-ARGS...
    local keytype=$1 id=$2 name=$3 alg=$4
    shift 4
    step "a $keytype key made by pkcs11-tool, adopted, signs through azkm"
    p11tool "$HSM_TOKEN" --keypairgen --key-type "$keytype" --id "$id" --label "pkcs11-tool-$name" >/dev/null 2>&1 ||
        fail "pkcs11-tool could not make a $keytype key"
    p11tool "$HSM_TOKEN" --read-object --type pubkey --id "$id" -o "$name.pub.der" >/dev/null 2>&1 ||
        fail "pkcs11-tool could not read the public key"
    openssl pkey -pubin -inform DER -in "$name.pub.der" -out "$name.pub" ||
        fail "pkcs11-tool's public key is not a SubjectPublicKeyInfo"
    ok azkm key adopt --vault-name hv1 --name "$name" --pkcs11-uri "pkcs11:token=$HSM_TOKEN;id=%$id;type=private" \
        >/dev/null
    ok azkm key download --vault-name hv1 --name "$name" --file "$name.azkm.pub"
    cmp -s "$name.pub" "$name.azkm.pub" || fail "$name: azkm serves another public key than the token's"
    # CLI
    ok azkm key sign --vault-name hv1 --name "$name" --algorithm "$alg" --data-file data --signature-file cli.sig \
        >/dev/null
    openssl dgst "$@" -verify "$name.pub" -signature cli.sig data >/dev/null ||
        fail "$name: the CLI's $alg signature does not verify"
    # provider
    OPENSSL_CONF=provider.cnf openssl dgst "$@" -sign "azkm://hv1/keys/$name" -out prov.sig data ||
        fail "$name: the provider could not sign"
    openssl dgst "$@" -verify "$name.pub" -signature prov.sig data >/dev/null ||
        fail "$name: the provider's signature does not verify"
    # and the engine, a third client, still signs with the adopted object
    engine_sign "pkcs11:token=$HSM_TOKEN;id=%$id;type=private" "$@"
    openssl dgst "$@" -verify "$name.pub" -signature engine.sig data >/dev/null ||
        fail "$name: libp11's signature does not verify"
}
adopt_and_sign EC:prime256v1 a1 adopted-ec ES256 -sha256
adopt_and_sign rsa:2048 a2 adopted-rsa PS256 -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest

step "purge of an adopted key leaves the token object"
ok azkm key delete --vault-name hv1 --name adopted-ec >/dev/null
ok azkm key purge --vault-name hv1 --name adopted-ec
p11tool "$HSM_TOKEN" --list-objects --type privkey 2>/dev/null | grep -q "label: *pkcs11-tool-adopted-ec" ||
    fail "purge destroyed the adopted key's token object"
pass
