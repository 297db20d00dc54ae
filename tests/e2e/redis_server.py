"""A real redis-server (Debian's, installed by scripts/setup.sh) on 127.0.0.1 for the HA tests:
started at a free port in the test's directory, with no persistence, and stopped by PID."""

import os
import signal
import socket
import subprocess
import time

import harness

REDIS_BIN = os.environ.get("TN_REDIS_BIN", "/usr/bin/redis-server")


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def _read_reply(f):
    line = f.readline()
    if not line:
        raise OSError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise RuntimeError("bad reply %r" % line)


class Redis:
    def __init__(self, ctx, port=None, sentinel_for=None, tls=False):
        """sentinel_for: a Redis to monitor as master "mymaster" (this one runs as sentinel).
        tls: TLS only, with a certificate for 127.0.0.1 from a CA made here (self.ca_file)."""
        self.ctx = ctx
        self.port = port or harness.free_port()
        self.dir = os.path.join(ctx.tmp, "redis-%d" % self.port)
        os.makedirs(self.dir, exist_ok=True)
        self.sentinel_for = sentinel_for
        self.tls = tls
        if tls:
            self._make_certs()
        self.proc = None
        self.logf = None
        ctx.on_close(self.stop)
        self.start()

    @property
    def url(self):
        return "%s://127.0.0.1:%d/0" % ("rediss" if self.tls else "redis", self.port)

    def _make_certs(self):
        d = self.dir
        self.ca_file = os.path.join(d, "ca.crt")

        def ssl(*args):
            subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)
        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "2", "-subj", "/CN=tocsin test CA")
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
            "-subj", "/CN=127.0.0.1")
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        ssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "srv.crt", "-days", "2", "-extfile", "ext.cnf")

    def start(self):
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        if self.sentinel_for:
            conf = os.path.join(self.dir, "sentinel.conf")
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\ndir %s\n"
                        "sentinel monitor mymaster 127.0.0.1 %d 1\n"
                        "sentinel down-after-milliseconds mymaster 1000\n"
                        "sentinel failover-timeout mymaster 3000\n"
                        % (self.port, self.dir, self.sentinel_for.port))
            args = [REDIS_BIN, conf, "--sentinel"]
        else:
            ports = (["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", "srv.crt",
                      "--tls-key-file", "srv.key", "--tls-ca-cert-file", "ca.crt",
                      "--tls-auth-clients", "no"] if self.tls else ["--port", str(self.port)])
            args = [REDIS_BIN] + ports + ["--bind", "127.0.0.1", "--save", "", "--appendonly",
                                          "no", "--dir", self.dir, "--daemonize", "no",
                                          "--protected-mode", "no"]
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        log.close()
        harness.wait_for(self._pings, 10, what="redis-server on port %d" % self.port)

    def _pings(self):
        if self.proc.poll() is not None:
            raise AssertionError("redis-server exited with %d" % self.proc.returncode)
        if self.tls:  # no plain client here: a TLS handshake that completes will do
            import ssl
            ctx = ssl.create_default_context(cafile=self.ca_file)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                        return True
            except (OSError, ssl.SSLError):
                return False
        try:
            return self.cmd("PING") == "PONG"
        except (OSError, RuntimeError):
            return False

    def cmd(self, *args, timeout=5):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(resp(*args))
            with s.makefile("rb") as f:
                return _read_reply(f)

    def keys(self, pattern):
        return sorted(k.decode() for k in self.cmd("KEYS", pattern))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self):
        """Stops and starts again on the same port, empty (nothing is persisted)."""
        self.stop()
        deadline = time.time() + 10
        while True:
            try:
                self.start()
                return
            except AssertionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
