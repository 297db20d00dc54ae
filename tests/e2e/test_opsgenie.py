#!/usr/bin/env python3
"""Opsgenie receiver end to end: the create request of a firing group under the alias derived
from the group key, the close of a resolved one, update_alerts' message and description steps
(and a retry from the create when a step fails halfway), the key kept out of logs and the
shown config, and the retry rules (5xx and 429 with Retry-After retried, 4xx not, a timeout
retried)."""

import hashlib
import os

from harness import IS_AM, alert, assert_no_request, dur, resolved, run_cases, wait_for

LATE = 1.5
KEY = "og-secret-key-0123"


def alias(name):
    return hashlib.sha256(('{}:{alertname="%s"}' % name).encode()).hexdigest()


def config(sink, extra="", group_interval=2):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    opsgenie_configs:
      - api_key: %s
        api_url: %s
        message: '{{ .Status }}: {{ .GroupLabels.alertname }} x{{ len .Alerts.Firing }}'
        description: 'about {{ .GroupLabels.alertname }}'
        source: tocsin
        tags: 'disk, {{ .CommonLabels.team }}'
        priority: P2
        details:
          runbook: 'http://runbook/{{ .GroupLabels.alertname }}'
        responders:
          - name: '{{ .CommonLabels.team }}'
            type: team
          - username: fred
            type: user
%s""" % (dur(0.5), dur(group_interval), KEY, sink.url("/og"), extra)


def failed(srv, reason):
    """Failed notifications through Opsgenie with this reason (Debian's 0.25 has no reason
    label: any reason there)."""
    labels = {} if IS_AM else {"reason": reason}
    return srv.metric("alertmanager_notifications_failed_total", integration="opsgenie",
                      **labels) or 0


def create_path():
    return "/og/v2/alerts"


def step_path(name, what):
    return "/og/v2/alerts/%s/%s?identifierType=alias" % (alias(name), what)


def test_create_then_close(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a", "team": "ops"}),
                 alert({"alertname": "Disk", "instance": "b", "team": "ops"})])
    r = sink.wait(create_path(), 1, timeout=0.5 + LATE)[0]
    assert r["method"] == "POST"
    assert r["headers"]["authorization"] == "GenieKey " + KEY
    assert r["headers"]["content-type"] == "application/json"
    assert r["json"] == {
        "alias": alias("Disk"),
        "message": "firing: Disk x2",
        "description": "about Disk",
        "details": {"alertname": "Disk", "runbook": "http://runbook/Disk", "team": "ops"},
        "source": "tocsin",
        "responders": [{"name": "ops", "type": "team"}, {"username": "fred", "type": "user"}],
        "tags": ["disk", " ops"],
        "priority": "P2",
    }, r["json"]
    # Go's encoder: members in struct order, the details map sorted.
    assert r["body"].startswith(b'{"alias":"%s","message":' % alias("Disk").encode())
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a", "team": "ops"}),
                 resolved({"alertname": "Disk", "instance": "b", "team": "ops"})])
    c = sink.wait(step_path("Disk", "close"), 1, timeout=2 + LATE)[0]
    assert c["method"] == "POST"
    assert c["headers"]["authorization"] == "GenieKey " + KEY
    assert c["body"] == b'{"source":"tocsin"}\n', c["body"]
    assert len(sink.requests(create_path())) == 1
    assert KEY not in srv.log()
    status = srv.request("GET", "/api/v2/status").json()
    shown = status["config"]["original"]
    assert KEY not in shown and "<secret>" in shown, shown


def test_update_alerts(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, "        update_alerts: true\n"))
    srv.post_ok([alert({"alertname": "Upd", "team": "db"})])
    sink.wait(step_path("Upd", "description"), 1, timeout=0.5 + LATE)
    reqs = sink.requests()
    assert [(r["method"], r["path"]) for r in reqs] == [
        ("POST", create_path()),
        ("PUT", step_path("Upd", "message")),
        ("PUT", step_path("Upd", "description")),
    ], [(r["method"], r["path"]) for r in reqs]
    assert reqs[1]["body"] == b'{"message":"firing: Upd x1"}\n'
    assert reqs[2]["body"] == b'{"description":"about Upd"}\n'
    assert all(r["headers"]["authorization"] == "GenieKey " + KEY for r in reqs)
    # A resolved group only closes.
    srv.post_ok([resolved({"alertname": "Upd", "team": "db"})])
    sink.wait(step_path("Upd", "close"), 1, timeout=2 + LATE)
    assert len(sink.requests()) == 4


def test_update_step_fails_halfway(ctx):
    sink = ctx.sink()
    sink.respond(step_path("Half", "message"), [503])
    srv = ctx.server(config(sink, "        update_alerts: true\n", group_interval=30))
    srv.post_ok([alert({"alertname": "Half", "team": "db"})])
    sink.wait(step_path("Half", "description"), 1, timeout=0.5 + 5)
    reqs = sink.requests()
    # The failed update retries the whole send, from the create, as Alertmanager does.
    assert [(r["path"], r["status"]) for r in reqs] == [
        (create_path(), 200),
        (step_path("Half", "message"), 503),
        (create_path(), 200),
        (step_path("Half", "message"), 200),
        (step_path("Half", "description"), 200),
    ], [(r["path"], r["status"]) for r in reqs]
    assert reqs[0]["body"] == reqs[2]["body"]
    wait_for(lambda: (srv.metric("alertmanager_notifications_total",
                                 integration="opsgenie") or 0) >= 1, 3, what="one notification")
    assert failed(srv, "serverError") == 0  # the notification went through
    # A 4xx on the last step fails the send for good.
    sink.respond(step_path("Half4", "description"), [400])
    srv.post_ok([alert({"alertname": "Half4", "team": "db"})])
    sink.wait(step_path("Half4", "description"), 1, timeout=0.5 + LATE)
    wait_for(lambda: failed(srv, "clientError") >= 1, 3, what="clientError failure")
    creates = [r for r in sink.requests(create_path()) if r["json"]["alias"] == alias("Half4")]
    assert len(creates) == 1, len(creates)


def test_4xx_not_retried(ctx):
    sink = ctx.sink()
    sink.respond(create_path(), [422])
    srv = ctx.server(config(sink, group_interval=30))
    srv.post_ok([alert({"alertname": "Bad", "team": "ops"})])
    sink.wait(create_path(), 1, timeout=0.5 + LATE)
    assert_no_request(sink, step_path("Bad", "close"), 0.1, "close")
    wait_for(lambda: failed(srv, "clientError") >= 1, 3, what="clientError failure")
    assert len(sink.requests(create_path())) == 1
    sink2 = ctx.sink()
    sink2.respond(create_path(), [401])
    srv2 = ctx.server(config(sink2, group_interval=30))
    srv2.post_ok([alert({"alertname": "Auth", "team": "ops"})])
    sink2.wait(create_path(), 1, timeout=0.5 + LATE)
    wait_for(lambda: failed(srv2, "authError") >= 1, 3, what="authError failure")
    assert len(sink2.requests(create_path())) == 1
    assert KEY not in srv.log() and KEY not in srv2.log()


def test_5xx_and_429_retried(ctx):
    sink = ctx.sink()
    sink.respond(create_path(), [502, (429, {"Retry-After": "1"})])
    srv = ctx.server(config(sink, group_interval=30))
    srv.post_ok([alert({"alertname": "Retry", "team": "ops"})])
    reqs = sink.wait(create_path(), 3, timeout=0.5 + 8)
    assert [r["status"] for r in reqs] == [502, 429, 200]
    assert IS_AM or reqs[2]["time"] - reqs[1]["time"] >= 0.9  # 0.25 ignores Retry-After
    assert reqs[0]["json"] == reqs[2]["json"]
    wait_for(lambda: (srv.metric("alertmanager_notification_requests_failed_total",
                                 integration="opsgenie") or 0) >= 2, 3, what="failed requests")


def test_timeout_retried(ctx):
    # A send has until the flush deadline: the group interval, at least 10 s (Alertmanager's
    # minimum); Opsgenie has no timeout option of its own.
    sink = ctx.sink()
    sink.delay(create_path(), 10.5)
    srv = ctx.server(config(sink, group_interval=1))
    srv.post_ok([alert({"alertname": "Slow", "team": "ops"})])
    first = sink.wait(create_path(), 1, timeout=0.5 + LATE)[0]
    sink.delay(create_path(), 0)
    # The first send gives up at the deadline; the next flush sends again and goes through.
    reqs = sink.wait(create_path(), 2, timeout=10 + 1 + 3)
    # 10 s from the flush; the first request may arrive a moment late on a busy machine.
    assert reqs[1]["time"] - first["time"] >= 9.0, reqs[1]["time"] - first["time"]
    assert reqs[1]["json"] == first["json"]
    wait_for(lambda: (srv.metric("alertmanager_notifications_failed_total",
                                 integration="opsgenie") or 0) >= 1, 3, what="a timed out send")
    wait_for(lambda: (srv.metric("alertmanager_notifications_total",
                                 integration="opsgenie") or 0) >= 2, 3, what="the later send")


def test_key_file_and_globals(ctx):
    sink = ctx.sink()
    path = os.path.join(ctx.tmp, "og.key")
    with open(path, "w") as f:
        # Trimmed, as current Alertmanager trims it (Debian's 0.25 sends the newline).
        f.write("file-key-1" if IS_AM else "file-key-1\n")
    cfg = """
global:
  opsgenie_api_url: %s
  opsgenie_api_key_file: %s
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    opsgenie_configs:
      - {}
""" % (sink.url("/g"), path, dur(0.5), dur(2))
    srv = ctx.server(cfg)
    srv.post_ok([alert({"alertname": "Glob"})])
    r = sink.wait("/g/v2/alerts", 1, timeout=0.5 + LATE)[0]
    assert r["headers"]["authorization"] == "GenieKey file-key-1"
    p = r["json"]
    assert p["message"].startswith("[FIRING:1] Glob"), p["message"]
    assert p["source"].endswith("/#/alerts?receiver=team"), p["source"]
    assert p["details"] == {"alertname": "Glob"}
    # The file is read again for every send.
    with open(path, "w") as f:
        f.write("file-key-2" if IS_AM else "  file-key-2\n")
    srv.post_ok([resolved({"alertname": "Glob"})])
    c = sink.wait("/g/v2/alerts/%s/close?identifierType=alias" % alias("Glob"), 1,
                  timeout=2 + LATE)[0]
    assert c["headers"]["authorization"] == "GenieKey file-key-2"
    assert "file-key" not in srv.log()


if __name__ == "__main__":
    run_cases([test_create_then_close, test_update_alerts, test_update_step_fails_halfway,
               test_4xx_not_retried, test_5xx_and_429_retried, test_timeout_retried,
               test_key_file_and_globals])
