#!/usr/bin/env python3
"""Alertmanager's acceptance scenarios from test/with_api_v2/acceptance/utf8_test.go: UTF-8
label names in alerts, filters, silences and routes, and their refusal in classic mode."""

import time
import urllib.parse

import harness
from harness import iso, run_cases
from upstream import AcceptanceTest, Alert

CONF = """
route:
  receiver: "default"
  group_by: []
  group_wait:      1s
  group_interval:  %s
  repeat_interval: %s
receivers:
- name: "default"
  webhook_configs:
  - url: 'http://%s'
"""

SMILE = "\U0001F642"
LABELS = {"a": "a", "00": "b", "Σ": "c", SMILE: "dΘ"}
# The last matcher quotes the name with Go escapes for its UTF-8 bytes.
FILTER = ["00=b", "Σ=c", '"\\xf0\\x9f\\x99\\x82"=dΘ']


def _server(ctx, flags=(), group_interval="10m", repeat_interval="1h", tolerance=1.0):
    if harness.IS_AM:
        raise harness.Skip("UTF-8 label names are newer than Alertmanager 0.25")
    at = AcceptanceTest(ctx, tolerance=tolerance, feature_flags=flags)
    co = at.collector("webhook")
    wh = at.webhook(co)
    at.alertmanager(CONF % (group_interval, repeat_interval, wh.address))
    return at.start()


def _query(filters):
    return "?" + "&".join("filter=" + urllib.parse.quote(f, safe="") for f in filters)


def _get(srv, path):
    r = srv.request("GET", path)
    assert r.status == 200, r
    return r.json()


def _silence(name, value):
    now = time.time()
    return {"comment": "test", "createdBy": "test", "startsAt": iso(now),
            "endsAt": iso(now + 24 * 3600),
            "matchers": [{"name": name, "isEqual": True, "isRegex": False, "value": value}]}


def test_add_utf8_alerts(ctx):
    srv = _server(ctx)
    now = time.time()
    r = srv.request("POST", "/api/v2/alerts", [{"startsAt": iso(now), "endsAt": iso(now + 300),
                                                "labels": LABELS}])
    assert r.status == 200, r
    for path in ("/api/v2/alerts", "/api/v2/alerts" + _query(FILTER)):
        got = _get(srv, path)
        assert len(got) == 1 and got[0]["labels"] == LABELS, (path, got)
    for path in ("/api/v2/alerts/groups", "/api/v2/alerts/groups" + _query(FILTER)):
        got = _get(srv, path)
        assert len(got) == 1 and len(got[0]["alerts"]) == 1, (path, got)
        assert got[0]["alerts"][0]["labels"] == LABELS, (path, got)


def test_cannot_add_utf8_alerts_in_classic_mode(ctx):
    srv = _server(ctx, flags=["classic-mode"])
    now = time.time()
    r = srv.request("POST", "/api/v2/alerts", [{"startsAt": iso(now), "endsAt": iso(now + 300),
                                                "labels": LABELS}])
    assert r.status == 400, r
    assert "invalid label set" in r.text(), r


def test_add_utf8_silences(ctx):
    srv = _server(ctx, group_interval="1s", repeat_interval="1ms", tolerance=0.15)
    sil = _silence("fooΣ", "bar" + SMILE)
    r = srv.request("POST", "/api/v2/silences", sil)
    assert r.status == 200, r
    for path in ("/api/v2/silences", "/api/v2/silences" + _query(["fooΣ=bar" + SMILE])):
        got = _get(srv, path)
        assert len(got) == 1 and got[0]["matchers"] == sil["matchers"], (path, got)


def test_cannot_add_utf8_silences_in_classic_mode(ctx):
    srv = _server(ctx, flags=["classic-mode"], group_interval="1s", repeat_interval="1ms",
                  tolerance=0.15)
    r = srv.request("POST", "/api/v2/silences", _silence("fooΣ", "bar" + SMILE))
    assert r.status == 400, r
    assert "invalid silence: invalid label matcher" in r.text(), r


def test_send_alerts_to_utf8_route(ctx):
    if harness.IS_AM:
        raise harness.Skip("UTF-8 label names are newer than Alertmanager 0.25")
    at = AcceptanceTest(ctx, tolerance=0.15)
    co = at.collector("webhook")
    wh = at.webhook(co)
    at.alertmanager("""
route:
  receiver: default
  routes:
    - receiver: webhook
      matchers:
        - foo%s=bar
      group_by:
        - foo%s
      group_wait: 1s
receivers:
- name: default
- name: webhook
  webhook_configs:
  - url: 'http://%s'
""" % (SMILE, SMILE, wh.address))
    at.push(1, Alert("foo" + SMILE, "bar").active(1))
    co.want((2, 2.5), Alert("foo" + SMILE, "bar").active(1))
    at.run()


if __name__ == "__main__":
    run_cases([test_add_utf8_alerts, test_cannot_add_utf8_alerts_in_classic_mode,
               test_add_utf8_silences, test_cannot_add_utf8_silences_in_classic_mode,
               test_send_alerts_to_utf8_route])
