#!/usr/bin/env python3
"""A small fault-injecting HTTP proxy in front of an S3 server, for tests/cli/s3.sh.

Usage: s3_fault_proxy.py UPSTREAM_PORT PORT_FILE
Listens on a free 127.0.0.1 port (written to PORT_FILE), forwards every request to
127.0.0.1:UPSTREAM_PORT unchanged (so signatures stay valid), except that request number
n (counted from 1) is answered 503 SlowDown when n % 4 == 1 and has its connection dropped
without an answer when n % 4 == 3 (each drop is appended to PORT_FILE.dropped). Every client retry therefore meets both faults.
With S3_PROXY_DATE_SHIFT=SECONDS in the environment it injects no faults and instead sends
every answer with a Date header that far from this clock (a server with a skewed clock).
"""
import email.utils
import os
import time
import http.client
import http.server
import sys
import threading

UPSTREAM = int(sys.argv[1])
SHIFT = os.environ.get("S3_PROXY_DATE_SHIFT")
lock = threading.Lock()
count = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        with lock:
            count[0] += 1
            n = count[0]
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if SHIFT is None and n % 4 == 1:
            msg = b'<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>'
            self.send_response(503)
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(msg)
            return
        if SHIFT is None and n % 4 == 3:
            with open(sys.argv[2] + ".dropped", "a") as f:
                f.write(f"{self.command} {self.path}\n")
            self.close_connection = True
            self.connection.shutdown(2)
            return
        conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=120)
        headers = {k: v for k, v in self.headers.items()}
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if SHIFT is None:
            self.send_response(r.status)
        else:
            self.send_response_only(r.status)
            self.send_header("Date", email.utils.formatdate(time.time() + int(SHIFT), usegmt=True))
        for k, v in r.getheaders():
            skip = ("transfer-encoding", "connection", "content-length") + (("date",) if SHIFT else ())
            if k.lower() not in skip:
                self.send_header(k, v)
        # A HEAD answer keeps the object's length; anything else has its body's.
        length = r.getheader("content-length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
