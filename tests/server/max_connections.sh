#!/usr/bin/env bash
# max_connections: with 2 keep-alive connections open, a third client's connection waits (azkmd stops accepting;
# the kernel's backlog holds it) and its request is answered as soon as one of the two closes. Connections closed by
# the server's idle timeout free their places too, and a slow client is still cut off by the timeout. One worker
# thread first (exact); then two under parallel load, where every request is answered and the count comes back.
. "$(dirname "$0")/lib.sh"

AZKMD_TEST_THREADS=1 write_config "max_connections = 2" "timeout = 2"
start_azkmd

python3 - "$SOCK" "$DOMAIN" <<'PY' || fail "max_connections"
import socket, sys, time
sock_path, domain = sys.argv[1], sys.argv[2]
REQ = ("GET /keys?api-version=7.6 HTTP/1.1\r\nHost: web.%s\r\n\r\n" % domain).encode()

def connect():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock_path)  # succeeds in the backlog even when azkmd does not accept
    return s

def response(s, timeout):
    """The status of one response read in full (Content-Length), or None when none came within timeout."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return "closed"
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
        while len(body) < length:
            body += s.recv(65536)
        return int(head.split(b" ")[1])
    except socket.timeout:
        return None

def check(what, got, want):
    if got != want:
        sys.exit("%s: got %r, expected %r" % (what, got, want))

a, b = connect(), connect()
for s in (a, b):
    s.sendall(REQ)
    check("keep-alive connection", response(s, 5), 200)
c = connect()
c.sendall(REQ)
check("third connection while two are open", response(c, 1.0), None)
a.close()
check("third connection once one closed", response(c, 5), 200)
check("kept connection, second request", (b.sendall(REQ), response(b, 5))[1], 200)
d = connect()
d.sendall(REQ)
check("fourth connection while two are open", response(d, 1.0), None)
b.close()
check("fourth connection once one closed", response(d, 5), 200)
c.close()
d.close()

# Two idle connections that send nothing: the idle timeout (2 s) closes them, which lets a third one in.
e, f = connect(), connect()
time.sleep(0.2)
g = connect()
g.sendall(REQ)
start = time.time()
check("connection behind two idle ones", response(g, 10), 200)
if not 1.0 <= time.time() - start <= 9:
    sys.exit("served after %.1f s, expected after the 2 s idle timeout" % (time.time() - start))
check("idle connection closed by the timeout", response(e, 1), "closed")
g.close()
f.close()

# A slow client (half a request line) still holds a place only until the timeout.
h = connect()
h.sendall(b"GET /keys?api-version=7.6 HTTP/1.1\r\nHo")
check("slow client cut off", response(h, 5), "closed")
h.close()
PY
stop_azkmd

step "two worker threads, 8 clients at once for 40 requests: all answered, then the count is back to 0"
write_config "max_connections = 2" "timeout = 2"
start_azkmd
export SOCK DOMAIN API
seq 40 | xargs -P 8 -I{} sh -c 'curl -sS --max-time 20 --unix-socket "$SOCK" -o /dev/null -w "%{http_code}\n" \
    "http://web.$DOMAIN/keys?api-version=$API"' >"$T/codes"
[ "$(sort "$T/codes" | uniq -c | tr -s ' ')" = " 40 200" ] || fail "statuses: $(sort "$T/codes" | uniq -c)"
python3 - "$SOCK" "$DOMAIN" <<'PY' || fail "connections not counted back"
import socket, sys
conns = []
for i in range(2):  # both places free again: two keep-alive connections served at once
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sys.argv[1])
    s.sendall(("GET /keys?api-version=7.6 HTTP/1.1\r\nHost: web.%s\r\n\r\n" % sys.argv[2]).encode())
    if not s.recv(100).startswith(b"HTTP/1.1 200"):
        sys.exit("connection %d not served" % i)
    conns.append(s)
PY
echo "PASS"
