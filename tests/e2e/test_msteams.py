"""Microsoft Teams (Office 365 connector) receiver end to end: the MessageCard a fake webhook
receives for firing and resolved groups, the URL file, and Alertmanager's retry rules: 5xx
retried, 400 and 429 not (a 429 waits for the next flush whatever its Retry-After), a hung
endpoint cut at the flush deadline."""

import os

from harness import alert, assert_no_request, dur, resolved, run_cases, scaled, wait_for

LATE = 1.5


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
    msteams_configs:
      - %s
        title: '{{ .Status }} {{ .GroupLabels.alertname }}'
        summary: 'S {{ len .Alerts }}'
        text: '{{ range .Alerts }}{{ .Labels.instance }};{{ end }}'
""" % (dur(0.5), dur(group_interval), url_line)


def card(title, summary, text, color):
    return {"@context": "http://schema.org/extensions", "type": "MessageCard", "title": title,
            "summary": summary, "text": text, "themeColor": color}


def failed(srv, reason):
    return srv.metric("alertmanager_notifications_failed_total", integration="msteams",
                      reason=reason) or 0


def test_firing_then_resolved(ctx):
    sink = ctx.sink()
    srv = ctx.server(config("webhook_url: %s" % sink.url("/webhookb2/x/IncomingWebhook/y/z")))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"})])
    r = sink.wait("/webhookb2/x/IncomingWebhook/y/z", 1, timeout=0.5 + LATE)[0]
    assert r["headers"]["content-type"] == "application/json"
    assert r["json"] == card("firing Disk", "S 1", "a;", "8C1A1A"), r["json"]
    # Go's encoder: struct order, a newline after the object.
    assert r["body"].startswith(b'{"@context":"http://schema.org/extensions","type":"MessageCard"')
    assert r["body"].endswith(b'"themeColor":"8C1A1A"}\n'), r["body"]
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a"})])
    p = sink.wait("/webhookb2/x/IncomingWebhook/y/z", 2, timeout=2 + LATE)[1]["json"]
    assert p == card("resolved Disk", "S 1", "a;", "2DC72D"), p
    # The webhook URL is a secret: never logged, shown as <secret>.
    status = srv.request("GET", "/api/v2/status").json()
    assert "IncomingWebhook" not in status["config"]["original"]
    assert "<secret>" in status["config"]["original"]
    assert "IncomingWebhook" not in srv.log()


def test_url_file_and_5xx_retried(ctx):
    sink = ctx.sink()
    path = os.path.join(ctx.tmp, "teams-url")
    with open(path, "w") as f:
        f.write(sink.url("/filed") + "\n")
    sink.respond("/filed", [500, 503])
    srv = ctx.server(config("webhook_url_file: %s" % path, group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = sink.wait("/filed", 3, timeout=0.5 + 6)
    assert [r["status"] for r in reqs] == [500, 503, 200]
    assert reqs[0]["json"] == reqs[2]["json"]
    assert_no_request(sink, "/filed", 1.5, "request after delivery")
    assert sink.url("/filed") not in srv.log()
    wait_for(lambda: (srv.metric("alertmanager_notifications_total", integration="msteams")
                      or 0) >= 1, 3, what="notifications_total")


def test_400_not_retried(ctx):
    sink = ctx.sink()
    sink.respond("/w", [400])
    srv = ctx.server(config("webhook_url: %s" % sink.url("/w"), group_interval=30))
    srv.post_ok([alert({"alertname": "Bad"})])
    sink.wait("/w", 1, timeout=0.5 + LATE)
    assert_no_request(sink, "/w", 2.5, "retry of a 400")
    wait_for(lambda: failed(srv, "clientError") >= 1, 3, what="a clientError failure")


def test_429_waits_for_next_flush(ctx):
    # Alertmanager's default retrier does not retry 429 within the flush, Retry-After or not;
    # the group is not marked notified, so the next group_interval tick sends it again.
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
    # A webhook that does not answer: as in Alertmanager, a flush has at least 10 s (or its
    # group_interval); the request is abandoned then, counted as contextDeadlineExceeded, and
    # the next flush delivers.
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
    assert second["status"] == 200


if __name__ == "__main__":
    run_cases([test_firing_then_resolved, test_url_file_and_5xx_retried, test_400_not_retried,
               test_429_waits_for_next_flush, test_timeout_cut_at_flush_deadline])
