#!/usr/bin/env bash
# Import of private keys made with the openssl CLI in every supported container: PKCS#8 PEM and DER,
# traditional RSA and EC, encrypted PKCS#8 (PEM and DER) and PKCS#12; the public key that azkm then serves is
# the one openssl derives from the file.
. "$(dirname "$0")/lib.sh"

ok vault_create --name kv1 >/dev/null
printf 'import-secret\n' >pass.txt
printf 'wrong\n' >wrong.txt
chmod 600 pass.txt wrong.txt

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.p8.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec.p8.pem 2>/dev/null
openssl pkey -in rsa.p8.pem -pubout -out rsa.pub.pem
openssl pkey -in ec.p8.pem -pubout -out ec.pub.pem

# same_public NAME PUBPEM: the key azkm serves has the same public key as PUBPEM.
same_public() {
    ok azkm key download --vault-name kv1 --name "$1" --file "$1.got.pem"
    cmp -s "$1.got.pem" "$2" || fail "$1: the public key differs from the imported file's"
}

# imports NAME FILE PUBPEM [flags...]: on the software tier the key type comes from the file; on the HSM tier
# --kty asks for an HSM import (NAME starts with the type).
imports() {
    local name=$1 file=$2 pub=$3 kty=()
    shift 3
    if hsm_tier; then
        case $name in rsa*) kty=(--kty $RSA) ;; ec*) kty=(--kty $EC) ;; esac
    fi
    step "import $file"
    ok azkm key import --vault-name kv1 --name "$name" --file "$file" "${kty[@]}" "$@" >/dev/null
    same_public "$name" "$pub"
    expect_match "$(ok azkm key show --vault-name kv1 --name "$name")" "Type +(${kty[1]:-RSA|EC}) " "$name type"
}

imports rsa-p8-pem rsa.p8.pem rsa.pub.pem
openssl pkey -in rsa.p8.pem -outform DER -out rsa.p8.der
imports rsa-p8-der rsa.p8.der rsa.pub.pem
openssl rsa -in rsa.p8.pem -traditional -out rsa.trad.pem 2>/dev/null
grep -q "BEGIN RSA PRIVATE KEY" rsa.trad.pem || fail "openssl did not write a traditional RSA key"
imports rsa-trad-pem rsa.trad.pem rsa.pub.pem
openssl rsa -in rsa.p8.pem -traditional -outform DER -out rsa.trad.der 2>/dev/null
imports rsa-trad-der rsa.trad.der rsa.pub.pem

imports ec-p8-pem ec.p8.pem ec.pub.pem
openssl ec -in ec.p8.pem -out ec.trad.pem 2>/dev/null
grep -q "BEGIN EC PRIVATE KEY" ec.trad.pem || fail "openssl did not write a traditional EC key"
imports ec-trad-pem ec.trad.pem ec.pub.pem
openssl ec -in ec.p8.pem -outform DER -out ec.trad.der 2>/dev/null
imports ec-trad-der ec.trad.der ec.pub.pem
expect_match "$(ok azkm key show --vault-name kv1 --name ec-trad-der)" "Type +$EC P-384" "EC curve from the file"

step "encrypted PKCS#8"
openssl pkcs8 -topk8 -v2 aes-256-cbc -in rsa.p8.pem -out rsa.enc.pem -passout file:pass.txt
openssl pkcs8 -topk8 -v2 aes-256-cbc -in ec.p8.pem -outform DER -out ec.enc.der -passout file:pass.txt
imports rsa-enc-pem rsa.enc.pem rsa.pub.pem --import-passphrase-file pass.txt
imports ec-enc-der ec.enc.der ec.pub.pem --import-passphrase-file pass.txt
should_fail 7 "Unauthorized: .*passphrase" azkm key import --vault-name kv1 --name x1 --file rsa.enc.pem \
    --import-passphrase-file wrong.txt
should_fail 7 "Unauthorized: .*encrypted" azkm key import --vault-name kv1 --name x2 --file rsa.enc.pem </dev/null

step "PKCS#12 from openssl req + pkcs12 -export"
openssl req -x509 -new -key rsa.p8.pem -subj /CN=azkm-test -days 1 -out cert.pem 2>/dev/null
openssl pkcs12 -export -inkey rsa.p8.pem -in cert.pem -out rsa.p12 -passout file:pass.txt
imports rsa-p12 rsa.p12 rsa.pub.pem --import-passphrase-file pass.txt
should_fail 7 "Unauthorized" azkm key import --vault-name kv1 --name x3 --file rsa.p12 --import-passphrase-file \
    wrong.txt
openssl pkcs12 -export -inkey ec.p8.pem -in <(openssl req -x509 -new -key ec.p8.pem -subj /CN=ec -days 1 \
    2>/dev/null) -out ec.p12 -passout file:pass.txt
imports ec-p12 ec.p12 ec.pub.pem --import-passphrase-file pass.txt

step "imported keys work: sign with azkm, verify with openssl"
printf 'hello' >msg
ok azkm key sign --vault-name kv1 --name rsa-p12 --algorithm PS256 --data-file msg --signature-file msg.sig >/dev/null
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -verify rsa.pub.pem \
    -signature msg.sig msg >/dev/null || fail "imported key signature"

step "import as a new version of an existing key, attributes given"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2.pem 2>/dev/null
openssl pkey -in rsa2.pem -pubout -out rsa2.pub.pem
j=$(ok azkm key import --vault-name kv1 --name rsa-p8-pem --kty $RSA --file rsa2.pem --ops sign verify --tags src=import \
    --output json)
expect_eq "$(jqr '.key.key_ops | join(",")' "$j")" "sign,verify" "ops"
expect_eq "$(jqr .tags.src "$j")" import "tags"
expect_eq "$(azkm key list-versions --vault-name kv1 --name rsa-p8-pem --output json | jq length)" 2 "two versions"
same_public rsa-p8-pem rsa2.pub.pem
should_fail 5 "Conflict|BadParameter" azkm key import --vault-name kv1 --name rsa-p8-pem --file ec.p8.pem

step "bad files"
printf 'not a key' >junk
should_fail 2 "BadParameter: .*no private key" azkm key import --vault-name kv1 --name junk --file junk
should_fail 2 "--file: cannot read missing.pem" azkm key import --vault-name kv1 --name junk --file missing.pem
should_fail 2 "--kty: ec.p8.pem holds an EC key, not $RSA" azkm key import --vault-name kv1 --name junk \
    --file ec.p8.pem --kty $RSA
openssl pkey -in rsa.p8.pem -pubout -out pubonly.pem
should_fail 2 "BadParameter" azkm key import --vault-name kv1 --name junk --file pubonly.pem
pass
