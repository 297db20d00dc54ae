"""Inhibition end to end: a firing source mutes matching targets with equal labels; resolving
the source lets the target page at the next group interval."""

import time

from harness import IS_AM, alert, alert_names, assert_no_request, dur, resolved, run_cases, scaled

LATE = 1.5


def config(sink):
    return """
route:
  receiver: hook
  group_by: [alertname, cluster]
  group_wait: %s
  group_interval: %s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [cluster]
""" % (dur(1), dur(2), sink.url("/hook"))


CRIT = {"alertname": "ClusterDown", "severity": "critical", "cluster": "a"}
WARN_A = {"alertname": "Slow", "severity": "warning", "cluster": "a"}
WARN_B = {"alertname": "Slow", "severity": "warning", "cluster": "b"}


def paged(sink):
    out = []
    for r in sink.requests("/hook"):
        p = r["json"]
        for a in p["alerts"]:
            out.append((a["labels"]["alertname"], a["labels"].get("cluster"), a["status"]))
    return out


def test_critical_inhibits_warning_same_cluster(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert(CRIT)])
    time.sleep(scaled(0.2))
    srv.post_ok([alert(WARN_A), alert(WARN_B)])
    sink.wait("/hook", 2, timeout=1 + LATE + 2)
    assert_no_request(sink, "/hook", 2.5, "page for the inhibited warning")
    got = sorted(paged(sink))
    assert got == [("ClusterDown", "a", "firing"), ("Slow", "b", "firing")], got

    # The API shows the warning in cluster a as suppressed by the critical alert.
    alerts = srv.get_alerts()
    by = {(a["labels"]["alertname"], a["labels"]["cluster"]): a for a in alerts}
    crit_fp = by[("ClusterDown", "a")]["fingerprint"]
    st = by[("Slow", "a")]["status"]
    assert st["state"] == "suppressed", st
    assert st["inhibitedBy"] == [crit_fp], st
    assert by[("Slow", "b")]["status"]["state"] == "active", by[("Slow", "b")]
    if not IS_AM:  # current Alertmanager has it; the 0.25 used for side-by-side runs not yet
        assert srv.metric("alertmanager_notifications_suppressed_total",
                          reason="inhibition") >= 1

    # Resolve the source: the warning pages at its group's next interval.
    n = len(sink.requests("/hook"))
    srv.post_ok([resolved(CRIT)])
    sink.wait("/hook", n + 2, timeout=2 + LATE + 2)
    got = paged(sink)
    assert ("Slow", "a", "firing") in got, got
    assert ("ClusterDown", "a", "resolved") in got, got


def test_source_matching_both_sides_does_not_inhibit_itself(ctx):
    sink = ctx.sink()
    cfg = config(sink).replace('target_matchers: [severity="warning"]',
                               'target_matchers: [severity=~"warning|critical"]')
    srv = ctx.server(cfg)
    srv.post_ok([alert(CRIT)])
    reqs = sink.wait("/hook", 1, timeout=1 + LATE + 1)
    assert alert_names(reqs[0]["json"]) == ["ClusterDown"], reqs[0]["json"]


if __name__ == "__main__":
    run_cases([
        test_critical_inhibits_warning_same_cluster,
        test_source_matching_both_sides_does_not_inhibit_itself,
    ])
