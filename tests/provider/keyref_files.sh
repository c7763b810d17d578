#!/usr/bin/env bash
# Key reference files: written by `openssl pkey` from an azkm key, read by any OpenSSL path (pkey, dgst, req),
# carrying no secret; damaged or wrong-version files fail with a clear error.
. "$(dirname "$0")/lib.sh"

openssl pkey -in azkm://vault1/keys/ec1 -out ec1.ref
openssl pkey -in azkm://vault1/keys/rsa1/"$(version_of rsa1)" -out rsa1.ref
head -1 ec1.ref | grep -q "BEGIN AZKM KEY REFERENCE" || fail "no reference label"
# The body is SEQUENCE { version 1, UTF8String uri } and nothing else.
plain asn1parse -in ec1.ref -inform PEM >asn1.txt 2>/dev/null || sed -e '1d;$d' ec1.ref | base64 -d |
    plain asn1parse -inform DER >asn1.txt
grep -q "INTEGER *:01" asn1.txt || fail "version is not 1: $(cat asn1.txt)"
grep -q "UTF8STRING *:azkm://vault1/keys/ec1$" asn1.txt || fail "uri missing: $(cat asn1.txt)"
# A reference names the key as it was asked for: with a version only when one was given, in canonical case.
openssl pkey -in azkm://VAULT1/keys/EC1 | plain asn1parse | grep -q "UTF8STRING *:azkm://vault1/keys/ec1$" ||
    fail "reference not canonical"
openssl pkey -in rsa1.ref | plain asn1parse | grep -q "UTF8STRING *:azkm://vault1/keys/rsa1/$(version_of rsa1)$" ||
    fail "versioned reference lost its version"
# An unversioned reference follows rotation: "rot" was rotated after creation.
openssl pkey -in azkm://vault1/keys/rot -out rot.ref
openssl pkey -in rot.ref -pubout | cmp - <(openssl pkey -in "azkm://vault1/keys/rot/$(version_of rot-current)" -pubout)

openssl pkey -in ec1.ref -pubout | cmp - <(openssl pkey -in azkm://vault1/keys/ec1 -pubout)
openssl pkey -in rsa1.ref -pubout | cmp - <(openssl pkey -in azkm://vault1/keys/rsa1 -pubout)
echo data >data
openssl dgst -sha256 -sign rsa1.ref -out sig data
plain dgst -sha256 -verify <(openssl pkey -in rsa1.ref -pubout) -signature sig data | grep -q "Verified OK"
openssl req -new -x509 -key ec1.ref -subj /CN=ref -days 1 -out ref.crt
plain verify -CAfile ref.crt ref.crt | grep -q ": OK"
# A PEM key of the default provider is not disturbed by azkm's decoder.
plain genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out soft.pem
openssl pkey -in soft.pem -pubout >/dev/null
openssl dgst -sha256 -sign soft.pem -out sig data

# Damaged files. Through the openssl CLI (OSSL_STORE "file:") OpenSSL 3.0 drops the decoder's reason and says only
# "Could not read key"; the PEM_read_bio_PrivateKey path used by nginx and Apache keeps it (see test_evp.c).
mkref() { # <version> <uri> -> PEM on stdout, hand-made DER
    local v=$1 uri=$2
    printf 'asn1=SEQUENCE:ref\n[ref]\nversion=INTEGER:%s\nuri=UTF8:%s\n' "$v" "$uri" >ref.cnf
    plain asn1parse -genconf ref.cnf -out ref.der -noout >/dev/null
    { echo "-----BEGIN AZKM KEY REFERENCE-----"; base64 -w 64 ref.der; echo "-----END AZKM KEY REFERENCE-----"; }
}
mkref 2 azkm://vault1/keys/ec1 >v2.ref
should_fail "Could not read key" openssl pkey -in v2.ref -pubout
mkref 1 https://example.com/keys/ec1 >https.ref
should_fail "Could not read key" openssl pkey -in https.ref -pubout
mkref 1 azkm://vault1/keys/missing >missing.ref
should_fail "Could not read key" openssl pkey -in missing.ref -pubout
mkref 1 azkm://vault1/keys/bad_name >badname.ref
should_fail "Could not read key" openssl pkey -in badname.ref -pubout
{ echo "-----BEGIN AZKM KEY REFERENCE-----"; echo "MAMCAQ=="; echo "-----END AZKM KEY REFERENCE-----"; } >trunc.ref
should_fail "Could not read key" openssl pkey -in trunc.ref -pubout
{ echo "-----BEGIN AZKM KEY REFERENCE-----"; echo "!!!!"; echo "-----END AZKM KEY REFERENCE-----"; } >garbage.ref
should_fail "Could not read key" openssl pkey -in garbage.ref -pubout
echo "PASS"
