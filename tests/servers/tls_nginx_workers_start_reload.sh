#!/usr/bin/env bash
# nginx with 4 workers on the HSM tier, as issue 12 tried it: started again and again, every start followed by
# handshakes from ab (a new connection each, TLS 1.2, ECDHE-RSA and ECDHE-ECDSA at once), then reloaded again and
# again while ab keeps going. Every worker re-initialises the PKCS#11 module and logs in after fork, all at the same
# moment; not one handshake may fail, and the error log stays clean. Bounded: STARTS (default 5) starts of
# HANDSHAKES (96) handshakes, RELOADS (6) reloads RELOAD_EVERY (1.5) s apart; issue 12's measurement is
# STARTS=25 and RELOADS=20 RELOAD_EVERY=3. Loopback, an ephemeral port. Usage: tls_nginx_workers_start_reload.sh
. "$(dirname "$0")/lib.sh"
STARTS=${STARTS:-5}
HANDSHAKES=${HANDSHAKES:-96}
RELOADS=${RELOADS:-6}
RELOAD_EVERY=${RELOAD_EVERY:-1.5}
export NGINX_WORKERS=${NGINX_WORKERS:-4}
command -v ab >/dev/null || fail "ab is not installed (scripts/setup.sh installs apache2-utils)"

# ab_tls <key> <args...>: ab as the issue ran it, with the default provider alone; output in $T/ab.<key>.{out,err}.
ab_tls() {
    local key=$1 cipher
    shift
    case $key in
    web-rsa) cipher=ECDHE-RSA-AES128-GCM-SHA256 ;;
    web-ec) cipher=ECDHE-ECDSA-AES128-GCM-SHA256 ;;
    esac
    OPENSSL_CONF=/dev/null OPENSSL_MODULES='' ab -f TLS1.2 -Z "$cipher" -r -s 10 "$@" \
        "https://localhost:$PORT/index.html" >"$T/ab.$key.out" 2>"$T/ab.$key.err"
}

# ab_result <key>: "<complete> <failed>" from ab's report, failing when ab reported no totals at all; non-2xx
# answers and handshake errors on ab's stderr count as failures too.
ab_result() {
    local out=$T/ab.$1.out complete failed non2xx errs
    complete=$(awk '/^Complete requests:/ { print $3 }' "$out")
    failed=$(awk '/^Failed requests:/ { print $3 }' "$out")
    non2xx=$(awk '/^Non-2xx responses:/ { print $3 }' "$out")
    errs=$(grep -c -i -E 'ssl|handshake|error' "$T/ab.$1.err" || true)
    [ -n "$complete" ] && [ -n "$failed" ] || fail "ab $1 gave no report: $(tail -5 "$T/ab.$1.err")"
    echo "$complete $((failed + ${non2xx:-0} + errs))"
}

# The master's www-data children, waited for up to 10 s.
workers_up() {
    local master n=0
    master=$(cat "$T/run/nginx.pid")
    for _ in $(seq 100); do
        n=$(ps -o user= --ppid "$master" | grep -c "^$WORKER_USER" || true)
        [ "$n" -ge "$NGINX_WORKERS" ] && return 0
        sleep 0.1
    done
    fail "$n of $NGINX_WORKERS workers started"
}

log_clean() {
    if grep -E '\[(alert|crit|emerg|error)\]|azkm' "$T/logs/error.log" | grep -v "signal process started"; then
        fail "errors in nginx's log ($1)"
    fi
}

step "HSM vault, both certificates; nginx with $NGINX_WORKERS workers"
setup_machine hsm

step "$STARTS starts, $HANDSHAKES handshakes after each"
total=0 lost=0
for s in $(seq "$STARTS"); do
    start_server nginx || fail "start $s: nginx did not start: $(cat "$T/logs/start.err")"
    workers_up
    ab_tls web-rsa -n $((HANDSHAKES / 2)) -c 8 &
    ab_tls web-ec -n $((HANDSHAKES - HANDSHAKES / 2)) -c 8 &
    wait
    for key in web-rsa web-ec; do
        read -r c f <<<"$(ab_result $key)"
        total=$((total + c)) lost=$((lost + f))
        [ "$f" = 0 ] || echo "start $s, $key: $f of $c failed: $(head -3 "$T/ab.$key.err")"
    done
    log_clean "start $s"
    stop_server
done
echo "starts: $lost of $total handshakes failed over $STARTS starts of $NGINX_WORKERS workers"
[ "$lost" = 0 ] || fail "handshakes failed after a start"

step "$RELOADS reloads, $RELOAD_EVERY s apart, under load"
start_server nginx || fail "nginx did not start: $(cat "$T/logs/start.err")"
workers_up
duration=$(awk -v r="$RELOADS" -v e="$RELOAD_EVERY" 'BEGIN { printf "%d", r * e + 2 }')
ab_tls web-rsa -n 10000000 -c 4 -t "$duration" &
ab_tls web-ec -n 10000000 -c 4 -t "$duration" &
sleep 1
for _ in $(seq "$RELOADS"); do
    reload_nginx || fail "nginx -s reload failed: $(tail -5 "$T/logs/error.log")"
    sleep "$RELOAD_EVERY"
done
wait
total=0 lost=0
for key in web-rsa web-ec; do
    read -r c f <<<"$(ab_result $key)"
    total=$((total + c)) lost=$((lost + f))
    [ "$f" = 0 ] || echo "$key: $f of $c failed: $(head -3 "$T/ab.$key.err")"
done
echo "reloads: $lost of $total requests failed over $RELOADS reloads"
[ "$lost" = 0 ] || fail "requests failed during reloads"
[ "$total" -gt 0 ] || fail "no request completed during the reloads"
log_clean "reloads"
echo "PASS"
