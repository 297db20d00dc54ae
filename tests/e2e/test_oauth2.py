"""http_config oauth2 end to end: the client-credentials token request (form, basic auth, then
the form style when the server refuses it), the token on the notification, one fetch shared by
sends and integrations, a refetch once the token expires, a token endpoint that fails, and the
config checks."""

import base64
import json
import urllib.parse

from harness import alert, dur, run_cases, tocsin_only

LATE = 1.5


def config(sink, oauth2, group_interval=2, second=""):
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
        http_config:
          oauth2:
%s
%s""" % (dur(0.5), dur(group_interval), sink.url("/hook"), oauth2, second)


def oauth2(sink, extra=""):
    return """            client_id: "my client"
            client_secret: "s3cr:t"
            token_url: %s
            scopes: [read, write]
            endpoint_params:
              audience: alerts
%s""" % (sink.url("/token"), extra)


def token_reply(sink, token, expires_in=3600):
    sink.reply("/token", json.dumps({"access_token": token, "token_type": "bearer",
                                     "expires_in": expires_in}).encode())


def form(req):
    return dict(urllib.parse.parse_qsl(req["body"].decode()))


def test_token_request_and_use(ctx):
    sink = ctx.sink()
    token_reply(sink, "tok-1")
    srv = ctx.server(config(sink, oauth2(sink)))
    srv.post_ok([alert({"alertname": "A"})])
    hook = sink.wait("/hook", 1, timeout=0.5 + LATE)[0]
    assert hook["headers"]["authorization"] == "Bearer tok-1", hook["headers"]
    tok = sink.requests("/token")
    assert len(tok) == 1
    t = tok[0]
    assert t["headers"]["content-type"] == "application/x-www-form-urlencoded"
    # Client id and secret are query-escaped inside the basic credentials, as Go's client does.
    want = base64.b64encode(b"my+client:s3cr%3At").decode()
    assert t["headers"]["authorization"] == "Basic " + want, t["headers"]
    assert t["body"] == b"audience=alerts&grant_type=client_credentials&scope=read+write", t
    # A second group reuses the cached token.
    srv.post_ok([alert({"alertname": "B"})])
    sink.wait("/hook", 2, timeout=0.5 + LATE)
    assert len(sink.requests("/token")) == 1
    assert "s3cr:t" not in srv.log()
    status = srv.request("GET", "/api/v2/status").json()
    assert "s3cr:t" not in status["config"]["original"]


def test_params_style_when_basic_refused(ctx):
    sink = ctx.sink()
    token_reply(sink, "tok-p")
    sink.respond("/token", [(401, {})])
    srv = ctx.server(config(sink, oauth2(sink)))
    srv.post_ok([alert({"alertname": "A"})])
    hook = sink.wait("/hook", 1, timeout=0.5 + LATE)[0]
    assert hook["headers"]["authorization"] == "Bearer tok-p"
    tok = sink.requests("/token")
    assert len(tok) == 2
    assert "authorization" not in tok[1]["headers"]
    f = form(tok[1])
    assert f["client_id"] == "my client" and f["client_secret"] == "s3cr:t", f
    assert f["grant_type"] == "client_credentials"


def test_expired_token_is_fetched_again(ctx):
    sink = ctx.sink()
    # expires_in 11 s: fresh for about 1 s, as a token counts as expired 10 s early.
    token_reply(sink, "short", expires_in=11)
    srv = ctx.server(config(sink, oauth2(sink)))
    srv.post_ok([alert({"alertname": "A"})])
    sink.wait("/hook", 1, timeout=0.5 + LATE)
    assert len(sink.requests("/token")) == 1
    import time
    time.sleep(1.5)
    token_reply(sink, "long")
    srv.post_ok([alert({"alertname": "B"})])
    hooks = sink.wait("/hook", 2, timeout=0.5 + LATE)
    assert hooks[1]["headers"]["authorization"] == "Bearer long"
    assert len(sink.requests("/token")) == 2


def test_token_endpoint_failure_is_retried(ctx):
    sink = ctx.sink()
    token_reply(sink, "late")
    # Both styles refused once (500 is not an auth refusal, but no style is known yet), then a
    # token: the notification goes out on a later attempt.
    sink.respond("/token", [500, 500])
    srv = ctx.server(config(sink, oauth2(sink), group_interval=30))
    srv.post_ok([alert({"alertname": "A"})])
    hook = sink.wait("/hook", 1, timeout=0.5 + 6)[0]
    assert hook["headers"]["authorization"] == "Bearer late"
    assert len(sink.requests("/token")) == 3
    assert "oauth2: cannot fetch token: 500" in srv.log()


def test_config_errors(ctx):
    """The same checks as Alertmanager's, and a clear refusal of what tocsin lacks."""
    tocsin_only("runs tocsin check-config")
    import subprocess
    from harness import binary
    cases = [
        ("            token_url: http://x/\n", "oauth2 client_id must be configured"),
        ("            client_id: a\n", "oauth2 token_url must be configured"),
        ("            client_id: a\n            token_url: http://x/\n"
         "            grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer\n",
         "is not supported yet"),
        ("            client_id: a\n            token_url: http://x/\n"
         "            claims: {a: b}\n", "oauth2: claims is not supported yet"),
        ("            client_id: a\n            token_url: http://x/\n"
         "            client_secret: x\n            client_secret_file: /nonexistent\n",
         "at most one of client_secret & client_secret_file"),
    ]
    sink = ctx.sink()
    for body, want in cases:
        path = "%s/bad.yml" % ctx.tmp
        with open(path, "w") as f:
            f.write(config(sink, body))
        r = subprocess.run([binary(), "check-config", path], capture_output=True, text=True)
        assert r.returncode != 0 and want in r.stdout + r.stderr, (want, r.stdout, r.stderr)
        assert "bad.yml:" in r.stdout + r.stderr
    both = config(sink, oauth2(sink)).replace(
        "          oauth2:\n", "          basic_auth: {username: u, password: p}\n"
        "          oauth2:\n")
    with open(path, "w") as f:
        f.write(both)
    r = subprocess.run([binary(), "check-config", path], capture_output=True, text=True)
    assert "at most one of basic_auth, oauth2 & authorization" in r.stdout + r.stderr, r


if __name__ == "__main__":
    run_cases([test_token_request_and_use, test_params_style_when_basic_refused,
               test_expired_token_is_fetched_again, test_token_endpoint_failure_is_retried,
               test_config_errors])
