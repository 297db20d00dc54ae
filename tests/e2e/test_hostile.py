"""Hostile and malformed input: the server answers 4xx, keeps the valid part of a batch, caps
bodies and headers, survives slow and garbage clients, and keeps serving everyone else."""

import http.client
import json
import random
import re
import socket
import threading
import time

from datetime import timedelta

from harness import (HOST, IS_AM, alert, http_request, iso, now_utc, run_cases, scaled,
                     tocsin_only, wait_for)

CONFIG = """
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 1s
receivers:
  - name: blackhole
"""


def assert_healthy(srv):
    assert srv.alive(), "server died"
    assert srv.healthy(), "/-/healthy does not answer"


def check_error(r, *words):
    """A 400 with a JSON body, as Alertmanager answers: {"code":400,"message":...} when the
    body does not parse as alerts, a bare JSON string when alerts fail validation. tocsin's
    message must hold every word (the alert index, the field)."""
    # Alertmanager answers 422 where a required field is missing; tocsin always 400.
    ok = (400, 422) if IS_AM else (400,)
    assert r.status in ok, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    if isinstance(body, dict):
        assert body.get("code") in (r.status, 602), body  # 602: go-openapi's "required"
        msg = body.get("message")
    else:
        msg = body
    assert isinstance(msg, str) and msg, body
    if IS_AM:
        return
    for w in words:
        assert w in msg, "%r not in error message %r" % (w, msg)


def raw_exchange(port, data, timeout=5.0, chunk_delay=None):
    """Sends raw bytes, then reads until the server closes or `timeout`; returns what came."""
    s = socket.create_connection((HOST, port), timeout=scaled(timeout))
    got = b""
    try:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may close before reading everything
        s.settimeout(scaled(timeout))
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not b:
                break
            got += b
    finally:
        s.close()
    return got


# --- malformed and mistyped bodies -----------------------------------------------------------

def test_malformed_json(ctx):
    srv = ctx.server(CONFIG)
    for body in ['{"x":', "[", "", "nul", "[{]", '[{"labels":{"a":"b"}},]', '"x"', "{}", "42"]:
        r = srv.post_alerts(body)
        check_error(r)
    assert srv.get_alerts() == []
    assert_healthy(srv)


def test_wrong_types(ctx):
    srv = ctx.server(CONFIG)
    cases = [
        ('[{"labels":["a"]}]', ["labels"]),
        ('[{"labels":{"a":1}}]', ["labels"]),
        ('[{"labels":{"a":"b"},"annotations":[1]}]', ["annotations"]),
        ('[{"labels":{"a":"b"},"startsAt":5}]', ["startsAt"]),
        ('[{"labels":{"a":"b"},"startsAt":"yesterday"}]', ["startsAt"]),
        ('[{"labels":{"a":"b"},"endsAt":"2020-13-45T99:00:00Z"}]', ["endsAt"]),
        ('[{"labels":{"a":"b"},"generatorURL":{}}]', ["generatorURL"]),
        ('[{}]', ["labels"]),
        ('[1]', []),
        ('[{"labels":{"a":"b"},"startsAt":"2020-01-02T00:00:00Z","endsAt":"2020-01-01T00:00:00Z"}]',
         []),
    ]
    for body, words in cases:
        r = srv.post_alerts(body)
        check_error(r, *words)
    assert srv.get_alerts() == []
    assert_healthy(srv)


def test_invalid_labels_keep_valid_alerts(ctx):
    srv = ctx.server(CONFIG)
    r = srv.post_alerts([
        alert({"alertname": "ok1"}),
        alert({"alertname": "bad", "": "x"}),  # an empty name is invalid in every mode
        alert({"alertname": "ok2"}),
        {"labels": {}},
    ])
    check_error(r, "1", "3", "label")
    # As Alertmanager does: the valid alerts of the batch are stored anyway.
    names = sorted(a["labels"]["alertname"] for a in srv.get_alerts())
    assert names == ["ok1", "ok2"], names
    assert_healthy(srv)


def test_label_name_modes(ctx):
    # Classic names ([a-zA-Z_][a-zA-Z0-9_]*) are all Alertmanager 0.25 knows; current
    # Alertmanager, and tocsin by default, accept any UTF-8 name unless classic-mode is on.
    args = [] if IS_AM else ["--enable-feature=classic-mode"]
    srv = ctx.server(CONFIG, extra_args=args)
    r = srv.post_alerts([alert({"alertname": "ok"}), alert({"alertname": "bad", "1bad": "x"})])
    check_error(r, "1", "1bad")
    assert [a["labels"]["alertname"] for a in srv.get_alerts()] == ["ok"]
    if IS_AM:
        return
    utf8 = ctx.server(CONFIG)
    r = utf8.post_alerts([alert({"alertname": "u", "1bad": "x", "s\u00e9rvice.name": "y"})])
    assert r.status == 200, r
    assert utf8.get_alerts()[0]["labels"] == {"alertname": "u", "1bad": "x",
                                              "s\u00e9rvice.name": "y"}
    assert_healthy(utf8)


def test_empty_label_set(ctx):
    srv = ctx.server(CONFIG)
    check_error(srv.post_alerts([{"labels": {}}]), "label")
    check_error(srv.post_alerts([alert({"a": "b"}), {"labels": {}}]), "1")
    assert [a["labels"] for a in srv.get_alerts()] == [{"a": "b"}]
    assert srv.post_alerts([]).status == 200
    assert_healthy(srv)


def test_garbage_bytes(ctx):
    srv = ctx.server(CONFIG)
    rnd = random.Random(1234)
    junk = bytes(rnd.getrandbits(8) for _ in range(4096))
    # As a body ...
    r = srv.request("POST", "/api/v2/alerts", body=junk,
                    headers={"Content-Type": "application/json"})
    check_error(r)
    # ... and instead of HTTP altogether: a 400 or a closed connection, nothing else.
    for data in (junk + b"\r\n\r\n", b"\x00" * 64 + b"\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"GET /\x01\x02 HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"):
        got = raw_exchange(srv.port, data, timeout=5)
        assert got == b"" or got.startswith(b"HTTP/1.1 400") or got.startswith(
            b"HTTP/1.0 400") or got.startswith(b"HTTP/1.1 505"), got[:200]
        assert_healthy(srv)


def test_smuggling_defences(ctx):
    """Header names are tokens and only HTTP/1.0 and 1.1 are spoken: a proxy in front may read
    these requests differently, so they are refused with 400, at once."""
    tocsin_only("Go's server answers some of these differently")
    srv = ctx.server(CONFIG)
    for data in (b"GET /-/healthy HTTP/1.1\r\nHost : x\r\n\r\n",
                 b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
                 b"GET /-/healthy HTTP/1.1\r\nHo st: x\r\n\r\n",
                 b"GET /-/healthy HTTP/2.0\r\nHost: x\r\n\r\n",
                 b"GET /-/healthy HTTP/1.2\r\nHost: x\r\n\r\n"):
        got = raw_exchange(srv.port, data, timeout=5)
        assert got.startswith(b"HTTP/1.1 400"), (data, got[:200])
    got = raw_exchange(srv.port, b"GET /-/healthy HTTP/1.1\r\nX-A_b.c~: x\r\nConnection: close\r\n\r\n",
                       timeout=5)
    assert got.startswith(b"HTTP/1.1 200"), got[:200]


def test_oversize_chunk_refused_at_once(ctx):
    """A chunk larger than the body limit is answered 413 as soon as its size line arrives,
    not after a read timeout."""
    tocsin_only("tocsin's body limit")
    srv = ctx.server(CONFIG)
    t0 = time.monotonic()
    got = raw_exchange(srv.port, b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\nFFFFFFF\r\nab", timeout=10)
    assert got.startswith(b"HTTP/1.1 413"), got[:200]
    assert time.monotonic() - t0 < scaled(2), time.monotonic() - t0
    assert_healthy(srv)


# --- sizes -----------------------------------------------------------------------------------

def stream_body(port, total, chunked=False, chunk=1 << 20):
    """POSTs `total` bytes of one huge JSON string without building it in memory. Returns
    (status or None if the server closed first, bytes sent)."""
    s = socket.create_connection((HOST, port), timeout=scaled(30))
    sent = 0
    try:
        head = "POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        head += "Transfer-Encoding: chunked\r\n" if chunked else "Content-Length: %d\r\n" % total
        s.sendall(head.encode() + b"\r\n")
        prefix = b'[{"labels":{"a":"'
        block = b"x" * chunk
        try:
            while sent < total:
                part = prefix if sent == 0 else block[:min(chunk, total - sent)]
                if chunked:
                    s.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
                else:
                    s.sendall(part)
                sent += len(part)
            if chunked:
                s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # closed on us: fine, if the server is still alive
        s.settimeout(scaled(30))
        resp = b""
        try:
            while b"\r\n" not in resp:
                b = s.recv(4096)
                if not b:
                    break
                resp += b
        except OSError:
            pass
        if not resp.startswith(b"HTTP/"):
            return None, sent
        return int(resp.split(b" ", 2)[1]), sent
    finally:
        s.close()


def test_huge_body_content_length(ctx):
    srv = ctx.server(CONFIG)
    status, sent = stream_body(srv.port, 100 << 20)
    if not IS_AM:
        assert status in (413, None), "100 MB body: %r" % status
        # Refused early, not after swallowing it all.
        assert sent < (100 << 20) or status == 413, sent
    else:
        assert status != 200, status
    assert_healthy(srv)
    assert srv.get_alerts() == []


def test_huge_body_chunked(ctx):
    srv = ctx.server(CONFIG)
    status, _ = stream_body(srv.port, 100 << 20, chunked=True)
    if not IS_AM:
        assert status in (413, None), "100 MB chunked body: %r" % status
    else:
        assert status != 200, status
    assert_healthy(srv)


def test_huge_header(ctx):
    srv = ctx.server(CONFIG)
    data = b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (2 << 20) + b"\r\n\r\n"
    got = raw_exchange(srv.port, data, timeout=10)
    # 431, or the connection dropped (a reset can swallow the answer).
    assert got == b"" or got.startswith(b"HTTP/1.1 431"), got[:200]
    assert_healthy(srv)


def test_header_just_over_tocsin_limit(ctx):
    tocsin_only("64 KiB header cap (Alertmanager's is 1 MiB)")
    srv = ctx.server(CONFIG)
    r = None
    try:
        r = srv.request("GET", "/-/healthy", headers={"X-Big": "a" * (70 << 10)})
    except (OSError, http.client.HTTPException):
        pass
    assert r is None or r.status == 431, r
    assert_healthy(srv)


def test_10k_alert_batch(ctx):
    srv = ctx.server(CONFIG)
    batch = [alert({"alertname": "Bulk", "i": str(i)}, annotations={"n": "x" * 20})
             for i in range(10000)]
    t0 = time.monotonic()
    r = srv.post_alerts(batch, timeout=60)
    assert r.status == 200, r
    assert time.monotonic() - t0 <= scaled(30)
    wait_for(lambda: len(srv.get_alerts()) == 10000, 20, interval=0.5,
             what="10000 alerts listed")
    wait_for(lambda: srv.metric("alertmanager_alerts", state="active") == 10000, 10,
             interval=0.5, what="alertmanager_alerts{state=active} == 10000")
    assert_healthy(srv)


# --- connections -----------------------------------------------------------------------------

def test_slow_client(ctx):
    srv = ctx.server(CONFIG)
    request = (b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"X-Padding: " + b"p" * 200 + b"\r\n")
    s = socket.create_connection((HOST, srv.port), timeout=scaled(60))
    closed = threading.Event()
    stop = threading.Event()

    def drip():
        # One byte every 0.3s: a request that never completes in any reasonable time.
        try:
            for i in range(len(request)):
                if stop.is_set():
                    return
                s.sendall(request[i:i + 1])
                time.sleep(0.3)
        except OSError:
            closed.set()

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    try:
        # Meanwhile everyone else is served promptly.
        for i in range(10):
            t0 = time.monotonic()
            assert srv.healthy()
            srv.post_ok([alert({"alertname": "Fast", "i": str(i)})])
            assert time.monotonic() - t0 < scaled(2), "slow answer with a slow client around"
            time.sleep(0.3)
        if IS_AM:
            return  # Alertmanager sets no header timeout: the slow client is never dropped
        # tocsin drops it once its header timeout (30 s) runs out.
        s.settimeout(scaled(45))
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        assert data == b"" or data.startswith(b"HTTP/1.1 408") or data.startswith(
            b"HTTP/1.1 400"), data[:200]
        assert_healthy(srv)
    finally:
        stop.set()
        s.close()
        t.join(5)


def test_many_idle_connections(ctx):
    srv = ctx.server(CONFIG)
    socks = []
    try:
        for _ in range(300):
            socks.append(socket.create_connection((HOST, srv.port), timeout=scaled(5)))
        # Half of them start a request and stall.
        for s in socks[::2]:
            s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost")
        t0 = time.monotonic()
        assert_healthy(srv)
        srv.post_ok([alert({"alertname": "Idle"})])
        assert time.monotonic() - t0 < scaled(3)
    finally:
        for s in socks:
            s.close()
    assert_healthy(srv)


def test_pipelined_and_keepalive(ctx):
    srv = ctx.server(CONFIG)
    body = json.dumps([alert({"alertname": "Pipe"})]).encode()
    data = (b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s"
            b"GET /-/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % (len(body), body))
    got = raw_exchange(srv.port, data, timeout=5)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", got)
    assert statuses == [b"200", b"200", b"200"], got[:500]
    # Keep-alive: several requests on one connection.
    conn = http.client.HTTPConnection(HOST, srv.port, timeout=scaled(5))
    try:
        for _ in range(5):
            conn.request("GET", "/-/healthy")
            r = conn.getresponse()
            r.read()
            assert r.status == 200
    finally:
        conn.close()
    assert [a["labels"]["alertname"] for a in srv.get_alerts()] == ["Pipe"]


def test_wrong_method_and_path(ctx):
    srv = ctx.server(CONFIG)
    r = http_request(srv.port, "DELETE", "/api/v2/alerts")
    assert r.status in (404, 405), r
    r = http_request(srv.port, "GET", "/api/v2/" + "a" * 5000)
    assert r.status == 404, r
    r = http_request(srv.port, "GET", "/../../etc/passwd")
    assert r.status in (400, 404) or (r.status in (301, 308) and IS_AM), r
    assert b"root:" not in r.body
    assert_healthy(srv)



def test_backtracking_silence(ctx):
    """A silence whose regex makes a backtracking engine explode: the loop stays responsive,
    and the answer is exact (an alert it matches is silenced, the others are not)."""
    srv = ctx.server(CONFIG)
    # A backtracking engine gives up on the first branch before it tries the second.
    body = {"matchers": [{"name": "v", "value": "(a+)+b|a*c", "isRegex": True,
                          "isEqual": True}],
            "startsAt": iso(now_utc()), "endsAt": iso(now_utc() + timedelta(hours=1)),
            "createdBy": "e2e", "comment": "hostile"}
    r = srv.request("POST", "/api/v2/silences", body=body,
                    headers={"Content-Type": "application/json"})
    assert r.status == 200, r
    evil = "a" * 40 + "!"
    alerts = [alert({"alertname": "Evil", "v": evil, "i": str(i)}) for i in range(5000)]
    alerts.append(alert({"alertname": "Muted", "v": "a" * 40 + "c"}))
    srv.post_ok(alerts)
    t0 = time.monotonic()
    got = srv.get_alerts()
    took = time.monotonic() - t0
    assert len(got) == 5001, len(got)
    states = {}
    for a in got:
        states.setdefault(a["labels"]["alertname"], set()).add(a["status"]["state"])
    assert states == {"Evil": {"active"}, "Muted": {"suppressed"}}, states
    assert took < scaled(2), "GET /api/v2/alerts took %.2f s" % took
    t0 = time.monotonic()
    assert_healthy(srv)
    assert time.monotonic() - t0 < scaled(0.5)


def test_secrets_stay_out_of_logs(ctx):
    """A webhook URL carries a token and a proxy URL a password; a send that fails on them
    (curl quotes a bad proxy URL whole in its error) must log neither."""
    tocsin_only("log contents")
    srv = ctx.server("""
route:
  receiver: hook
  group_wait: 0s
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:1/hook?token=URLSECRET
        http_config:
          proxy_url: http://user:PROXYSECRET@127.0.0.1:99999
""", extra_args=["--log.level=debug"])
    srv.post_ok([alert({"alertname": "leak"})])
    wait_for(lambda: "Notify attempt failed" in srv.log(), scaled(15), what="a failed send")
    assert_healthy(srv)
    # The send keeps failing, so the drain at exit runs to its timeout (15 s).
    assert srv.stop(timeout=30) == 0
    log = srv.log()
    assert "127.0.0.1:99999" in log, log[-2000:]  # the redacted error still names the proxy
    for secret in ("PROXYSECRET", "URLSECRET", "user:"):
        assert secret not in log, "%s in the log:\n%s" % (secret, log[-2000:])

def test_hostile_values(ctx):
    # Each gets a 400 naming the problem; the valid alerts of a batch are kept; the server
    # keeps serving. Caps are tocsin's (--alerts.max-label-*-bytes); Alertmanager has none.
    tocsin_only("label size caps are tocsin flags")
    srv = ctx.server(CONFIG, extra_args=["--alerts.max-label-value-bytes=1000"])
    big = "x" * (10 * 1024 * 1024)
    r = srv.post_alerts('[{"labels":{"alertname":"big","v":"%s"}}]' % big)
    check_error(r, "alerts[0].labels", "longer than 1000", '"v"')
    r = srv.post_alerts([alert({"alertname": "ok"}), alert({"alertname": "long", "v": "y" * 1001})])
    check_error(r, "alerts[1].labels", "longer than 1000")
    r = srv.post_alerts([alert({"alertname": "n", "n" * 2000: "x"})])
    check_error(r, "alerts[0].labels", "name longer than 1024")
    r = srv.post_alerts(r'[{"labels":{"alertname":"nul","v":"a\u0000b"}}]')
    check_error(r, "alerts[0].labels", "NUL")
    r = srv.post_alerts(b'[{"labels":{"alertname":"bad\xff\xfe"}}]')
    check_error(r)
    r = srv.post_alerts("[" * 100000 + "]" * 100000)
    check_error(r)
    r = srv.post_alerts('[{"labels":{"alertname":"a","alertname":"b"}}]')
    check_error(r, "alerts[0].labels", "more than once")
    check_error(srv.post_alerts('[{"labels":{"alertname":7}}]'), "alerts[0].labels")
    # A pathological filter regex is bounded: an answer (any), then the server still serves.
    r = srv.request("GET", "/api/v2/alerts?filter=" +
                    "alertname%3D~%22(a%2Ba%2B)%2Bb%22")
    assert r.status in (200, 400, 503), r
    assert [a["labels"]["alertname"] for a in srv.get_alerts()] == ["ok"]
    assert_healthy(srv)


def test_large_answer_streamed(ctx):
    # An answer of about 1 MB goes out in parts while the rest is written: chunked on
    # HTTP/1.1 (the connection is reused after it), to the close on HTTP/1.0, headers only for
    # HEAD; a client that leaves halfway hurts nobody.
    srv = ctx.server(CONFIG)
    n = 3000
    for b in range(0, n, 500):
        srv.post_ok([alert({"alertname": "big", "instance": "i%d" % i, "pad": "p" * 100})
                     for i in range(b, b + 500)])
    c = http.client.HTTPConnection(HOST, srv.port, timeout=scaled(30))
    for _ in range(2):  # twice on one connection
        c.request("GET", "/api/v2/alerts")
        r = c.getresponse()
        body = r.read()
        assert r.status == 200, r.status
        assert r.getheader("Transfer-Encoding") == "chunked", r.getheaders()
        alerts = json.loads(body)
        assert len(alerts) == n, len(alerts)
        fps = [a["fingerprint"] for a in alerts]
        assert fps == sorted(fps)
    c.request("HEAD", "/api/v2/alerts")
    r = c.getresponse()
    assert r.status == 200 and r.read() == b"", r.status
    c.close()
    got = raw_exchange(srv.port, b"GET /api/v2/alerts HTTP/1.0\r\nHost: x\r\n\r\n",
                       timeout=30)
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    assert b"chunked" not in head.lower(), head
    assert len(json.loads(body)) == n
    s = socket.create_connection((HOST, srv.port), timeout=scaled(10))
    s.sendall(b"GET /api/v2/alerts HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(1000)
    s.close()
    assert len(srv.get_alerts()) == n
    assert_healthy(srv)


if __name__ == "__main__":
    run_cases([
        test_slow_client,  # first: it runs long, the others overlap it
        test_malformed_json,
        test_wrong_types,
        test_invalid_labels_keep_valid_alerts,
        test_empty_label_set,
        test_label_name_modes,
        test_garbage_bytes,
        test_huge_body_content_length,
        test_huge_body_chunked,
        test_smuggling_defences,
        test_backtracking_silence,
        test_oversize_chunk_refused_at_once,
        test_huge_header,
        test_header_just_over_tocsin_limit,
        test_10k_alert_batch,
        test_many_idle_connections,
        test_pipelined_and_keepalive,
        test_wrong_method_and_path,
        test_secrets_stay_out_of_logs,
        test_hostile_values,
        test_large_answer_streamed,
    ])
