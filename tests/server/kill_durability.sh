#!/usr/bin/env bash
# SIGKILL of azkmd during writes loses no acknowledged write (issue 14). Three rounds: 4 curl clients create keys,
# rotate them, set tags on the new version and delete every other one (each client at most 30 keys and 3 s a
# round, logging every request answered 2xx); azkmd is killed with SIGKILL at a random moment while they run.
# Then, with azkmd down, `azkm vault verify` passes on the keystore as the kill left it; azkmd restarts on it and
# every acknowledged write is there: each acknowledged version (created, rotated) with the attributes and tags it
# was acknowledged with, each acknowledged delete deleted (in the deleted keys, with its last version's tags).
# A write in flight at the kill may be done or not; the check accepts both for it (tag update, delete).
. "$(dirname "$0")/lib.sh"

CLIENTS=4 MAX_KEYS=30 CLIENT_SECONDS=3 ROUNDS=3
SEED=${AZKMD_KILL_SEED:-$$}
RANDOM=$SEED
echo "== seed $SEED (AZKMD_KILL_SEED=$SEED reproduces the kill moments)"
write_config
sed -i 's/^threads = .*/threads = 4/' "$T/azkmd.conf"

# req METHOD PATH [JSON]: one request to vault web; its body in $B. Returns 2 when azkmd did not answer (killed),
# 1 on an answer other than 2xx, 0 on 2xx.
req() {
    local method=$1 path=$2 data=${3-} code
    local args=(-s --max-time 5 --unix-socket "$SOCK" -o "$B" -w '%{http_code}' -X "$method")
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    code=$(curl "${args[@]}" "http://$VAULT.$DOMAIN$path?api-version=$API") || return 2
    [ "${code:0:1}" = 2 ] || return 1
}

# ack OP NAME: logs an acknowledged create, rotate or tag update: the version, its created time and its tags.
ack() {
    jq -r --arg op "$1" --arg name "$2" \
        '[$op, $name, (.key.kid | split("/") | last), (.attributes.created | tostring), (.tags // {} | tojson)] | @tsv' \
        "$B" >>"$LOG"
}

# client ID ROUND: creates, rotates, tags and deletes keys c<ID>r<ROUND>k<N> until it has done MAX_KEYS, its time
# is up or azkmd stops answering. A request answered other than 2xx (none is expected) fails the round.
client() {
    local id=$1 round=$2 n name v2 end=$((SECONDS + CLIENT_SECONDS))
    LOG="$T/ack.$round.$id" B="$T/body.$round.$id"
    : >"$LOG"
    for n in $(seq "$MAX_KEYS"); do
        [ "$SECONDS" -lt "$end" ] || return 0
        name="c${id}r${round}k$n"
        req POST "/keys/$name/create" "{\"kty\":\"EC\",\"tags\":{\"client\":\"$id\"}}" || return $((2 - $?))
        ack create "$name"
        req POST "/keys/$name/rotate" || return $((2 - $?))
        ack rotate "$name"
        v2=$(cut -f3 <<<"$(tail -n 1 "$LOG")")
        # Sent but not answered when azkmd dies, it may or may not be done: either tags are right then.
        printf 'tag-sent\t%s\t%s\t0\t{"client":"%s","n":"%s"}\n' "$name" "$v2" "$id" "$n" >>"$LOG"
        req PATCH "/keys/$name/$v2" "{\"tags\":{\"client\":\"$id\",\"n\":\"$n\"}}" || return $((2 - $?))
        ack tag "$name"
        [ $((n % 2)) = 0 ] || continue
        printf 'delete-sent\t%s\n' "$name" >>"$LOG"
        req DELETE "/keys/$name" || return $((2 - $?))
        printf 'delete\t%s\n' "$name" >>"$LOG"
    done
}

# check_acks LOG...: every acknowledged write of the logs is served by the restarted azkmd (one keep-alive
# connection). Prints how many writes it checked.
check_acks() {
    python3 - "$SOCK" "$VAULT.$DOMAIN" "$API" "$@" <<'PY'
import http.client, json, socket, sys
sock, host, api, logs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

class UnixConn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(sock)

conn = UnixConn(host)
def get(path):
    conn.request("GET", "%s?api-version=%s" % (path, api), headers={"Host": host})
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"{}")

keys, errors, writes = {}, [], 0
for log in logs:
    for line in open(log):
        f = line.rstrip("\n").split("\t")
        k = keys.setdefault(f[1], {"versions": {}, "delete": None})
        writes += not f[0].endswith("-sent")
        if f[0] == "tag-sent":
            k.setdefault("maybe", {})[f[2]] = json.loads(f[4])
        elif f[0] in ("create", "rotate", "tag"):
            k["versions"][f[2]] = (int(f[3]), json.loads(f[4]))
            k["latest"] = f[2] if f[0] != "create" else k.get("latest", f[2])
        else:
            k["delete"] = f[0]
for name, k in sorted(keys.items()):
    live, _ = get("/keys/%s" % name)
    if k["delete"] == "delete" and live != 404:
        errors.append("%s: acknowledged delete, but GET /keys/%s is HTTP %d" % (name, name, live))
    if k["delete"] and live == 404:
        st, b = get("/deletedkeys/%s" % name)
        want = k["versions"][k["latest"]]
        got = (st, b.get("key", {}).get("kid", "").split("/")[-1], b.get("attributes", {}).get("created"), b.get("tags", {}))
        if got != (200, k["latest"], want[0], want[1]):
            errors.append("%s: deleted key %s, expected version %s %s" % (name, got, k["latest"], want))
        continue
    for v, (created, tags) in k["versions"].items():
        st, b = get("/keys/%s/%s" % (name, v))
        got = (st, b.get("attributes", {}).get("created"), b.get("attributes", {}).get("enabled"), b.get("tags", {}))
        maybe = k.get("maybe", {}).get(v, tags)
        if got not in ((200, created, True, tags), (200, created, True, maybe)):
            errors.append("%s/%s: got %s, acknowledged created=%d tags=%s" % (name, v, got, created, tags))
st, b = get("/keys")
if st != 200:
    errors.append("GET /keys: HTTP %d" % st)
for e in errors[:20]:
    print("LOST:", e, file=sys.stderr)
print(writes)
sys.exit(1 if errors else 0)
PY
}

export SOCK VAULT DOMAIN API T CLIENT_SECONDS MAX_KEYS
total=0
for round in $(seq "$ROUNDS"); do
    start_azkmd
    step "round $round: $CLIENTS clients writing, SIGKILL"
    pids=()
    for id in $(seq "$CLIENTS"); do
        client "$id" "$round" &
        pids+=($!)
    done
    # A random moment 0.3 to 1.5 s into the writes (each client runs up to CLIENT_SECONDS).
    sleep "$(printf '0.%03d' $((RANDOM % 1000)))"
    sleep 0.3
    [ $((RANDOM % 2)) = 0 ] || sleep 0.2
    kill -KILL "$AZKMD_PID" || fail "azkmd was not running at the kill"
    wait "$AZKMD_PID" 2>/dev/null || true
    AZKMD_PID=
    for pid in "${pids[@]}"; do
        wait "$pid" || fail "a client got an answer other than 2xx: $(cat "$T"/body."$round".* | head -c 500)"
    done
    acked=$(cat "$T"/ack."$round".* | grep -vc -- '-sent	' || true)
    [ "$acked" -gt 0 ] || fail "round $round: no write acknowledged before the kill"

    step "round $round: keystore as the kill left it ($acked acknowledged writes): azkm vault verify"
    "$AZKM" vault verify --name "$VAULT" >"$T/verify.out" 2>&1 || fail "vault verify after SIGKILL: $(cat "$T/verify.out")"

    step "round $round: restart, every acknowledged write of every round is there"
    start_azkmd
    n=$(check_acks "$T"/ack.*) || fail "round $round: acknowledged writes lost"
    call POST "/keys/after$round/create?api-version=$API" '{"kty":"EC"}'
    expect 200
    digest=$(printf data | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
    call POST "/keys/after$round//sign?api-version=$API" "{\"alg\":\"ES256\",\"value\":\"$digest\"}"
    expect 200
    echo "   $n acknowledged writes checked"
    total=$n
    stop_azkmd
done
"$AZKM" vault verify --name "$VAULT" >"$T/verify.out" 2>&1 || fail "vault verify at the end: $(cat "$T/verify.out")"
echo "PASS ($total acknowledged writes over $ROUNDS kills)"
