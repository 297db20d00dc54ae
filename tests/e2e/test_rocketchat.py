"""Rocket.Chat receiver end to end: chat.postMessage with the token headers, the message for
firing and resolved groups, token files, and the verdicts as Alertmanager's: {"success": false}
in a 2xx fails, an unreadable 2xx and 5xx are retried, 4xx and 429 wait for the next flush, and
a timeout ends the attempt at the flush deadline."""

import os
import time

from harness import alert, assert_no_request, dur, resolved, run_cases, scaled, wait_for

LATE = 1.5
PATH = "/chat/api/v1/chat.postMessage"
OK = b'{"ts":1700000000000,"channel":"#ops","message":{"msg":""},"success":true}'


def config(sink, extra="", tokens="token: rc-token\n        token_id: rc-user", group_interval=2):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    rocketchat_configs:
      - api_url: %s
        %s
        channel: '#ops'
        send_resolved: true
        text: '{{ range .Alerts }}{{ .Labels.instance }};{{ end }}'
        fields:
          - title: count
            value: '{{ len .Alerts }}'
            short: true
        actions:
          - text: Runbook
            url: 'http://runbook/{{ .GroupLabels.alertname }}'
%s""" % (dur(0.5), dur(group_interval), sink.url("/chat"), tokens, extra)


def failed(srv, reason):
    """Failed notifications, for one reason or (None) all."""
    by = {"reason": reason} if reason else {}
    return srv.metric("alertmanager_notifications_failed_total", integration="rocketchat",
                      **by) or 0


def test_firing_then_resolved(ctx):
    sink = ctx.sink()
    sink.reply(PATH, OK)
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"}),
                 alert({"alertname": "Disk", "instance": "b"})])
    r = sink.wait(PATH, 1, timeout=0.5 + LATE)[0]
    # The external URL defaults to http://<hostname>:<port>.
    title_link = r["json"]["attachments"][0]["title_link"]
    assert title_link.endswith(":%d/#/alerts?receiver=team" % srv.port), title_link
    h = r["headers"]
    assert h["content-type"] == "application/json"
    assert h["x-auth-token"] == "rc-token" and h["x-user-id"] == "rc-user", h
    assert r["json"] == {
        "channel": "#ops",
        "attachments": [{
            "title": "[FIRING:2] Disk ",
            "title_link": title_link,
            "text": "a;b;",
            "color": "red",
            "fields": [{"short": True, "title": "count", "value": "2"}],
            "actions": [{"type": "button", "text": "Runbook", "url": "http://runbook/Disk",
                         "is_webview": False, "msg_in_chat_window": False}],
        }],
    }, r["json"]
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a"}),
                 resolved({"alertname": "Disk", "instance": "b"})])
    p = sink.wait(PATH, 2, timeout=2 + LATE)[1]["json"]["attachments"][0]
    assert p["title"] == "[RESOLVED] Disk " and p["color"] == "green", p
    log = srv.log()
    assert "rc-token" not in log and "rc-user" not in log


def test_token_files_and_5xx_retried(ctx):
    sink = ctx.sink()
    sink.reply(PATH, OK)
    tok, uid = os.path.join(ctx.tmp, "tok"), os.path.join(ctx.tmp, "uid")
    with open(tok, "w") as f:
        f.write("filed-token\n")
    with open(uid, "w") as f:
        f.write("filed-user\n")
    sink.respond(PATH, [502, 503])
    srv = ctx.server(config(sink, tokens="token_file: %s\n        token_id_file: %s" % (tok, uid),
                            group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = sink.wait(PATH, 3, timeout=0.5 + 6)
    assert [r["status"] for r in reqs] == [502, 503, 200]
    assert reqs[2]["headers"]["x-auth-token"] == "filed-token"
    assert reqs[2]["headers"]["x-user-id"] == "filed-user"
    assert_no_request(sink, PATH, 1.0, "request after the delivery")


def test_success_false_not_retried(ctx):
    sink = ctx.sink()
    sink.reply(PATH, b'{"success":false,"error":"error-invalid-channel"}')
    srv = ctx.server(config(sink, group_interval=30))
    srv.post_ok([alert({"alertname": "Nowhere"})])
    sink.wait(PATH, 1, timeout=0.5 + LATE)
    assert_no_request(sink, PATH, 2.0, "retry of success=false")
    wait_for(lambda: "error response from Rocketchat: error-invalid-channel" in srv.log(),
             scaled(2), what="the Rocket.Chat error in the log")
    assert 'channel \\"#ops\\"' in srv.log() or 'channel "#ops"' in srv.log()
    assert failed(srv, "clientError") >= 1


def test_unreadable_2xx_retried(ctx):
    # A 2xx that is not Rocket.Chat's JSON (a proxy's page) is retried until a real answer.
    sink = ctx.sink()
    sink.reply(PATH, b"<html>proxy page</html>", content_type="text/html")
    srv = ctx.server(config(sink, group_interval=30))
    srv.post_ok([alert({"alertname": "Proxy"})])
    n = len(sink.wait(PATH, 2, timeout=0.5 + 3))
    sink.reply(PATH, OK)
    sink.wait(PATH, n + 1, timeout=4)
    time.sleep(scaled(0.2))
    assert_no_request(sink, PATH, 1.5, "request after the delivery")
    assert "could not unmarshal JSON response" in srv.log()


def test_4xx_not_retried(ctx):
    sink = ctx.sink()
    sink.reply(PATH, b'{"success":false,"error":"You must be logged in to do this."}')
    sink.respond(PATH, [401])
    srv = ctx.server(config(sink, group_interval=30))
    srv.post_ok([alert({"alertname": "Auth"})])
    sink.wait(PATH, 1, timeout=0.5 + LATE)
    assert_no_request(sink, PATH, 2.5, "retry of a 401")
    wait_for(lambda: failed(srv, "authError") >= 1, scaled(2), what="authError counted")


def test_429_waits_for_next_flush(ctx):
    # As Alertmanager: only 5xx is retried within the flush; the next tick sends again.
    sink = ctx.sink()
    sink.reply(PATH, OK)
    sink.respond(PATH, [(429, {"Retry-After": "1"})])
    srv = ctx.server(config(sink, group_interval=2))
    srv.post_ok([alert({"alertname": "Limited"})])
    first = sink.wait(PATH, 1, timeout=0.5 + LATE)[0]
    second = sink.wait(PATH, 2, timeout=2 + LATE)[1]
    assert second["time"] - first["time"] >= scaled(2) - 0.3
    assert second["status"] == 200
    assert failed(srv, "rateLimited") >= 1


def test_timeout_then_next_flush(ctx):
    # No answer: the request is cut at the flush deadline (at least 10 s, Alertmanager's
    # notify.MinTimeout) and a later flush sends again.
    sink = ctx.sink()
    sink.reply(PATH, OK)
    sink.delay(PATH, scaled(20))
    srv = ctx.server(config(sink, group_interval=2))
    srv.post_ok([alert({"alertname": "Slow"})])
    first = sink.wait(PATH, 1, timeout=0.5 + LATE)[0]
    sink.delay(PATH, 0)
    wait_for(lambda: failed(srv, "contextDeadlineExceeded") >= 1, scaled(13),
             what="timed-out send counted as contextDeadlineExceeded")
    second = sink.wait(PATH, 2, timeout=4 + LATE)[1]
    gap = second["time"] - first["time"]
    # The flush deadline is at least 10 s whatever the time scale (tocsin and Alertmanager).
    assert max(10, scaled(2)) - 0.5 <= gap < scaled(20), "second send %.1fs after the first" % gap


if __name__ == "__main__":
    run_cases([test_firing_then_resolved, test_token_files_and_5xx_retried,
               test_success_false_not_retried, test_unreadable_2xx_retried, test_4xx_not_retried,
               test_429_waits_for_next_flush, test_timeout_then_next_flush])
