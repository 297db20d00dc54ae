"""Webex receiver end to end: the message request a fake Webex API receives (bot token, room,
markdown) for firing and resolved groups, the 7439-byte cut, and Alertmanager's retry rules:
5xx retried, 400 and 429 not (a 429 waits for the next flush whatever its Retry-After), a
hung API cut at the flush deadline."""

from harness import alert, assert_no_request, dur, resolved, run_cases, scaled, wait_for

LATE = 1.5


def config(sink, path="/v1/messages", group_interval=2, message=None):
    msg = "        message: '%s'\n" % message if message is not None else (
        "        message: '{{ .Status }}: {{ range .Alerts }}{{ .Labels.instance }};{{ end }}'\n")
    return """
global:
  webex_api_url: %s
route:
  receiver: team
  group_by: [alertname, room]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    webex_configs:
      - room_id: '{{ .GroupLabels.room }}'
        http_config:
          authorization:
            credentials: bot-t0ken
%s""" % (sink.url(path), dur(0.5), dur(group_interval), msg)


def failed(srv, reason):
    return srv.metric("alertmanager_notifications_failed_total", integration="webex",
                      reason=reason) or 0


def test_firing_then_resolved(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "Disk", "room": "R1", "instance": "a"})])
    r = sink.wait("/v1/messages", 1, timeout=0.5 + LATE)[0]
    assert r["headers"]["content-type"] == "application/json"
    assert r["headers"]["authorization"] == "Bearer bot-t0ken"
    assert r["body"] == b'{"markdown":"firing: a;","roomId":"R1"}\n', r["body"]
    srv.post_ok([resolved({"alertname": "Disk", "room": "R1", "instance": "a"})])
    p = sink.wait("/v1/messages", 2, timeout=2 + LATE)[1]["json"]
    assert p == {"markdown": "resolved: a;", "roomId": "R1"}, p
    status = srv.request("GET", "/api/v2/status").json()
    assert "bot-t0ken" not in status["config"]["original"]
    assert "bot-t0ken" not in srv.log()


def test_message_cut_to_7439_bytes(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, message="{{ .CommonAnnotations.text }}"))
    srv.post_ok([alert({"alertname": "Long", "room": "R"}, {"text": "\u00e9" * 5000})])
    p = sink.wait("/v1/messages", 1, timeout=0.5 + LATE)[0]["json"]
    # 3718 two-byte runes (7436 bytes) and the three-byte ellipsis.
    assert p["markdown"] == "\u00e9" * 3718 + "\u2026", len(p["markdown"])
    assert len(p["markdown"].encode("utf-8")) == 7439


def test_5xx_retried(ctx):
    sink = ctx.sink()
    sink.respond("/v1/messages", [500, 503])
    srv = ctx.server(config(sink, group_interval=30))
    srv.post_ok([alert({"alertname": "Retry", "room": "R"})])
    reqs = sink.wait("/v1/messages", 3, timeout=0.5 + 6)
    assert [r["status"] for r in reqs] == [500, 503, 200]
    assert_no_request(sink, "/v1/messages", 1.5, "request after delivery")


def test_400_not_retried(ctx):
    sink = ctx.sink()
    sink.respond("/v1/messages", [400])
    srv = ctx.server(config(sink, group_interval=30))
    srv.post_ok([alert({"alertname": "Bad", "room": "R"})])
    sink.wait("/v1/messages", 1, timeout=0.5 + LATE)
    assert_no_request(sink, "/v1/messages", 2.5, "retry of a 400")
    wait_for(lambda: failed(srv, "clientError") >= 1, 3, what="a clientError failure")


def test_429_waits_for_next_flush(ctx):
    sink = ctx.sink()
    sink.respond("/v1/messages", [(429, {"Retry-After": "1"})])
    srv = ctx.server(config(sink, group_interval=3))
    srv.post_ok([alert({"alertname": "Limited", "room": "R"})])
    first = sink.wait("/v1/messages", 1, timeout=0.5 + LATE)[0]
    wait_for(lambda: failed(srv, "rateLimited") >= 1, 2, what="a rateLimited failure")
    assert_no_request(sink, "/v1/messages", 2.0, "retry of a 429 within the flush")
    second = sink.wait("/v1/messages", 2, timeout=3 + LATE)[1]
    assert second["status"] == 200
    assert second["time"] - first["time"] >= scaled(3) - 0.3


def test_timeout_cut_at_flush_deadline(ctx):
    sink = ctx.sink()
    sink.delay("/v1/messages", scaled(20))
    srv = ctx.server(config(sink, group_interval=2))
    srv.post_ok([alert({"alertname": "Hung", "room": "R"})])
    first = sink.wait("/v1/messages", 1, timeout=0.5 + LATE)[0]
    sink.delay("/v1/messages", 0)
    second = sink.wait("/v1/messages", 2, timeout=10 + 2 + LATE)[1]
    gap = second["time"] - first["time"]
    # The flush deadline is at least 10 s whatever the time scale (tocsin and Alertmanager).
    assert max(10, scaled(2)) - 0.5 <= gap < scaled(20), "second request %.1fs after the first" % gap
    wait_for(lambda: failed(srv, "contextDeadlineExceeded") >= 1, 3,
             what="a contextDeadlineExceeded failure")


if __name__ == "__main__":
    run_cases([test_firing_then_resolved, test_message_cut_to_7439_bytes, test_5xx_retried,
               test_400_not_retried, test_429_waits_for_next_flush,
               test_timeout_cut_at_flush_deadline])
