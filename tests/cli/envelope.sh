#!/usr/bin/env bash
# Envelope encryption: a file of a few MB and a stdin/stdout stream round-trip under an oct KEK and an RSA KEK,
# the header names the KEK version, rotating the KEK keeps old files readable, rewrap moves a file to the current
# version without touching its chunks but refuses a damaged one, tampering and truncation fail without leaving
# plaintext behind (on standard output nothing is released before the whole file authenticated; to a file, nothing
# is left even when SIGINT or SIGTERM stops the decryption), and the progress bar appears only on a terminal.
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
azkm encrypt --vault-name envv --name rsa-kek <data.bin >rsa.azkm
azkm decrypt <rsa.azkm | cmp - data.bin || fail "file on stdin to stdout"
cat rsa.azkm | azkm decrypt --stream | cmp - data.bin || fail "stream round trip"
should_fail 2 "BadParameter: decrypt: the input is not a file that can be read twice, so it cannot be authenticated before plaintext is written to standard output" \
    azkm decrypt --in-file <(cat rsa.azkm)
printf '' | azkm encrypt --id azkm://envv/keys/kek | azkm decrypt --stream >empty.out
expect_eq "$(stat -c %s empty.out)" 0 "empty stream"
should_fail 2 "--stream: only for standard output" azkm decrypt --in-file rsa.azkm --out-file x.out --stream

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
AZKM_NO_O_TMPFILE=1 should_fail 6 "chunk [0-9]+ failed authentication" azkm decrypt --in-file bad.azkm \
    --out-file bad.out
[ ! -e bad.out ] && ! ls bad.out.azkm-* >/dev/null 2>&1 || fail "a named temporary file was left behind"

step "to standard output, nothing is released before the whole file authenticated"
should_fail 6 "chunk [0-9]+ failed authentication" azkm decrypt --in-file bad.azkm >bad.stdout
expect_eq "$(stat -c %s bad.stdout)" 0 "plaintext released before the damaged chunk (--in-file)"
should_fail 6 "chunk [0-9]+ failed authentication" azkm decrypt <bad.azkm >bad.stdout
expect_eq "$(stat -c %s bad.stdout)" 0 "plaintext released before the damaged chunk (<file)"
# --stream is the other mode, and says so: chunks before the damaged one were released
rc=0
cat bad.azkm | azkm decrypt --stream >bad.stdout 2>/dev/null || rc=$?
expect_eq "$rc" 6 "--stream exit code"
[ "$(stat -c %s bad.stdout)" -gt 0 ] || fail "--stream released nothing before the damaged chunk"

step "SIGINT or SIGTERM during a decryption to a file leaves nothing behind"
# written PID: bytes decrypt has written so far to its temporary output (named or not), 0 before it has one
written() {
    local f
    for f in /proc/"$1"/fd/*; do
        case "$(readlink "$f" 2>/dev/null)" in
        *sig.out.azkm-* | *'(deleted)') stat -Lc %s "$f" 2>/dev/null && return ;;
        esac
    done
    echo 0
}
for named in "" 1; do
    for sig in INT TERM; do
        rm -f fifo sig.out*
        mkfifo fifo
        # the first chunks, then an input that stalls: decrypt is mid-file when the signal comes
        { head -c 300000 data.azkm; exec sleep 20; } >fifo 2>/dev/null &
        writer=$!
        AZKM_NO_O_TMPFILE=$named env --default-signal=INT "$AZKM" decrypt --in-file fifo --out-file sig.out \
            2>sig.err &
        pid=$!
        for _ in $(seq 100); do [ "$(written $pid)" -gt 0 ] && break; sleep 0.05; done
        [ "$(written $pid)" -gt 0 ] || fail "decrypt wrote nothing before the signal (${named:+named }$sig)"
        kill -$sig $pid
        rc=0
        wait $pid || rc=$?
        kill $writer 2>/dev/null || true
        wait $writer 2>/dev/null || true
        expect_eq "$rc" $((128 + $(kill -l $sig))) "killed by SIG$sig"
        left=$(ls sig.out* 2>/dev/null || true)
        [ -z "$left" ] || fail "SIG$sig${named:+ (named temporary file)} left plaintext behind: $left"
    done
done
unset AZKM_NO_O_TMPFILE

step "rewrap authenticates every chunk: a damaged file is refused and left as it was"
cp bad.azkm bad.copy
should_fail 6 "chunk [0-9]+ failed authentication" azkm rewrap --in-file bad.azkm
cmp bad.azkm bad.copy || fail "rewrap changed a damaged file"
ls bad.azkm.azkm-* >/dev/null 2>&1 && fail "rewrap left a temporary file"
should_fail 6 "chunk [0-9]+ failed authentication" azkm rewrap --in-file bad.azkm --out-file bad2.azkm
[ ! -e bad2.azkm ] || fail "rewrap wrote a damaged file"
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
