#!/usr/bin/env bash
# A real server (nginx with 2 workers, or Apache prefork) from the shipped example configuration serves TLS 1.2
# and 1.3 with a vault key of one type while its RSA and ECDSA certificates sit side by side: verified by curl
# and by openssl s_client against the test CA, sessions resume, and 500 full handshakes in a row all succeed.
# Usage: tls_handshakes.sh <nginx|apache> <software|hsm> <web-rsa|web-ec>
. "$(dirname "$0")/lib.sh"
server=$1 tier=$2 key=$3

step "$tier vault, certificates for web-rsa and web-ec, $server from examples/"
setup_machine "$tier"
start_server "$server" || fail "$server did not start: $(cat "$T/logs/start.err")"

step "workers run as $WORKER_USER"
master=$(cat "$T/run/$([ "$server" = nginx ] && echo nginx || echo apache2).pid")
# the server listens before it has forked all its workers: give them a moment (ps fails while there are none yet,
# which pipefail would make this script's silent end)
for _ in $(seq 100); do
    workers=$({ ps -o user=,pid= --ppid "$master" || true; } | awk -v u="$WORKER_USER" '$1 == u' | wc -l)
    [ "$workers" -ge 2 ] && break
    sleep 0.1
done
[ "$workers" -ge 2 ] || fail "expected 2 or more $WORKER_USER workers, found: $(ps -o user=,pid=,cmd= --ppid "$master" || true)"

for proto in 1.2 1.3; do
    step "TLS $proto: curl --cacert"
    if [ $proto = 1.2 ]; then flags=(--tlsv1.2 --tls-max 1.2); else flags=(--tlsv1.3); fi
    out=$(tls_curl "$key" "${flags[@]}" -v "https://localhost:$PORT/" 2>&1) || fail "curl TLS $proto: $out"
    grep -q "keyless TLS by azkm" <<<"$out" || fail "curl TLS $proto: no page: $out"
    grep -q "SSL connection using TLSv$proto" <<<"$out" || fail "curl did not use TLS $proto: $out"
    grep -q "OU=$key" <<<"$out" || fail "curl TLS $proto: not the $key certificate: $out"

    step "TLS $proto: openssl s_client -verify_return_error"
    out=$(tls_s_client "$key" "-tls${proto/./_}") || fail "s_client TLS $proto: $out"
    grep -q "Verify return code: 0 (ok)" <<<"$out" || fail "s_client TLS $proto did not verify: $out"
    grep -q "keyless TLS by azkm" <<<"$out" || fail "s_client TLS $proto: no page: $out"
    grep -q "OU = $key" <<<"$out" || fail "s_client TLS $proto: not the $key certificate: $out"

    step "TLS $proto: session resumption"
    tls_s_client "$key" "-tls${proto/./_}" -sess_out "$T/sess$proto.pem" >"$T/first.out" ||
        fail "first session: $(cat "$T/first.out")"
    out=$(tls_s_client "$key" "-tls${proto/./_}" -sess_in "$T/sess$proto.pem") || fail "resumed session: $out"
    grep -q "^Reused, TLSv$proto" <<<"$out" || fail "TLS $proto session not resumed: $out"
done

step "the served certificate holds the vault key's public key"
[ "$(served_pubkey "$key")" = "$(vault_pubkey "$key")" ] || fail "served key is not the vault's $key"

step "500 sequential full handshakes (no session reuse, a new connection each)"
# curl's URL globbing: one process, 500 transfers; --no-sessionid and Connection: close force a full handshake
# on a new connection every time; each line is "<http code> <connections made>".
start=$(date +%s%N)
tls_curl "$key" --no-sessionid -H "Connection: close" -o /dev/null -w '%{http_code} %{num_connects}\n' \
    "https://localhost:$PORT/index.html?n=[1-500]" >"$T/500.out" 2>"$T/500.err" || true
good=$(grep -c '^200 1$' "$T/500.out" || true)
[ "$good" = 500 ] || fail "$good of 500 handshakes succeeded: $(grep -v '^200 1$' "$T/500.out" | sort | uniq -c) \
$(head -5 "$T/500.err")"
echo "500 handshakes in $((($(date +%s%N) - start) / 1000000)) ms"

step "no error in the server log"
# nginx: [alert]/[crit]/[emerg]; Apache: [ssl:error] and the like. A stale OpenSSL error left by the PKCS#11
# module in a worker shows up here even when curl's handshake happened to survive it.
if grep -E '\[(alert|crit|emerg|error)\]|:(alert|crit|emerg|error)\]|:azkm:' "$T/logs/error.log"; then
    fail "errors in the server log"
fi
echo "PASS"
