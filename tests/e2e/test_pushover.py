"""Pushover receiver end to end. Its API URL is fixed (https://api.pushover.net/1/messages.json,
no config key), so the server is pointed at a loopback HTTP proxy through the config's
http_config.proxy_url: the fake answers the CONNECT and ends the TLS session itself, with a
certificate made here that tls_config.ca_file trusts. Nothing leaves 127.0.0.1.

Cases: firing and resolved (every parameter in the query string, an empty body, priority by
status), the limits, key files read per send, and the retry rules: 5xx retried, 4xx and 429
not, a timeout cut at the flush deadline."""

import os

from fake_api import Answer, FakeAPI, make_cert
from harness import alert, dur, resolved, run_cases, wait_for

LATE = 1.5
HOST = "api.pushover.net"
OK = Answer(200, {"status": 1, "request": "5042853c-402d-4a18-abcb-168734a801de"})


def fake(ctx, default=OK):
    f = FakeAPI(default=default, tls=make_cert(ctx.tmp, HOST))
    ctx.on_close(f.close)
    return f


def config(api, ctx, block, group_interval=2):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    pushover_configs:
      - http_config:
          proxy_url: %s
          tls_config:
            ca_file: %s
%s""" % (dur(0.5), dur(group_interval), api.url(), os.path.join(ctx.tmp, HOST + ".crt"), block)


KEYS = """        token: app-token-secret
        user_key: user-key-secret
"""


def failed(srv, reason):
    return srv.metric("alertmanager_notifications_failed_total", integration="pushover",
                      reason=reason) or 0


def test_firing_then_resolved(ctx):
    api = fake(ctx)
    srv = ctx.server(config(api, ctx, KEYS + """        title: '{{ .Status }} {{ .GroupLabels.alertname }}'
        message: '{{ range .Alerts }}{{ .Labels.instance }};{{ end }}'
        url_title: Silence
        sound: siren
        ttl: 2h
"""))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a b"})])
    r = api.wait(1, timeout=0.5 + LATE)[0]
    assert api.connects == ["%s:443" % HOST], api.connects
    assert r["tls"] and r["method"] == "POST" and r["path"] == "/1/messages.json", r
    assert r["body"] == b"" and r["headers"]["content-type"] == "text/plain", r
    assert [k for k, _ in r["query"]] == [
        "device", "expire", "message", "priority", "retry", "sound", "title", "token", "ttl",
        "url", "url_title", "user"], r["query"]
    q = dict(r["query"])
    assert q == {
        "device": "", "expire": "3600", "message": "a b;", "priority": "2", "retry": "60",
        "sound": "siren", "title": "firing Disk", "token": "app-token-secret", "ttl": "7200",
        "url": q["url"], "url_title": "Silence", "user": "user-key-secret"}, q
    assert q["url"].endswith("/#/alerts?receiver=team"), q["url"]
    assert "message=a+b%3B" in r["raw_query"], r["raw_query"]
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a b"})])
    q = dict(api.wait(2, timeout=2 + LATE)[1]["query"])
    assert q["title"] == "resolved Disk" and q["priority"] == "0", q
    shown = srv.request("GET", "/api/v2/status").json()["config"]["original"]
    for text in (srv.log(), shown):
        assert "app-token-secret" not in text and "user-key-secret" not in text
    assert shown.count("<secret>") == 2, shown


def test_limits(ctx):
    api = fake(ctx)
    srv = ctx.server(config(api, ctx, KEYS + """        title: '{{ .CommonLabels.long }}'
        message: '  {{ .CommonLabels.long }}{{ .CommonLabels.long }}  '
        url: 'http://x/{{ .CommonLabels.long }}'
        html: true
"""))
    srv.post_ok([alert({"alertname": "Long", "long": "\u00e9" * 600})])
    q = dict(api.wait(1, timeout=0.5 + LATE)[0]["query"])
    assert q["title"] == "\u00e9" * 249 + "\u2026", len(q["title"])
    assert q["message"] == "\u00e9" * 1021 + "\u2026", len(q["message"])  # trimmed, then cut
    assert q["url"] == "http://x/" + "\u00e9" * 502 + "\u2026", len(q["url"])
    assert q["html"] == "1"


def test_key_files(ctx):
    api = fake(ctx)
    tok, usr = os.path.join(ctx.tmp, "token"), os.path.join(ctx.tmp, "user")
    with open(tok, "w") as f:
        f.write("file-token\n")
    with open(usr, "w") as f:
        f.write("file-user")
    srv = ctx.server(config(api, ctx, """        token_file: %s
        user_key_file: %s
""" % (tok, usr)))
    srv.post_ok([alert({"alertname": "Filed"})])
    q = dict(api.wait(1, timeout=0.5 + LATE)[0]["query"])
    assert q["token"] == "file-token" and q["user"] == "file-user", q
    with open(usr, "w") as f:
        f.write("rotated-user")
    srv.post_ok([resolved({"alertname": "Filed"})])
    q = dict(api.wait(2, timeout=2 + LATE)[1]["query"])
    assert q["user"] == "rotated-user", q


def test_5xx_retried(ctx):
    api = fake(ctx)
    api.answer(Answer(500, {"status": 0, "errors": ["try again"]}), Answer(503, b""))
    srv = ctx.server(config(api, ctx, KEYS, group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = api.wait(3, timeout=0.5 + 8)
    assert [r["status"] for r in reqs] == [500, 503, 200]
    assert reqs[0]["query"] == reqs[2]["query"]


def test_4xx_not_retried(ctx):
    body = {"user": "invalid", "errors": ["user identifier is not a valid user"],
            "status": 0, "request": "r"}
    api = fake(ctx, Answer(400, body))
    srv = ctx.server(config(api, ctx, KEYS, group_interval=30))
    srv.post_ok([alert({"alertname": "Bad"})])
    api.wait(1, timeout=0.5 + LATE)
    wait_for(lambda: failed(srv, "clientError") >= 1, 3, what="a clientError failure")
    assert len(api.requests()) == 1
    assert "user identifier is not a valid user" in srv.log()  # Pushover's reply, as it came


def test_429_not_retried(ctx):
    # Pushover's rate limit is monthly: Alertmanager does not retry its 429.
    api = fake(ctx, Answer(429, {"status": 0, "errors": ["quota exceeded"]},
                           headers={"Retry-After": "1"}))
    srv = ctx.server(config(api, ctx, KEYS, group_interval=30))
    srv.post_ok([alert({"alertname": "Quota"})])
    api.wait(1, timeout=0.5 + LATE)
    wait_for(lambda: failed(srv, "rateLimited") >= 1, 3, what="a rateLimited failure")
    assert len(api.requests()) == 1


def test_timeout(ctx):
    # A send has until the flush deadline: the group interval, at least 10 s.
    api = fake(ctx)
    api.answer(Answer(200, OK.body, delay=10.5))
    srv = ctx.server(config(api, ctx, KEYS, group_interval=1))
    srv.post_ok([alert({"alertname": "Slow"})])
    reqs = api.wait(2, timeout=0.5 + 10 + 1 + 3)
    # The deadline is 10 s from the flush; the first request may reach the fake API a moment
    # late on a busy machine (connect, TLS), which shortens the gap seen here.
    assert reqs[1]["time"] - reqs[0]["time"] >= 9.0, reqs[1]["time"] - reqs[0]["time"]
    assert reqs[1]["query"] == reqs[0]["query"]
    wait_for(lambda: failed(srv, "contextDeadlineExceeded") >= 1, 3,
             what="a contextDeadlineExceeded failure")


if __name__ == "__main__":
    run_cases([test_firing_then_resolved, test_limits, test_key_files, test_5xx_retried,
               test_4xx_not_retried, test_429_not_retried, test_timeout])
