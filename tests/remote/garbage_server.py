#!/usr/bin/env python3
"""A server on a Unix socket that answers every request with something that is not Key Vault: MODE "text" (200,
text/plain), "html500" (500, an HTML page), "hang" (accepts, then never answers), "close" (closes at once), or
"bigsig BUNDLE" (GET: the key bundle in file BUNDLE; POST: a 200-byte "signature", longer than any the key makes),
or "plain48 BUNDLE" (POST: 48 bytes, as an azkmd that ignores azkm_tls_premaster would decrypt a good premaster).
Each request is logged on stdout as "request METHOD PATH".

  garbage_server.py SOCKET MODE [BUNDLE]"""
import base64
import json
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self):
        print("request", self.command, self.path, flush=True)
        mode = self.server.mode
        if mode == "hang":
            time.sleep(30)
            return
        if mode == "close":
            self.close_connection = True
            return
        if mode in ("bigsig", "plain48"):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            value = base64.urlsafe_b64encode(b"\x03\x03" * 24 if mode == "plain48" else b"\x01" * 200)
            value = value.rstrip(b"=").decode()
            body = self.server.bundle if self.command == "GET" else json.dumps({"value": value}).encode()
            status = 200
        else:
            status, body = (200, b"hello, not json\n") if mode == "text" else (500, b"<html>oops</html>")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = answer
    do_POST = answer
    do_PUT = answer
    do_PATCH = answer
    do_DELETE = answer


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


server = Server(sys.argv[1], Handler)
server.mode = sys.argv[2]
server.bundle = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else b""
print("ready", flush=True)
server.serve_forever()
