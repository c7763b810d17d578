#!/usr/bin/env bash
# Regenerates the committed seed corpora in fuzz/corpus/ and the seed keystore fuzz/seed-keystore/ (test vaults
# holding test keys only). Needs a fuzz build (scripts/fuzz.sh) for fuzz_seedgen and the openssl CLI.
# Crash regression inputs (crash-*) and inputs the fuzzers found are kept: only the named seeds are rewritten.
#   fuzz/make-seeds.sh [build dir, default build-fuzz]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build-fuzz}
fz=$top/fuzz
c=$fz/corpus
mkdir -p "$c"/{fuzz_uri,fuzz_material,fuzz_tags_ops,fuzz_backup,fuzz_backup_mutate,fuzz_backup_sealed,fuzz_vault_files,fuzz_keyref}

# Vault, backups, vault files, key references: made through the keystore API.
rm -rf "$fz/seed-keystore"
ASAN_OPTIONS=detect_leaks=0 "$build/fuzz/fuzz_seedgen" "$fz"

# URIs: the grammar's corners (docs/uri.md).
u=$c/fuzz_uri
printf 'azkm://prod/keys/web-tls' >"$u/current.txt"
printf 'azkm://prod/keys/web-tls/' >"$u/trailing-slash.txt"
printf 'azkm://prod/keys/web-tls/0123456789abcdef0123456789ABCDEF' >"$u/version-mixed-case.txt"
printf 'AZKM://Prod-Vault-1/keys/Web-TLS-2024/0123456789abcdef0123456789abcdef/' >"$u/upper-scheme.txt"
printf 'azkm://abcdefghijklmnopqrstuvwx/keys/%s' "$(printf 'k%.0s' $(seq 127))" >"$u/longest-names.txt"
printf 'azkm://prod/keys/web-tls?version=1' >"$u/query.txt"
printf 'azkm://pr--od/keys/a#frag' >"$u/double-dash.txt"
printf 'azkm:///keys/x' >"$u/empty-vault.txt"

# Tags, key_ops, key types, curves, algorithm names, names.
t=$c/fuzz_tags_ops
printf 'env=prod,owner=team-a cost=42' >"$t/tags.txt"
printf 'a=1,a=2' >"$t/tags-duplicate.txt"
printf 'sign,verify wrapKey\tunwrapKey,encrypt,decrypt,import' >"$t/ops-all.txt"
printf 'RSA-HSM' >"$t/kty.txt"
printf 'secp384r1' >"$t/curve-alias.txt"
printf 'PS512' >"$t/sign-alg.txt"
printf 'CKM_AES_KEY_WRAP_PAD' >"$t/cipher-alg.txt"
printf '0123456789abcdef0123456789abcdef' >"$t/version.txt"
printf 'x=%s' "$(printf 'v%.0s' $(seq 256))" >"$t/tag-longest-value.txt"

# Key files as imported by the CLI: PEM and DER, PKCS#8, encrypted PKCS#8, traditional, PKCS#12; some refused.
m=$c/fuzz_material
pass=fuzz-passphrase
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
o() { OPENSSL_CONF=/dev/null openssl "$@" 2>/dev/null; }
o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.pem"
o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec256.pem"
o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$tmp/ec384.pem"
o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$tmp/ec521.pem"
cp "$tmp/rsa.pem" "$m/rsa2048-pkcs8.pem"
o pkey -in "$tmp/rsa.pem" -outform DER -out "$m/rsa2048-pkcs8.der"
o rsa -in "$tmp/rsa.pem" -traditional -out "$m/rsa2048-traditional.pem"
o rsa -in "$tmp/rsa.pem" -traditional -outform DER -out "$m/rsa2048-traditional.der"
cp "$tmp/ec256.pem" "$m/ec-p256-pkcs8.pem"
o ec -in "$tmp/ec256.pem" -out "$m/ec-p256-sec1.pem"
o ec -in "$tmp/ec384.pem" -outform DER -out "$m/ec-p384-sec1.der"
o pkey -in "$tmp/ec521.pem" -outform DER -out "$m/ec-p521-pkcs8.der"
o pkcs8 -topk8 -in "$tmp/ec256.pem" -v2 aes-256-cbc -iter 2 -passout "pass:$pass" -out "$m/ec-p256-encrypted-pkcs8.pem"
o pkcs8 -topk8 -in "$tmp/ec256.pem" -v2 aes-128-cbc -iter 2 -passout "pass:$pass" -outform DER \
    -out "$m/ec-p256-encrypted-pkcs8.der"
o ec -in "$tmp/ec256.pem" -aes128 -passout "pass:$pass" -out "$m/ec-p256-sec1-encrypted.pem"
o req -x509 -new -key "$tmp/ec256.pem" -subj /CN=azkm-fuzz -days 1 -out "$tmp/ec.crt"
o pkcs12 -export -inkey "$tmp/ec256.pem" -in "$tmp/ec.crt" -passout "pass:$pass" -iter 2 -maciter \
    -out "$m/ec-p256.p12"
o pkcs12 -export -inkey "$tmp/ec256.pem" -in "$tmp/ec.crt" -passout pass: -iter 2 -out "$m/ec-p256-empty-pass.p12"
o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$m/refused-rsa1024.pem"
o genpkey -algorithm ED25519 -out "$m/ed25519-pkcs8.pem"
o genpkey -algorithm ED448 -outform DER -out "$m/ed448-pkcs8.der"
o genpkey -algorithm X25519 -out "$m/refused-x25519.pem"
o ecparam -name secp256k1 -genkey -noout -out "$m/refused-secp256k1.pem"
o ecparam -name prime256v1 -genkey -noout -param_enc explicit -out "$m/refused-explicit-params.pem"
o pkey -in "$tmp/ec256.pem" -pubout -out "$m/refused-public-only.pem"
chmod 644 "$m"/* # test keys, committed: no reason to keep them private

# base64/base64url values (blobs, headers, CLI flags).
e=$c/fuzz_base64
mkdir -p "$e"
printf 'aGVsbG8gd29ybGQ=' >"$e/std-padded.txt"
printf 'aGVsbG8gd29ybGQ' >"$e/url-unpadded.txt"
printf 'q-_8' >"$e/url-alphabet.txt"
printf 'aGVs\nbG8g d29y\tbGQ=\r\n' >"$e/whitespace.txt"
printf '' >"$e/empty.txt"
printf 'AB=C' >"$e/data-after-padding.txt"

# Backup edits (fuzz_backup_mutate): blob selector byte, then 4-byte edits. "untouched-*" restores.
b=$c/fuzz_backup_mutate
printf '\x00' >"$b/untouched-ec1"
printf '\x02' >"$b/untouched-rsa1"
printf '\x00\x00\x00\x20\x01' >"$b/flip-in-header"
printf '\x01\x00\x01\x00\x80' >"$b/flip-in-ciphertext"
printf '\x02\x01\x00\x40\x00' >"$b/truncate"
printf '\x00\x02\x00\x10\x41\x03\x00\x10\x00' >"$b/insert-then-delete"
echo "make-seeds.sh: seeds written under $c"
