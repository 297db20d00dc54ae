"""Slack receiver end to end: the exact request a fake Slack receives for firing, resolved and
mixed groups, app token mode, truncation, and the retry rules (5xx and 429 with Retry-After
retried, 400 and an error verdict not)."""

import time

from harness import alert, assert_no_request, dur, resolved, run_cases, scaled, wait_for

LATE = 1.5


def config(sink, extra="", glob="", path="/slack", group_interval=2):
    return """
global:
  slack_api_url: %s
%s
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    slack_configs:
      - channel: '#ops'
        username: tocsin
        send_resolved: true
        title: '{{ .Status }} {{ .GroupLabels.alertname }}'
        text: '{{ range .Alerts }}{{ .Labels.instance }} {{ end }}'
        fallback: fb
        footer: foot
        color: '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}'
        icon_emoji: ':fire:'
        icon_url: ''
        pretext: ''
        callback_id: ''
        title_link: ''
%s""" % (sink.url(path), glob, dur(0.5), dur(group_interval), extra)


def ok_sink(ctx, path="/slack"):
    sink = ctx.sink()
    sink.reply(path, b"ok", "text/plain")
    return sink


def test_firing_payload(ctx):
    sink = ok_sink(ctx)
    srv = ctx.server(config(sink, extra="        fields:\n          - title: f\n"
                                         "            value: '{{ len .Alerts }}'\n"
                                         "            short: true\n"))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"}),
                 alert({"alertname": "Disk", "instance": "b"})])
    r = sink.wait("/slack", 1, timeout=0.5 + LATE)[0]
    assert r["headers"]["content-type"] == "application/json"
    assert "authorization" not in r["headers"]
    p = r["json"]
    assert p["channel"] == "#ops" and p["username"] == "tocsin" and p["icon_emoji"] == ":fire:"
    assert "icon_url" not in p and "link_names" not in p
    att = p["attachments"]
    assert len(att) == 1
    a = att[0]
    assert a["title"] == "firing Disk", a
    assert a["text"] == "a b ", a
    assert a["color"] == "danger"
    assert a["fallback"] == "fb" and a["footer"] == "foot" and a["callback_id"] == ""
    assert a["mrkdwn_in"] == ["fallback", "pretext", "text"]
    assert a["fields"] == [{"title": "f", "value": "2", "short": True}]
    assert "pretext" not in a and "title_link" not in a
    # Member order as Alertmanager's encoder writes it.
    body = r["body"].decode()
    assert body.index('"channel"') < body.index('"username"') < body.index('"attachments"')
    assert body.endswith("}\n")


def test_resolved_and_mixed(ctx):
    sink = ok_sink(ctx)
    srv = ctx.server(config(sink))
    a, b = alert({"alertname": "Disk", "instance": "a"}), alert({"alertname": "Disk",
                                                                 "instance": "b"})
    srv.post_ok([a, b])
    sink.wait("/slack", 1, timeout=0.5 + LATE)
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a"})])
    mixed = sink.wait("/slack", 2, timeout=2 + LATE)[1]["json"]["attachments"][0]
    assert mixed["title"] == "firing Disk" and mixed["color"] == "danger"
    srv.post_ok([resolved({"alertname": "Disk", "instance": "b"})])
    done = sink.wait("/slack", 3, timeout=2 + LATE)[2]["json"]["attachments"][0]
    assert done["title"] == "resolved Disk", done
    assert done["color"] == "good"


def test_app_token(ctx):
    sink = ctx.sink()
    sink.reply("/api/chat.postMessage", b'{"ok":true}', "application/json; charset=utf-8")
    cfg = """
global:
  slack_app_token: xoxb-secret-token
  slack_app_url: %s
route:
  receiver: team
  group_wait: %s
receivers:
  - name: team
    slack_configs:
      - channel: '#ops'
""" % (sink.url("/api/chat.postMessage"), dur(0.5))
    srv = ctx.server(cfg)
    srv.post_ok([alert({"alertname": "App"})])
    r = sink.wait("/api/chat.postMessage", 1, timeout=0.5 + LATE)[0]
    assert r["headers"]["authorization"] == "Bearer xoxb-secret-token"
    assert r["json"]["channel"] == "#ops"
    assert_no_request(sink, "/api/chat.postMessage", 1.5, "retry of a delivered message")
    assert "xoxb-secret-token" not in srv.log()


def test_title_truncated(ctx):
    sink = ok_sink(ctx)
    cfg = config(sink).replace("title: '{{ .Status }} {{ .GroupLabels.alertname }}'",
                               "title: '%s'" % ("\u00e9" * 1100))
    srv = ctx.server(cfg)
    srv.post_ok([alert({"alertname": "Long"})])
    title = sink.wait("/slack", 1, timeout=0.5 + LATE)[0]["json"]["attachments"][0]["title"]
    assert title == "\u00e9" * 1023 + "\u2026", len(title)


def test_5xx_retried(ctx):
    sink = ok_sink(ctx)
    sink.respond("/slack", [500, 503])
    srv = ctx.server(config(sink, group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = sink.wait("/slack", 3, timeout=0.5 + 6)
    assert [r["status"] for r in reqs] == [500, 503, 200]
    assert_no_request(sink, "/slack", 1.5, "request after delivery")


def test_429_waits_for_retry_after(ctx):
    sink = ok_sink(ctx)
    sink.respond("/slack", [(429, {"Retry-After": "2"})])
    srv = ctx.server(config(sink, group_interval=30))
    srv.post_ok([alert({"alertname": "Slow"})])
    reqs = sink.wait("/slack", 2, timeout=0.5 + 2 + 4)
    assert [r["status"] for r in reqs] == [429, 200]
    gap = reqs[1]["time"] - reqs[0]["time"]
    assert gap >= 1.9, "retried after %.2fs, Retry-After said 2s" % gap
    wait_for(lambda: (srv.metric("alertmanager_notification_requests_failed_total",
                                 integration="slack") or 0) >= 1, 3, what="failed request")


def test_400_and_error_verdict_not_retried(ctx):
    sink = ok_sink(ctx)
    sink.respond("/slack", [400])
    sink.reply("/other", b"invalid_token", "text/html")
    srv = ctx.server(config(sink, group_interval=30, extra="""      - channel: '#b'
        api_url: %s
""" % sink.url("/other")))
    srv.post_ok([alert({"alertname": "Bad"})])
    sink.wait("/slack", 1, timeout=0.5 + LATE)
    sink.wait("/other", 1, timeout=0.5 + LATE)
    assert_no_request(sink, "/slack", 2.5, "retry of a 400")
    assert len(sink.requests("/other")) == 1, "an error verdict was retried"
    wait_for(lambda: (srv.metric("alertmanager_notifications_failed_total", integration="slack",
                                 reason="clientError") or 0) >= 2, 3,
             what="two clientError failures")


if __name__ == "__main__":
    run_cases([test_firing_payload, test_resolved_and_mixed, test_app_token, test_title_truncated,
               test_5xx_retried, test_429_waits_for_retry_after,
               test_400_and_error_verdict_not_retried])
