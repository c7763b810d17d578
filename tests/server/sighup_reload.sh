#!/usr/bin/env bash
# SIGHUP under load drops no request: keep-alive clients over TLS and over the Unix socket run a bounded number of
# requests each while the test swaps the TLS certificate and sends SIGHUP several times; every request succeeds, and
# a new connection after the reload gets the new certificate. A reload applies changed settings (rate_limit here);
# settings that need a restart are named and left; a configuration with a mistake (a bad setting, a missing TLS
# file) is refused whole with a message naming it, and the server goes on with the running one.
. "$(dirname "$0")/lib.sh"

plain req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=reload-ca" \
    -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null
printf 'subjectAltName=DNS:*.%s,DNS:%s\n' "$DOMAIN" "$DOMAIN" >"$T/server.ext"
for n in 1 2; do # two certificates for the same names, told apart by their serial numbers
    plain req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=*.$DOMAIN" \
        -keyout "$T/cert$n.key" -out "$T/cert$n.csr" 2>/dev/null
    plain x509 -req -in "$T/cert$n.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -set_serial "$((1000 + n))" -days 2 \
        -extfile "$T/server.ext" -out "$T/cert$n.crt" 2>/dev/null
done
# The TLS clients authenticate with a client certificate registered to a service principal with a role.
plain req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=reload-client" \
    -keyout "$T/client.key" -out "$T/client.csr" 2>/dev/null
plain x509 -req -in "$T/client.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -set_serial 7 -days 2 \
    -out "$T/client.crt" 2>/dev/null
app=$("$AZKM" sp create --display-name reload-client --cert "$T/client.crt" -o json | jq -r .appId)
"$AZKM" role assignment create --vault-name "$VAULT" --role "Key Vault Crypto User" --assignee "sp:$app" --scope / \
    >/dev/null
# use_cert N: the certificate and key files the configuration names now hold certificate N (replaced by rename).
use_cert() {
    cp "$T/cert$1.crt" "$T/tls.crt.new" && mv "$T/tls.crt.new" "$T/tls.crt"
    cp "$T/cert$1.key" "$T/tls.key.new" && mv "$T/tls.key.new" "$T/tls.key"
}
use_cert 1
BASE=("listen_tls = 127.0.0.1:0" "tls_certificate = $T/tls.crt" "tls_key = $T/tls.key" "rate_limit = 0"
    "tls_client_ca = $T/ca.crt")
write_config "${BASE[@]}"
start_azkmd
tls_port
call POST "/keys/k1/create?api-version=$API" '{"kty":"EC"}'
expect 200

# serial: the serial number of the certificate a new TLS connection gets.
serial() {
    plain s_client -connect "127.0.0.1:$PORT" -servername "$VAULT.$DOMAIN" </dev/null 2>/dev/null |
        plain x509 -noout -serial | cut -d= -f2
}
# hup: sends SIGHUP and waits (at most 10 s) for its log line.
HUPS=0
hup() {
    HUPS=$((HUPS + 1))
    kill -HUP "$AZKMD_PID"
    for _ in $(seq 100); do
        [ "$(grep -c '^azkmd: SIGHUP: \(reloaded\|.*keeping the running configuration\)' "$T/azkmd.log")" -ge "$HUPS" ] &&
            return 0
        sleep 0.1
    done
    fail "no log line for SIGHUP $HUPS"
}
[ "$(serial)" = 03E9 ] || fail "first certificate not served: $(serial)"

step "SIGHUP five times under load, swapping the certificate: every request succeeds"
# N requests per client at 40 a second: almost 4 s of load, through which the reloads happen.
N=150
urls=()
for _ in $(seq "$N"); do urls+=(-o /dev/null "https://$VAULT.$DOMAIN:$PORT/keys/k1?api-version=$API"); done
uurls=()
for _ in $(seq "$N"); do uurls+=(-o /dev/null "http://$VAULT.$DOMAIN/keys/k1?api-version=$API"); done
pids=()
for c in 1 2 3; do # keep-alive clients over TLS (one connection each, N requests)
    curl -sS --max-time 60 --resolve "$VAULT.$DOMAIN:$PORT:127.0.0.1" --cacert "$T/ca.crt" \
        --cert "$T/client.crt" --key "$T/client.key" --rate 40/s -w '%{http_code} %{num_connects}\n' "${urls[@]}" >"$T/tls.$c" 2>"$T/tls.$c.err" &
    pids+=($!)
done
for c in 1 2; do # and over the Unix socket
    curl -sS --max-time 60 --unix-socket "$SOCK" --rate 40/s -w '%{http_code} %{num_connects}\n' "${uurls[@]}" \
        >"$T/unix.$c" 2>"$T/unix.$c.err" &
    pids+=($!)
done
before=$(audit_count)
for i in 1 2 3 4 5; do
    use_cert $((i % 2 + 1))
    # requests are flowing (at least 5 more answered since the last reload)
    for _ in $(seq 100); do
        [ "$(audit_count)" -ge $((before + 5 * i)) ] && break
        sleep 0.05
    done
    hup
done
done_at_last=$(($(audit_count) - before))
echo "requests answered by the fifth reload: $done_at_last of $((5 * N))"
[ "$done_at_last" -lt $((5 * N)) ] || fail "the load was over before the last reload"
for p in "${pids[@]}"; do wait "$p" || fail "a client failed: $(cat "$T"/*.err)"; done
for f in "$T"/tls.[123] "$T"/unix.[12]; do
    [ "$(awk '$1 == 200' "$f" | wc -l)" = "$N" ] || fail "$f: $(sort "$f" | uniq -c)"
    # one connection for all N requests: keep-alive survived the reloads
    [ "$(awk '{s += $2} END {print s}' "$f")" = 1 ] || fail "$f: the client had to reconnect: $(sort "$f" | uniq -c)"
done
[ "$(grep -c '^azkmd: SIGHUP: reloaded' "$T/azkmd.log")" = 5 ] || fail "five reloads: $(grep SIGHUP "$T/azkmd.log")"
grep -q 'TLS certificate, key and client CA loaded again' "$T/azkmd.log" || fail "reload log does not mention TLS"

step "a new connection after the reload gets the new certificate"
[ "$(serial)" = 03EA ] || fail "after the reloads: serial $(serial), expected the second certificate's 03EA"
use_cert 1
hup
[ "$(serial)" = 03E9 ] || fail "after the reload: serial $(serial), expected 03E9"

step "a changed setting applies; one needing a restart is named and left"
write_config "${BASE[@]/rate_limit = 0/rate_limit = 0.2 burst=1}" "timeout = 7"
sed -i 's/^threads = .*/threads = 3/' "$T/azkmd.conf"
hup
grep -q '^azkmd: SIGHUP: threads changed: needs a restart, not applied' "$T/azkmd.log" || fail "threads not named"
grep -q "^azkmd: SIGHUP: reloaded $T/azkmd.conf (changed: timeout, rate_limit)" "$T/azkmd.log" ||
    fail "changes not logged: $(grep SIGHUP "$T/azkmd.log" | tail -n 2)"
call GET "/keys/k1?api-version=$API"
expect 200
call GET "/keys/k1?api-version=$API"
expect 429 Throttled

step "a configuration with a mistake is refused whole; the running one stays"
write_config "${BASE[@]}" "rate_limit = lots"
hup
grep -q "^azkmd: SIGHUP: $T/azkmd.conf:[0-9]*: rate_limit must be requests per second.*not 'lots'; keeping the running configuration" \
    "$T/azkmd.log" || fail "bad setting not named: $(tail -n 1 "$T/azkmd.log")"
call GET "/keys/k1?api-version=$API"
expect 429 Throttled # still the running rate_limit, not the file's first line
write_config "${BASE[@]/tls_certificate = */tls_certificate = $T/missing.crt}"
hup
grep -q "^azkmd: SIGHUP: $T/azkmd.conf TLS: tls_certificate $T/missing.crt: .*keeping the running configuration" \
    "$T/azkmd.log" || fail "missing TLS file not named: $(tail -n 1 "$T/azkmd.log")"
[ "$(serial)" = 03E9 ] || fail "the running certificate is not served after a refused reload"
tls_status=$(curl -sS --max-time 10 --resolve "$VAULT.$DOMAIN:$PORT:127.0.0.1" --cacert "$T/ca.crt" -o /dev/null \
    --cert "$T/client.crt" --key "$T/client.key" -w '%{http_code}' \
    "https://$VAULT.$DOMAIN:$PORT/keys/k1?api-version=$API") || fail "TLS after a refused reload"
[ "$tls_status" = 200 ] || fail "TLS after a refused reload: $tls_status"
kill -0 "$AZKMD_PID" || fail "azkmd exited"
echo "PASS"
