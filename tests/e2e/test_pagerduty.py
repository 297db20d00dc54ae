"""PagerDuty receiver end to end: v2 trigger and resolve events with the dedup key derived from
the group key, v1 events, summary truncation, and the retry rules (5xx and 429 retried for v2,
403 for v1, 400 not)."""

import hashlib

from harness import alert, assert_no_request, dur, resolved, run_cases, wait_for

LATE = 1.5


def config(sink, conf, group_interval=2):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    pagerduty_configs:
%s""" % (dur(0.5), dur(group_interval), conf)


def v2(sink, extra=""):
    return """      - routing_key: rk-secret
        url: %s
        client: tocsin
        client_url: http://am.example
        description: '{{ .Status }}: {{ .GroupLabels.alertname }} x{{ len .Alerts.Firing }}'
        severity: '{{ .CommonLabels.severity }}'
        component: disk
        details:
          team: storage
          count: '{{ len .Alerts }}'
%s""" % (sink.url("/v2/enqueue"), extra)


def dedup(name):
    return hashlib.sha256(('{}:{alertname="%s"}' % name).encode()).hexdigest()


def test_trigger_then_resolve(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, v2(sink)))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a", "severity": "critical"}),
                 alert({"alertname": "Disk", "instance": "b", "severity": "critical"})])
    r = sink.wait("/v2/enqueue", 1, timeout=0.5 + LATE)[0]
    p = r["json"]
    assert r["headers"]["content-type"] == "application/json"
    assert p["routing_key"] == "rk-secret"
    assert p["dedup_key"] == dedup("Disk"), p["dedup_key"]
    assert p["event_action"] == "trigger"
    assert p["client"] == "tocsin" and p["client_url"] == "http://am.example"
    pl = p["payload"]
    assert pl["summary"] == "firing: Disk x2", pl
    assert pl["source"] == "tocsin"  # defaults to client
    assert pl["severity"] == "critical"
    assert pl["component"] == "disk"
    assert "class" not in pl and "group" not in pl and "timestamp" not in pl
    cd = pl["custom_details"]
    assert cd["team"] == "storage"
    assert cd["count"] == 2  # rendered numbers are sent as numbers
    assert cd["num_firing"] == 2 and cd["num_resolved"] == 0
    assert len(cd["firing"]) == 2
    assert cd["resolved"] == [], cd["resolved"]
    assert "images" not in p and "links" not in p and "service_key" not in p
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a", "severity": "critical"}),
                 resolved({"alertname": "Disk", "instance": "b", "severity": "critical"})])
    r2 = sink.wait("/v2/enqueue", 2, timeout=2 + LATE)[1]["json"]
    assert r2["event_action"] == "resolve"
    assert r2["dedup_key"] == p["dedup_key"]
    assert r2["payload"]["summary"] == "resolved: Disk x0"


def test_v1_event(ctx):
    sink = ctx.sink()
    conf = """      - service_key: sk-secret
        url: %s
        client: tocsin
        description: 'v1 {{ .GroupLabels.alertname }}'
        details:
          a: b
""" % sink.url("/v1")
    srv = ctx.server(config(sink, conf))
    srv.post_ok([alert({"alertname": "Old"})])
    p = sink.wait("/v1", 1, timeout=0.5 + LATE)[0]["json"]
    assert p["service_key"] == "sk-secret"
    assert p["incident_key"] == dedup("Old")
    assert p["event_type"] == "trigger"
    assert p["description"] == "v1 Old"
    assert p["event_action"] == "" and p["payload"] is None
    assert p["client"] == "tocsin"
    assert p["details"]["a"] == "b"


def test_summary_truncated(ctx):
    sink = ctx.sink()
    conf = v2(sink).replace(
        "description: '{{ .Status }}: {{ .GroupLabels.alertname }} x{{ len .Alerts.Firing }}'",
        "description: '%s'" % ("s" * 1500))
    srv = ctx.server(config(sink, conf))
    srv.post_ok([alert({"alertname": "Long"})])
    s = sink.wait("/v2/enqueue", 1, timeout=0.5 + LATE)[0]["json"]["payload"]["summary"]
    assert s == "s" * 1023 + "\u2026"


def test_5xx_and_429_retried(ctx):
    sink = ctx.sink()
    sink.respond("/v2/enqueue", [502, (429, {"Retry-After": "1"})])
    srv = ctx.server(config(sink, v2(sink), group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = sink.wait("/v2/enqueue", 3, timeout=0.5 + 8)
    assert [r["status"] for r in reqs] == [502, 429, 200]
    assert reqs[2]["time"] - reqs[1]["time"] >= 0.9
    assert reqs[0]["json"]["dedup_key"] == reqs[2]["json"]["dedup_key"]


def test_400_not_retried_and_v1_403_retried(ctx):
    sink = ctx.sink()
    sink.respond("/v2/enqueue", [400])
    sink.respond("/v1", [403])
    conf = v2(sink) + """      - service_key: sk
        url: %s
""" % sink.url("/v1")
    srv = ctx.server(config(sink, conf, group_interval=30))
    srv.post_ok([alert({"alertname": "Bad"})])
    sink.wait("/v1", 2, timeout=0.5 + 4)
    assert_no_request(sink, "/v2/enqueue", 2.0, "retry of a 400")
    assert len(sink.requests("/v2/enqueue")) == 1
    wait_for(lambda: (srv.metric("alertmanager_notifications_failed_total",
                                 integration="pagerduty", reason="clientError") or 0) >= 1,
             3, what="clientError failure")
    assert "rk-secret" not in srv.log()


if __name__ == "__main__":
    run_cases([test_trigger_then_resolve, test_v1_event, test_summary_truncated,
               test_5xx_and_429_retried, test_400_not_retried_and_v1_403_retried])
