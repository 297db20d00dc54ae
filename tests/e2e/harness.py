"""Shared helpers for tocsin's end-to-end tests (standard library only).

Each test file is a list of cases run by run_cases(). A case is a function taking a Ctx; it
starts servers and webhook sinks through the Ctx, which tears them down afterwards whatever
happens. Everything listens on 127.0.0.1 only.

Environment:
  TOCSIN_BIN        the tocsin binary (required unless the target is alertmanager)
  TN_TIME_SCALE     multiplier for every wait and tolerance (2 under sanitizers)
  TN_E2E_TARGET     "tocsin" (default) or "alertmanager": run the same cases against
                    Prometheus Alertmanager, so the expectations are its real semantics
  TN_AM_BIN         Alertmanager binary (default /usr/bin/prometheus-alertmanager)
  TN_E2E_JOBS       cases run concurrently within one file (default 4)
  TN_E2E_KEEP       keep temp dirs (server logs, configs) for inspection
"""

import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone

SCALE = float(os.environ.get("TN_TIME_SCALE", "1") or "1")
TARGET = os.environ.get("TN_E2E_TARGET", "tocsin").strip() or "tocsin"
IS_AM = TARGET == "alertmanager"
AM_BIN = os.environ.get("TN_AM_BIN", "/usr/bin/prometheus-alertmanager")
HOST = "127.0.0.1"


def scaled(seconds):
    """A wait or a tolerance, scaled for slow (sanitizer) builds."""
    return seconds * SCALE


def dur(seconds):
    """A config duration string for `seconds`, scaled: dur(1) == "1000ms" at scale 1."""
    return "%dms" % int(round(seconds * SCALE * 1000))


def binary():
    if IS_AM:
        return AM_BIN
    b = os.environ.get("TOCSIN_BIN")
    if not b:
        raise RuntimeError("TOCSIN_BIN is not set (or set TN_E2E_TARGET=alertmanager)")
    if not os.access(b, os.X_OK):
        raise RuntimeError("TOCSIN_BIN=%s is not an executable" % b)
    return b


class Skip(Exception):
    pass


def tocsin_only(why):
    """Skips the calling case when running against Alertmanager."""
    if IS_AM:
        raise Skip("tocsin only: " + why)


# ---------------------------------------------------------------------------------------------
# time and polling


def now_utc():
    return datetime.now(timezone.utc)


def iso(t):
    """RFC 3339 with milliseconds and Z, as clients send it."""
    if isinstance(t, (int, float)):
        t = datetime.fromtimestamp(t, timezone.utc)
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(s):
    """Parses the RFC 3339 timestamps the servers emit (nanoseconds allowed)."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", s)
    if not m:
        raise ValueError("bad timestamp %r" % s)
    base = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    tz = timezone.utc
    if m.group(3) != "Z":
        sign = 1 if m.group(3)[0] == "+" else -1
        hh, mm = m.group(3)[1:].split(":")
        tz = timezone(sign * timedelta(hours=int(hh), minutes=int(mm)))
    return base.replace(tzinfo=tz) + timedelta(seconds=frac)


def wait_for(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until it returns something truthy (returned) or timeout (scaled) passes."""
    deadline = time.monotonic() + scaled(timeout)
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" %
                                 (scaled(timeout), what, last))
        time.sleep(interval)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ---------------------------------------------------------------------------------------------
# building alerts


def alert(labels, annotations=None, starts_at=None, ends_at=None, generator_url=None):
    """A PostableAlert; times are datetimes, epoch floats or None (server default)."""
    a = {"labels": dict(labels)}
    if annotations is not None:
        a["annotations"] = dict(annotations)
    if starts_at is not None:
        a["startsAt"] = iso(starts_at)
    if ends_at is not None:
        a["endsAt"] = iso(ends_at)
    if generator_url is not None:
        a["generatorURL"] = generator_url
    return a


def resolved(labels, starts_at=None, **kw):
    """The same alert, resolved now (endsAt = now)."""
    return alert(labels, starts_at=starts_at, ends_at=now_utc(), **kw)


# ---------------------------------------------------------------------------------------------
# HTTP client


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<HTTP %d %r>" % (self.status, self.body[:300])


def http_request(port, method, path, body=None, headers=None, timeout=10):
    """One request on a fresh connection; returns a Response."""
    conn = http.client.HTTPConnection(HOST, port, timeout=scaled(timeout))
    try:
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def parse_metrics(text):
    """Prometheus text format -> list of (name, labels dict, value)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$', line)
        if not m:
            raise AssertionError("unparsable metrics line: %r" % line)
        labels = {}
        if m.group(3):
            for lm in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3)):
                labels[lm.group(1)] = (lm.group(2).replace('\\"', '"').replace("\\n", "\n")
                                       .replace("\\\\", "\\"))
        v = m.group(4)
        value = float("nan") if v == "NaN" else float(v)
        out.append((m.group(1), labels, value))
    return out


def metric(samples, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`, or None if none match."""
    total = None
    for n, ls, v in samples:
        if n != name:
            continue
        if all(ls.get(k) == val for k, val in labels.items()):
            total = (total or 0.0) + v
    return total


# ---------------------------------------------------------------------------------------------
# webhook sink


class _QuietHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a flush of hundreds of groups connects at once

    def handle_error(self, request, client_address):
        pass  # peers closing keep-alive connections are not test failures


class Sink:
    """An HTTP server recording every request. Per path, it answers with a queued sequence of
    statuses (then `default_status`) and an optional delay before answering."""

    def __init__(self, port=0):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.records = []
        self.statuses = {}
        self.delays = {}
        self.replies = {}
        self.default_status = 200
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                t = time.monotonic()
                try:
                    parsed = json.loads(body.decode("utf-8")) if body else None
                except ValueError:
                    parsed = None
                path = self.path
                with sink.lock:
                    q = sink.statuses.get(path)
                    status = q.pop(0) if q else sink.default_status
                    extra = {}
                    if isinstance(status, tuple):  # (status, {header: value})
                        status, extra = status
                    payload, ctype, always = sink.replies.get(
                        path, (b"{}", "application/json", {}))
                    delay = sink.delays.get(path, 0)
                    sink.records.append({
                        "path": path, "method": self.command,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body, "json": parsed, "time": t, "status": status,
                    })
                    sink.cond.notify_all()
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    if ctype:
                        self.send_header("Content-Type", ctype)
                    for k, v in list(always.items()) + list(extra.items()):
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            do_PUT = do_POST

        self.httpd = _QuietHTTPServer((HOST, port), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/"):
        return "http://%s:%d%s" % (HOST, self.port, path)

    def respond(self, path, statuses):
        """Answer the next requests on path with these statuses, in order. An entry may be a
        (status, {header: value}) pair to add headers to that one answer."""
        with self.lock:
            self.statuses[path] = list(statuses)

    def reply(self, path, body=b"{}", content_type="application/json", headers=None):
        """Answer every request on path with this body, Content-Type and headers."""
        with self.lock:
            self.replies[path] = (body, content_type, dict(headers or {}))

    def delay(self, path, seconds):
        with self.lock:
            self.delays[path] = seconds

    def requests(self, path=None):
        with self.lock:
            return [r for r in self.records if path is None or r["path"] == path]

    def payloads(self, path=None):
        return [r["json"] for r in self.requests(path)]

    def wait(self, path=None, count=1, timeout=5.0):
        """Waits (scaled timeout) until at least count requests arrived on path; returns them."""
        deadline = time.monotonic() + scaled(timeout)
        with self.lock:
            while True:
                got = [r for r in self.records if path is None or r["path"] == path]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("sink %s: %d of %d requests after %.1fs" %
                                         (path, len(got), count, scaled(timeout)))
                self.cond.wait(left)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------------------------
# the server under test


class Server:
    """tocsin (or Alertmanager) with a generated config in its own temp dir."""

    def __init__(self, config, workdir, extra_args=None, ready_timeout=15, route_prefix="",
                 target=None):
        """target "alertmanager" or "tocsin" overrides TN_E2E_TARGET for this server."""
        self.bin = AM_BIN if target == "alertmanager" else binary() if target is None else None
        if self.bin is None:
            b = os.environ.get("TOCSIN_BIN")
            if not b:
                raise RuntimeError("TOCSIN_BIN is not set")
            self.bin = b
        self.workdir = workdir
        self.prefix = route_prefix.rstrip("/")
        self.config_path = os.path.join(workdir, "config.yml")
        self.storage = os.path.join(workdir, "data")
        self.log_path = os.path.join(workdir, "server.log")
        os.makedirs(self.storage, exist_ok=True)
        self.write_config(config)
        self.extra_args = list(extra_args or [])
        if self.prefix:
            self.extra_args.append("--web.route-prefix=" + self.prefix)
        self.proc = None
        self.port = None
        self.logf = None
        self.start(ready_timeout)

    def write_config(self, text):
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    def args(self):
        return [self.bin,
                "--config.file=" + self.config_path,
                "--storage.path=" + self.storage,
                "--web.listen-address=%s:%d" % (HOST, self.port),
                "--cluster.listen-address=",
                "--log.level=debug"] + self.extra_args

    def start(self, ready_timeout=15):
        last_err = None
        for _ in range(3):  # the free port may be taken between probe and bind
            self.port = free_port()
            self.logf = open(self.log_path, "ab")
            since = self.logf.tell()
            self.proc = subprocess.Popen(self.args(), stdout=self.logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.workdir)
            try:
                self.wait_ready(ready_timeout)
                # Another server that took the port between probe and bind answers /-/ready
                # too: ours says so in its log before it exits.
                if "address already in use" in self.log(since).lower():
                    self.proc.wait(5)
                    raise AssertionError("port %d taken" % self.port)
                return
            except (AssertionError, subprocess.TimeoutExpired) as e:
                last_err = e
                exited = self.proc.poll() is not None
                self.kill()
                if not (exited and "address already in use" in self.log().lower()):
                    break
        raise AssertionError("server did not become ready: %s\n--- log ---\n%s" %
                             (last_err, self.log_tail()))

    def wait_ready(self, timeout):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("server exited with %d" % self.proc.returncode)
            try:
                return self.request("GET", "/-/ready", timeout=1).status == 200
            except OSError:
                return False
        wait_for(ready, timeout, what="/-/ready")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        """SIGTERM, wait, then SIGKILL. Returns the exit code. The wait outlasts tocsin's own
        15 s drain of sends still retrying, so a clean drain is never taken for a hang."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(max(scaled(timeout), 20))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.logf:
            self.logf.close()
            self.logf = None
        # Alertmanager installs its SIGTERM handler only after it serves /-/ready: a stop that
        # soon after start ends it by the signal itself, which is still a clean stop.
        if self.bin == AM_BIN and self.proc.returncode == -signal.SIGTERM:
            return 0
        return self.proc.returncode

    def restart(self, ready_timeout=15):
        """Stops (SIGTERM) and starts again on the same config and storage; new port."""
        rc = self.stop()
        self.start(ready_timeout)
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.logf:
            self.logf.close()
            self.logf = None

    def log(self, since=0):
        """The server's log, from byte offset `since`."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log().splitlines()[-n:])

    # --- API

    def request(self, method, path, body=None, headers=None, timeout=10):
        return http_request(self.port, method, self.prefix + path, body, headers, timeout)

    def post_alerts(self, alerts, timeout=30):
        return self.request("POST", "/api/v2/alerts", body=alerts, timeout=timeout,
                            headers={"Content-Type": "application/json"})

    def post_ok(self, alerts):
        r = self.post_alerts(alerts)
        assert r.status == 200, "POST /api/v2/alerts: %r" % r
        return r

    def get_alerts(self, query=""):
        r = self.request("GET", "/api/v2/alerts" + (("?" + query) if query else ""))
        assert r.status == 200, "GET /api/v2/alerts: %r" % r
        return r.json()

    def reload(self):
        return self.request("POST", "/-/reload")

    def metrics(self):
        r = self.request("GET", "/metrics")
        assert r.status == 200, "GET /metrics: %r" % r
        return parse_metrics(r.text())

    def metric(self, name, **labels):
        return metric(self.metrics(), name, **labels)

    def healthy(self):
        try:
            return self.request("GET", "/-/healthy", timeout=5).status == 200
        except OSError:
            return False


# ---------------------------------------------------------------------------------------------
# cases and the runner


class Ctx:
    """Per-case resources, all released by close()."""

    def __init__(self, name):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="tn-e2e-%s-" % name)
        self.servers = []
        self.sinks = []
        self.notes = []
        self.closers = []

    def sink(self):
        s = Sink()
        self.sinks.append(s)
        return s

    def sink_on(self, port):
        """A sink on a given port (a receiver that comes up late)."""
        s = Sink(port)
        self.sinks.append(s)
        return s

    def on_close(self, fn):
        """Runs fn() when the case ends, whatever happens."""
        self.closers.append(fn)

    def server(self, config, extra_args=None, **kw):
        d = tempfile.mkdtemp(prefix="srv%d-" % len(self.servers), dir=self.tmp)
        # Server.__init__ starts the process: register the object first, so that close()
        # reaches whatever a failing start leaves behind.
        srv = Server.__new__(Server)
        self.servers.append(srv)
        srv.proc = None
        srv.logf = None
        Server.__init__(srv, config, d, extra_args, **kw)
        return srv

    def note(self, msg):
        self.notes.append(msg)

    def logs(self):
        out = []
        for i, s in enumerate(self.servers):
            if getattr(s, "log_path", None):
                out.append("--- server %d log (%s) ---\n%s" % (i, s.log_path, s.log_tail()))
        return "\n".join(out)

    def close(self):
        """Stops everything; returns problems seen on the way out (a server that did not exit
        0 on SIGTERM, sanitizer reports in a log), each with the log's tail."""
        problems = []
        for i, s in enumerate(self.servers):
            rc = None
            try:
                rc = s.stop(timeout=5)
            except Exception as e:
                s.kill()
                problems.append("server %d: stop failed: %r" % (i, e))
            log = s.log() if getattr(s, "log_path", None) else ""
            bad = [w for w in ("AddressSanitizer", "LeakSanitizer", "runtime error:")
                   if w in log]
            if rc not in (0, None) or bad:
                problems.append("server %d: exit code %s%s\n--- log ---\n%s" % (
                    i, rc, (", log mentions " + ", ".join(bad)) if bad else "",
                    s.log_tail(40)))
        for s in self.sinks:
            try:
                s.close()
            except Exception:
                pass
        for fn in self.closers:
            try:
                fn()
            except Exception:
                pass
        if not os.environ.get("TN_E2E_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        return problems


def run_cases(cases, jobs=None):
    """Runs the cases (functions taking a Ctx), `jobs` at a time; prints one line per case and
    a closing "N passed, N failed" line; exits 0 only when none failed."""
    if jobs is None:
        jobs = int(os.environ.get("TN_E2E_JOBS", "4"))
    only = sys.argv[1:]
    if only:
        cases = [c for c in cases if c.__name__ in only]
    results = {}
    out_lock = threading.Lock()
    sem = threading.Semaphore(max(1, jobs))
    started = time.monotonic()

    def run_one(case):
        with sem:
            name = case.__name__
            ctx = Ctx(name)
            t0 = time.monotonic()
            status, detail = "ok", ""
            try:
                case(ctx)
            except Skip as e:
                status, detail = "skip", str(e)
            except BaseException as e:  # noqa: B902 - report everything, never hang the file
                status = "FAIL"
                detail = "".join(traceback.format_exception(type(e), e, e.__traceback__))
                logs = ctx.logs()
                if logs:
                    detail += logs + "\n"
            finally:
                problems = ctx.close()
            if problems and status != "FAIL":
                status, detail = "FAIL", "\n".join(problems) + "\n"
            elapsed = time.monotonic() - t0
            results[name] = status
            with out_lock:
                if status == "ok":
                    print("ok   %s (%.1fs)" % (name, elapsed), flush=True)
                elif status == "skip":
                    print("skip %s: %s" % (name, detail), flush=True)
                else:
                    print("FAIL %s (%.1fs)\n%s" % (name, elapsed, detail), flush=True)

    threads = [threading.Thread(target=run_one, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    passed = sum(1 for v in results.values() if v == "ok")
    failed = sum(1 for v in results.values() if v == "FAIL")
    skipped = sum(1 for v in results.values() if v == "skip")
    print("%d passed, %d failed%s [target %s, scale %g, %.1fs]" % (
        passed, failed, (", %d skipped" % skipped) if skipped else "", TARGET, SCALE,
        time.monotonic() - started), flush=True)
    sys.exit(1 if failed or not results else 0)


# ---------------------------------------------------------------------------------------------
# assertions


def assert_no_request(sink, path, during, what="request"):
    """Asserts nothing arrives on path for `during` seconds (scaled) from now."""
    before = len(sink.requests(path))
    time.sleep(scaled(during))
    after = sink.requests(path)
    assert len(after) == before, "unexpected %s on %s: %r" % (
        what, path, [r["json"] for r in after[before:]])


def alert_names(payload, key="alertname"):
    return sorted(a["labels"].get(key) for a in payload["alerts"])
