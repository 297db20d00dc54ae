"""Aggregation groups: group_by, group_wait, group_interval, the webhook payload, max_alerts."""

import re
import time
from datetime import timedelta

from harness import (alert, alert_names, assert_no_request, dur, now_utc, parse_time,
                     run_cases, scaled)

EARLY = 0.3  # a notification may come this much before its due time (scaled)
LATE = 1.0   # ... and this much after


def config(sink, group_wait=1, group_interval=2, repeat_interval=600, group_by="[alertname]",
           webhook_extra="", routes=""):
    return """
global:
  resolve_timeout: 5m
route:
  receiver: hook
  group_by: %s
  group_wait: %s
  group_interval: %s
  repeat_interval: %s
%s
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
%s
""" % (group_by, dur(group_wait), dur(group_interval), dur(repeat_interval), routes,
       sink.url("/hook"), webhook_extra)


def test_one_notification_per_group(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([
        alert({"alertname": "A", "team": "x", "instance": "1"}),
        alert({"alertname": "A", "team": "x", "instance": "2"}),
        alert({"alertname": "A", "team": "y", "instance": "1"}),
        alert({"alertname": "B", "team": "x", "instance": "1"}),
    ])
    reqs = sink.wait("/hook", 2, timeout=1 + LATE + 2)
    assert_no_request(sink, "/hook", 1.0, "third notification")
    by_group = {r["json"]["groupLabels"]["alertname"]: r["json"] for r in reqs}
    assert sorted(by_group) == ["A", "B"], by_group.keys()
    a, b = by_group["A"], by_group["B"]
    assert len(a["alerts"]) == 3, a
    assert a["groupLabels"] == {"alertname": "A"}, a["groupLabels"]
    assert a["commonLabels"] == {"alertname": "A"}, a["commonLabels"]
    assert len(b["alerts"]) == 1, b
    assert b["commonLabels"] == {"alertname": "B", "team": "x", "instance": "1"}, b
    # Every group gets a distinct key.
    assert a["groupKey"] != b["groupKey"]


def test_group_by_several_labels(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_by="[alertname, team]"))
    srv.post_ok([
        alert({"alertname": "A", "team": "x", "i": "1"}),
        alert({"alertname": "A", "team": "x", "i": "2"}),
        alert({"alertname": "A", "team": "y", "i": "1"}),
        alert({"alertname": "A", "i": "3"}),  # no team: grouped under an empty team
    ])
    reqs = sink.wait("/hook", 3, timeout=1 + LATE + 2)
    assert_no_request(sink, "/hook", 1.0, "fourth notification")
    groups = sorted((r["json"]["groupLabels"].get("team", ""), len(r["json"]["alerts"]))
                    for r in reqs)
    assert groups == [("", 1), ("x", 2), ("y", 1)], groups
    for r in reqs:
        p = r["json"]
        if "team" not in p["groupLabels"]:
            # A label absent from the alert is absent from groupLabels too.
            assert p["groupLabels"] == {"alertname": "A"}, p


def test_group_wait_respected(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=2, group_interval=2))
    t0 = time.monotonic()
    srv.post_ok([alert({"alertname": "Wait"})])
    # Nothing before group_wait ...
    time.sleep(max(0.0, t0 + scaled(2 - EARLY) - time.monotonic()))
    assert sink.requests("/hook") == [], "notification before group_wait"
    # ... and the notification shortly after.
    reqs = sink.wait("/hook", 1, timeout=EARLY + LATE)
    dt = reqs[0]["time"] - t0
    assert scaled(2 - EARLY) <= dt <= scaled(2 + LATE), "arrived after %.2fs" % dt


def test_old_alert_flushes_immediately(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=20, group_interval=30))
    t0 = time.monotonic()
    srv.post_ok([alert({"alertname": "Old"}, starts_at=now_utc() - timedelta(hours=1))])
    reqs = sink.wait("/hook", 1, timeout=LATE + 1)
    dt = reqs[0]["time"] - t0
    assert dt <= scaled(LATE + 1), "arrived after %.2fs" % dt


def test_alert_joining_group_waits_for_group_interval(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=1, group_interval=3))
    srv.post_ok([alert({"alertname": "Join", "i": "a"})])
    first = sink.wait("/hook", 1, timeout=1 + LATE)[0]
    assert alert_names(first["json"], "i") == ["a"]
    srv.post_ok([alert({"alertname": "Join", "i": "b"})])
    # Not at once: the group already flushed, so "b" waits for the next group_interval tick.
    time.sleep(max(0.0, first["time"] + scaled(3 - EARLY) - time.monotonic()))
    assert len(sink.requests("/hook")) == 1, "second notification before group_interval"
    second = sink.wait("/hook", 2, timeout=EARLY + LATE)[1]
    dt = second["time"] - first["time"]
    assert scaled(3 - EARLY) <= dt <= scaled(3 + LATE), "second after %.2fs" % dt
    assert alert_names(second["json"], "i") == ["a", "b"], second["json"]
    assert second["json"]["groupKey"] == first["json"]["groupKey"]


def test_payload_shape(ctx):
    sink = ctx.sink()
    routes = """  routes:
    - receiver: hook
      matchers: ['team="a"']
"""
    ext = "http://tocsin.example.test:9093"
    srv = ctx.server(config(sink, routes=routes), extra_args=["--web.external-url=" + ext])
    starts = now_utc() - timedelta(seconds=1)
    srv.post_ok([
        alert({"alertname": "Shape", "severity": "page", "x": "1"},
              annotations={"summary": "same", "desc": "one"}, starts_at=starts,
              generator_url="http://prom.example.test/graph?g0.expr=up"),
        alert({"alertname": "Shape", "severity": "page", "x": "2"},
              annotations={"summary": "same", "desc": "two"}, starts_at=starts),
        alert({"alertname": "Shape", "team": "a"}, starts_at=starts),
    ])
    reqs = sink.wait("/hook", 2, timeout=1 + LATE + 1)
    root = [r for r in reqs if len(r["json"]["alerts"]) == 2]
    child = [r for r in reqs if len(r["json"]["alerts"]) == 1]
    assert len(root) == 1 and len(child) == 1, [r["json"] for r in reqs]
    r = root[0]
    assert r["headers"].get("content-type", "").startswith("application/json"), r["headers"]
    p = r["json"]
    assert set(p) >= {"receiver", "status", "alerts", "groupLabels", "commonLabels",
                      "commonAnnotations", "externalURL", "version", "groupKey",
                      "truncatedAlerts"}, sorted(p)
    assert p["version"] == "4"
    assert p["receiver"] == "hook"
    assert p["status"] == "firing"
    assert p["groupKey"] == '{}:{alertname="Shape"}', p["groupKey"]
    assert p["groupLabels"] == {"alertname": "Shape"}
    assert p["commonLabels"] == {"alertname": "Shape", "severity": "page"}, p["commonLabels"]
    assert p["commonAnnotations"] == {"summary": "same"}, p["commonAnnotations"]
    assert p["externalURL"] == ext, p["externalURL"]
    assert p["truncatedAlerts"] == 0
    alerts = sorted(p["alerts"], key=lambda a: a["labels"]["x"])
    for a in alerts:
        assert set(a) >= {"status", "labels", "annotations", "startsAt", "endsAt",
                          "generatorURL", "fingerprint"}, sorted(a)
        assert a["status"] == "firing"
        assert re.match(r"^[0-9a-f]{16}$", a["fingerprint"]), a["fingerprint"]
        assert abs((parse_time(a["startsAt"]) - starts).total_seconds()) < 0.01, a["startsAt"]
        # A firing alert does not expose its (timeout) end.
        assert a["endsAt"] == "0001-01-01T00:00:00Z", a["endsAt"]
    assert alerts[0]["generatorURL"] == "http://prom.example.test/graph?g0.expr=up"
    assert alerts[1]["generatorURL"] == ""
    assert alerts[0]["annotations"] == {"summary": "same", "desc": "one"}
    assert alerts[0]["fingerprint"] != alerts[1]["fingerprint"]
    c = child[0]["json"]
    assert c["groupKey"] == '{}/{team="a"}:{alertname="Shape"}', c["groupKey"]


def test_fingerprint_matches_api(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "Fp", "job": "node", "instance": "h:9100"})])
    p = sink.wait("/hook", 1, timeout=1 + LATE)[0]["json"]
    api = srv.get_alerts()
    assert len(api) == 1, api
    assert api[0]["fingerprint"] == p["alerts"][0]["fingerprint"], (api, p)


def test_max_alerts_truncation(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, webhook_extra="        max_alerts: 2\n"))
    srv.post_ok([alert({"alertname": "Many", "i": str(i)}) for i in range(5)])
    p = sink.wait("/hook", 1, timeout=1 + LATE)[0]["json"]
    assert len(p["alerts"]) == 2, p
    assert p["truncatedAlerts"] == 3, p
    # Truncation changes the alerts sent, not the group's common labels.
    assert p["commonLabels"] == {"alertname": "Many"}, p["commonLabels"]


def test_route_labels(ctx):
    """A route's labels are rendered per group: shown in /api/v2/alerts/groups and sent as the
    webhook's routeLabels; a child's key overrides its parent's, and a label whose template
    fails is logged and left out."""
    sink = ctx.sink()
    routes = """  labels:
    team: ops
    summary: '{{ .GroupLabels.alertname }} for {{ routeLabels "team" }} ({{ len .Alerts }})'
    broken: '{{ .GroupLabels'
  routes:
    - receiver: hook
      matchers: ['service="db"']
      labels:
        team: dba
"""
    srv = ctx.server(config(sink, routes=routes))
    srv.post_ok([
        alert({"alertname": "Disk", "instance": "1"}),
        alert({"alertname": "Disk", "instance": "2"}),
        alert({"alertname": "Disk", "service": "db"}),
    ])
    r = srv.request("GET", "/api/v2/alerts/groups")
    assert r.status == 200, r
    groups = r.json()
    got = sorted((len(g["alerts"]), g["routeLabels"]) for g in groups)
    assert got == [(1, {"team": "dba", "summary": "Disk for dba (1)"}),
                   (2, {"team": "ops", "summary": "Disk for ops (2)"})], groups
    reqs = sink.wait("/hook", 2, timeout=1 + LATE + 1)
    sent = sorted((len(q["json"]["alerts"]), q["json"]["routeLabels"]) for q in reqs)
    assert sent == got, sent
    assert 'msg="failed to render route label"' in srv.log(), srv.log_tail()
    assert "label=broken" in srv.log(), srv.log_tail()


if __name__ == "__main__":
    run_cases([
        test_one_notification_per_group,
        test_group_by_several_labels,
        test_group_wait_respected,
        test_old_alert_flushes_immediately,
        test_alert_joining_group_waits_for_group_interval,
        test_payload_shape,
        test_fingerprint_matches_api,
        test_max_alerts_truncation,
        test_route_labels,
    ])
