#!/usr/bin/env bash
# Every refusal is a clear error: malformed URIs, unknown vault/key/version, disabled and expired keys,
# operations outside key_ops, private key export in any encoding.
. "$(dirname "$0")/lib.sh"

echo data >data
should_fail "does not start with azkm://|invalid azkm URI" openssl pkey -in azkm:vault1/keys/rsa1 -pubout
should_fail "expected /keys or /keys/<name>" openssl pkey -in azkm://vault1/secrets/rsa1 -pubout
should_fail "key name 'bad_name' is invalid" openssl pkey -in azkm://vault1/keys/bad_name -pubout
should_fail "vault name" openssl pkey -in azkm://v/keys/rsa1 -pubout
should_fail "32 hexadecimal" openssl pkey -in azkm://vault1/keys/rsa1/1234 -pubout
should_fail "unexpected" openssl pkey -in "azkm://vault1/keys/rsa1/$(version_of rsa1)/extra" -pubout
should_fail "vault nosuchvault not found" openssl pkey -in azkm://nosuchvault/keys/rsa1 -pubout
should_fail "key vault1/nokey not found" openssl pkey -in azkm://vault1/keys/nokey -pubout
should_fail "version 0123456789abcdef0123456789abcdef not found" \
    openssl pkey -in azkm://vault1/keys/rsa1/0123456789abcdef0123456789abcdef -pubout

should_fail "rsa-off.* is disabled" openssl dgst -sha256 -sign azkm://vault1/keys/rsa-off data
should_fail "ec-expired.* expired" openssl dgst -sha256 -sign azkm://vault1/keys/ec-expired data
should_fail "does not permit sign" openssl dgst -sha256 -sign azkm://vault1/keys/rsa-nosign data
should_fail "does not permit sign" openssl req -new -x509 -key azkm://vault1/keys/rsa-nosign -subj /CN=x
# Loading a private key that cannot work now is refused at load (a server refuses to start), with the reason.
should_fail "rsa-off.* is disabled" openssl pkey -in azkm://vault1/keys/rsa-off -pubout
should_fail "ec-expired.* expired" openssl pkey -in azkm://vault1/keys/ec-expired -noout
# The public half of a disabled key is still readable (Azure: get works on disabled keys).
openssl pkey -pubin -in azkm://vault1/keys/rsa-off -pubout >/dev/null

should_fail "private key stays in its vault" openssl pkey -in azkm://vault1/keys/rsa1 -outform DER
should_fail "private key stays in its vault|export failure" openssl pkey -in azkm://vault1/keys/ec1 -traditional
# PEM output, even when encryption is asked for, is the key reference: nothing secret to encrypt.
openssl pkey -in azkm://vault1/keys/ec1 -aes256 -passout pass:x >enc.pem
grep -q "BEGIN AZKM KEY REFERENCE" enc.pem || fail "PEM output is not a key reference: $(cat enc.pem)"
should_fail "private key stays in its vault|export|unsupported|no such" openssl pkcs8 -topk8 -nocrypt \
    -in azkm://vault1/keys/rsa1 -outform DER
# -text shows the URI and the public values only.
openssl pkey -in azkm://vault1/keys/ec1 -text -noout >text.txt
grep -q "azkm private key azkm://vault1/keys/ec1" text.txt || fail "no URI in -text: $(cat text.txt)"
grep -q "ASN1 OID: prime256v1" text.txt || fail "no public values in -text: $(cat text.txt)"
grep -qi "^priv" text.txt && fail "-text printed a private part"
echo "PASS"
