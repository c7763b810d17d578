#!/usr/bin/env bash
# Signatures made by azkm verify with the openssl CLI against the downloaded public key, and the other way
# round: RS*, PS* and ES* over data files and over digests, ECDSA in DER and raw r||s.
. "$(dirname "$0")/lib.sh"

ok vault_create --name kv1 >/dev/null
ok azkm key create --vault-name kv1 --name rsa --kty $RSA --size 2048 >/dev/null
ok azkm key download --vault-name kv1 --name rsa --file rsa.pem
head -c 10000 /dev/urandom >data

for bits in 256 384 512; do
    step "RS$bits and PS$bits"
    ok azkm key sign --vault-name kv1 --name rsa --algorithm RS$bits --data-file data --signature-file rs.sig >/dev/null
    openssl dgst -sha$bits -verify rsa.pem -signature rs.sig data >/dev/null || fail "openssl rejects RS$bits"
    ok azkm key verify --vault-name kv1 --name rsa --algorithm RS$bits --data-file data --signature-file rs.sig \
        >/dev/null
    ok azkm key sign --vault-name kv1 --name rsa --algorithm PS$bits --data-file data --signature-file ps.sig >/dev/null
    openssl dgst -sha$bits -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -verify rsa.pem \
        -signature ps.sig data >/dev/null || fail "openssl rejects PS$bits"
    ok azkm key verify --vault-name kv1 --name rsa --algorithm PS$bits --data-file data --signature-file ps.sig \
        >/dev/null
done

step "sign a digest given in base64; verify with openssl pkeyutl"
openssl dgst -sha256 -binary data >data.sha256
j=$(ok azkm key sign --vault-name kv1 --name rsa --algorithm RS256 --digest "$(b64 data.sha256)" --output json)
expect_eq "$(jqr .algorithm "$j")" RS256 "algorithm"
expect_match "$(jqr .kid "$j")" "^azkm://kv1/keys/rsa/[0-9a-f]{32}$" "kid"
jqr .signature "$j" | base64 -d >digest.sig
openssl pkeyutl -verify -pubin -inkey rsa.pem -pkeyopt digest:sha256 -in data.sha256 -sigfile digest.sig \
    >/dev/null || fail "openssl pkeyutl rejects the digest signature"

step "openssl signatures verify with azkm"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out own.key 2>/dev/null
ok azkm key import --vault-name kv1 --name own --kty $RSA --file own.key >/dev/null
openssl dgst -sha384 -sign own.key -out own.sig data
ok azkm key verify --vault-name kv1 --name own --algorithm RS384 --data-file data --signature-file own.sig \
    >/dev/null

for curve in 256 384 521; do
    bits=$curve
    [ $curve = 521 ] && bits=512
    step "ES$bits on P-$curve"
    ok azkm key create --vault-name kv1 --name ec$curve --kty $EC --curve P-$curve >/dev/null
    ok azkm key download --vault-name kv1 --name ec$curve --file ec$curve.pem
    ok azkm key sign --vault-name kv1 --name ec$curve --algorithm ES$bits --data-file data --signature-file es.sig \
        >/dev/null
    openssl dgst -sha$bits -verify ec$curve.pem -signature es.sig data >/dev/null || fail "openssl rejects ES$bits"
    ok azkm key verify --vault-name kv1 --name ec$curve --algorithm ES$bits --data-file data --signature-file es.sig \
        >/dev/null

    # raw r||s, as JOSE and Azure use it
    ok azkm key sign --vault-name kv1 --name ec$curve --algorithm ES$bits --data-file data --sig-format raw \
        --signature-file raw.sig >/dev/null
    width=$(((curve + 7) / 8))
    expect_eq "$(stat -c %s raw.sig)" $((2 * width)) "raw signature length on P-$curve"
    ok azkm key verify --vault-name kv1 --name ec$curve --algorithm ES$bits --data-file data --sig-format raw \
        --signature "$(b64 raw.sig)" >/dev/null
done

step "an invalid signature: exit 1 and value false"
ok azkm key sign --vault-name kv1 --name ec256 --algorithm ES256 --data-file data --signature-file es.sig >/dev/null
printf 'other' >other
should_fail 1 "InvalidSignature: .*ec256" azkm key verify --vault-name kv1 --name ec256 --algorithm ES256 \
    --data-file other --signature-file es.sig
expect_eq "$(jq -r .value "$TMP/sf.out" 2>/dev/null || true)" "" "table output by default"
rc=0
out=$(azkm key verify --vault-name kv1 --name ec256 --algorithm ES256 --data-file other --signature-file es.sig \
    --output json 2>/dev/null) || rc=$?
expect_eq "$rc" 1 "exit code of an invalid signature"
expect_eq "$(jqr .value "$out")" false "value false"

step "wrong algorithm for the key type, wrong digest length"
should_fail 2 "BadParameter" azkm key sign --vault-name kv1 --name rsa --algorithm ES256 --data-file data
should_fail 2 "BadParameter: --digest: must be 32 bytes for RS256 \(got 3\)" azkm key sign --vault-name kv1 \
    --name rsa --algorithm RS256 --digest "$(printf abc | b64)"
should_fail 2 "algorithm" azkm key sign --vault-name kv1 --name rsa --algorithm RS999 --data-file data
should_fail 2 "give --digest or --data-file" azkm key sign --vault-name kv1 --name rsa --algorithm RS256
should_fail 2 "--data-file: cannot be combined with --digest" azkm key sign --vault-name kv1 --name rsa \
    --algorithm RS256 --digest "$(b64 data.sha256)" --data-file data
pass
