"""Mattermost receiver end to end: the post for firing and resolved groups with the default
templates, configured attachments with priority and props, the URL file, and the retry rules
(5xx retried; 4xx and 429 not, as Alertmanager), a send that outlasts the flush."""

import os

from harness import SCALE, alert, assert_no_request, dur, resolved, run_cases, wait_for

LATE = 1.5


def config(url_line, extra="", group_interval=2):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    mattermost_configs:
      - %s
        channel: town-square
%s""" % (dur(0.5), dur(group_interval), url_line, extra)


def failed(srv, reason):
    return srv.metric("alertmanager_notifications_failed_total", integration="mattermost",
                      reason=reason) or 0


def test_firing_then_resolved(ctx):
    sink = ctx.sink()
    srv = ctx.server(config("webhook_url: %s" % sink.url("/hooks/abc")))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"}, {"summary": "full"},
                       generator_url="http://prom/g")])
    r = sink.wait("/hooks/abc", 1, timeout=0.5 + LATE)[0]
    assert r["headers"]["content-type"] == "application/json"
    p = r["json"]
    assert list(p) == ["channel", "username", "attachments"], p
    assert p["channel"] == "town-square" and p["username"] == "Alertmanager"
    att = p["attachments"]
    assert len(att) == 1
    a = att[0]
    assert list(a) == ["fallback", "color", "text", "title", "title_link"], a
    assert a["title"] == "[FIRING:1] Disk (a)"
    assert a["color"] == "danger"
    assert a["title_link"].endswith("/#/alerts?receiver=team"), a["title_link"]
    assert a["fallback"] == a["title"] + " | " + a["title_link"]
    assert a["text"] == ("\n\n# Alerts Firing:\n\nLabels:\n  - alertname = Disk\n"
                         "  - instance = a\n\nAnnotations:\n  - summary = full\n\n"
                         "Source: http://prom/g\n\n\n\n\n"), repr(a["text"])
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a"}, annotations={"summary": "full"},
                          generator_url="http://prom/g")])
    a2 = sink.wait("/hooks/abc", 2, timeout=2 + LATE)[1]["json"]["attachments"][0]
    assert a2["title"] == "[RESOLVED] Disk (a)" and a2["color"] == "good"
    assert a2["text"].startswith("\n\n\n# Alerts Resolved:\n"), repr(a2["text"])


def test_attachments_priority_props(ctx):
    sink = ctx.sink()
    extra = """        username: bot
        icon_emoji: ':fire:'
        text: '{{ len .Alerts }} alert(s): {{ .GroupLabels.alertname }}'
        type: custom_alert
        attachments:
          - title: '{{ .Status }}'
            color: '#ff0000'
            fields:
              - title: instance
                value: '{{ .CommonLabels.instance }}'
                short: true
          - text: second
        props:
          card: 'card for {{ .GroupLabels.alertname }}'
        priority:
          priority: Urgent
          requested_ack: true
          persistent_notifications: true
"""
    srv = ctx.server(config("webhook_url: %s" % sink.url("/h"), extra))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"})])
    p = sink.wait("/h", 1, timeout=0.5 + LATE)[0]["json"]
    assert p == {
        "text": "1 alert(s): Disk",
        "channel": "town-square",
        "username": "bot",
        "icon_emoji": ":fire:",
        "attachments": [
            {"color": "#ff0000", "title": "firing",
             "fields": [{"title": "instance", "value": "a", "short": True}]},
            {"text": "second"},
        ],
        "type": "custom_alert",
        "props": {"card": "card for Disk"},
        "priority": {"priority": "urgent", "requested_ack": True,
                     "persistent_notifications": True},
    }, p


def test_text_truncated(ctx):
    sink = ctx.sink()
    extra = "        text: '%s'\n        attachments:\n          - text: a\n" % ("x" * 17000)
    srv = ctx.server(config("webhook_url: %s" % sink.url("/h"), extra))
    srv.post_ok([alert({"alertname": "Long"})])
    p = sink.wait("/h", 1, timeout=0.5 + LATE)[0]["json"]
    assert p["text"] == "x" * 16382 + "\u2026"
    wait_for(lambda: "Truncated text" in srv.log(), 2, what="truncation warning")


def test_url_file_and_5xx_retried(ctx):
    sink = ctx.sink()
    path = os.path.join(ctx.tmp, "mm-url")
    with open(path, "w") as f:
        f.write(sink.url("/filed") + "\n")
    sink.respond("/filed", [500, 503])
    srv = ctx.server(config("webhook_url_file: %s" % path, group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = sink.wait("/filed", 3, timeout=0.5 + 6)
    assert [r["status"] for r in reqs] == [500, 503, 200]
    assert reqs[0]["json"] == reqs[2]["json"]
    assert sink.url("/filed") not in srv.log()


def test_4xx_and_429_not_retried(ctx):
    sink = ctx.sink()
    sink.respond("/bad", [400])
    sink.respond("/slow", [(429, {"Retry-After": "1"})])
    conf = config("webhook_url: %s" % sink.url("/bad"), group_interval=30) + \
        "      - webhook_url: %s\n" % sink.url("/slow")
    srv = ctx.server(conf)
    srv.post_ok([alert({"alertname": "Bad"})])
    sink.wait("/bad", 1, timeout=0.5 + LATE)
    sink.wait("/slow", 1, timeout=0.5 + LATE)
    assert_no_request(sink, "/bad", 2.5, "retry of a 400")
    assert len(sink.requests("/slow")) == 1, "429 retried"
    wait_for(lambda: failed(srv, "clientError") >= 1 and failed(srv, "rateLimited") >= 1, 3,
             what="clientError and rateLimited failures")
    assert 'channel \\"town-square\\": unexpected status code 400' in srv.log() or \
        'channel "town-square": unexpected status code 400' in srv.log(), srv.log_tail()


def test_timeout(ctx):
    sink = ctx.sink()
    # The flush deadline is the group interval, at least 10 s (as Alertmanager): outlast it.
    sink.delay("/hang", 10 * SCALE + 4)
    srv = ctx.server(config("webhook_url: %s" % sink.url("/hang"), group_interval=2))
    srv.post_ok([alert({"alertname": "Hang"})])
    sink.wait("/hang", 1, timeout=0.5 + LATE)
    wait_for(lambda: failed(srv, "contextDeadlineExceeded") >= 1, 10 + 3,
             what="deadline failure")
    # The next flush sends the group again.
    sink.delay("/hang", 0)
    reqs = sink.wait("/hang", 2, timeout=2 + LATE)
    assert reqs[1]["json"] == reqs[0]["json"]


if __name__ == "__main__":
    run_cases([test_firing_then_resolved, test_attachments_priority_props, test_text_truncated,
               test_url_file_and_5xx_retried, test_4xx_and_429_not_retried, test_timeout])
