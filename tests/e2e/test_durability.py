"""What a 200 promises: an alert, silence or expiry answered 200 is committed to the state
database, so it survives kill -9; a change that cannot be written (a full disk) is answered 500
and, for silences, not applied at all, so a client that retries does not get two. The full-disk
cases run on a real 2 MB tmpfs (they need root to mount it, as CI has)."""

import os
import subprocess
import threading
import time

from harness import Skip, alert, iso, now_utc, run_cases, scaled, tocsin_only
from datetime import timedelta

CONFIG = """
route:
  receiver: none
  group_by: [alertname]
receivers:
  - name: none
"""


def tmpfs(ctx, size="2m"):
    if os.geteuid() != 0:
        raise Skip("mounting a tmpfs needs root (CI runs as root)")
    d = os.path.join(ctx.tmp, "disk")
    os.makedirs(d)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", d], check=True)
    ctx.on_close(lambda: subprocess.run(["umount", "-l", d]))
    return d


def fill(path):
    """Fills the file system of path; returns the filler file."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def silence_body(value):
    return {
        "matchers": [{"name": "alertname", "value": value, "isRegex": False, "isEqual": True}],
        "startsAt": iso(now_utc()),
        "endsAt": iso(now_utc() + timedelta(hours=1)),
        "createdBy": "e2e",
        "comment": "full disk",
    }


def post_silence(srv, body):
    return srv.request("POST", "/api/v2/silences", body=body,
                       headers={"Content-Type": "application/json"})


def silence_values(srv):
    r = srv.request("GET", "/api/v2/silences")
    assert r.status == 200, r
    return sorted(s["matchers"][0]["value"] for s in r.json()
                  if s["status"]["state"] != "expired")


def big(i):
    return alert({"alertname": "Disk", "i": str(i)}, {"description": "x" * 2048})


def test_full_disk_alerts(ctx):
    """Alerts posted while the disk is full are answered 500 (never 200) and tocsin keeps
    running; once space returns they are written, and every alert answered 200 survives
    kill -9."""
    tocsin_only("alerts persisting across restarts is a tocsin extension")
    disk = tmpfs(ctx)
    srv = ctx.server(CONFIG, extra_args=["--storage.path=" + disk])
    srv.post_ok([alert({"alertname": "Before"})])
    filler = fill(disk)
    acked, refused = ["Before"], 0
    for i in range(200):
        r = srv.post_alerts([big(i)])
        assert r.status in (200, 500), r
        if r.status == 200:
            acked.append(str(i))
        else:
            refused += 1
            assert "persist" in r.text(), r
    assert refused > 0, "a full disk refused nothing: the test did not fill it"
    # The failed writes are retried with backoff meanwhile; nothing crashes.
    time.sleep(scaled(2))
    assert srv.alive() and srv.healthy(), srv.log_tail()
    assert "Writing state to the database failed" in srv.log()
    os.unlink(filler)
    srv.post_ok([alert({"alertname": "After"})])
    acked.append("After")
    srv.kill()
    srv.start()
    got = srv.get_alerts()
    names = {a["labels"].get("i", a["labels"]["alertname"]) for a in got}
    lost = [a for a in acked if a not in names]
    assert not lost, "answered 200, lost after kill -9: %r" % lost
    # Refused alerts were kept in memory and written once space returned.
    assert len(got) == 202, len(got)


def test_full_disk_silence(ctx):
    """A silence POST or expiry on a full disk answers 500 and changes nothing; a retry after
    space returns gives exactly one silence."""
    tocsin_only("Alertmanager writes silences to disk in periodic snapshots")
    disk = tmpfs(ctx)
    srv = ctx.server(CONFIG, extra_args=["--storage.path=" + disk])
    r = post_silence(srv, silence_body("Kept"))
    assert r.status == 200, r
    kept = r.json()["silenceID"]
    filler = fill(disk)
    r = post_silence(srv, silence_body("New"))
    assert r.status == 500, r
    assert silence_values(srv) == ["Kept"], silence_values(srv)
    # An update of an existing silence (a new matcher value: expire and recreate) is undone.
    upd = silence_body("Changed")
    upd["id"] = kept
    r = post_silence(srv, upd)
    assert r.status == 500, r
    assert silence_values(srv) == ["Kept"], silence_values(srv)
    r = srv.request("DELETE", "/api/v2/silence/" + kept)
    assert r.status == 500, r
    assert silence_values(srv) == ["Kept"], silence_values(srv)
    os.unlink(filler)
    time.sleep(scaled(1.5))  # the store's retry runs; nothing undone may come back
    assert silence_values(srv) == ["Kept"], silence_values(srv)
    r = post_silence(srv, silence_body("New"))
    assert r.status == 200, r
    srv.kill()
    srv.start()
    assert silence_values(srv) == ["Kept", "New"], silence_values(srv)


def test_kill9_after_200(ctx):
    """Clients post alerts as fast as they can; tocsin is killed with kill -9 in the middle.
    Every alert answered 200 is there after the restart (five rounds)."""
    tocsin_only("alerts persisting across restarts is a tocsin extension")
    srv = ctx.server(CONFIG)
    acked = set()
    lock = threading.Lock()
    for rnd in range(5):
        stop = threading.Event()

        def client(k):
            n = 0
            while not stop.is_set():
                key = "%d-%d-%d" % (rnd, k, n)
                n += 1
                try:
                    r = srv.post_alerts([alert({"alertname": "K", "i": key})], timeout=5)
                except OSError:
                    return
                if r.status == 200:
                    with lock:
                        acked.add(key)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3 + 0.2 * rnd)
        srv.kill()
        stop.set()
        for t in threads:
            t.join()
        srv.start()
        names = {a["labels"]["i"] for a in srv.get_alerts()}
        lost = sorted(acked - names)
        assert not lost, "round %d: %d of %d acknowledged alerts lost, e.g. %r" % (
            rnd, len(lost), len(acked), lost[:5])
    assert len(acked) > 100, "too few alerts were posted to mean anything: %d" % len(acked)


if __name__ == "__main__":
    run_cases([test_full_disk_alerts, test_full_disk_silence, test_kill9_after_200])
