"""Microsoft Teams (Workflows) receiver end to end: the Adaptive Card message a fake workflow
receives for firing and resolved groups, the URL file, and Alertmanager's retry rules: 5xx
retried, 400 and 429 not (a 429 waits for the next flush whatever its Retry-After), a hung
endpoint cut at the flush deadline."""

import os

from harness import alert, assert_no_request, dur, resolved, run_cases, scaled, wait_for

LATE = 1.5
PATH = "/workflows/x/triggers/manual/paths/invoke?api-version=2016-06-01&sig=s3cr3t"


def config(url_line, group_interval=2):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    msteamsv2_configs:
      - %s
        title: '{{ .Status }} {{ .GroupLabels.alertname }}'
        text: '{{ range .Alerts }}{{ .Labels.instance }};{{ end }}'
""" % (dur(0.5), dur(group_interval), url_line)


def message(title, color, text):
    return {
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.2",
                "body": [
                    {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium",
                     "wrap": True, "style": "heading", "color": color},
                    {"type": "TextBlock", "text": text, "wrap": True},
                ],
                "msteams": {"width": "full"},
            },
        }],
    }


def failed(srv, reason):
    return srv.metric("alertmanager_notifications_failed_total", integration="msteamsv2",
                      reason=reason) or 0


def test_firing_then_resolved(ctx):
    sink = ctx.sink()
    srv = ctx.server(config("webhook_url: '%s'" % sink.url(PATH)))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"})])
    r = sink.wait(PATH, 1, timeout=0.5 + LATE)[0]
    assert r["headers"]["content-type"] == "application/json"
    assert r["json"] == message("firing Disk", "Attention", "a;"), r["json"]
    assert r["body"].startswith(b'{"type":"message","attachments":[{"contentType":'), r["body"]
    assert r["body"].endswith(b'"msteams":{"width":"full"}}}]}\n'), r["body"]
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a"})])
    p = sink.wait(PATH, 2, timeout=2 + LATE)[1]["json"]
    assert p == message("resolved Disk", "Good", "a;"), p
    status = srv.request("GET", "/api/v2/status").json()
    assert "s3cr3t" not in status["config"]["original"]
    assert "s3cr3t" not in srv.log()


def test_url_file_and_5xx_retried(ctx):
    sink = ctx.sink()
    path = os.path.join(ctx.tmp, "workflow-url")
    with open(path, "w") as f:
        f.write(sink.url("/filed") + "\n")
    sink.respond("/filed", [502, 500])
    srv = ctx.server(config("webhook_url_file: %s" % path, group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = sink.wait("/filed", 3, timeout=0.5 + 6)
    assert [r["status"] for r in reqs] == [502, 500, 200]
    assert_no_request(sink, "/filed", 1.5, "request after delivery")


def test_400_not_retried(ctx):
    sink = ctx.sink()
    sink.respond("/w", [400])
    srv = ctx.server(config("webhook_url: %s" % sink.url("/w"), group_interval=30))
    srv.post_ok([alert({"alertname": "Bad"})])
    sink.wait("/w", 1, timeout=0.5 + LATE)
    assert_no_request(sink, "/w", 2.5, "retry of a 400")
    wait_for(lambda: failed(srv, "clientError") >= 1, 3, what="a clientError failure")


def test_429_waits_for_next_flush(ctx):
    sink = ctx.sink()
    sink.respond("/w", [(429, {"Retry-After": "1"})])
    srv = ctx.server(config("webhook_url: %s" % sink.url("/w"), group_interval=3))
    srv.post_ok([alert({"alertname": "Limited"})])
    first = sink.wait("/w", 1, timeout=0.5 + LATE)[0]
    wait_for(lambda: failed(srv, "rateLimited") >= 1, 2, what="a rateLimited failure")
    assert_no_request(sink, "/w", 2.0, "retry of a 429 within the flush")
    second = sink.wait("/w", 2, timeout=3 + LATE)[1]
    assert second["status"] == 200
    assert second["time"] - first["time"] >= scaled(3) - 0.3


def test_timeout_cut_at_flush_deadline(ctx):
    sink = ctx.sink()
    sink.delay("/slow", scaled(20))
    srv = ctx.server(config("webhook_url: %s" % sink.url("/slow"), group_interval=2))
    srv.post_ok([alert({"alertname": "Hung"})])
    first = sink.wait("/slow", 1, timeout=0.5 + LATE)[0]
    sink.delay("/slow", 0)
    second = sink.wait("/slow", 2, timeout=10 + 2 + LATE)[1]
    gap = second["time"] - first["time"]
    # The flush deadline is at least 10 s whatever the time scale (tocsin and Alertmanager).
    assert max(10, scaled(2)) - 0.5 <= gap < scaled(20), "second request %.1fs after the first" % gap
    wait_for(lambda: failed(srv, "contextDeadlineExceeded") >= 1, 3,
             what="a contextDeadlineExceeded failure")


if __name__ == "__main__":
    run_cases([test_firing_then_resolved, test_url_file_and_5xx_retried, test_400_not_retried,
               test_429_waits_for_next_flush, test_timeout_cut_at_flush_deadline])
