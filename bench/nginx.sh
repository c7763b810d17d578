# shellcheck shell=bash
# nginx full-handshake measurement, sourced by scripts/bench.sh (part tls) and bench/remote.sh: each case is an
# nginx with one worker pinned to CPU 0, TLS 1.2/1.3 without resumption (ssl_session_cache off, no tickets),
# measured with `openssl s_time -new` pinned to CPU 1. Needs $T (a temp dir); keeps PORT[case], NGINX_PIDS and
# NGINX_NAMES. A case is "<key>/<path>"; a path ending in -remote also counts the CPU time of $AZKMD_PID (the
# azkmd that signs for it) as server time.
declare -A PORT
NGINX_PIDS=()
NGINX_NAMES=()

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# http_block DIR PORT CERT KEY: the http section of every benchmark nginx (temp paths under DIR, one TLS server on
# 127.0.0.1:PORT, no session resumption)
http_block() {
    cat <<CONF
http {
    access_log off;
    client_body_temp_path $1/tmp; proxy_temp_path $1/tmp; fastcgi_temp_path $1/tmp;
    uwsgi_temp_path $1/tmp; scgi_temp_path $1/tmp;
    server {
        listen 127.0.0.1:$2 ssl;
        ssl_certificate $3;
        ssl_certificate_key $4;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        location / { return 200 "ok\n"; }
    }
}
CONF
}

# start_nginx <case> <cert> <key file> <OPENSSL_CONF>: one worker, pinned to CPU 0; sets PORT[<case>]
start_nginx() {
    local name=${1/\//-} crt=$2 key=$3 cnf=$4 d port
    d=$T/nginx/$name
    port=$(free_port)
    mkdir -p "$d/logs" "$d/tmp"
    cat >"$d/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
worker_cpu_affinity 01;
user root root;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
env OPENSSL_CONF;
env OPENSSL_MODULES;
env AZKM_KEYSTORE_DIR;
env SOFTHSM2_CONF;
events { worker_connections 256; }
$(http_block "$d" "$port" "$crt" "$key")
CONF
    OPENSSL_CONF=$cnf nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" >"$d/logs/stdout" 2>&1 &
    NGINX_PIDS+=($!)
    NGINX_NAMES+=("$name")
    for _ in $(seq 100); do
        OPENSSL_CONF=/dev/null openssl s_client -connect "127.0.0.1:$port" </dev/null >/dev/null 2>&1 && break
        sleep 0.1
    done
    OPENSSL_CONF=/dev/null openssl s_client -connect "127.0.0.1:$port" </dev/null >/dev/null 2>&1 ||
        { echo "bench: nginx $name does not serve TLS: $(cat "$d/logs/error.log")" >&2; exit 1; }
    PORT[$1]=$port
}

# cpu_ns_of <pid>: the CPU time of a process, all its threads, in ns: the scheduler's exact runtime
# (/proc/<pid>/task/*/schedstat), not /proc's utime + stime, which the kernel samples at its tick
cpu_ns_of() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'; }

server_cpu_ns() { # server_cpu_ns <case>: "<nginx worker's CPU time> <azkmd's>", azkmd's 0 but for a -remote case
    local d=$T/nginx/${1/\//-} w a=0
    w=$(pgrep -P "$(cat "$d/nginx.pid")" | head -1)
    [[ $1 != *-remote ]] || a=$(cpu_ns_of "$AZKMD_PID")
    echo "$(cpu_ns_of "$w") $a"
}

# tls_measure <tsv> <runs> <seconds> <case>...: a warm-up handshake second per case, then the runs interleaved
# (run r of every case before run r+1); one row per case and run. Server CPU is the worker's plus azkmd's, which
# is also given alone.
tls_measure() {
    local tsv=$1 runs=$2 secs=$3 c r n t0 t1 s0 s1
    shift 3
    echo -e "key\tpath\trun\thandshakes\tseconds\thandshakes_per_s\tserver_cpu_us_per_handshake\tazkmd_cpu_us_per_handshake" >"$tsv"
    for c in "$@"; do # warm-up: workers load their keys, caches fill
        taskset -c 1 env OPENSSL_CONF=/dev/null openssl s_time -connect "127.0.0.1:${PORT[$c]}" -new -time 1 \
            >/dev/null 2>&1
    done
    for r in $(seq "$runs"); do
        for c in "$@"; do
            t0=$(server_cpu_ns "$c")
            s0=$(date +%s.%N)
            n=$(taskset -c 1 env OPENSSL_CONF=/dev/null openssl s_time -connect "127.0.0.1:${PORT[$c]}" -new \
                -time "$secs" 2>&1 | awk '/connections in .*real seconds/ { print $1 }')
            s1=$(date +%s.%N)
            t1=$(server_cpu_ns "$c")
            awk -v k="${c%/*}" -v p="${c#*/}" -v r="$r" -v n="$n" -v s0="$s0" -v s1="$s1" -v t0="$t0" -v t1="$t1" \
                'BEGIN { el = s1 - s0; split(t0, a, " "); split(t1, b, " "); w = b[1] - a[1]; z = b[2] - a[2]
                printf "%s\t%s\t%d\t%d\t%.3f\t%.1f\t%.1f\t%.1f\n", k, p, r, n, el, n / el, (w + z) / 1e3 / n, z / 1e3 / n }' >>"$tsv"
            tail -1 "$tsv"
        done
    done
}

# tls_table <tsv>: medians per case and the ratio to the key file (the first path of each key is "file"); the
# azkmd column (remote cases) is the part of the server CPU that azkmd used
tls_table() {
    awk -F'\t' 'NR > 1 { k = $1 "\t" $2; hs[k] = hs[k] " " $6; cpu[k] = cpu[k] " " $7; az[k] = az[k] " " ($8 == "" ? 0 : $8)
            order[k] = order[k] ? order[k] : ++n; name[n] = k }
        function med(s,   a, m, i, j, t) { m = split(s, a, " "); for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
            if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
            return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
        END { printf "%-8s %-12s %14s %12s %18s %14s %15s\n", "key", "path", "handshakes/s", "vs key file", "server CPU us/hs", "capacity hs/s", "of which azkmd"
            for (i = 1; i <= n; i++) { k = name[i]; split(k, kp, "\t"); h = med(hs[k]); c = med(cpu[k]); z = med(az[k])
                if (kp[2] == "file") { base = h; basec = c }
                printf "%-8s %-12s %14.0f %12.3f %18.0f %14.0f %15s\n", kp[1], kp[2], h, h / base, c, 1e6 / c, (z > 0 ? sprintf("%.0f", z) : "-") } }' "$1"
}

# stop_nginxes: each master stopped as a service manager would (SIGTERM) and waited for; one that crashes on the
# way out is reported with its error log. pkcs11-provider's servers do (docs/performance.md, "Observations on the
# peer"); any other makes this return 1.
stop_nginxes() {
    local i p st crashed=0
    for i in "${!NGINX_PIDS[@]}"; do
        p=${NGINX_PIDS[$i]}
        kill "$p" 2>/dev/null || true
        st=0
        wait "$p" 2>/dev/null || st=$?
        if [ "$st" -gt 128 ] && [ "$st" -ne 143 ]; then
            echo "bench: nginx ${NGINX_NAMES[$i]} ended by signal $((st - 128)) when stopped; its error log:" >&2
            tail -5 "$T/nginx/${NGINX_NAMES[$i]}/logs/error.log" >&2
            [[ ${NGINX_NAMES[$i]} == *-pkcs11-prov ]] || crashed=1
        fi
    done
    NGINX_PIDS=()
    NGINX_NAMES=()
    return $crashed
}
