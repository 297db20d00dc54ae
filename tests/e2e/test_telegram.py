"""Telegram receiver end to end against a fake Bot API: sendMessage for firing and resolved
groups (path with the token, the JSON parameters), the default message escaped for HTML,
Telegram's length limit in each parse mode, token and chat id files read per send, and the
reply rules: {"ok":true} delivers; 4xx, 5xx, a 429 (Retry-After) and a timeout are all
retried, as Alertmanager retries every error of its Telegram client."""

import os

from fake_api import Answer, FakeAPI
from harness import alert, dur, resolved, run_cases, tocsin_only, wait_for

LATE = 1.5
TOKEN = "123456789:AAFakeTokenForTests"
PATH = "/bot%s/sendMessage" % TOKEN
OK = Answer(200, {"ok": True, "result": {"message_id": 7, "chat": {"id": -1001234567890}}})


def fake(ctx, default=OK):
    f = FakeAPI(default=default)
    ctx.on_close(f.close)
    return f


def config(api, block, group_interval=2):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    telegram_configs:
      - api_url: %s
%s""" % (dur(0.5), dur(group_interval), api.url(), block)


BLOCK = """        bot_token: '%s'
        chat_id: -1001234567890
""" % TOKEN


def requests_failed(srv):
    return srv.metric("alertmanager_notification_requests_failed_total",
                      integration="telegram") or 0


def failed(srv, reason):
    return srv.metric("alertmanager_notifications_failed_total", integration="telegram",
                      reason=reason) or 0


def test_firing_then_resolved(ctx):
    api = fake(ctx)
    srv = ctx.server(config(api, BLOCK + """        message_thread_id: 1357
        disable_notifications: true
        message: '<b>{{ .Status }}</b> {{ range .Alerts }}{{ .Labels.instance }};{{ end }}'
"""))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"})])
    r = api.wait(1, timeout=0.5 + LATE)[0]
    assert r["path"] == PATH, r["path"]
    assert r["headers"]["content-type"] == "application/json"
    assert r["json"] == {
        "chat_id": "-1001234567890", "disable_notification": "true",
        "disable_web_page_preview": "true", "message_thread_id": "1357",
        "parse_mode": "HTML", "text": "<b>firing</b> a;",
    }, r["json"]
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a"})])
    r = api.wait(2, timeout=2 + LATE)[1]
    assert r["json"]["text"] == "<b>resolved</b> a;", r["json"]
    assert TOKEN not in srv.log()
    shown = srv.request("GET", "/api/v2/status").json()["config"]["original"]
    assert TOKEN not in shown and "<secret>" in shown, shown


def test_default_message_escaped(ctx):
    api = fake(ctx)
    srv = ctx.server(config(api, BLOCK))
    srv.post_ok([alert({"alertname": "Esc", "instance": "a<b&c"},
                       generator_url="http://prom/graph?g0.expr=up&g0.tab=1")])
    r = api.wait(1, timeout=0.5 + LATE)[0]["json"]
    assert r["parse_mode"] == "HTML"
    assert r["text"] == ("\n\nAlerts Firing:\nLabels:\n - alertname = Esc\n"
                         " - instance = a&lt;b&amp;c\nAnnotations:\n"
                         "Source: http://prom/graph?g0.expr=up&amp;g0.tab=1\n\n\n\n"), r["text"]
    # Go's encoder escapes <, > and & on the wire.
    assert b"a\\u0026lt;b\\u0026amp;c" in api.requests()[0]["body"]


def test_length_limit(ctx):
    api = fake(ctx)
    block = BLOCK + """        parse_mode: ''
        message: '{{ .CommonLabels.long }}'
      - api_url: %s
        bot_token: '%s'
        chat_id: 2
        message: '{{ .CommonLabels.long }}'
""" % (api.url(), TOKEN)
    srv = ctx.server(config(api, block))
    srv.post_ok([alert({"alertname": "Long", "long": "y" * 5000})])
    got = {r["json"]["chat_id"]: r["json"] for r in api.wait(2, timeout=0.5 + LATE)}
    # Without a parse mode the text is cut to 4096 runes ...
    assert "parse_mode" not in got["-1001234567890"]
    assert got["-1001234567890"]["text"] == "y" * 4095 + "\u2026"
    # ... in HTML mode a cut could break the markup: a notice goes instead.
    assert "longer than Telegram allows" in got["2"]["text"], got["2"]["text"]


def test_files_read_per_send(ctx):
    api = fake(ctx)
    tok, chat = os.path.join(ctx.tmp, "token"), os.path.join(ctx.tmp, "chat")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")
    with open(chat, "w") as f:
        f.write("42\n")
    srv = ctx.server(config(api, """        bot_token_file: %s
        chat_id_file: %s
        message: '{{ .Status }}'
""" % (tok, chat)))
    srv.post_ok([alert({"alertname": "Filed"})])
    r = api.wait(1, timeout=0.5 + LATE)[0]
    assert r["path"] == PATH and r["json"]["chat_id"] == "42", r
    with open(tok, "w") as f:
        f.write("999:Other\n")
    with open(chat, "w") as f:
        f.write("-7")
    srv.post_ok([resolved({"alertname": "Filed"})])
    r = api.wait(2, timeout=2 + LATE)[1]
    assert r["path"] == "/bot999:Other/sendMessage" and r["json"]["chat_id"] == "-7", r


def test_4xx_retried(ctx):
    api = fake(ctx, Answer(400, {"ok": False, "error_code": 400,
                                 "description": "Bad Request: chat not found"}))
    # The flush deadline (10 s at least) ends the retries; the notification fails then.
    srv = ctx.server(config(api, BLOCK, group_interval=1))
    srv.post_ok([alert({"alertname": "Bad"})])
    api.wait(2, timeout=0.5 + 4)
    wait_for(lambda: failed(srv, "clientError") >= 1, 10 + 3, what="a clientError failure")
    assert "chat not found" in srv.log()


def test_5xx_then_ok(ctx):
    api = fake(ctx)
    api.answer(Answer(500, {"ok": False, "error_code": 500,
                            "description": "Internal Server Error"}),
               Answer(502, b"<html>bad gateway</html>", content_type="text/html"))
    srv = ctx.server(config(api, BLOCK, group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = api.wait(3, timeout=0.5 + 8)
    assert [r["status"] for r in reqs] == [500, 502, 200]
    assert reqs[0]["json"] == reqs[2]["json"]
    wait_for(lambda: requests_failed(srv) >= 2, 3, what="two failed requests")


def test_429_waits(ctx):
    api = fake(ctx)
    api.answer(Answer(429, {"ok": False, "error_code": 429,
                            "description": "Too Many Requests: retry after 2",
                            "parameters": {"retry_after": 2}}, headers={"Retry-After": "2"}))
    srv = ctx.server(config(api, BLOCK, group_interval=30))
    srv.post_ok([alert({"alertname": "Flood"})])
    reqs = api.wait(2, timeout=0.5 + 6)
    assert reqs[1]["time"] - reqs[0]["time"] >= 1.9, reqs[1]["time"] - reqs[0]["time"]
    wait_for(lambda: requests_failed(srv) >= 1, 3, what="a failed request")


def test_429_retry_after_in_body(ctx):
    tocsin_only("Alertmanager does not wait for Telegram's parameters.retry_after")
    api = fake(ctx)
    api.answer(Answer(429, {"ok": False, "error_code": 429,
                            "description": "Too Many Requests: retry after 3",
                            "parameters": {"retry_after": 3}}))
    srv = ctx.server(config(api, BLOCK, group_interval=30))
    srv.post_ok([alert({"alertname": "Flood"})])
    reqs = api.wait(2, timeout=0.5 + 8)
    assert reqs[1]["time"] - reqs[0]["time"] >= 2.9, reqs[1]["time"] - reqs[0]["time"]


def test_timeout(ctx):
    # A send has until the flush deadline (the group interval, at least 10 s); Telegram has no
    # timeout option of its own.
    api = fake(ctx)
    api.answer(Answer(200, OK.body, delay=10.5))
    srv = ctx.server(config(api, BLOCK, group_interval=1))
    srv.post_ok([alert({"alertname": "Slow"})])
    reqs = api.wait(2, timeout=0.5 + 10 + 1 + 3)
    # The deadline is 10 s from the flush; the first request may reach the fake API a moment
    # late on a busy machine (connect, TLS), which shortens the gap seen here.
    assert reqs[1]["time"] - reqs[0]["time"] >= 9.0, reqs[1]["time"] - reqs[0]["time"]
    assert reqs[1]["json"] == reqs[0]["json"]
    wait_for(lambda: failed(srv, "contextDeadlineExceeded") >= 1, 3,
             what="a contextDeadlineExceeded failure")


if __name__ == "__main__":
    run_cases([test_firing_then_resolved, test_default_message_escaped, test_length_limit,
               test_files_read_per_send, test_4xx_retried, test_5xx_then_ok, test_429_waits,
               test_429_retry_after_in_body, test_timeout])
