"""WeChat receiver end to end, against a fake WeChat Work API: the token request then the
message, the token kept across notifications, an expired token fetched again, the token step
failing (no message), the message step failing after a good token (5xx and 4xx retried as
Alertmanager does, 429 after its Retry-After, an errcode failing for good), and a message
request that outlasts the flush."""

import http.server
import json
import threading
import time
import urllib.parse

from harness import HOST, SCALE, alert, dur, resolved, run_cases, wait_for

LATE = 1.5
SECRET = "corp-secret-xyz"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class FakeWeChat:
    """/cgi-bin/gettoken and /cgi-bin/message/send. Each endpoint answers from a queue of
    (status, body, headers) entries, then with its default: a fresh token "tok-N" for
    gettoken, {"errcode":0} for message/send. An entry ("hang", seconds) answers late."""

    def __init__(self):
        self.lock = threading.Condition()
        self.records = []
        self.queues = {"gettoken": [], "send": []}
        self.tokens = 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                u = urllib.parse.urlsplit(self.path)
                kind = {"/cgi-bin/gettoken": "gettoken",
                        "/cgi-bin/message/send": "send"}.get(u.path, "other")
                with fake.lock:
                    q = fake.queues.get(kind) or []
                    entry = q.pop(0) if q else None
                    if entry is None:
                        if kind == "gettoken":
                            fake.tokens += 1
                            entry = (200, {"errcode": 0, "errmsg": "ok",
                                           "access_token": "tok-%d" % fake.tokens,
                                           "expires_in": 7200}, {})
                        else:
                            entry = (200, {"errcode": 0, "errmsg": "ok"}, {})
                    fake.records.append({
                        "kind": kind, "method": self.command, "path": u.path,
                        "query": dict(urllib.parse.parse_qsl(u.query)), "raw_query": u.query,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "json": json.loads(body) if body else None, "time": time.monotonic(),
                        "answer": entry[0],
                    })
                    fake.lock.notify_all()
                if entry[0] == "hang":
                    time.sleep(entry[1])
                    entry = (200, {"errcode": 0, "errmsg": "ok"}, {})
                status, payload, headers = entry
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            do_GET = handle_one
            do_POST = handle_one

        self.httpd = _Server((HOST, 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self):
        return "http://%s:%d/cgi-bin/" % (HOST, self.port)

    def answer(self, kind, entries):
        with self.lock:
            self.queues[kind] = list(entries)

    def requests(self, kind=None):
        with self.lock:
            return [r for r in self.records if kind is None or r["kind"] == kind]

    def wait(self, count, kind=None, timeout=5.0):
        deadline = time.monotonic() + timeout * SCALE
        with self.lock:
            while True:
                got = [r for r in self.records if kind is None or r["kind"] == kind]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("fake wechat: %d of %d %s requests: %r" % (
                        len(got), count, kind or "", [(r["kind"], r["answer"])
                                                      for r in self.records]))
                self.lock.wait(left)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def fake(ctx):
    f = FakeWeChat()
    ctx.on_close(f.close)
    return f


def config(wx, extra="", group_interval=2, send_resolved="true"):
    return """
global:
  wechat_api_url: %s
  wechat_api_secret: %s
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    wechat_configs:
      - corp_id: corp-1
        agent_id: '1000002'
        to_user: '@all'
        message: '{{ .Status }} {{ .GroupLabels.alertname }} {{ len .Alerts }}'
        send_resolved: %s
%s""" % (wx.url(), SECRET, dur(0.5), dur(group_interval), send_resolved, extra)


def failed(srv, reason):
    return srv.metric("alertmanager_notifications_failed_total", integration="wechat",
                      reason=reason) or 0


def no_secrets(srv, *extra):
    log = srv.log()
    for s in (SECRET,) + extra:
        assert s not in log, "%r in the log" % s


def test_token_then_message_and_token_kept(ctx):
    wx = fake(ctx)
    srv = ctx.server(config(wx))
    srv.post_ok([alert({"alertname": "Disk", "instance": "a"})])
    reqs = wx.wait(2, timeout=0.5 + LATE)
    tok, msg = reqs[0], reqs[1]
    assert tok["kind"] == "gettoken" and tok["method"] == "GET"
    assert tok["raw_query"] == "corpid=corp-1&corpsecret=" + SECRET, tok["raw_query"]
    assert msg["kind"] == "send" and msg["method"] == "POST"
    assert msg["raw_query"] == "access_token=tok-1"
    assert msg["headers"]["content-type"] == "application/json"
    assert msg["json"] == {
        "text": {"content": "firing Disk 1"}, "touser": "@all", "agentid": "1000002",
        "safe": "0", "msgtype": "text", "markdown": {"content": ""},
    }, msg["json"]
    # The resolved notification reuses the token: no second gettoken.
    srv.post_ok([resolved({"alertname": "Disk", "instance": "a"})])
    reqs = wx.wait(3, timeout=2 + LATE)
    assert reqs[2]["kind"] == "send" and reqs[2]["raw_query"] == "access_token=tok-1"
    assert reqs[2]["json"]["text"]["content"] == "resolved Disk 1"
    assert len(wx.requests("gettoken")) == 1
    no_secrets(srv, "tok-1")


def test_expired_token_fetched_again(ctx):
    wx = fake(ctx)
    wx.answer("send", [(200, {"errcode": 42001, "errmsg": "access_token expired"}, {})])
    srv = ctx.server(config(wx, group_interval=30))
    srv.post_ok([alert({"alertname": "Expired"})])
    reqs = wx.wait(4, timeout=0.5 + 4)
    assert [(r["kind"], r["raw_query"].split("&")[0]) for r in reqs] == [
        ("gettoken", "corpid=corp-1"), ("send", "access_token=tok-1"),
        ("gettoken", "corpid=corp-1"), ("send", "access_token=tok-2")], reqs
    wait_for(lambda: srv.metric("alertmanager_notifications_total", integration="wechat"), 2,
             what="notification counted")
    assert failed(srv, "other") == 0  # the retry delivered it
    no_secrets(srv, "tok-1", "tok-2")


def test_token_step_fails(ctx):
    wx = fake(ctx)
    wx.answer("gettoken", [(200, {"errcode": 40013, "errmsg": "invalid corpid"}, {}),
                           (500, b"<html>oops</html>", {})])
    srv = ctx.server(config(wx, group_interval=30) +
                     "      - corp_id: corp-2\n")
    srv.post_ok([alert({"alertname": "NoToken"})])
    wx.wait(2, kind="gettoken", timeout=0.5 + LATE)
    # Neither is retried (the body decides, as Alertmanager), and no message is sent.
    assert_no_request_wx(wx, 2.5)
    assert wx.requests("send") == []
    wait_for(lambda: failed(srv, "other") >= 2, 3, what="two failures")
    log = srv.log()
    assert "invalid APISecret for CorpID: corp-1 (errcode 40013: invalid corpid)" in log or \
        "invalid APISecret for CorpID: corp-2 (errcode 40013: invalid corpid)" in log, \
        srv.log_tail()
    assert "gettoken: cannot decode the answer (status 500)" in log, srv.log_tail()
    no_secrets(srv)


def assert_no_request_wx(wx, during):
    before = len(wx.requests())
    time.sleep(during * SCALE)
    after = wx.requests()
    assert len(after) == before, "unexpected requests: %r" % [
        (r["kind"], r["answer"]) for r in after[before:]]


def test_message_step_fails_after_good_token(ctx):
    wx = fake(ctx)
    wx.answer("send", [(500, {}, {}), (400, {}, {}), (429, {}, {"Retry-After": "1"})])
    srv = ctx.server(config(wx, group_interval=30))
    srv.post_ok([alert({"alertname": "Flaky"})])
    sends = wx.wait(4, kind="send", timeout=0.5 + 8)
    assert [r["answer"] for r in sends] == [500, 400, 429, 200]
    # Retries start over at step 0, where the kept token skips gettoken.
    assert len(wx.requests("gettoken")) == 1
    assert all(r["raw_query"] == "access_token=tok-1" for r in sends)
    assert sends[3]["time"] - sends[2]["time"] >= 0.9
    assert sends[0]["json"] == sends[3]["json"]
    no_secrets(srv, "tok-1")


def test_errcode_fails_without_retry(ctx):
    wx = fake(ctx)
    wx.answer("send", [(200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}, {})])
    srv = ctx.server(config(wx, group_interval=30))
    srv.post_ok([alert({"alertname": "Nobody"})])
    wx.wait(2, timeout=0.5 + LATE)
    assert_no_request_wx(wx, 2.5)
    wait_for(lambda: failed(srv, "other") >= 1, 3, what="failure")
    assert "user & party & tag all invalid (errcode 81013)" in srv.log()


def test_message_timeout(ctx):
    wx = fake(ctx)
    # The flush deadline is the group interval, at least 10 s (as Alertmanager): outlast it.
    wx.answer("send", [("hang", 10 * SCALE + 4)])
    srv = ctx.server(config(wx, group_interval=2))
    srv.post_ok([alert({"alertname": "Hang"})])
    wx.wait(2, timeout=0.5 + LATE)
    wait_for(lambda: failed(srv, "contextDeadlineExceeded") >= 1, 10 + 3,
             what="deadline failure")
    # The next flush sends again, with the kept token.
    sends = wx.wait(2, kind="send", timeout=2 + LATE)
    assert sends[1]["answer"] == 200 and sends[1]["raw_query"] == "access_token=tok-1"
    assert len(wx.requests("gettoken")) == 1


def test_markdown_and_secret_file(ctx):
    wx = fake(ctx)
    path = ctx.tmp + "/wechat-secret"
    with open(path, "w") as f:
        f.write("filed-secret\n")
    extra = """      - corp_id: corp-3
        api_secret_file: %s
        message_type: markdown
        message: '**{{ .Status }}**'
        to_party: '2'
""" % path
    srv = ctx.server(config(wx) + extra)
    srv.post_ok([alert({"alertname": "Md"})])
    reqs = wx.wait(4, timeout=0.5 + LATE)
    toks = [r for r in reqs if r["kind"] == "gettoken"]
    assert sorted(r["query"]["corpsecret"] for r in toks) == sorted([SECRET, "filed-secret"])
    md = [r for r in reqs if r["kind"] == "send" and r["json"]["msgtype"] == "markdown"][0]
    assert md["json"] == {"text": {"content": ""}, "toparty": "2", "safe": "0",
                          "msgtype": "markdown", "markdown": {"content": "**firing**"}}, md["json"]
    no_secrets(srv, "filed-secret")


if __name__ == "__main__":
    run_cases([test_token_then_message_and_token_kept, test_expired_token_fetched_again,
               test_token_step_fails, test_message_step_fails_after_good_token,
               test_errcode_fails_without_retry, test_message_timeout,
               test_markdown_and_secret_file])
