"""Storm control (tocsin extension): 10,000 distinct alerts against a route with group_limit and
rate_limit give a fixed number of notifications that still account for every alert, and the
API stays responsive while it happens (latency percentiles are printed)."""

import threading
import time

from harness import (alert, assert_no_request, dur, http_request, run_cases, scaled,
                     tocsin_only)

N_ALERTS = 10000
BATCH = 1000
GROUP_LIMIT = 50
BURST = 5
# Generous: ASan builds are slower and the machine is shared.
P99_LIMIT = 0.5


def config(sink):
    return """
route:
  receiver: hook
  group_by: [instance]
  group_wait: %s
  group_interval: 10m
  repeat_interval: 1h
  group_limit: %d
  rate_limit: {limit: %d, period: %s, burst: %d}
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
        max_alerts: 100
""" % (dur(6), GROUP_LIMIT, BURST, dur(5), BURST, sink.url("/hook"))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def test_storm_bounded_and_responsive(ctx):
    tocsin_only("group_limit and rate_limit are tocsin extensions")
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    lat = []
    stop = threading.Event()

    def probe():
        while not stop.is_set():
            t = time.monotonic()
            try:
                r = http_request(srv.port, "GET", "/api/v2/status", timeout=10)
                if r.status == 200:
                    lat.append(time.monotonic() - t)
            except OSError:
                lat.append(10.0)
            time.sleep(0.02)

    th = threading.Thread(target=probe, daemon=True)
    th.start()
    t_post = time.monotonic()
    post_lat = []
    try:
        for b in range(0, N_ALERTS, BATCH):
            t = time.monotonic()
            srv.post_ok([alert({"alertname": "Storm", "instance": "host-%05d" % i,
                                "job": "node"}) for i in range(b, b + BATCH)])
            post_lat.append(time.monotonic() - t)
        posted = time.monotonic() - t_post
        assert posted < scaled(6), "posting took %.1fs, past group_wait" % posted
        # group_wait, then BURST notifications at once and one summary a token later.
        reqs = sink.wait("/hook", BURST + 1, timeout=6 + 1 + 3)
    finally:
        stop.set()
        th.join()
    assert_no_request(sink, "/hook", 3.0, "more than burst + one summary")
    bodies = [r["json"] for r in sink.requests("/hook")]
    normal = [b for b in bodies if "tocsinSummary" not in b]
    summaries = [b for b in bodies if "tocsinSummary" in b]
    assert len(normal) == BURST and len(summaries) == 1, (len(normal), len(summaries))
    s = summaries[0]["tocsinSummary"]
    # Every alert is accounted for: sent in a notification or counted in the summary.
    sent = sum(len(b["alerts"]) + b["truncatedAlerts"] for b in normal)
    assert sent + s["heldAlerts"] == N_ALERTS, (sent, s["heldAlerts"])
    assert s["heldGroups"] == GROUP_LIMIT + 1 - BURST, s["heldGroups"]
    assert srv.metric("alertmanager_dispatcher_aggregation_groups") == GROUP_LIMIT + 1
    assert lat, "no API probe answered"
    p50, p99, worst = pct(lat, 50), pct(lat, 99), max(lat)
    print("storm: %d alerts posted in %.2fs (POST p50 %.0f ms, max %.0f ms); GET /api/v2/status "
          "during the storm: %d probes, p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d notifications"
          % (N_ALERTS, posted, pct(post_lat, 50) * 1000, max(post_lat) * 1000, len(lat),
             p50 * 1000, p99 * 1000, worst * 1000, len(bodies)), flush=True)
    assert p99 < scaled(P99_LIMIT), "API p99 %.3fs" % p99


if __name__ == "__main__":
    run_cases([test_storm_bounded_and_responsive])
