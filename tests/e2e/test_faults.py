"""Receivers that misbehave: down, slow, resetting connections, 500/429, answering garbage.
tocsin retries as Alertmanager does, never lets one bad receiver hold up another or the API,
and delivers once the receiver recovers within the retry window."""

import signal
import socket
import struct
import threading
import time

from harness import HOST, alert, dur, free_port, run_cases, scaled, wait_for


class BadPeer:
    """A TCP listener that misbehaves on every connection: 'reset' (RST at once), 'garbage'
    (non-HTTP bytes, then close), 'silent' (reads and never answers). Counts connections."""

    def __init__(self, mode, port=0):
        self.mode = mode
        self.count = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.closed = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.count += 1
            if self.mode == "reset":
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.close()
            elif self.mode == "garbage":
                try:
                    c.settimeout(2)
                    c.recv(65536)
                    c.sendall(b"\x00\xffNOT HTTP AT ALL\r\n\r\n\x01\x02garbage")
                except OSError:
                    pass
                c.close()
            else:
                self.held.append(c)

    def url(self, path="/"):
        return "http://%s:%d%s" % (HOST, self.port, path)

    def connections(self):
        with self.lock:
            return self.count

    def release(self):
        """Answers the held connections with a 200, as a slow receiver finally would."""
        for c in self.held:
            try:
                # Read the request first: closing with unread bytes sends an RST, which can
                # reach the client before it has read the answer.
                c.setblocking(False)
                while c.recv(65536):
                    pass
            except OSError:
                pass
            try:
                c.setblocking(True)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                c.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            c.close()
        self.held = []

    def close(self):
        self.closed = True
        self.release()
        self.sock.close()


def config(urls, group_interval=20, timeout=None):
    hooks = ""
    for name, url in urls:
        hooks += "  - name: %s\n    webhook_configs:\n      - url: %s\n" % (name, url)
        if timeout:
            hooks += "        timeout: %s\n" % timeout
    routes = "".join("    - matchers: [rcv=\"%s\"]\n      receiver: %s\n" % (n, n)
                     for n, _ in urls)
    return """
route:
  receiver: %s
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 1h
  routes:
%sreceivers:
%s""" % (urls[0][0], dur(0.3), dur(group_interval), routes, hooks)


def api_latency(srv, n=20):
    worst = 0.0
    for _ in range(n):
        t = time.monotonic()
        r = srv.request("GET", "/api/v2/alerts")
        assert r.status == 200
        worst = max(worst, time.monotonic() - t)
    return worst


def test_down_receiver_delivered_after_recovery(ctx):
    port = free_port()
    srv = ctx.server(config([("down", "http://%s:%d/hook" % (HOST, port))]))
    srv.post_ok([alert({"alertname": "Down", "rcv": "down"})])
    # Refused for a while: retries keep going with backoff.
    wait_for(lambda: (srv.metric("alertmanager_notification_requests_failed_total",
                                 integration="webhook") or 0) >= 2,
             scaled(6), what="two failed attempts")
    # The receiver comes up on the same port within the retry window.
    sink = ctx.sink_on(port)
    got = sink.wait("/hook", 1, timeout=10)
    assert got[0]["json"]["alerts"][0]["labels"]["alertname"] == "Down"


def test_reset_and_garbage_are_retried_and_isolated(ctx):
    reset, garbage = BadPeer("reset"), BadPeer("garbage")
    ctx.on_close(reset.close)
    ctx.on_close(garbage.close)
    good = ctx.sink()
    srv = ctx.server(config([("good", good.url("/g")), ("reset", reset.url("/r")),
                             ("garbage", garbage.url("/x"))]))
    srv.post_ok([alert({"alertname": "A", "rcv": "reset"}),
                 alert({"alertname": "B", "rcv": "garbage"}),
                 alert({"alertname": "C", "rcv": "good"})])
    good.wait("/g", 1, timeout=3)
    wait_for(lambda: reset.connections() >= 3 and garbage.connections() >= 3, scaled(10),
             what="three attempts each on the bad receivers")
    assert srv.healthy()
    assert api_latency(srv) < scaled(0.5)
    # The good receiver got its page once, not held back and not repeated.
    time.sleep(scaled(1))
    assert len(good.requests("/g")) == 1
    # SIGTERM while retries go on: the drain gives them 15 s at most, then exits cleanly.
    t = time.monotonic()
    rc = srv.stop(timeout=30)
    assert rc == 0, "exit code %s" % rc
    assert time.monotonic() - t < 15 + scaled(2), "drain took %.1fs" % (time.monotonic() - t)


def test_slow_receiver_does_not_block_others_or_api(ctx):
    silent = BadPeer("silent")
    ctx.on_close(silent.close)
    good = ctx.sink()
    srv = ctx.server(config([("good", good.url("/g")), ("slow", silent.url("/s"))],
                            timeout="30s"))
    srv.post_ok([alert({"alertname": "S", "rcv": "slow"})])
    wait_for(lambda: silent.connections() >= 1, scaled(3), what="connection to the slow one")
    # While that send hangs, another receiver is paged at once and the API answers.
    srv.post_ok([alert({"alertname": "G", "rcv": "good"})])
    good.wait("/g", 1, timeout=3)
    assert api_latency(srv) < scaled(0.5)
    # SIGTERM with the slow send in flight: the drain waits for it, it completes, exit 0.
    srv.signal(signal.SIGTERM)
    time.sleep(scaled(0.5))
    assert srv.alive(), "exited with a send in flight"
    silent.release()
    wait_for(lambda: not srv.alive(), scaled(5), what="exit after the in-flight send ended")
    assert srv.stop() == 0


def test_5xx_retried_then_ok(ctx):
    sink = ctx.sink()
    sink.respond("/h", [500, 502, 503])
    srv = ctx.server(config([("h", sink.url("/h"))]))
    srv.post_ok([alert({"alertname": "Flaky", "rcv": "h"})])
    reqs = sink.wait("/h", 4, timeout=12)
    assert [r["status"] for r in reqs[:4]] == [500, 502, 503, 200]
    time.sleep(scaled(1.5))
    assert len(sink.requests("/h")) == 4, "nothing after the delivery"


def test_webhook_429_waits_for_next_flush(ctx):
    # As Alertmanager: the webhook integration does not retry a 429 within the flush; the
    # next group_interval tick sends again.
    sink = ctx.sink()
    sink.respond("/h", [429])
    srv = ctx.server(config([("h", sink.url("/h"))], group_interval=2))
    srv.post_ok([alert({"alertname": "Limited", "rcv": "h"})])
    first = sink.wait("/h", 1, timeout=3)[0]
    second = sink.wait("/h", 2, timeout=5)[1]
    assert second["time"] - first["time"] >= scaled(2) - 0.3
    assert second["status"] == 200


if __name__ == "__main__":
    run_cases([test_down_receiver_delivered_after_recovery,
               test_reset_and_garbage_are_retried_and_isolated,
               test_slow_receiver_does_not_block_others_or_api,
               test_5xx_retried_then_ok, test_webhook_429_waits_for_next_flush])
