#!/usr/bin/env bash
# The bad-input catalogue (issue 7): every row of bad_inputs.tsv is a malformed URI, key reference file, import,
# CLI argument or damaged keystore file, with the exit code and error text it must produce. After each case the
# intact vault "good" must be byte-for-byte unchanged and still verify, and nothing may have crashed.
# ctest provides AZKM (the CLI), AZKM_PROVIDER_DIR (directory of azkm.so) and PEM_LOAD (pem_load.c).
set -euo pipefail

: "${AZKM:?}" "${AZKM_PROVIDER_DIR:?}" "${PEM_LOAD:?}"
HERE=$(cd "$(dirname "$0")" && pwd)
TABLE=${1:-$HERE/bad_inputs.tsv}
M=/usr/lib/softhsm/libsofthsm2.so

T=$(mktemp -d "${TMPDIR:-/tmp}/azkm-bad.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
export T M AZKM AZKM_PROVIDER_DIR PEM_LOAD
export KS=$T/ks AZKM_KEYSTORE_DIR=$T/ks
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config XDG_DATA_HOME=$T/home/.local/share
unset AZKM_CONF AZKM_PASSPHRASE AZKM_PASSPHRASE_FILE AZKM_AUDIT_LOG OPENSSL_CONF OPENSSL_MODULES
mkdir -p "$HOME"
export GD=$KS/good VD=$KS/victim

die() {
    echo "FAIL: $*" >&2
    exit 1
}
az() { "$AZKM" "$@"; }
# The azkm provider, configured as the provider tests do: the shipped snippet with keystore_dir rewritten.
prov() { OPENSSL_CONF=$T/openssl.cnf OPENSSL_MODULES=$AZKM_PROVIDER_DIR "$@"; }
pemload() { prov "$PEM_LOAD" "$@"; }
plain() { OPENSSL_CONF=/dev/null openssl "$@"; }
# invert FILE OFFSET [COUNT]: invert every bit of COUNT bytes (default 1) of FILE from OFFSET on. Always a change,
# whatever the bytes were (overwriting with a constant left a random byte that already held it unchanged).
invert() {
    local i b
    for ((i = $2; i < $2 + ${3:-1}; i++)); do
        b=$(od -An -tu1 -j "$i" -N1 "$1")
        printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$i" conv=notrunc 2>/dev/null
    done
}
# flip TABLE N [COUNT]: invert COUNT bytes (default 1) starting N bytes before the end of TABLE's first page in the
# victim vault's database (4096-byte pages).
flip() {
    local pg
    pg=$(sqlite3 "$VD/vault.db" "select pageno from dbstat where name='$1' limit 1")
    invert "$VD/vault.db" $((pg * 4096 - $2)) "${3:-1}"
}
# firsterr CMD...: CMD's stderr reduced to its first OpenSSL error line, so that a row can say whose reason comes
# first (azkm's, not an unrelated OpenSSL line); CMD's exit code is kept.
firsterr() {
    local rc=0
    "$@" >/dev/null 2>"$T/firsterr.log" || rc=$?
    grep -m1 ':error:' "$T/firsterr.log" >&2 || true
    return $rc
}
export -f az prov pemload invert flip firsterr

# ---- fixtures --------------------------------------------------------------------------------------------
sed "s|^keystore_dir = .*|keystore_dir = $KS|" "$HERE/../../conf/azkm-provider.cnf" >openssl.cnf
setup() { "$@" >/dev/null || die "setup: $*"; }
setup az vault create --name good
setup az key create --vault-name good --name ec1 --kty EC
setup az key create --vault-name good --name rsa1
setup az key create --vault-name good --name aes1 --kty oct
setup az key create --vault-name good --name off --kty EC --enabled false
setup az key create --vault-name good --name expired --kty EC --expires 2001-01-01
setup az key create --vault-name good --name signonly --kty RSA --ops sign
setup az key create --vault-name good --name gone --kty EC
setup az key delete --vault-name good --name gone
setup az key rotate --vault-name good --name ec1
setup az key create --vault-name good --name ed1 --kty OKP --curve Ed25519
setup az key create --vault-name good --name dh1 --kty EC --ops deriveBits
EC1V=$(az key show --vault-name good --name ec1 -o json | jq -r .key.kid | sed 's|.*/||')
export EC1V
setup az vault create --name victim
setup az key create --vault-name victim --name k1 --kty EC
setup az key create --vault-name victim --name k2 --kty RSA
setup az role assignment create --vault-name victim --role "Key Vault Crypto User" --assignee uid:1 --scope /keys/k1
cp -a "$VD" "$T/victim.pristine"

echo hello >msg
: >empty
echo 'keystor_dir = /x' >bad.conf
head -c 1000 /dev/urandom >rnd.bin
head -c 15 /dev/urandom >aes15
head -c 33 /dev/urandom >aes33
plain genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
plain genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
plain genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out r1024.pem 2>/dev/null
plain genpkey -algorithm x25519 -out x25519.pem
plain pkey -in x25519.pem -pubout -out x25519pub.pem
plain genpkey -algorithm ed25519 -out ed.pem
plain genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 2>/dev/null | plain pkey -pubout -out p384pub.pem
plain genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out k1.pem
plain pkey -in ec.pem -outform DER -out ec.der
head -c 100 ec.der >ectrunc.der
{ cat ec.der; printf 'xx'; } >trail.der
sed '3s/^..../####/' ec.pem >badb64.pem
plain pkey -in ec.pem -pubout -out ecpub.pem
plain req -x509 -key ec.pem -subj /CN=x -days 1 -out cert.pem
echo secret-pass >pw
echo wrong-pass >wpw
chmod 600 pw wpw
cp pw pw644
chmod 644 pw644
plain pkcs8 -topk8 -in ec.pem -passout file:pw -out enc.pem
plain pkcs12 -export -inkey ec.pem -in cert.pem -passout file:pw -out k.p12
plain pkcs12 -export -nokeys -in cert.pem -passout file:pw -out nokey.p12
head -c 200 k.p12 >trunc.p12
{ cat k.p12; printf 'xx'; } >trail.p12
cat ec.pem cert.pem >eccert.pem
echo 'secure_heap_size = 1024M' >heap.conf

setup az key ref --vault-name good --name ec1 --file ec1.ref
# an RSA-PSS key restricted to SHA-256
setup prov openssl genpkey -propquery '?provider=azkm' -algorithm RSA-PSS -pkeyopt rsa_pss_keygen_md:sha256 \
    -pkeyopt azkm-uri:azkm://good/keys/pss -out pss.ref
mkref() { # VERSION URI -> hand-made reference file on stdout
    printf 'asn1=SEQUENCE:ref\n[ref]\nversion=INTEGER:%s\nuri=UTF8:%s\n' "$1" "$2" >ref.cnf
    plain asn1parse -genconf ref.cnf -out ref.der -noout >/dev/null
    pemwrap ref.der
}
pemwrap() {
    echo "-----BEGIN AZKM KEY REFERENCE-----"
    base64 -w 64 "$1"
    echo "-----END AZKM KEY REFERENCE-----"
}
mkref 2 azkm://good/keys/ec1 >v2.ref
mkref 0 azkm://good/keys/ec1 >v0.ref
mkref 1 https://good.vault.azure.net/keys/ec1 >https.ref
mkref 1 azkm://good/keys/missing >missing.ref
mkref 1 azkm://nosuch/keys/ec1 >nosuchvault.ref
mkref 1 azkm://good/keys/ec1/0123456789abcdef0123456789abcdef >nover.ref
mkref 1 azkm://good/keys/gone >gone.ref
mkref 1 azkm://good/keys/bad_name >badname.ref
mkref 1 azkm://good/keys/aes1 >aes.ref
mkref 1 azkm://good/keys/off >off.ref
sed -e '1d;$d' ec1.ref | base64 -d >good.der
{ cat good.der; printf '\0\0'; } >trailing.der
pemwrap trailing.der >trailing.ref
printf 'azkm://good/keys/ec1' >notder.der
pemwrap notder.der >notder.ref
sed 's/AZKM KEY REFERENCE/AZKM KEY REFERENCF/' ec1.ref >wronglabel.ref
{ head -1 ec1.ref; echo '!!!!'; tail -1 ec1.ref; } >badb64.ref
head -2 ec1.ref >noend.ref
# import files damaged in the ways people damage them: cut short, END line lost, pasted twice, relabelled
head -c 150 ec.pem >ectrunc.pem
sed '$d' ec.pem >ecnoend.pem
{ head -1 ec.pem; cat ec.pem; } >ec2begin.pem
plain ec -in ec.pem -out ectrad.pem 2>/dev/null
sed 's/EC PRIVATE KEY/RSA PRIVATE KEY/' ectrad.pem >rsalabel.pem
sed 's/ENCRYPTED PRIVATE KEY/PRIVATE KEY/' enc.pem >enclabel.pem
{ sed '$d' ec.pem; echo '-----END RSA PRIVATE KEY-----'; } >endlabel.pem
{ echo '-----BEGIN PRIVATE KEY-----'; head -c 100 ec.der | base64 -w 64; echo '-----END PRIVATE KEY-----'; } >cutbody.pem
plain pkcs8 -topk8 -in ec.pem -passout file:pw -outform DER -out enc.der
plain ec -in ec.pem -aes256 -passout file:pw -out enctrad.pem 2>/dev/null

setup az key backup --vault-name good --name ec1 --file ec1.bak
cp ec1.bak bad.bak
# flip one bit inside the tag (a fixed byte could already be there)
off=$(($(stat -c %s ec1.bak) - 20))
printf "$(printf '\\%03o' $(($(od -An -tu1 -j "$off" -N1 bad.bak) ^ 1)))" | dd of=bad.bak bs=1 seek="$off" conv=notrunc 2>/dev/null
# one bit of the vault id in the header (offset 20): not trusted before the blob authenticates
cp ec1.bak vid.bak
printf "$(printf '\\%03o' $(($(od -An -tu1 -j 20 -N1 vid.bak) ^ 1)))" | dd of=vid.bak bs=1 seek=20 conv=notrunc 2>/dev/null
# a blob from a vault of another keystore
AZKM_KEYSTORE_DIR=$T/ks-other setup az vault create --name good
AZKM_KEYSTORE_DIR=$T/ks-other setup az key create --vault-name good --name ec1 --kty EC
AZKM_KEYSTORE_DIR=$T/ks-other setup az key backup --vault-name good --name ec1 --file foreign.bak
head -c 40 ec1.bak >short.bak
head -c "$(($(stat -c %s ec1.bak) / 2))" ec1.bak >half.bak

echo 'short' >spw
echo 'long-enough-1' >lpw
chmod 600 spw lpw
cp lpw lpw644
chmod 644 lpw644
setup az vault create --name ppv --protector passphrase --passphrase-file lpw

mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" >softhsm2.conf
export SOFTHSM2_CONF=$T/softhsm2.conf
softhsm2-util --init-token --free --label L --pin 123456 --so-pin 87654321 >/dev/null
printf 123456 >pin
printf 000000 >wpin
cp pin pin644
chmod 600 pin wpin
chmod 644 pin644
setup az vault create --name hsmv --hsm-module "$M" --hsm-token L --hsm-pin-source "file:$T/pin"
setup az key create --vault-name hsmv --name h1 --kty EC-HSM

setup az role assignment create --vault-name good --role "Key Vault Reader" --assignee uid:1 --scope /keys/ec1
setup az vault verify --name good
cp "$GD/vault.db" good.db.copy
cp "$GD/master.key" good.key.copy
good_unchanged() { cmp -s "$GD/vault.db" good.db.copy && cmp -s "$GD/master.key" good.key.copy; }

echo "fixtures ready in ${SECONDS} s"
# ---- the cases --------------------------------------------------------------------------------------------
section=catalogue
n=0 failed=0 known=0
: >"$T/ok.log"
declare -A seen
while IFS=$'\t' read -r id cmd want re; do
    case "$id" in
    '#@ section '*)
        section=${id#\#@ section }
        case "$section" in catalogue | known-issue) ;; *) die "unknown section '$section'" ;; esac
        continue
        ;;
    '' | '#'*) continue ;;
    esac
    [ -n "$cmd" ] && [ -n "$want" ] && [ -n "$re" ] || die "malformed table row '$id'"
    [ -z "${seen[$id]:-}" ] || die "duplicate case id '$id'"
    seen[$id]=1
    n=$((n + 1))
    case "$cmd" in # restore the victim vault only for the cases that may touch it
    *VD* | *victim*) rm -rf "$VD" && cp -a "$T/victim.pristine" "$VD" ;;
    esac

    t0=$EPOCHREALTIME
    rc=0
    timeout 30 bash -c "$cmd" >case.out 2>case.err </dev/null || rc=$?
    problems=()
    if [ "$rc" -ge 128 ]; then
        problems+=("exited $rc: killed by signal $((rc - 128)) (crash)")
    elif [ "$rc" -eq 124 ]; then
        problems+=("hung: killed by timeout")
    fi
    [ "$rc" -eq "$want" ] || problems+=("exit $rc, expected $want")
    if [ -s case.err ]; then
        grep -Eq -- "$re" case.err || problems+=("stderr does not match /$re/")
    else
        printf '\n' | grep -Eq -- "$re" || problems+=("stderr is empty, expected /$re/")
    fi
    errs=$(grep -c '^azkm: error: ' case.err || true)
    if [ "$errs" -gt 1 ] || { [ "$errs" -eq 1 ] && ! tail -n 1 case.err | grep -q '^azkm: error: '; }; then
        problems+=("the error is not one 'azkm: error:' line at the end of stderr")
    fi
    # No damage: the intact vault is unchanged and verifies.
    good_unchanged || problems+=("vault good changed on disk")
    vrc=0
    az vault verify --name good >/dev/null 2>verify.err || vrc=$?
    [ "$vrc" -eq 0 ] || problems+=("vault good no longer verifies: $(cat verify.err)")

    if [ ${#problems[@]} -eq 0 ]; then
        [ "$section" = known-issue ] && known=$((known + 1))
        echo "ok    [$section] $id ($(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s): exit $rc $(grep -m1 -E -- "$re" case.err 2>/dev/null | cut -c1-160 || true)" >>"$T/ok.log"
        continue
    fi
    failed=$((failed + 1))
    echo "FAIL  [$section] $id: $cmd" >&2
    for p in "${problems[@]}"; do echo "      - $p" >&2; done
    sed 's/^/      | /' case.err | head -20 >&2
done <"$TABLE"

# The other vaults are untouched by all of the above.
az vault verify --name hsmv >/dev/null || die "vault hsmv no longer verifies"
AZKM_PASSPHRASE_FILE=lpw az vault verify --name ppv >/dev/null || die "vault ppv no longer verifies"

echo "$n cases: $((n - failed)) passed, $failed failed, $known known issues unchanged"
# The passing cases last, so that the head of the output (all CI shows of a long log) holds the failures.
cat "$T/ok.log"
[ "$n" -ge 50 ] || die "the catalogue needs at least 50 cases"
[ "$failed" -eq 0 ] || die "$failed case(s) failed"
echo PASS
