"""VictorOps receiver end to end: the alert posted to api_url + key + "/" + routing key, CRITICAL
then RECOVERY under one entity_id (the SHA-256 of the group key), the key file, and the retry
rules as Alertmanager's (5xx retried; 4xx and 429 wait for the next flush; a timeout ends the
attempt at the flush deadline and the next flush sends again)."""

import hashlib
import os
import re

from harness import IS_AM, alert, assert_no_request, dur, resolved, run_cases, scaled, wait_for

LATE = 1.5
PATH = "/integrations/generic/20131114/alert/vo-secret/team-ops"


def config(sink, extra="", key_line="api_key: vo-secret", group_interval=2):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    victorops_configs:
      - %s
        api_url: %s
        routing_key: '{{ .CommonLabels.team }}'
        entity_display_name: '{{ .Status }} {{ .GroupLabels.alertname }}'
        state_message: '{{ range .Alerts }}{{ .Labels.instance }};{{ end }}'
        custom_fields:
          runbook: 'http://runbook/{{ .GroupLabels.alertname }}'
%s""" % (dur(0.5), dur(group_interval), key_line,
         sink.url("/integrations/generic/20131114/alert"), extra)


def entity(name):
    return hashlib.sha256(('{}:{alertname="%s"}' % name).encode()).hexdigest()


def labels(name, instance="a"):
    return {"alertname": name, "instance": instance, "team": "team-ops"}


def failed(srv, reason):
    """Failed notifications, for one reason or (None) all. Debian's Alertmanager 0.25
    (TN_E2E_TARGET=alertmanager) has no reason label yet."""
    by = {"reason": reason} if reason and not IS_AM else {}
    return srv.metric("alertmanager_notifications_failed_total", integration="victorops",
                      **by) or 0


def test_critical_then_recovery(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert(labels("Disk", "a")), alert(labels("Disk", "b"))])
    r = sink.wait(PATH, 1, timeout=0.5 + LATE)[0]
    assert r["headers"]["content-type"] == "application/json"
    assert r["json"] == {
        "message_type": "CRITICAL",
        "entity_id": entity("Disk"),
        "entity_display_name": "firing Disk",
        "state_message": "a;b;",
        "monitoring_tool": "Alertmanager",
        "runbook": "http://runbook/Disk",
    }, r["json"]
    # Go's encoder writes the map's keys sorted.
    keys = [k.decode() for k in re.findall(rb'"([a-z_]+)":', r["body"])]
    assert keys == sorted(keys), keys
    srv.post_ok([resolved(labels("Disk", "a")), resolved(labels("Disk", "b"))])
    p = sink.wait(PATH, 2, timeout=2 + LATE)[1]["json"]
    assert p["message_type"] == "RECOVERY"
    assert p["entity_id"] == entity("Disk")
    assert p["entity_display_name"] == "resolved Disk"
    assert "vo-secret" not in srv.log()


def test_key_file_and_5xx_retried(ctx):
    sink = ctx.sink()
    path = os.path.join(ctx.tmp, "vo-key")
    with open(path, "w") as f:
        f.write("vo-secret\n")
    sink.respond(PATH, [500, 503])
    srv = ctx.server(config(sink, key_line="api_key_file: %s" % path, group_interval=30))
    srv.post_ok([alert(labels("Retry"))])
    reqs = sink.wait(PATH, 3, timeout=0.5 + 6)
    assert [r["status"] for r in reqs] == [500, 503, 200]
    assert reqs[0]["json"] == reqs[2]["json"]
    assert_no_request(sink, PATH, 1.0, "request after the delivery")
    assert "vo-secret" not in srv.log()


def test_4xx_not_retried(ctx):
    sink = ctx.sink()
    sink.respond(PATH, [400])
    srv = ctx.server(config(sink, group_interval=30))
    srv.post_ok([alert(labels("Bad"))])
    sink.wait(PATH, 1, timeout=0.5 + LATE)
    assert_no_request(sink, PATH, 2.5, "retry of a 400")
    wait_for(lambda: failed(srv, "clientError") >= 1, scaled(2), what="clientError counted")


def test_429_waits_for_next_flush(ctx):
    # As Alertmanager's VictorOps notifier: only 5xx is retried within the flush. The group
    # is still unsent, so the next group_interval tick sends it again.
    sink = ctx.sink()
    sink.respond(PATH, [(429, {"Retry-After": "1"})])
    srv = ctx.server(config(sink, group_interval=2))
    srv.post_ok([alert(labels("Limited"))])
    first = sink.wait(PATH, 1, timeout=0.5 + LATE)[0]
    second = sink.wait(PATH, 2, timeout=2 + LATE)[1]
    assert second["time"] - first["time"] >= scaled(2) - 0.3
    assert second["status"] == 200
    assert failed(srv, "rateLimited") >= 1


def test_timeout_then_next_flush(ctx):
    # A receiver that does not answer: the request is cut at the flush deadline (at least 10 s,
    # as Alertmanager's notify.MinTimeout), and a later flush sends again.
    sink = ctx.sink()
    sink.delay(PATH, scaled(20))
    srv = ctx.server(config(sink, group_interval=2))
    srv.post_ok([alert(labels("Slow"))])
    first = sink.wait(PATH, 1, timeout=0.5 + LATE)[0]
    sink.delay(PATH, 0)
    wait_for(lambda: failed(srv, "contextDeadlineExceeded") >= 1, scaled(13),
             what="timed-out send counted as contextDeadlineExceeded")
    second = sink.wait(PATH, 2, timeout=4 + LATE)[1]
    gap = second["time"] - first["time"]
    # The flush deadline is at least 10 s whatever the time scale (tocsin and Alertmanager).
    assert max(10, scaled(2)) - 0.5 <= gap < scaled(20), "second send %.1fs after the first" % gap
    assert second["json"]["entity_id"] == entity("Slow")


if __name__ == "__main__":
    run_cases([test_critical_then_recovery, test_key_file_and_5xx_retried, test_4xx_not_retried,
               test_429_waits_for_next_flush, test_timeout_then_next_flush])
