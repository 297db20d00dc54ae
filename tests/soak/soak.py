"""Soak: mixed load with misbehaving receivers for N minutes, sampling the server's RSS, open
file descriptors and notification counters over time. Not part of the default test run.

    python3 tests/soak/soak.py --bin build-release/tocsin --minutes 10

Load: a stream of alert batches over a rotating set of label sets (new ones fire, old ones
resolve), API queries, silences created and expired, a config reload every minute. Receivers:
one healthy, one failing every other request with a 500, one slow (2 s), one down. Every
--sample seconds it prints one line; at the end it compares the last third of the run with the
middle third and fails (exit 1) if RSS or fds kept growing beyond --tolerance.
"""

import argparse
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
import harness  # noqa: E402
from harness import Ctx, alert, iso, resolved  # noqa: E402

CONFIG = """
route:
  receiver: good
  group_by: [alertname, shard]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1m
  routes:
    - matchers: [team="flaky"]
      receiver: flaky
    - matchers: [team="slow"]
      receiver: slow
    - matchers: [team="down"]
      receiver: down
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [shard]
receivers:
  - name: good
    webhook_configs: [{url: "%(good)s", send_resolved: true}]
  - name: flaky
    webhook_configs: [{url: "%(flaky)s", send_resolved: true}]
  - name: slow
    webhook_configs: [{url: "%(slow)s", timeout: 10s}]
  - name: down
    webhook_configs: [{url: "%(down)s"}]
"""


def proc_stats(pid):
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir("/proc/%d/fd" % pid))
    return rss, fds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("TOCSIN_BIN", "build-release/tocsin"))
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--sample", type=float, default=10)
    ap.add_argument("--alerts", type=int, default=2000, help="distinct label sets in rotation")
    ap.add_argument("--tolerance", type=float, default=0.10, help="allowed growth, fraction")
    a = ap.parse_args()
    os.environ["TOCSIN_BIN"] = os.path.abspath(a.bin)

    ctx = Ctx("soak")
    try:
        good, flaky, slow = ctx.sink(), ctx.sink(), ctx.sink()
        flaky.respond("/f", [500, 200] * 1000000)
        slow.delay("/s", 2)
        cfg = CONFIG % {"good": good.url("/g"), "flaky": flaky.url("/f"),
                        "slow": slow.url("/s"),
                        "down": "http://127.0.0.1:%d/d" % harness.free_port()}
        srv = ctx.server(cfg)
        pid = srv.proc.pid
        stop = threading.Event()
        errors = []

        def load():
            rnd = random.Random(1)
            teams = ["a", "flaky", "slow", "down"]
            tick = 0
            while not stop.is_set():
                tick += 1
                batch = []
                for _ in range(100):
                    i = rnd.randrange(a.alerts)
                    labels = {"alertname": "Soak%d" % (i % 50), "shard": str(i % 97),
                              "instance": "i%d" % i, "team": teams[i % 4],
                              "severity": "critical" if i % 10 == 0 else "warning"}
                    if rnd.random() < 0.2:
                        batch.append(resolved(labels))
                    else:
                        batch.append(alert(labels, {"summary": "x" * rnd.randrange(200)}))
                r = srv.post_alerts(batch)
                if r.status != 200:
                    errors.append("POST alerts: %d" % r.status)
                srv.request("GET", "/api/v2/alerts?filter=team%3D%22a%22")
                srv.request("GET", "/api/v2/alerts/groups")
                if tick % 20 == 0:
                    now = time.time()
                    body = json.dumps({"matchers": [{"name": "shard", "value": str(tick % 97),
                                                     "isRegex": False, "isEqual": True}],
                                       "startsAt": iso(now), "endsAt": iso(now + 30),
                                       "createdBy": "soak", "comment": "soak"})
                    r = srv.request("POST", "/api/v2/silences", body,
                                    {"Content-Type": "application/json"})
                    if r.status == 200:
                        sid = r.json().get("silenceID")
                        if sid and tick % 40 == 0:
                            srv.request("DELETE", "/api/v2/silence/" + sid)
                if tick % 600 == 0:
                    srv.reload()
                time.sleep(0.1)

        th = threading.Thread(target=load, daemon=True)
        th.start()
        samples = []
        end = time.monotonic() + a.minutes * 60
        print("%8s %10s %6s %10s %10s %8s" % ("t(s)", "rss(KiB)", "fds", "notified",
                                               "failed", "alerts"))
        t0 = time.monotonic()
        while time.monotonic() < end:
            time.sleep(a.sample)
            rss, fds = proc_stats(pid)
            m = srv.metrics()
            sent = harness.metric(m, "alertmanager_notifications_total") or 0
            failed = harness.metric(m, "alertmanager_notifications_failed_total") or 0
            alerts = harness.metric(m, "alertmanager_alerts") or 0
            samples.append((time.monotonic() - t0, rss, fds))
            print("%8.0f %10d %6d %10d %10d %8d" % (samples[-1][0], rss, fds, sent, failed,
                                                    alerts), flush=True)
        stop.set()
        th.join(10)
        n = len(samples)
        ok = True
        if n >= 6:
            mid = samples[n // 3: 2 * n // 3]
            last = samples[2 * n // 3:]
            for col, name in ((1, "rss"), (2, "fds")):
                m = max(s[col] for s in mid)
                l = max(s[col] for s in last)
                growth = (l - m) / m if m else 0
                print("%s: middle third max %d, last third max %d (%+.1f%%)" % (
                    name, m, l, growth * 100))
                if growth > a.tolerance:
                    ok = False
        if errors:
            print("errors: %s" % errors[:5])
            ok = False
        print("soak %s" % ("ok" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        problems = ctx.close()
        for p in problems:
            print(p, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
