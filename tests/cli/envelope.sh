#!/usr/bin/env bash
# Envelope encryption: a file of a few MB and a stdin/stdout stream round-trip under an oct KEK and an RSA KEK,
# the header names the KEK version, rotating the KEK keeps old files readable, rewrap moves a file to the current
# version without touching its chunks, tampering and truncation fail without leaving plaintext behind, and the
# progress bar appears only on a terminal.
. "$(dirname "$0")/lib.sh"

ok azkm vault create --name envv >/dev/null
ok azkm key create --vault-name envv --name kek --kty oct --ops wrapKey unwrapKey >/dev/null
ok azkm key create --vault-name envv --name rsa-kek --kty RSA --size 3072 >/dev/null
head -c 4500000 /dev/urandom >data.bin

# header_len FILE: the length of the JSON header (big-endian uint32 after the 8-byte magic)
header_len() {
    od -An -tu4 --endian=big -j8 -N4 "$1" | tr -d ' '
}

step "a 4.5 MB file round-trips; the header names the KEK and its version"
ok azkm encrypt --vault-name envv --name kek --in-file data.bin --out-file data.azkm
v1=$(jqr .key.kid "$(ok azkm key show --vault-name envv --name kek --output json)")
expect_eq "$(dd if=data.azkm bs=8 count=1 status=none)" AZKMENV1 "magic"
hdr=$(dd if=data.azkm bs=1 skip=12 count="$(header_len data.azkm)" status=none)
expect_eq "$(jqr .kid "$hdr")" "$v1" "header kid"
expect_eq "$(jqr .alg "$hdr")/$(jqr .enc "$hdr")" "A256KW/A256GCM" "header algorithms"
ok azkm decrypt --in-file data.azkm --out-file data.out
cmp data.bin data.out || fail "decrypted file differs"
expect_eq "$(stat -c %a data.out)" 600 "plaintext file mode"

step "streams: stdin to stdout, with an RSA KEK"
azkm encrypt --vault-name envv --name rsa-kek <data.bin | azkm decrypt | cmp - data.bin || fail "stream round trip"
printf '' | azkm encrypt --id azkm://envv/keys/kek | azkm decrypt >empty.out
expect_eq "$(stat -c %s empty.out)" 0 "empty stream"

step "rotating the KEK keeps old files readable; rewrap moves them to the current version"
ok azkm key rotate --vault-name envv --name kek >/dev/null
v2=$(jqr .key.kid "$(ok azkm key show --vault-name envv --name kek --output json)")
ok azkm decrypt --in-file data.azkm | cmp - data.bin || fail "old file after rotation"
cp data.azkm before.azkm
out=$(ok azkm rewrap --in-file data.azkm)
expect_match "$out" "rewrapped with $v2" "rewrap report"
expect_match "$(dd if=data.azkm bs=1 skip=12 count="$(header_len data.azkm)" status=none)" "${v2##*/}" "new header"
hb=$((13 + $(header_len before.azkm)))
ha=$((13 + $(header_len data.azkm)))
cmp <(tail -c +$hb before.azkm) <(tail -c +$ha data.azkm) || fail "rewrap changed the chunks"
expect_match "$(ok azkm rewrap --in-file data.azkm)" "already wrapped with $v2" "second rewrap"
ok azkm key set-attributes --id "$v1" --enabled false >/dev/null
should_fail 4 "disabled" azkm decrypt --in-file before.azkm --out-file x.out
ok azkm decrypt --in-file data.azkm | cmp - data.bin || fail "rewrapped file"

step "tampering and truncation fail, and no partial plaintext file is left"
size=$(stat -c %s data.azkm)
cp data.azkm bad.azkm
flip_byte bad.azkm $((size - 70000))
should_fail 6 "chunk [0-9]+ failed authentication" azkm decrypt --in-file bad.azkm --out-file bad.out
[ ! -e bad.out ] || fail "a partial plaintext was left behind"
ls bad.out.azkm-* >/dev/null 2>&1 && fail "a temporary file was left behind"
head -c $((ha - 1 + 2 * (65536 + 16))) data.azkm >cut.azkm
should_fail 6 "chunk 1 failed authentication: the file was modified or truncated" \
    azkm decrypt --in-file cut.azkm --out-file cut.out
should_fail 2 "not an azkm encrypted file" azkm decrypt --in-file data.bin --out-file y.out

step "a progress bar only on a terminal"
azkm encrypt --vault-name envv --name kek --in-file data.bin --out-file p.azkm 2>progress.log
[ ! -s progress.log ] || fail "progress drawn without a terminal: $(cat progress.log)"
if command -v script >/dev/null; then
    script -qec "'$AZKM' encrypt --vault-name envv --name kek --in-file data.bin --out-file p2.azkm" /dev/null \
        >tty.log
    grep -q '100%' tty.log || fail "no progress bar on a terminal: $(tr '\r' '\n' <tty.log | tail -3)"
fi

step "refusals"
ok azkm key create --vault-name envv --name ec --kty EC >/dev/null
should_fail 2 "EC key: a key encryption key is an oct \(AES\) or RSA key" \
    azkm encrypt --vault-name envv --name ec --in-file data.bin --out-file z
ok azkm key create --vault-name envv --name enc-only --kty oct --ops encrypt decrypt >/dev/null
should_fail 4 "does not permit wrapKey" azkm encrypt --vault-name envv --name enc-only --in-file data.bin --out-file z
[ ! -e z ] || fail "output left behind after a refusal"

pass
