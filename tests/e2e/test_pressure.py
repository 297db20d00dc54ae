"""Pressure from clients: slow readers hold a part of an answer, not the answer; the bytes held
for all of them have a cap; and a flood of idle connections from one address, or from many,
locks nobody out (a per-address share, a short header timeout under pressure, and loopback
slots kept for health checks)."""

import socket
import time

from harness import HOST, run_cases, tocsin_only, wait_for

CONFIG = """
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 1m
receivers:
  - name: blackhole
"""

N_ALERTS = 12000  # about 8 MB as /api/v2/alerts


def load(srv, n=N_ALERTS):
    pad = "p" * 500
    for b in range(0, n, 1000):
        srv.post_ok([{"labels": {"alertname": "big", "instance": "i%d" % i},
                      "annotations": {"summary": pad}} for i in range(b, b + 1000)])


def buffered(srv):
    return srv.metric("tocsin_http_response_buffer_bytes")


def stalled_reader(port, source="127.0.0.1"):
    """Asks for every alert and reads nothing: the kernel buffers stay small."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((source, 0))
    s.connect((HOST, port))
    s.sendall(b"GET /api/v2/alerts HTTP/1.1\r\nHost: x\r\n\r\n")
    return s


def read_status(s, timeout=10):
    s.settimeout(timeout)
    got = b""
    while b"\r\n" not in got:
        b = s.recv(4096)
        if not b:
            break
        got += b
    return got


def test_slow_readers_hold_a_part(ctx):
    tocsin_only("tocsin_http_response_buffer_bytes is tocsin's")
    srv = ctx.server(CONFIG)
    load(srv)
    readers = [stalled_reader(srv.port) for _ in range(20)]
    try:
        time.sleep(1)
        held = buffered(srv)
        # each holds about two parts (512 KiB) and its list of alerts, not 8 MB
        assert held < 20 * (1 << 20), "20 stalled readers hold %d bytes" % held
        assert srv.healthy()
        # everyone else is served, whole
        assert len(srv.get_alerts()) == N_ALERTS
        # a slow reader that does read gets the whole answer
        r = readers[0]
        r.settimeout(30)
        got = b""
        while not got.endswith(b"\r\n0\r\n\r\n"):
            b = r.recv(65536)
            assert b, "answer cut after %d bytes" % len(got)
            got += b
        assert got.startswith(b"HTTP/1.1 200"), got[:100]
        assert got.count(b'"fingerprint"') == N_ALERTS
    finally:
        for s in readers:
            s.close()
    # what they held is released when they go
    wait_for(lambda: buffered(srv) < (1 << 20), 10, what="buffers released")
    assert srv.alive()


def test_response_buffer_cap(ctx):
    tocsin_only("--web.max-response-buffer-bytes is tocsin's")
    srv = ctx.server(CONFIG, ["--web.max-response-buffer-bytes=3000000"])
    load(srv)
    readers = []
    refused = None
    try:
        for _ in range(40):
            readers.append(stalled_reader(srv.port))
            time.sleep(0.05)
            r = srv.request("GET", "/api/v2/alerts?filter=instance%3D%22i1%22")
            if r.status == 503:
                refused = r
                break
            assert r.status == 200, r
        assert refused is not None, "40 stalled readers and no 503"
        assert refused.headers.get("retry-after") == "1", refused.headers
        assert "try again" in refused.text()
        assert srv.healthy()  # health checks are exempt
        assert buffered(srv) <= 3000000 + (1 << 20)
    finally:
        for s in readers:
            s.close()
    wait_for(lambda: srv.request("GET", "/api/v2/alerts?filter=instance%3D%22i1%22").status
             == 200, 10, what="answers again once the readers left")


def test_connection_flood_one_address(ctx):
    tocsin_only("the per-address share is tocsin's")
    srv = ctx.server(CONFIG, ["--web.max-connections=400"])  # a share of 50 each
    flood = []
    try:
        for _ in range(120):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.2", 0))
            s.connect((HOST, srv.port))
            s.sendall(b"GET /-/healthy HTTP/1.1\r\nHo")  # slowloris
            flood.append(s)
        time.sleep(0.3)
        # past the share every connection is refused: a 503 that says why (at most 64 such
        # answers linger at a time; beyond them the connection is closed at once)
        answers = [read_status_all(s) for s in flood[50:]]
        assert None not in answers, "%d over the share held open" % answers.count(None)
        said = sum(b"too many connections from one address" in a for a in answers)
        assert said >= 50, "only %d of the 70 over the share heard why" % said
        assert all(a == b"" or b" 503 " in a for a in answers), answers
        # another address is not affected
        ok = 0
        for _ in range(20):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.3", 0))
            s.connect((HOST, srv.port))
            s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            ok += read_status(s).startswith(b"HTTP/1.1 200")
            s.close()
        assert ok == 20, "%d of 20 health checks from another address" % ok
    finally:
        for s in flood:
            s.close()


def read_status_all(s, timeout=3):
    """What the server sent before it closed, or None if it kept the connection open."""
    s.settimeout(timeout)
    got = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except socket.timeout:
        return None
    except OSError:
        pass
    return got


def test_connection_flood_many_addresses(ctx):
    """Slots filled from many addresses: past 3/4 of the cap idle talkers get 5 s for their
    headers, not 30, and loopback health checks get a reserved slot meanwhile."""
    tocsin_only("the reserve and the pressure timeout are tocsin's")
    srv = ctx.server(CONFIG, ["--web.max-connections=200"])  # a share of 25 each
    flood = []
    try:
        for a in range(10, 20):
            for _ in range(25):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind(("127.0.0.%d" % a, 0))
                s.connect((HOST, srv.port))
                s.sendall(b"GET /-/healthy HTTP/1.1\r\nHo")
                flood.append(s)
        t0 = time.monotonic()
        # all 200 slots are taken: local health checks still get through
        ok = 0
        for _ in range(20):
            s = socket.create_connection((HOST, srv.port), timeout=5)
            s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            ok += read_status(s).startswith(b"HTTP/1.1 200")
            s.close()
        assert ok == 20, "%d of 20 health checks while full" % ok
        # the idle talkers are dropped after the short timeout, not the 30 s one
        held = flood[:200]
        deadline = t0 + 12

        def closed(s):
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                s.recv(4096)  # a 408, or the close
                return True
            except socket.timeout:
                return False
            except OSError:
                return True
        n = sum(closed(s) for s in held)
        assert n == len(held), "%d of %d idle talkers closed within 12 s" % (n, len(held))
        assert time.monotonic() - t0 < 20
        assert srv.healthy()
    finally:
        for s in flood:
            s.close()


if __name__ == "__main__":
    run_cases([
        test_slow_readers_hold_a_part,
        test_response_buffer_cap,
        test_connection_flood_one_address,
        test_connection_flood_many_addresses,
    ])
