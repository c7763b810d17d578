#!/usr/bin/env bash
# The shipped conf/azkmd.conf (paths moved into the test directory, TLS on a free port) passes --check-config and
# serves; each kind of mistake in a configuration is refused by --check-config with the file, line and setting
# named; `azkmd --dev` makes a fresh keystore and the commands it prints (a token request too) work as printed.
. "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=*.$DOMAIN" \
    -keyout "$T/tls.key" -out "$T/tls.crt" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=other" \
    -keyout "$T/other.key" -out "$T/other.crt" 2>/dev/null

step "conf/azkmd.conf as shipped, with its paths moved: valid, and it serves"
sed -e "s|/var/lib/azkmd|$AZKM_KEYSTORE_DIR|" -e "s|/var/log/azkmd/audit.log|$AZKM_AUDIT_LOG|" \
    -e "s|/run/azkmd/azkmd.sock|$SOCK|" -e "s|127.0.0.1:8443|127.0.0.1:0|" \
    -e "s|/etc/azkm/tls/azkmd.crt|$T/tls.crt|" -e "s|/etc/azkm/tls/azkmd.key|$T/tls.key|" \
    "$AZKM_TOP/conf/azkmd.conf" >"$T/azkmd.conf"
! grep -n '/var/\|/run/\|/etc/' "$T/azkmd.conf" | grep -v '^ *[0-9]*:#' || fail "a path of the shipped file was not moved"
"$AZKMD" --config "$T/azkmd.conf" --check-config >"$T/check.out" || fail "--check-config: $(cat "$T/check.out")"
grep -q "configuration $T/azkmd.conf is valid" "$T/check.out" || fail "--check-config output"
start_azkmd
grep -q "listening on unix:$SOCK (mode 0660)" "$T/azkmd.log" || fail "socket mode from the shipped file"
call GET "/keys?api-version=$API"
expect 200
stop_azkmd

step "mistakes are refused, naming file, line and setting"
check_bad() { # check_bad REGEX LINE...: a configuration of these lines fails --check-config with REGEX
    local regex=$1 rc=0
    shift
    printf '%s\n' "# line 1" "$@" >"$T/bad.conf"
    "$AZKMD" --config "$T/bad.conf" --check-config >"$T/bad.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] || fail "'$*' exited $rc"
    [ "$(wc -l <"$T/bad.out")" = 1 ] || fail "'$*': not one error line: $(cat "$T/bad.out")"
    grep -Eq "^azkmd: .*$regex" "$T/bad.out" || fail "'$*': $(cat "$T/bad.out") does not match $regex"
}
check_bad "bad.conf:2: unknown setting 'listen'" "listen = 1.2.3.4:5"
check_bad "bad.conf:2: threads must be a number from 0 to 256, not 'many'" "threads = many"
check_bad "bad.conf:3: max_body_size must be a number from 1024" "listen_unix = $SOCK" "max_body_size = 10"
check_bad "bad.conf:2: listen_tls needs host:port, not 'localhost'" "listen_tls = localhost"
check_bad "bad.conf:2: mode must be octal" "listen_unix = $SOCK mode=0999"
check_bad "bad.conf:2: vault 'no_such!' is not a valid vault name" "listen_unix = $SOCK vault=no_such!"
check_bad "bad.conf:2: unknown listener option 'owner=me'" "listen_unix = $SOCK owner=me"
check_bad "bad.conf:2: expected 'name = value'" "listen_unix"
check_bad "bad.conf:2: timeout has no value" "timeout ="
check_bad "no listener" "threads = 1"
check_bad "listen_tls needs tls_certificate and tls_key" "listen_tls = 127.0.0.1:0"
check_bad "tls_certificate $T/missing.crt" "listen_tls = 127.0.0.1:0" "tls_certificate = $T/missing.crt" \
    "tls_key = $T/tls.key"
check_bad "tls_key does not match tls_certificate" "listen_tls = 127.0.0.1:0" "tls_certificate = $T/tls.crt" \
    "tls_key = $T/other.key"
check_bad "bad.conf:3: token_signing_key must be <vault>/<key>, got 'signing'" "listen_unix = $SOCK" \
    "token_signing_key = signing"
check_bad "bad.conf:3: token_lifetime must be a number from 60 to 86400" "listen_unix = $SOCK" "token_lifetime = 5"
check_bad "token_signing_key: .*missing" "listen_unix = $SOCK" "token_signing_key = web/missing"
check_bad "bad.conf:3: rate_limit must be requests per second, a number from 0 to 1000000, not 'lots'" "listen_unix = $SOCK" \
    "rate_limit = lots"
check_bad "bad.conf:3: burst must be a number from 1 to 10000000, not '0'" "listen_unix = $SOCK" \
    "token_rate_limit = 5 burst=0"
check_bad "bad.conf:3: rate_limit: unknown option 'per=minute' \(burst=\)" "listen_unix = $SOCK" \
    "rate_limit = 5 per=minute"
check_bad "bad.conf:3: max_connections must be a number from 0 to 1000000, not '-5'" "listen_unix = $SOCK" \
    "max_connections = -5"
"$AZKM" key create --vault-name web --name ed --kty OKP >/dev/null
check_bad "token_signing_key: .*must be RSA \(RS256\) or EC P-256 \(ES256\)" "listen_unix = $SOCK" \
    "token_signing_key = web/ed"
"$AZKMD" --config "$T/nonexistent.conf" --check-config 2>"$T/bad.out" && fail "a missing file passed"
grep -q "configuration file $T/nonexistent.conf cannot be read" "$T/bad.out" || fail "missing file message"
rc=0
"$AZKMD" --frobnicate 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "unknown argument exited $rc"

step "azkmd --dev: a fresh keystore; the printed commands work as printed"
: >"$T/azkmd.log"
"$AZKMD" --dev >"$T/dev.out" 2>"$T/azkmd.log" &
AZKMD_PID=$!
for _ in $(seq 100); do
    grep -q '^azkmd: ready' "$T/azkmd.log" && break
    sleep 0.1
done
grep -q '^azkmd: ready' "$T/azkmd.log" || fail "--dev not ready"
devdir=$(sed -n "s|^azkmd --dev: keystore \(.*\)/keystore, vault 'dev'.*|\1|p" "$T/dev.out")
[ -d "$devdir" ] || fail "--dev did not name its directory"
# The printed commands, their continuation lines joined, run as printed.
sed -n '/^Try:/,$p' "$T/dev.out" | tail -n +2 | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' >"$T/dev.cmds"
[ "$(wc -l <"$T/dev.cmds")" = 2 ] || fail "expected two commands: $(cat "$T/dev.cmds")"
bash -e "$T/dev.cmds" >"$T/dev.results"
jq -e '.key.kid | test("^http://dev\\.vault\\.azkm\\.localhost/keys/my-key/[0-9a-f]{32}$")' \
    <(head -c 100000 "$T/dev.results" | jq -s '.[0]') >/dev/null || fail "--dev create: $(cat "$T/dev.results")"
jq -e '.[1].value[0].kid == "http://dev.vault.azkm.localhost/keys/my-key"' <(jq -s . "$T/dev.results") >/dev/null ||
    fail "--dev list"
# The token issuer: the printed service principal command, then the printed token request with its appId and secret.
sp_cmd=$(sed -n 's/^Tokens: a service principal (\(.*\)) gets one with$/\1/p' "$T/dev.out")
[ -n "$sp_cmd" ] || fail "--dev printed no token instructions"
sp=$(env "${sp_cmd%% azkm *}" "$AZKM" ${sp_cmd#* azkm } -o json 2>/dev/null)
sed -n '/^Tokens:/,/^Try:/p' "$T/dev.out" | sed -e '1d;$d' | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
    sed -e "s/<appId>/$(jq -r .appId <<<"$sp")/" -e "s/<password>/$(jq -r .password <<<"$sp")/" >"$T/dev.token"
bash -e "$T/dev.token" >"$T/dev.token.out"
jq -e '.token_type == "Bearer" and (.access_token | split(".") | length) == 3' "$T/dev.token.out" >/dev/null ||
    fail "--dev token: $(cat "$T/dev.token.out")"
stop_azkmd
rm -rf "$devdir"
echo "PASS"
