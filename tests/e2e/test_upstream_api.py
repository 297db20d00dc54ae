#!/usr/bin/env python3
"""Alertmanager's acceptance scenarios from test/with_api_v2/acceptance/api_test.go and
web_test.go: alert status through silences and inhibition, filters, and a route prefix."""

import time

from harness import iso, run_cases
from upstream import AcceptanceTest

CONF = """
route:
  receiver: "default"
  group_by: []
  group_wait:      1s
  group_interval:  10m
  repeat_interval: 1h
%s
receivers:
- name: "default"
  webhook_configs:
  - url: 'http://%s'
"""

INHIBIT = """
inhibit_rules:
  - source_match:
      severity: 'critical'
    target_match:
      severity: 'warning'
    equal: ['alertname']
"""


def fingerprint(labels):
    """Prometheus' label-set fingerprint: FNV-1a 64 over sorted name, 0xff, value, 0xff."""
    h = 0xcbf29ce484222325
    for name in sorted(labels):
        for part in (name.encode(), b"\xff", labels[name].encode(), b"\xff"):
            for byte in part:
                h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def _server(ctx, inhibit="", flags=()):
    at = AcceptanceTest(ctx, tolerance=1.0, feature_flags=flags)
    co = at.collector("webhook")
    wh = at.webhook(co)
    at.alertmanager(CONF % (inhibit, wh.address))
    return at.start()


def _post(srv, alerts):
    r = srv.request("POST", "/api/v2/alerts", alerts)
    assert r.status == 200, r
    return r


def _get(srv, path):
    r = srv.request("GET", path)
    assert r.status == 200, r
    return r.json()


def test_add_alerts(ctx):
    srv = _server(ctx, flags=["classic-mode"])
    now = time.time()
    _post(srv, [{"startsAt": iso(now), "endsAt": iso(now + 300),
                 "labels": {"a": "b", "b": "Σ", "c": "\U0001F642", "d": "eΘ"}}])


def test_alert_get_returns_current_alert_status(ctx):
    srv = _server(ctx, INHIBIT)
    now = time.time()
    starts, ends = iso(now), iso(now + 300)
    labels = {"alertname": "test1", "severity": "warning"}
    fp = fingerprint(labels)
    _post(srv, [{"startsAt": starts, "endsAt": ends, "labels": labels}])
    for a in _get(srv, "/api/v2/alerts"):
        assert a["status"]["state"] == "active", a

    time.sleep(2)
    r = srv.request("POST", "/api/v2/silences", {
        "startsAt": starts, "endsAt": ends, "comment": "a", "createdBy": "a",
        "matchers": [{"name": "alertname", "value": "test1", "isRegex": False}]})
    assert r.status == 200, r
    sid = r.json()["silenceID"]
    got = _get(srv, "/api/v2/alerts")
    assert got, "no alerts"
    for a in got:
        assert a["status"]["state"] == "suppressed", a
        assert a["fingerprint"] == fp, a
        assert a["status"]["silencedBy"] == [sid], a

    critical = dict(labels, severity="critical")
    inhibiting = fingerprint(critical)
    _post(srv, [{"startsAt": starts, "endsAt": ends, "labels": critical}])
    got = _get(srv, "/api/v2/alerts")
    assert len(got) == 2, got
    for a in got:
        assert a["status"]["silencedBy"] == [sid], a
        if a["fingerprint"] == fp:
            assert a["status"]["state"] == "suppressed", a
            assert a["status"]["inhibitedBy"] == [inhibiting], a

    r = srv.request("DELETE", "/api/v2/silence/" + sid)
    assert r.status == 200, r
    got = _get(srv, "/api/v2/alerts")
    assert len(got) == 2, got
    for a in got:
        assert not a["status"]["silencedBy"], a
        want = "active" if a["fingerprint"] == inhibiting else "suppressed"
        assert a["status"]["state"] == want, a


def test_filter_alert_request(ctx):
    srv = _server(ctx, INHIBIT)
    now = time.time()
    starts, ends = iso(now), iso(now + 300)
    _post(srv, [{"startsAt": starts, "endsAt": ends,
                 "labels": {"alertname": "test1", "severity": "warning"}},
                {"startsAt": starts, "endsAt": ends,
                 "labels": {"system": "foo", "severity": "critical"}}])
    got = _get(srv, "/api/v2/alerts?filter=alertname%3Dtest1&filter=severity%3Dwarning")
    assert len(got) == 1, got
    assert got[0]["status"]["state"] == "active", got


def test_web_with_prefix(ctx):
    at = AcceptanceTest(ctx, route_prefix="/foo")
    at.alertmanager("""
route:
  receiver: "default"
  group_by: []
  group_wait:      1s
  group_interval:  1s
  repeat_interval: 1h

receivers:
- name: "default"
""")
    at.run()
    # Everything is served under the prefix, and nothing outside it.
    assert at.server.request("GET", "/api/v2/status").status == 200
    from harness import http_request
    assert http_request(at.server.port, "GET", "/api/v2/status").status == 404


if __name__ == "__main__":
    run_cases([test_add_alerts, test_alert_get_returns_current_alert_status,
               test_filter_alert_request, test_web_with_prefix])
