#!/usr/bin/env bash
# Reproduces docs/performance.md in one command: installs the peers (pkcs11-provider from bookworm-backports, for
# benchmarks only) and gnuplot, builds, then runs the private-key operation benchmark (five paths), the nginx TLS
# handshake benchmark, the keystore scale benchmark, the envelope encryption throughput, azkmd's requests/s
# against the same operations in-process, and remote vaults (provider operations and nginx handshakes through
# azkmd against in-process, and a 16-client soak), and writes the raw results and the plot.
#
#   bash scripts/bench.sh                 # everything (40-50 minutes on 2 vCPUs, 20 of them the 100k-key fill)
#   BENCH_PARTS="ops tls" bash scripts/bench.sh    # a subset: ops, tls, scale, instr, tlsinstr, envelope, azkmd,
#                                                  # remote
#
# Knobs: BENCH_RUNS (5), BENCH_SECONDS (1, per run and cell), BENCH_TLS_RUNS (3), BENCH_TLS_SECONDS (6),
# BENCH_SCALE_SIZES (1000,10000,100000), BENCH_ENVELOPE_MB (256), BENCH_AZKMD_RUNS (7), BENCH_REMOTE_SOAK (300
# seconds), BENCH_BUILD (build/), BENCH_OUT (bench/results/).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build}
OUT=${BENCH_OUT:-$ROOT/bench/results}
PARTS=${BENCH_PARTS:-ops tls scale instr tlsinstr envelope azkmd remote}
RUNS=${BENCH_RUNS:-5}
SECS=${BENCH_SECONDS:-1}
TLS_RUNS=${BENCH_TLS_RUNS:-3}
TLS_SECS=${BENCH_TLS_SECONDS:-6}
SCALE_SIZES=${BENCH_SCALE_SIZES:-1000,10000,100000}
ENVELOPE_MB=${BENCH_ENVELOPE_MB:-256}
AZKMD_RUNS=${BENCH_AZKMD_RUNS:-7}
REMOTE_SOAK=${BENCH_REMOTE_SOAK:-300}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# ---- packages ---------------------------------------------------------------------------------------------
install_packages() {
    bash "$ROOT/scripts/setup.sh"
    export DEBIAN_FRONTEND=noninteractive
    local need_update=0
    dpkg-query -W -f='${Status}' gnuplot-nox 2>/dev/null | grep -q "install ok installed" || need_update=1
    dpkg-query -W -f='${Status}' pkcs11-provider 2>/dev/null | grep -q "install ok installed" || need_update=1
    [ $need_update = 1 ] || return 0
    # bookworm-backports from the same archive as the existing "bookworm" entry (deb822 or one-line sources)
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        local uri
        uri=$(awk '/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") print u }' \
            /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
        [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list \
            /etc/apt/sources.list.d/*.list 2>/dev/null || true)
        [ -n "$uri" ] || uri=http://deb.debian.org/debian
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' "$uri" \
            /usr/share/keyrings/debian-archive-keyring.gpg | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
    fi
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends gnuplot-nox
    $SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports pkcs11-provider
}

install_packages
cmake -S "$ROOT" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target azkm azkm_provider azkm_bench azkm_keystore_scale azkmd azkmd_bench \
    >/dev/null

mkdir -p "$OUT"
. "$ROOT/bench/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/azkm-bench.XXXXXX")
. "$ROOT/bench/nginx.sh"
cleanup() {
    for p in "${NGINX_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T" /dev/shm/azkm-bench-scale.$$
}
trap cleanup EXIT
AZKM=$BUILD/cli/azkm
export OPENSSL_MODULES=$BUILD/provider
AZKM_CNF=$ROOT/conf/azkm-provider.cnf
bench_setup "$T" "$AZKM"
[ -n "$BENCH_P11PROV_CONF" ] || { echo "bench.sh: pkcs11-provider is not installed" >&2; exit 1; }

{
    echo "date: $(date -u +%FT%TZ)"
    echo "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
    echo "openssl: $(openssl version)"
    echo "nginx: $(nginx -v 2>&1 | sed 's/.*\///')"
    echo "softhsm: $(dpkg-query -W -f='${Version}' softhsm2)"
    echo "pkcs11-provider: $(dpkg-query -W -f='${Version}' pkcs11-provider)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/environment.txt"
cat "$OUT/environment.txt"

# ---- 1. private-key operations through EVP, five paths --------------------------------------------------------
if [[ " $PARTS " == *" ops "* ]]; then
    echo "== private-key operations: $RUNS runs x $SECS s per cell"
    "$BUILD/bench/azkm-bench" --keys "$T/keys.txt" --plain-conf "$T/plain.cnf" --azkm-conf "$AZKM_CNF" \
        --p11prov-conf "$BENCH_P11PROV_CONF" --module "$BENCH_MODULE" --token "$BENCH_TOKEN" \
        --pin-file "$BENCH_PIN_FILE" --runs "$RUNS" --seconds "$SECS" --tsv "$OUT/ops.tsv" | tee "$OUT/ops.txt"
fi

# ---- 2. nginx 1.22 full TLS handshakes ---------------------------------------------------------------------
if [[ " $PARTS " == *" tls "* ]]; then
    echo "== nginx 1.22 full handshakes (TLS 1.3, no resumption): $TLS_RUNS runs x $TLS_SECS s"
    CASES=()
    for k in rsa2048 ec256; do
        ver=$(awk -v k=$k '$1 == k { print $5 }' "$T/keys.txt")
        OPENSSL_CONF=/dev/null openssl req -new -x509 -key "$T/keys/$k.pem" -subj /CN=localhost -days 2 \
            -out "$T/$k.file.crt" 2>/dev/null
        OPENSSL_CONF=$AZKM_CNF openssl req -new -x509 -key "azkm://hsmv/keys/$k" -subj /CN=localhost -days 2 \
            -out "$T/$k.hsm.crt"
        "$AZKM" key ref --vault-name swv --name "$k" --file "$T/$k.sw.ref.pem" >/dev/null
        "$AZKM" key ref --vault-name hsmv --name "$k" --file "$T/$k.hsm.ref.pem" >/dev/null
        p11prov_pem "$(p11_uri_of "$ver")" "$T/$k.p11prov.pem"
        start_nginx $k/file "$T/$k.file.crt" "$T/keys/$k.pem" "$T/plain.cnf"
        start_nginx $k/azkm-sw "$T/$k.file.crt" "$T/$k.sw.ref.pem" "$AZKM_CNF"
        start_nginx $k/azkm-hsm "$T/$k.hsm.crt" "$T/$k.hsm.ref.pem" "$AZKM_CNF"
        start_nginx $k/pkcs11-prov "$T/$k.hsm.crt" "$T/$k.p11prov.pem" "$BENCH_P11PROV_CONF"
        CASES+=($k/file $k/azkm-sw $k/azkm-hsm $k/pkcs11-prov)
    done
    tls_measure "$OUT/tls.tsv" "$TLS_RUNS" "$TLS_SECS" "${CASES[@]}"
    tls_table "$OUT/tls.tsv" | tee "$OUT/tls.txt"
    stop_nginxes
fi

# ---- 3. keystore scale -------------------------------------------------------------------------------------
if [[ " $PARTS " == *" scale "* ]]; then
    echo "== keystore scale: oct keys, one azkm_key_create each"
    # On disk (synchronous=FULL: one fsync per created key) the fill rate, measured on 1000 keys:
    "$BUILD/bench/azkm-keystore-scale" "$T/scale-disk" --sizes 1000 --loads 1000 | tee "$OUT/scale-disk.txt"
    # The full 100k fill on tmpfs, where fsync is free: the same keystore code, minus the disk.
    "$BUILD/bench/azkm-keystore-scale" /dev/shm/azkm-bench-scale.$$ --sizes "$SCALE_SIZES" --loads 5000 \
        --tsv "$OUT/scale.tsv" | tee "$OUT/scale.txt"
fi

# tls_instr <case> <cert> <key file> <OPENSSL_CONF>: nginx in one process (master_process off) under callgrind,
# collecting inside SSL_do_handshake only; N full handshakes with s_client; prints instructions per handshake.
tls_instr() {
    local name=${1/\//-} d port vp total n=${BENCH_TLS_INSTR_HANDSHAKES:-40}
    d=$T/nginx-cg/$name
    port=$(free_port)
    mkdir -p "$d/logs" "$d/tmp"
    cat >"$d/nginx.conf" <<CONF
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 64; }
$(http_block "$d" "$port" "$2" "$3")
CONF
    OPENSSL_CONF=$4 valgrind --tool=callgrind --toggle-collect=SSL_do_handshake --callgrind-out-file="$d/cg.out" \
        nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" >"$d/logs/stdout" 2>&1 &
    vp=$!
    for _ in $(seq 300); do # the first successful handshake is counted too
        OPENSSL_CONF=/dev/null timeout 30 openssl s_client -connect "127.0.0.1:$port" </dev/null >/dev/null 2>&1 && break
        sleep 0.2
    done
    for _ in $(seq "$n"); do
        OPENSSL_CONF=/dev/null timeout 30 openssl s_client -connect "127.0.0.1:$port" </dev/null >/dev/null 2>&1 ||
            { echo "bench.sh: handshake with $name failed" >&2; exit 1; }
    done
    kill -TERM "$vp"
    wait "$vp" || true # pkcs11-provider's nginx dies with SIGSEGV at exit, after the profile is written
    total=$(awk '/^(summary|totals):/ { print $2; exit }' "$d/cg.out")
    echo -e "${1%/*}\t${1#*/}\t$((n + 1))\t$((total / (n + 1)))"
}

# ---- 4. instructions per operation (callgrind: deterministic, immune to the machine's load) ------------------
if [[ " $PARTS " == *" instr "* ]]; then
    echo "== instructions per operation (valgrind --tool=callgrind, 1 thread, the timed loop only)"
    CG=$T/callgrind
    mkdir -p "$CG"
    echo -e "op\tpath\tops\tinstructions_per_op" >"$OUT/instr.tsv"
    echo -e "op\tpath\tops\tinstructions_per_op\tprimitive_per_op\toverhead_per_op" >"$OUT/instr-overhead.tsv"
    for op in "RSA-2048 PKCS#1" "RSA-2048 PSS" "RSA-3072 PKCS#1" "RSA-2048 OAEP" "ECDSA P-256" "ECDSA P-384"; do
        rm -f "$CG"/cg.*
        valgrind --tool=callgrind --toggle-collect=worker_main --callgrind-out-file="$CG/cg.%p" \
            "$BUILD/bench/azkm-bench" --keys "$T/keys.txt" --plain-conf "$T/plain.cnf" --azkm-conf "$AZKM_CNF" \
            --p11prov-conf "$BENCH_P11PROV_CONF" --module "$BENCH_MODULE" --token "$BENCH_TOKEN" \
            --pin-file "$BENCH_PIN_FILE" --ops "$op" --threads 1 --runs 1 --seconds 2 >/dev/null 2>&1
        # the children start in path order after the parent: default azkm-sw azkm-hsm p11-token p11-session pkcs11-prov
        i=0
        for f in $(ls "$CG"/cg.* | sort -t. -k2 -n | tail -n +2); do
            p=(default azkm-sw azkm-hsm p11-token p11-session pkcs11-prov)
            # ops, instructions/op, the private-key operation proper, everything around it (bench/callgrind_overhead.py)
            read -r n per prim over < <(python3 "$ROOT/bench/callgrind_overhead.py" "$f")
            echo -e "$op\t${p[$i]}\t$n\t$per" >>"$OUT/instr.tsv"
            echo -e "$op\t${p[$i]}\t$n\t$per\t$prim\t$over" >>"$OUT/instr-overhead.tsv"
            i=$((i + 1))
        done
    done
    awk -F'\t' 'NR > 1 { v[$1, $2] = $4; if (!($1 in s)) { s[$1] = 1; o[++n] = $1 } }
        END { printf "%-18s %10s %10s %10s %10s %10s %10s %8s %8s %8s\n", "instructions/op", "default", "azkm-sw",
                  "azkm-hsm", "p11-token", "p11-sess", "p11-prov", "sw/dflt", "hsm/4b", "hsm/p11p"
              for (i = 1; i <= n; i++) { k = o[i]
                  printf "%-18s %10d %10d %10d %10d %10d %10d %8.3f %8.3f %8.3f\n", k, v[k, "default"], v[k, "azkm-sw"],
                      v[k, "azkm-hsm"], v[k, "p11-token"], v[k, "p11-session"], v[k, "pkcs11-prov"],
                      v[k, "default"] / v[k, "azkm-sw"], v[k, "p11-session"] / v[k, "azkm-hsm"],
                      v[k, "pkcs11-prov"] / v[k, "azkm-hsm"] } }' "$OUT/instr.tsv" | tee "$OUT/instr.txt"
    echo "instructions/op outside the private-key operation proper (EVP, provider, keystore, hashing, sessions):"
    awk -F'\t' 'NR > 1 { v[$1, $2] = $6; if (!($1 in s)) { s[$1] = 1; o[++n] = $1 } }
        END { printf "%-18s %10s %10s %10s %10s %10s %10s\n", "overhead/op", "default", "azkm-sw", "azkm-hsm",
                  "p11-token", "p11-sess", "p11-prov"
              for (i = 1; i <= n; i++) { k = o[i]
                  printf "%-18s %10d %10d %10d %10d %10d %10d\n", k, v[k, "default"], v[k, "azkm-sw"], v[k, "azkm-hsm"],
                      v[k, "p11-token"], v[k, "p11-session"], v[k, "pkcs11-prov"] } }' "$OUT/instr-overhead.tsv" |
        tee -a "$OUT/instr.txt"
fi

if [[ " $PARTS " == *" tlsinstr "* ]]; then
    echo "== nginx server instructions per full handshake (callgrind, inside SSL_do_handshake)"
    echo -e "key\tpath\thandshakes\tinstructions_per_handshake" >"$OUT/tls-instr.tsv"
    for k in rsa2048 ec256; do
        [ -f "$T/$k.p11prov.pem" ] || { echo "bench.sh: run the tls part first (BENCH_PARTS=\"tls tlsinstr\")" >&2; break; }
        tls_instr $k/file "$T/$k.file.crt" "$T/keys/$k.pem" "$T/plain.cnf" >>"$OUT/tls-instr.tsv"
        tls_instr $k/azkm-sw "$T/$k.file.crt" "$T/$k.sw.ref.pem" "$AZKM_CNF" >>"$OUT/tls-instr.tsv"
        tls_instr $k/azkm-hsm "$T/$k.hsm.crt" "$T/$k.hsm.ref.pem" "$AZKM_CNF" >>"$OUT/tls-instr.tsv"
        tls_instr $k/pkcs11-prov "$T/$k.hsm.crt" "$T/$k.p11prov.pem" "$BENCH_P11PROV_CONF" >>"$OUT/tls-instr.tsv"
    done
    awk -F'\t' 'NR > 1 { if ($2 == "file") base = $4
        printf "%-8s %-12s %14d instructions/handshake  %6.3fx the key file\n", $1, $2, $4, base / $4 }' \
        "$OUT/tls-instr.tsv" | tee "$OUT/tls-instr.txt"
fi

# ---- 5. envelope encryption throughput ------------------------------------------------------------------------
if [[ " $PARTS " == *" envelope "* ]]; then
    echo "== envelope encryption: azkm encrypt/decrypt vs openssl enc, $ENVELOPE_MB MB from the page cache"
    # its own throwaway keystore and vault (bench/envelope.sh sets AZKM_KEYSTORE_DIR under its temp dir)
    TMPDIR=$T bash "$ROOT/bench/envelope.sh" "$AZKM" "$ENVELOPE_MB" | tee "$OUT/envelope.txt"
fi

# ---- 6. azkmd: requests/s and latency against the same operations in-process -----------------------------------
if [[ " $PARTS " == *" azkmd "* ]]; then
    echo "== azkmd: sign, get-key, create over the Unix socket and TLS vs in-process: $AZKMD_RUNS runs x $SECS s per cell"
    # its own throwaway keystore, certificates and server (bench/azkmd.sh), pinned: server CPU 0, clients CPU 1
    TMPDIR=$T bash "$ROOT/bench/azkmd.sh" "$BUILD/server/azkmd" "$AZKM" "$BUILD/bench/azkmd-bench" \
        --runs "$AZKMD_RUNS" --seconds "$SECS" --tsv "$OUT/azkmd.tsv" | tee "$OUT/azkmd.txt"
fi

# ---- 7. remote vaults: the same keys in-process and through azkmd ------------------------------------------------
if [[ " $PARTS " == *" remote "* ]]; then
    # its own throwaway keystores and azkmd (bench/remote.sh)
    TMPDIR=$T BENCH_RUNS=$RUNS BENCH_SECONDS=$SECS BENCH_TLS_RUNS=$TLS_RUNS BENCH_TLS_SECONDS=$TLS_SECS \
        BENCH_REMOTE_SOAK=$REMOTE_SOAK bash "$ROOT/bench/remote.sh" "$BUILD" "$OUT"
fi

# ---- plot ----------------------------------------------------------------------------------------------------
if [ -f "$OUT/ops.tsv" ]; then
    awk -F'\t' 'NR > 1 && $3 == 1 { v[$2, $1] = $4; if (!($2 in seen)) { seen[$2] = 1; ops[++n] = $2 } }
        END { for (i = 1; i <= n; i++) { o = ops[i]; gsub(/ sign| decrypt/, "", o); gsub(/ /, "\\n", o)
                  printf "\"%s\"\t%s\t%s\t%s\t%s\t%s\t%s\n", o, v[ops[i], "default"], v[ops[i], "azkm-sw"],
                      v[ops[i], "azkm-hsm"], v[ops[i], "p11-token"], v[ops[i], "p11-session"], v[ops[i], "pkcs11-prov"] } }' \
        "$OUT/ops.tsv" >"$OUT/ops-plot.tsv"
    gnuplot <<PLOT
set terminal pngcairo size 1100,600 font "sans,10" noenhanced
set bmargin 5
set output "$ROOT/docs/performance-ops.png"
set title "Private-key operations per second, 1 thread, median (log scale) - $(date -u +%F), $(nproc) vCPU"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [50:*]
set ylabel "operations/s"
set grid ytics
set key outside right top vertical
set datafile separator "\t"
plot "$OUT/ops-plot.tsv" using 2:xtic(1) title "(1) default provider, PEM", \
     "" using 3 title "(2) azkm software tier", \
     "" using 4 title "(3) azkm HSM tier", \
     "" using 5 title "(4a) PKCS#11 token object", \
     "" using 6 title "(4b) PKCS#11 session copy", \
     "" using 7 title "(5) pkcs11-provider"
PLOT
    echo "plot: docs/performance-ops.png"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/environment.txt"
echo "results in $OUT"
