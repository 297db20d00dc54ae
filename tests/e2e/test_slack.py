"""Slack receiver end to end: the exact request a fake Slack receives for firing, resolved and
mixed groups, app token mode, truncation, the retry rules (5xx and 429 with Retry-After
retried, 400 and an error verdict not), and update_message (chat.update with the kept ts,
across a restart)."""

import os
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


def test_update_message(ctx):
    """With a bot token, a group's first notification posts and later ones edit that message
    through chat.update, with the ts and channel kept in the notification log, across a
    restart."""
    sink = ctx.sink()
    reply = b'{"ok":true,"channel":"C024BE91L","ts":"1700000000.000100"}'
    sink.reply("/api/chat.postMessage", reply, "application/json; charset=utf-8")
    sink.reply("/api/chat.update", reply, "application/json; charset=utf-8")
    cfg = """
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
        app_token: xoxb-update-token
        app_url: %s
        update_message: true
        send_resolved: true
        title: '{{ .Status }} {{ len .Alerts }}'
""" % (dur(0.5), dur(1.5), sink.url("/api/chat.postMessage"))
    srv = ctx.server(cfg)
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"})])
    first = sink.wait("/api/chat.postMessage", 1, timeout=0.5 + LATE)[0]
    assert first["headers"]["authorization"] == "Bearer xoxb-update-token"
    assert first["json"]["channel"] == "#ops" and "ts" not in first["json"], first["json"]

    # A new alert in the group: the same message is edited, in the channel Slack named; a
    # 5xx on the update is retried as the same update.
    sink.respond("/api/chat.update", [503])
    srv.post_ok([alert({"alertname": "Disk", "instance": "b"})])
    failed, up = sink.wait("/api/chat.update", 2, timeout=1.5 + 3 + LATE)[:2]
    assert failed["status"] == 503 and up["status"] == 200
    assert failed["body"] == up["body"]
    assert up["headers"]["authorization"] == "Bearer xoxb-update-token"
    body = up["body"].decode()
    assert body.startswith('{"channel":"C024BE91L","ts":"1700000000.000100",'), body
    assert up["json"]["attachments"][0]["title"] == "firing 2"
    assert len(sink.requests("/api/chat.postMessage")) == 1

    # The ts lives in the notification log, in the database: a restart keeps updating.
    srv.restart()
    import sqlite3
    db = sqlite3.connect(os.path.join(srv.storage, "tocsin.db"))
    try:
        rows = [r[0] for r in db.execute("SELECT data FROM nflog")]
    finally:
        db.close()
    assert any(b"threadTs\0" + b"1700000000.000100\0" in bytes(r) for r in rows), rows
    srv.post_ok([alert({"alertname": "Disk", "instance": "c"})])
    again = wait_for(lambda: [r for r in sink.requests("/api/chat.update")
                              if r["json"]["attachments"][0]["title"] == "firing 3"],
                     2 + LATE, what="the update after the restart")
    assert again[0]["json"]["ts"] == "1700000000.000100"
    srv.post_ok([resolved({"alertname": "Disk", "instance": i}) for i in "abc"])
    done = wait_for(lambda: [r for r in sink.requests("/api/chat.update")
                             if r["json"]["attachments"][0]["title"].startswith("resolved")],
                    2 + LATE, what="the resolved update")
    assert done[0]["json"]["ts"] == "1700000000.000100"
    assert done[0]["json"]["channel"] == "C024BE91L"
    assert len(sink.requests("/api/chat.postMessage")) == 1
    assert "xoxb-update-token" not in srv.log()


if __name__ == "__main__":
    run_cases([test_firing_payload, test_resolved_and_mixed, test_app_token, test_title_truncated,
               test_5xx_retried, test_429_waits_for_retry_after,
               test_400_and_error_verdict_not_retried, test_update_message])
