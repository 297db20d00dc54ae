"""Discord receiver end to end: the webhook message for firing and resolved groups (colours),
Discord's length limits, the URL file, and the retry rules (5xx and 429 with Retry-After
retried, 400 not)."""

import os

from harness import alert, assert_no_request, dur, resolved, run_cases

LATE = 1.5
RED, GREEN = 0x992D22, 0x2ECC71


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
    discord_configs:
      - %s
        title: '[{{ .Status }}] {{ .GroupLabels.alertname }}'
        message: '{{ range .Alerts }}{{ .Labels.instance }};{{ end }}'
        username: tocsin
        avatar_url: http://example/a.png
%s""" % (dur(0.5), dur(group_interval), url_line, extra)


def test_firing_then_resolved(ctx):
    sink = ctx.sink()
    srv = ctx.server(config("webhook_url: %s" % sink.url("/api/webhooks/1/tok")))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"})])
    r = sink.wait("/api/webhooks/1/tok", 1, timeout=0.5 + LATE)[0]
    assert r["headers"]["content-type"] == "application/json"
    assert r["json"] == {
        "content": "",
        "embeds": [{"title": "[firing] Disk", "description": "a;", "color": RED}],
        "username": "tocsin",
        "avatar_url": "http://example/a.png",
    }, r["json"]
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a"})])
    p = sink.wait("/api/webhooks/1/tok", 2, timeout=2 + LATE)[1]["json"]
    assert p["embeds"][0] == {"title": "[resolved] Disk", "description": "a;", "color": GREEN}


def test_limits(ctx):
    sink = ctx.sink()
    extra = "        content: '%s'\n" % ("c" * 2100)
    cfg = config("webhook_url: %s" % sink.url("/w"), extra).replace(
        "title: '[{{ .Status }}] {{ .GroupLabels.alertname }}'", "title: '%s'" % ("t" * 300))
    srv = ctx.server(cfg)
    srv.post_ok([alert({"alertname": "Long", "instance": "x" * 5000})])
    p = sink.wait("/w", 1, timeout=0.5 + LATE)[0]["json"]
    assert p["content"] == "c" * 1999 + "\u2026"
    assert p["embeds"][0]["title"] == "t" * 255 + "\u2026"
    assert p["embeds"][0]["description"] == "x" * 4095 + "\u2026"


def test_url_file_and_retries(ctx):
    sink = ctx.sink()
    path = os.path.join(ctx.tmp, "discord-url")
    with open(path, "w") as f:
        f.write(sink.url("/filed") + "\n")
    sink.respond("/filed", [500, (429, {"Retry-After": "1"})])
    srv = ctx.server(config("webhook_url_file: %s" % path, group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = sink.wait("/filed", 3, timeout=0.5 + 8)
    assert [r["status"] for r in reqs] == [500, 429, 200]
    assert reqs[2]["time"] - reqs[1]["time"] >= 0.9
    assert sink.url("/filed") not in srv.log()


def test_400_not_retried(ctx):
    sink = ctx.sink()
    sink.respond("/w", [400])
    srv = ctx.server(config("webhook_url: %s" % sink.url("/w"), group_interval=30))
    srv.post_ok([alert({"alertname": "Bad"})])
    sink.wait("/w", 1, timeout=0.5 + LATE)
    assert_no_request(sink, "/w", 2.5, "retry of a 400")


if __name__ == "__main__":
    run_cases([test_firing_then_resolved, test_limits, test_url_file_and_retries,
               test_400_not_retried])
