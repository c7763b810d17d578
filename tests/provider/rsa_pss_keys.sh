#!/usr/bin/env bash
# genpkey -algorithm RSA-PSS into a vault makes a real RSA-PSS key, on this test's tier: its public key is
# id-RSASSA-PSS, it signs with PSS by default and refuses PKCS#1 v1.5, it honours the restrictions genpkey gives
# (digest, MGF1 digest, minimum salt), exactly as the default provider makes them, and those stay with the key in
# the vault: loaded again by URI or reference file, rotated, shown by azkm key show, enforced by azkm key sign.
. "$(dirname "$0")/lib.sh"
: "${AZKM_CLI:?}"

azkm() {
    "$AZKM_CLI" "$@"
}

# pss_section <public key PEM>: the default provider's account of the key's restrictions
pss_section() {
    plain pkey -pubin -in "$1" -text -noout | sed -n '/PSS/,$p'
}

echo "azkm must sign this" >data

# ---- an unrestricted RSA-PSS key
openssl genpkey -propquery '?provider=azkm' -algorithm RSA-PSS -pkeyopt bits:2048 \
    -pkeyopt azkm-uri:azkm://vault1/keys/pss "${TIER_PKEYOPTS[@]}" -out pss.ref
grep -q "BEGIN AZKM KEY REFERENCE" pss.ref || fail "genpkey did not write a key reference"
openssl pkey -in pss.ref -pubout -out pss.pub
plain asn1parse -in pss.pub | grep -q ":rsassaPss" || fail "the public key is not id-RSASSA-PSS: $(plain asn1parse -in pss.pub)"
pss_section pss.pub | grep -q "No PSS parameter restrictions" || fail "unexpected restrictions: $(pss_section pss.pub)"

openssl dgst -sha256 -sign pss.ref -out pss.sig data
plain dgst -sha256 -verify pss.pub -signature pss.sig data | grep -q "Verified OK" || fail "PSS signature does not verify"
plain dgst -sha256 -binary data >digest.bin
openssl pkeyutl -sign -inkey pss.ref -in digest.bin -pkeyopt digest:sha256 -out pss2.sig
plain pkeyutl -verify -pubin -inkey pss.pub -in digest.bin -sigfile pss2.sig -pkeyopt digest:sha256 |
    grep -q "Signature Verified Successfully" || fail "pkeyutl PSS signature does not verify"
should_fail "is an RSA-PSS key: it signs with PSS padding only, never PKCS#1 v1.5" \
    openssl dgst -sha256 -sign pss.ref -sigopt rsa_padding_mode:pkcs1 -out x.sig data
should_fail "is an RSA-PSS key: it signs with PSS padding only, never PKCS#1 v1.5" \
    openssl pkeyutl -sign -inkey pss.ref -in digest.bin -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pkcs1
# The keystore refuses too, whatever the client: PKCS#1 v1.5 signatures and encryption.
should_fail "is an RSA-PSS key: it signs with RSASSA-PSS only" \
    azkm key sign --vault-name vault1 --name pss --algorithm RS256 --data-file data
should_fail "does not permit encrypt|signs and verifies only" \
    azkm key encrypt --vault-name vault1 --name pss --algorithm RSA-OAEP-256 --value aGVsbG8=

# ---- restricted keys: the same restrictions as the default provider makes from the same options
restricted_key() {
    local name=$1 o args=()
    shift
    for o in "$@"; do args+=(-pkeyopt "$o"); done
    openssl genpkey -propquery '?provider=azkm' -algorithm RSA-PSS -pkeyopt bits:2048 "${args[@]}" \
        -pkeyopt "azkm-uri:azkm://vault1/keys/$name" "${TIER_PKEYOPTS[@]}" -out "$name.ref"
    openssl pkey -in "$name.ref" -pubout -out "$name.pub"
    plain genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 "${args[@]}" -out soft.key 2>/dev/null
    plain pkey -in soft.key -pubout -out soft.pub
    [ "$(pss_section "$name.pub")" = "$(pss_section soft.pub)" ] ||
        fail "$*: restrictions differ from the default provider's: $(pss_section "$name.pub") / $(pss_section soft.pub)"
}
restricted_key pss-r rsa_pss_keygen_md:sha256 rsa_pss_keygen_mgf1_md:sha256 rsa_pss_keygen_saltlen:32
restricted_key pss-md rsa_pss_keygen_md:sha512
r=pss-r
pss_section $r.pub | grep -q "Hash Algorithm: SHA2-256" || fail "$r: not restricted to SHA-256: $(pss_section $r.pub)"

openssl dgst -sha256 -sign $r.ref -out r.sig data
plain dgst -sha256 -verify $r.pub -signature r.sig data | grep -q "Verified OK" || fail "restricted signature"
# no digest named: the key's own
openssl dgst -sign $r.ref -out r2.sig data
plain dgst -sha256 -verify $r.pub -signature r2.sig data | grep -q "Verified OK" || fail "default digest"
should_fail "is restricted to RSA-PSS with SHA256, not SHA384" openssl dgst -sha384 -sign $r.ref -out x.sig data
should_fail "is restricted to RSA-PSS with MGF1 SHA256, not MGF1 SHA1" \
    openssl dgst -sha256 -sign $r.ref -sigopt rsa_mgf1_md:sha1 -out x.sig data
should_fail "is restricted to RSA-PSS salts of 32 bytes or more, not 20" \
    openssl dgst -sha256 -sign $r.ref -sigopt rsa_pss_saltlen:20 -out x.sig data
should_fail "is restricted to RSA-PSS with SHA256, not SHA384" \
    azkm key sign --vault-name vault1 --name $r --algorithm PS384 --data-file data
azkm key sign --vault-name vault1 --name $r --algorithm PS256 --data-file data --signature-file cli.sig >/dev/null
plain dgst -sha256 -verify $r.pub -signature cli.sig data | grep -q "Verified OK" || fail "azkm key sign PS256"

# ---- the restriction is the key's: loaded again by URI and by reference, shown, kept by rotation
openssl pkey -in "azkm://vault1/keys/$r" -pubout -out uri.pub
cmp -s uri.pub $r.pub || fail "the key loaded by URI is not the RSA-PSS key genpkey made"
openssl pkey -in $r.ref -text -noout | grep -q "Minimum Salt Length: 32" || fail "-text lost the restrictions"
out=$(azkm key show --vault-name vault1 --name $r)
grep -Eq "^Type +RSA(-HSM)? 2048 \(RSA-PSS\)" <<<"$out" || fail "azkm key show: $out"
grep -Eq "^Signatures +RSA-PSS only: SHA256, MGF1 with SHA256, salt of 32 bytes or more" <<<"$out" ||
    fail "azkm key show: $out"
grep -Eq "^Operations +sign verify$" <<<"$out" || fail "azkm key show: $out"
azkm key show --vault-name vault1 --name $r -o json | jq -e '.rsaPss == {"digest":"SHA256","mgf1Digest":"SHA256","minSaltLength":32}' >/dev/null ||
    fail "azkm key show -o json: $(azkm key show --vault-name vault1 --name $r -o json)"
azkm key show --vault-name vault1 --name pss -o json | jq -e '.rsaPss == {}' >/dev/null || fail "unrestricted in JSON"
azkm key rotate --vault-name vault1 --name $r >/dev/null
openssl pkey -in $r.ref -pubout -out rotated.pub
cmp -s rotated.pub $r.pub && fail "the reference did not follow the rotation"
[ "$(pss_section rotated.pub | tail -4)" = "$(pss_section $r.pub | tail -4)" ] ||
    fail "rotation changed the restrictions: $(pss_section rotated.pub)"

# ---- certificates and TLS 1.3 with the RSA-PSS key
make_ca
issue_cert $r.ref pss.crt
plain verify -CAfile ca.crt pss.crt | grep -q OK || fail "certificate of the RSA-PSS key"
openssl s_server -accept 127.0.0.1:0 -naccept 1 -key $r.ref -cert pss.crt -www >server.log 2>&1 &
port=
for _ in $(seq 300); do
    port=$(grep -o 'ACCEPT 127.0.0.1:[0-9]*' server.log | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || fail "s_server did not start: $(cat server.log)"
out=$(printf 'GET / HTTP/1.0\r\n\r\n' | OPENSSL_CONF=/dev/null timeout 30 openssl s_client -connect "127.0.0.1:$port" \
    -servername localhost -verify_hostname localhost -CAfile ca.crt -verify_return_error -tls1_3 -ign_eof 2>&1) ||
    fail "TLS 1.3 with the RSA-PSS key: $out / $(cat server.log)"
grep -q "Peer signature type: RSA-PSS" <<<"$out" || fail "not an RSA-PSS handshake signature: $out"
grep -q "HTTP/1.0 200 ok" <<<"$out" || fail "no answer: $out"
wait
echo "PASS"
