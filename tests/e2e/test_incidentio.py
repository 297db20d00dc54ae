"""incident.io receiver end to end: the exact request a fake alert source receives (version
"1" message, Bearer token), resolved groups, the URL file read per send, and the retry rules
(5xx and 429 with Retry-After retried, 4xx not, a timeout retried)."""

import json
import os
import time

from harness import alert, assert_no_request, dur, resolved, run_cases, wait_for

LATE = 1.5
PATH = "/v2/alert_events/http/01TEST"


def config(target, extra="", group_interval=2):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    incidentio_configs:
      - %s
        alert_source_token: iio-secret-token
%s""" % (dur(0.5), dur(group_interval), target, extra)


def test_firing_payload(ctx):
    sink = ctx.sink()
    srv = ctx.server(config("url: " + sink.url(PATH)))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a", "severity": "page"},
                       {"summary": "full"}, generator_url="http://prom/graph"),
                 alert({"alertname": "Disk", "instance": "b", "severity": "page"},
                       {"summary": "full"}, generator_url="http://prom/graph")])
    r = sink.wait(PATH, 1, timeout=0.5 + LATE)[0]
    assert r["headers"]["content-type"] == "application/json"
    assert r["headers"]["authorization"] == "Bearer iio-secret-token"
    body = r["body"].decode()
    assert body.endswith("}\n")
    p = r["json"]
    # The webhook message's members, in Go's order, with version "1".
    assert list(p) == ["receiver", "status", "alerts", "notification_reason", "groupLabels",
                       "commonLabels", "commonAnnotations", "routeLabels", "externalURL",
                       "version", "groupKey", "truncatedAlerts"], list(p)
    assert p["version"] == "1"
    assert p["receiver"] == "team" and p["status"] == "firing"
    assert p["groupKey"] == '{}:{alertname="Disk"}', p["groupKey"]
    assert p["groupLabels"] == {"alertname": "Disk"}
    assert p["commonLabels"] == {"alertname": "Disk", "severity": "page"}
    assert p["commonAnnotations"] == {"summary": "full"}
    assert p["notification_reason"] == "first notification", p["notification_reason"]
    assert p["truncatedAlerts"] == 0
    assert [a["labels"]["instance"] for a in p["alerts"]] == ["a", "b"]
    a = p["alerts"][0]
    assert list(a) == ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
                       "fingerprint"]
    assert a["status"] == "firing" and a["endsAt"] == "0001-01-01T00:00:00Z"
    assert a["generatorURL"] == "http://prom/graph"
    assert_no_request(sink, PATH, 1.0, "retry of a delivered message")
    assert "iio-secret-token" not in srv.log()


def test_resolved(ctx):
    sink = ctx.sink()
    srv = ctx.server(config("url: " + sink.url(PATH)))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"})])
    sink.wait(PATH, 1, timeout=0.5 + LATE)
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a"})])
    p = sink.wait(PATH, 2, timeout=2 + LATE)[1]["json"]
    assert p["status"] == "resolved", p
    assert p["alerts"][0]["status"] == "resolved"
    assert p["notification_reason"] == "all alerts resolved", p["notification_reason"]


def test_url_file_and_max_alerts(ctx):
    sink = ctx.sink()
    path = os.path.join(ctx.tmp, "iio-url")
    with open(path, "w") as f:
        f.write(sink.url("/one") + "\n")
    srv = ctx.server(config("url_file: " + path, extra="        max_alerts: 1\n"))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"}),
                 alert({"alertname": "Disk", "instance": "b"})])
    p = sink.wait("/one", 1, timeout=0.5 + LATE)[0]["json"]
    assert len(p["alerts"]) == 1 and p["truncatedAlerts"] == 1, p
    # Rotated without a reload: the next send reads it again.
    with open(path, "w") as f:
        f.write(sink.url("/two"))
    srv.post_ok([alert({"alertname": "Disk", "instance": "c"})])
    p = sink.wait("/two", 1, timeout=2 + LATE)[0]["json"]
    assert p["truncatedAlerts"] == 2


def test_5xx_retried(ctx):
    sink = ctx.sink()
    sink.respond(PATH, [500, 503])
    srv = ctx.server(config("url: " + sink.url(PATH), group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = sink.wait(PATH, 3, timeout=0.5 + 6)
    assert [r["status"] for r in reqs] == [500, 503, 200]
    assert reqs[0]["body"] == reqs[2]["body"]
    assert_no_request(sink, PATH, 1.5, "request after delivery")


def test_429_waits_for_retry_after(ctx):
    sink = ctx.sink()
    sink.respond(PATH, [(429, {"Retry-After": "2"})])
    srv = ctx.server(config("url: " + sink.url(PATH), group_interval=30))
    srv.post_ok([alert({"alertname": "Slow"})])
    reqs = sink.wait(PATH, 2, timeout=0.5 + 2 + 4)
    assert [r["status"] for r in reqs] == [429, 200]
    gap = reqs[1]["time"] - reqs[0]["time"]
    assert gap >= 1.9, "retried after %.2fs, Retry-After said 2s" % gap
    wait_for(lambda: (srv.metric("alertmanager_notification_requests_failed_total",
                                 integration="incidentio") or 0) >= 1, 3, what="failed request")


def test_4xx_not_retried(ctx):
    sink = ctx.sink()
    sink.respond(PATH, [400])
    sink.reply(PATH, json.dumps({"error": "invalid request",
                                 "message": "Invalid payload format"}).encode())
    srv = ctx.server(config("url: " + sink.url(PATH), group_interval=30))
    srv.post_ok([alert({"alertname": "Bad"})])
    sink.wait(PATH, 1, timeout=0.5 + LATE)
    assert_no_request(sink, PATH, 2.5, "retry of a 400")
    wait_for(lambda: (srv.metric("alertmanager_notifications_failed_total",
                                 integration="incidentio", reason="clientError") or 0) >= 1, 3,
             what="a clientError failure")
    wait_for(lambda: "unexpected status code 400: Invalid payload format: invalid request"
             in srv.log(), 3, what="incident.io's error in the log")


def test_timeout_retried(ctx):
    sink = ctx.sink()
    sink.delay(PATH, 3)
    srv = ctx.server(config("url: " + sink.url(PATH), group_interval=30,
                            extra="        timeout: %s\n" % dur(0.5)))
    srv.post_ok([alert({"alertname": "Hung"})])
    first = sink.wait(PATH, 1, timeout=0.5 + LATE)[0]
    sink.delay(PATH, 0)
    reqs = sink.wait(PATH, 2, timeout=6)
    # The first attempt was cut at the timeout, not answered: the retry came well before the
    # sink's 3 s answer.
    assert reqs[1]["time"] - first["time"] < 2.5, reqs[1]["time"] - first["time"]
    wait_for(lambda: (srv.metric("alertmanager_notifications_total",
                                 integration="incidentio") or 0) >= 1, 3, what="a notification")
    time.sleep(0.2)
    assert (srv.metric("alertmanager_notification_requests_failed_total",
                       integration="incidentio") or 0) >= 1


if __name__ == "__main__":
    run_cases([test_firing_payload, test_resolved, test_url_file_and_max_alerts,
               test_5xx_retried, test_429_waits_for_retry_after, test_4xx_not_retried,
               test_timeout_retried])
