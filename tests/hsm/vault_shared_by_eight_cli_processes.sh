#!/usr/bin/env bash
# Eight azkm CLI processes share one HSM vault for SECONDS (default 15; issue 12 measured 60): each, in a loop,
# creates a key (EC-HSM and RSA-HSM in turn), signs with it, rotates it, signs with the new version, deletes and
# purges it. Every process initialises the module and logs in, and most write the token's files, all at the same
# time. Every operation must succeed; the counts are printed.
. "$(dirname "$0")/lib.sh"
PROCS=${PROCS:-8}
DURATION=${SECONDS_RUN:-15}
head -c 4096 /dev/urandom >data

# one_process ID: loops until the deadline, printing "ops failures" at the end; each failure on stderr.
one_process() {
    local id=$1 n=0 ops=0 bad=0 kty alg name
    local end=$(($(date +%s) + DURATION))
    while [ "$(date +%s)" -lt "$end" ]; do
        n=$((n + 1))
        name=p$id-k$n
        if [ $((n % 2)) = 0 ]; then kty=RSA-HSM alg=PS256; else kty=EC-HSM alg=ES256; fi
        for cmd in "key create --vault-name hsm --name $name --kty $kty" \
            "key sign --vault-name hsm --name $name --algorithm $alg --data-file data" \
            "key rotate --vault-name hsm --name $name" \
            "key sign --vault-name hsm --name $name --algorithm $alg --data-file data" \
            "key delete --vault-name hsm --name $name" \
            "key purge --vault-name hsm --name $name"; do
            ops=$((ops + 1))
            # shellcheck disable=SC2086
            if ! out=$("$AZKM" $cmd 2>&1 >/dev/null); then
                bad=$((bad + 1))
                echo "process $id: azkm $cmd: $out" >&2
            fi
        done
    done
    echo "$ops $bad" >"$T/result.$id"
}

for i in $(seq "$PROCS"); do one_process "$i" & done
wait
ops=0 bad=0
for i in $(seq "$PROCS"); do
    read -r o b <"$T/result.$i"
    ops=$((ops + o)) bad=$((bad + b))
done
echo "$PROCS processes, ${DURATION} s: $bad of $ops operations failed"
[ "$bad" = 0 ] || fail "$bad operations failed"
"$AZKM" vault verify --name hsm >/dev/null || fail "the vault does not verify afterwards"
echo PASS
