"""The webhook's templated payload end to end: a YAML structure and a JSON template rendered per
send and sent as the body in place of the message, then the webhook's retry rules with it
(5xx retried with the same body, 4xx and 429 not)."""

from harness import alert, assert_no_request, dur, resolved, run_cases, wait_for

LATE = 1.5


def config(sink, payload, group_interval=2, path="/hook"):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    webhook_configs:
      - url: %s
        max_alerts: 2
        payload:
%s""" % (dur(0.5), dur(group_interval), sink.url(path), payload)


STRUCTURED = """          text: '{{ .Status }} - {{ .GroupLabels.alertname }}'
          colon: '{{ .Status }}: a colon makes this a mapping, as in Alertmanager'
          count: '{{ len .Alerts }}'
          labels: '{{ .CommonLabels | toJson }}'
          static: [1, 2.5, true, null, "two"]
          '{{ .GroupLabels.alertname }}_key': value
"""


def test_structured_payload(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, STRUCTURED))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a", "team": "db"}),
                 alert({"alertname": "Disk", "instance": "b", "team": "db"}),
                 alert({"alertname": "Disk", "instance": "c", "team": "db"})])
    r = sink.wait("/hook", 1, timeout=0.5 + LATE)[0]
    assert r["headers"]["content-type"] == "application/json"
    # Go's encoder: keys sorted, no spaces, a newline at the end.
    assert r["body"] == (b'{"Disk_key":"value","colon":{"firing":"a colon makes this a '
                         b'mapping, as in Alertmanager"},"count":2,"labels":{"alertname":"Disk",'
                         b'"team":"db"},"static":[1,2.5,true,null,"two"],'
                         b'"text":"firing - Disk"}\n'), r["body"]
    srv.post_ok([resolved({"alertname": "Disk", "instance": i, "team": "db"}) for i in "abc"])
    p = sink.wait("/hook", 2, timeout=2 + LATE)[1]["json"]
    assert p["text"] == "resolved - Disk" and p["count"] == 2, p


def test_json_template_payload(ctx):
    sink = ctx.sink()
    payload = """          |
          {{- $res := list -}}
          {{- range .Alerts -}}
          {{- $res = append $res (dict "name" .Labels.alertname "id" .Labels.id) -}}
          {{- end -}}
          {{ toJson $res }}
"""
    srv = ctx.server(config(sink, payload).replace("        payload:\n", "        payload: "))
    srv.post_ok([alert({"alertname": "Odd", "id": "value1:"})])
    r = sink.wait("/hook", 1, timeout=0.5 + LATE)[0]
    # A rendered JSON document is sent as that document, its strings as they are.
    assert r["body"] == b'[{"id":"value1:","name":"Odd"}]\n', r["body"]


def test_5xx_retried_with_same_body(ctx):
    sink = ctx.sink()
    sink.respond("/hook", [500, 502])
    srv = ctx.server(config(sink, STRUCTURED, group_interval=30))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = sink.wait("/hook", 3, timeout=0.5 + 6)
    assert [r["status"] for r in reqs] == [500, 502, 200]
    assert reqs[0]["body"] == reqs[2]["body"]
    assert reqs[2]["json"]["text"] == "firing - Retry"
    assert_no_request(sink, "/hook", 1.5, "request after delivery")


def test_4xx_and_429_not_retried(ctx):
    sink = ctx.sink()
    sink.respond("/bad", [400])
    sink.respond("/slow", [(429, {"Retry-After": "1"})])
    cfg = config(sink, STRUCTURED, group_interval=30, path="/bad") + """      - url: %s
        payload: {a: b}
""" % sink.url("/slow")
    srv = ctx.server(cfg)
    srv.post_ok([alert({"alertname": "Bad"})])
    sink.wait("/bad", 1, timeout=0.5 + LATE)
    assert sink.wait("/slow", 1, timeout=0.5 + LATE)[0]["body"] == b'{"a":"b"}\n'
    assert_no_request(sink, "/bad", 2.5, "retry of a 400")
    assert len(sink.requests("/slow")) == 1, "the webhook retried a 429"
    wait_for(lambda: (srv.metric("alertmanager_notifications_failed_total", integration="webhook",
                                 reason="rateLimited") or 0) >= 1, 3, what="rateLimited failure")


if __name__ == "__main__":
    run_cases([test_structured_payload, test_json_template_payload,
               test_5xx_retried_with_same_body, test_4xx_and_429_not_retried])
