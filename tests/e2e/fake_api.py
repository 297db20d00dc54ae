"""A fake HTTP API for receiver end-to-end tests whose answers differ from request to request in
status, body, headers and delay (harness.Sink answers one body per path), and that can stand in
for a fixed https:// API: as an HTTP proxy it accepts CONNECT, ends the TLS session itself
with a certificate made at test time, and serves the tunnelled requests. Nothing is ever
forwarded: every connection ends here, on 127.0.0.1."""

import http.server
import json
import os
import ssl
import subprocess
import threading
import time
from urllib.parse import parse_qsl, urlsplit

from harness import HOST, scaled


def make_cert(directory, host):
    """A self-signed certificate for host, as (cert, key) paths; the cert is its own CA."""
    cert, key = os.path.join(directory, host + ".crt"), os.path.join(directory, host + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + host, "-addext",
                    "subjectAltName=DNS:" + host], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    return cert, key


class Answer:
    def __init__(self, status=200, body=b"{}", headers=None, delay=0.0,
                 content_type="application/json"):
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.headers = dict(headers or {})
        self.delay = delay
        self.content_type = content_type


class FakeAPI:
    """Records every request; answers from a queue (then `default`)."""

    def __init__(self, default=None, tls=None):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.records = []
        self.connects = []
        self.queue = []
        self.default = default or Answer()
        self.tls = None
        if tls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_CONNECT(self):
                with fake.lock:
                    fake.connects.append(self.path)
                if not fake.tls:
                    self.send_error(405)
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                self.close_connection = True
                try:
                    conn = fake.tls.wrap_socket(self.connection, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                try:
                    Handler(conn, self.client_address, self.server)
                except (ssl.SSLError, OSError):
                    pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                try:
                    parsed = json.loads(body.decode("utf-8")) if body else None
                except ValueError:
                    parsed = None
                u = urlsplit(self.path)
                with fake.lock:
                    a = fake.queue.pop(0) if fake.queue else fake.default
                    fake.records.append({
                        "method": self.command, "path": u.path,
                        "query": parse_qsl(u.query, keep_blank_values=True),
                        "raw_query": u.query, "tls": isinstance(self.connection, ssl.SSLSocket),
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body, "json": parsed, "time": time.monotonic(),
                        "status": a.status,
                    })
                    fake.cond.notify_all()
                if a.delay:
                    time.sleep(a.delay)
                try:
                    self.send_response(a.status)
                    if a.content_type:
                        self.send_header("Content-Type", a.content_type)
                    for k, v in a.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(a.body)))
                    self.end_headers()
                    self.wfile.write(a.body)
                except OSError:
                    pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.httpd = Server((HOST, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path=""):
        return "http://%s:%d%s" % (HOST, self.port, path)

    def answer(self, *answers):
        """Queues answers for the next requests, in order."""
        with self.lock:
            self.queue.extend(answers)

    def set_default(self, answer):
        with self.lock:
            self.default = answer

    def requests(self):
        with self.lock:
            return list(self.records)

    def wait(self, count=1, timeout=5.0):
        """Waits (scaled timeout) for at least count requests; returns them all."""
        deadline = time.monotonic() + scaled(timeout)
        with self.lock:
            while len(self.records) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("fake API: %d of %d requests after %.1fs" % (
                        len(self.records), count, scaled(timeout)))
                self.cond.wait(left)
            return list(self.records)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
