"""Alertmanager's acceptance-test model, for porting its scenarios (test/with_api_v2).

An AcceptanceTest declares, on a timeline of seconds relative to the moment the server is ready:
what is pushed (alerts, silences, reloads) and, per collector, which notification batches must
arrive within which interval. run() starts the server, plays the timeline, waits until the last
interval closes, and check() compares. The rules are upstream's:

- an expected batch matches a received batch of the same size whose alerts all have equal
  labels and annotations, and startsAt/endsAt equal within the tolerance (zero only to zero);
- an interval with an empty expectation must see no notification at all;
- the total number of alerts received must equal the total expected, so an extra notification
  anywhere fails the test.

Times are not scaled by TN_TIME_SCALE: the timelines and tolerances are upstream's own.
"""

import http.server
import json
import threading
import time

import harness
from harness import HOST, parse_time


class Alert:
    """An alert declared with relative times; 0 means unset, as upstream's TestAlert."""

    def __init__(self, *keyval):
        assert len(keyval) % 2 == 0, "bad key/values"
        self.labels = dict(zip(keyval[0::2], keyval[1::2]))
        self.annotations = {}
        self.starts_at = 0.0
        self.ends_at = 0.0

    def active(self, *ts):
        assert 1 <= len(ts) <= 2, "only one or two timestamps allowed"
        self.starts_at = float(ts[0])
        if len(ts) == 2:
            self.ends_at = float(ts[1])
        return self

    def annotate(self, *keyval):
        assert len(keyval) % 2 == 0, "bad key/values"
        self.annotations.update(zip(keyval[0::2], keyval[1::2]))
        return self

    def postable(self, base):
        a = {"labels": dict(self.labels)}
        if self.annotations:
            a["annotations"] = dict(self.annotations)
        if self.starts_at > 0:
            a["startsAt"] = harness.iso(base + self.starts_at)
        if self.ends_at > 0:
            a["endsAt"] = harness.iso(base + self.ends_at)
        return a

    def expected(self, base):
        """(labels, annotations, startsAt, endsAt) with absolute epoch times, None for zero."""
        return (self.labels, self.annotations,
                base + self.starts_at if self.starts_at > 0 else None,
                base + self.ends_at if self.ends_at > 0 else None)


class Silence:
    def __init__(self, start, end):
        self.start, self.end = float(start), float(end)
        self.matchers = []
        self.id = None

    def match(self, *keyval):
        for n, v in zip(keyval[0::2], keyval[1::2]):
            self.matchers.append({"name": n, "value": v, "isRegex": False})
        return self

    def match_re(self, *keyval):
        assert len(keyval) % 2 == 0, "bad key/values"
        for n, v in zip(keyval[0::2], keyval[1::2]):
            self.matchers.append({"name": n, "value": v, "isRegex": True})
        return self

    def postable(self, base):
        s = {"matchers": self.matchers, "comment": "some comment",
             "createdBy": "admin@example.com"}
        if self.start > 0:
            s["startsAt"] = harness.iso(base + self.start)
        if self.end > 0:
            s["endsAt"] = harness.iso(base + self.end)
        if self.id:
            s["id"] = self.id
        return s


def _epoch(s):
    """A webhook timestamp as epoch seconds; None for Go's zero time."""
    if not s or s.startswith("0001-01-01"):
        return None
    return parse_time(s).timestamp()


class Collector:
    def __init__(self, test, name):
        self.test = test
        self.name = name
        self.lock = threading.Lock()
        self.collected = []  # (relative arrival, [received alert tuples])
        self.expected = []   # ((start, end), [Alert])

    def want(self, between, *alerts):
        self.expected.append((between, list(alerts)))

    def latest(self):
        return max([iv[1] for iv, _ in self.expected] or [0.0])

    def add(self, alerts):
        rel = time.time() - self.test.base
        got = [(a.get("labels") or {}, a.get("annotations") or {},
                _epoch(a.get("startsAt")), _epoch(a.get("endsAt"))) for a in alerts]
        with self.lock:
            self.collected.append((rel, got))

    def _time_eq(self, a, b):
        if (a is None) != (b is None):
            return False
        return a is None or abs(a - b) <= self.test.tolerance

    def _alert_eq(self, e, g):
        return (e[0] == g[0] and e[1] == g[1] and self._time_eq(e[2], g[2])
                and self._time_eq(e[3], g[3]))

    def _batch_eq(self, exp, got):
        return len(exp) == len(got) and all(any(self._alert_eq(e, g) for g in got) for e in exp)

    def check(self):
        """Returns a list of failures (empty when the collector got exactly what it wanted)."""
        base = self.test.base
        failures = []
        with self.lock:
            collected = list(self.collected)
        for (start, end), alerts in self.expected:
            exp = [a.expected(base) for a in alerts]
            batches = [got for at, got in collected if start <= at <= end]
            found = (not exp and not batches) or any(self._batch_eq(exp, b) for b in batches)
            if not found:
                failures.append("%s: interval [%g,%g] wanted %s" % (
                    self.name, start, end, self._fmt(exp)))
        for at, got in collected:
            if not got:
                failures.append("%s: empty notification at %.3f" % (self.name, at))
        total_exp = sum(len(a) for _, a in self.expected)
        total_got = sum(len(g) for _, g in collected)
        if total_exp != total_got:
            failures.append("%s: expected a total of %d alerts, got %d" % (
                self.name, total_exp, total_got))
        if failures:
            failures.append("%s received:\n%s" % (self.name, "\n".join(
                "  @ %.3f %s" % (at, self._fmt(got)) for at, got in sorted(collected,
                                                                         key=lambda c: c[0]))))
        return failures

    def _fmt(self, alerts):
        base = self.test.base

        def rel(t):
            return "" if t is None else "%.3f" % (t - base)
        return "[" + ", ".join("%s%s[%s:%s]" % (
            a[0], (" " + str(a[1])) if a[1] else "", rel(a[2]), rel(a[3])) for a in alerts) + "]"


class Webhook:
    """A webhook receiver that feeds a collector. func(relative time) returning True answers
    200 without collecting, as upstream's MockWebhook.Func drops a notification."""

    def __init__(self, collector):
        self.collector = collector
        self.func = None
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                if hook.func is None or not hook.func(time.time() - collector.test.base):
                    msg = json.loads(body.decode("utf-8"))
                    collector.add(msg.get("alerts") or [])
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

        self.httpd = harness._QuietHTTPServer((HOST, 0), Handler)
        self.httpd.daemon_threads = True
        self.address = "%s:%d" % (HOST, self.httpd.server_address[1])
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class AcceptanceTest:
    def __init__(self, ctx, tolerance=0.15, feature_flags=(), route_prefix=""):
        self.ctx = ctx
        self.tolerance = tolerance
        self.feature_flags = list(feature_flags)
        self.route_prefix = route_prefix
        self.collectors = []
        self.actions = []  # (at, fn)
        self.errors = []
        self.base = time.time()
        self.server = None
        self.servers = []
        self.config = None
        self.replicas = 1

    def collector(self, name):
        c = Collector(self, name)
        self.collectors.append(c)
        return c

    def webhook(self, collector):
        wh = Webhook(collector)
        self.ctx.on_close(wh.close)
        return wh

    def alertmanager(self, config):
        self.config = config

    def alertmanager_cluster(self, config, n):
        """Upstream's AlertmanagerCluster: n replicas, every push goes to each. Here they share
        state through a Redis the test starts (upstream's gossip is not tocsin's)."""
        self.config = config
        self.replicas = n

    def do(self, at, fn):
        self.actions.append((float(at), fn))

    def push(self, at, *alerts):
        def fn():
            for srv in self.servers:
                r = srv.request("POST", "/api/v2/alerts", [a.postable(self.base) for a in alerts])
                if r.status != 200:
                    self.errors.append("push at %g: %d %s" % (at, r.status, r.text()))
        self.do(at, fn)

    def set_silence(self, at, sil):
        def fn():
            r = self.server.request("POST", "/api/v2/silences", sil.postable(self.base))
            if r.status != 200:
                self.errors.append("silence at %g: %d %s" % (at, r.status, r.text()))
                return
            sil.id = r.json()["silenceID"]
        self.do(at, fn)

    def del_silence(self, at, sil):
        def fn():
            r = self.server.request("DELETE", "/api/v2/silence/%s" % sil.id)
            if r.status != 200:
                self.errors.append("delete silence at %g: %d %s" % (at, r.status, r.text()))
        self.do(at, fn)

    def reload(self, at):
        import signal
        self.do(at, lambda: self.server.signal(signal.SIGHUP))

    def start(self, extra_args=()):
        """Starts the server (as upstream's Start: ready before anything is pushed)."""
        args = list(extra_args)
        if self.feature_flags and harness.IS_AM:
            raise harness.Skip("--enable-feature is newer than Alertmanager 0.25")
        if self.feature_flags:
            args.append("--enable-feature=" + ",".join(self.feature_flags))
        if self.replicas > 1:
            harness.tocsin_only("replicas share state through Redis, not gossip")
            from redis_server import Redis
            redis = Redis(self.ctx)
            self.servers = [self.ctx.server(self.config, args + [
                "--cluster.redis-url=" + redis.url, "--cluster.peer-name=am%d" % i],
                route_prefix=self.route_prefix) for i in range(self.replicas)]

            def settled():
                for s in self.servers:
                    st = s.request("GET", "/api/v2/status").json()["cluster"]
                    if st["status"] != "ready" or len(st["peers"]) < self.replicas:
                        return False
                return True
            harness.wait_for(settled, harness.scaled(10), what="the replicas to see each other")
        else:
            self.servers = [self.ctx.server(self.config, args, route_prefix=self.route_prefix)]
        self.server = self.servers[0]
        return self.server

    def run(self, extra_args=(), settle=0.0):
        """Starts the server, plays the timeline, waits for the last interval, then checks.
        settle: seconds between ready and the base time, for timelines that count on the time
        upstream's harness spends after start (cluster discovery and convergence)."""
        self.start(extra_args)
        if settle:
            time.sleep(settle)
        self.base = time.time()
        threads = []
        for at, fn in self.actions:
            def play(at=at, fn=fn):
                delay = self.base + at - time.time()
                if delay > 0:
                    time.sleep(delay)
                try:
                    fn()
                except Exception as e:  # noqa: B902 - reported as a failure below
                    self.errors.append("action at %g: %r" % (at, e))
            t = threading.Thread(target=play, daemon=True)
            t.start()
            threads.append(t)
        latest = max([c.latest() for c in self.collectors] or [0.0])
        delay = self.base + latest - time.time()
        if delay > 0:
            time.sleep(delay)
        for t in threads:
            t.join(timeout=5)
        for srv in self.servers:
            if not srv.alive():
                self.errors.append("server exited with %s" % srv.proc.returncode)
        failures = list(self.errors)
        for c in self.collectors:
            failures += c.check()
        assert not failures, "\n".join(failures)
