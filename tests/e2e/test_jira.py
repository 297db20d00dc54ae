"""Jira receiver end to end against a fake Jira on loopback: the whole issue lifecycle (search,
create, update, resolve and reopen transitions, reopen_duration, wont_fix_resolution), and
the retry rules on every step: 5xx and 429 (after Retry-After) retried, 4xx not, a timeout,
and a step failing halfway (the whole send starts over with a new search)."""

import base64
import hashlib
import http.server
import json
import re
import threading
import time

from harness import HOST, alert, dur, resolved, run_cases, scaled, wait_for

LATE = 1.5
API = "/rest/api/2"
REOPEN, CLOSE = "Reopen", "Close"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class FakeJira:
    """Issues in memory, the search's JQL read as far as tocsin writes it, transitions that
    move an issue between open and done. Per route ("search", "create", "update",
    "transitions", "transition") a queue of faults: a status, a (status, headers) pair, or
    ("delay", seconds, not scaled) before answering normally."""

    def __init__(self, ctx):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.issues = {}
        self.records = []
        self.faults = {}
        self.next_id = 1
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                status, headers, payload = fake.serve(self.command, self.path, self.headers, body)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = handle_one

        self.httpd = _Server((HOST, 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        ctx.on_close(self.close)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self):
        return "http://%s:%d%s" % (HOST, self.port, API)

    def fail(self, route, faults):
        with self.lock:
            self.faults.setdefault(route, []).extend(faults)

    # --- state

    def issue(self, key):
        with self.lock:
            return dict(self.issues[key])

    def set(self, key, **kw):
        with self.lock:
            self.issues[key].update(kw)

    def keys(self):
        with self.lock:
            return sorted(self.issues)

    def routes(self):
        with self.lock:
            return [r["route"] for r in self.records]

    def requests(self, route=None):
        with self.lock:
            return [r for r in self.records if route is None or r["route"] == route]

    def wait(self, route, count, timeout):
        deadline = time.monotonic() + scaled(timeout)
        with self.lock:
            while True:
                got = [r for r in self.records if r["route"] == route]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("jira %s: %d of %d requests after %.1fs; seen %r" % (
                        route, len(got), count, scaled(timeout),
                        [r["route"] for r in self.records]))
                self.cond.wait(left)

    # --- the API

    def route(self, method, path):
        p = path.split("?")[0]
        if not p.startswith(API + "/"):
            return None, None
        p = p[len(API):]
        if method == "POST" and p == "/search":
            return "search", None
        if method == "POST" and p == "/issue":
            return "create", None
        m = re.match(r"^/issue/([^/]+)(/transitions)?$", p)
        if not m:
            return None, None
        if m.group(2):
            return ("transitions" if method == "GET" else "transition"), m.group(1)
        return ("update" if method == "PUT" else None), m.group(1)

    def serve(self, method, path, headers, body):
        route, key = self.route(method, path)
        try:
            data = json.loads(body.decode()) if body else None
        except ValueError:
            data = None
        with self.lock:
            fault = None
            q = self.faults.get(route)
            if q:
                fault = q.pop(0)
            self.records.append({"route": route, "method": method, "path": path, "key": key,
                                 "headers": {k.lower(): v for k, v in headers.items()},
                                 "json": data, "time": time.monotonic(),
                                 "fault": fault})
            self.cond.notify_all()
        if isinstance(fault, tuple) and fault[0] == "delay":
            time.sleep(fault[1])
        elif fault is not None:
            status, extra = fault if isinstance(fault, tuple) else (fault, {})
            return status, extra, b'{"errorMessages":["injected"]}'
        with self.lock:
            return self.answer(route, key, data)

    def answer(self, route, key, data):
        if route == "search":
            return 200, {}, json.dumps(self.search(data["jql"], data["maxResults"])).encode()
        if route == "create":
            key = "OPS-%d" % self.next_id
            self.next_id += 1
            self.issues[key] = {"fields": data["fields"], "status": "new", "resolved_at": None,
                                "resolution": None}
            return 201, {}, json.dumps({"id": str(10000 + self.next_id), "key": key}).encode()
        if key not in self.issues:
            return 404, {}, b'{"errorMessages":["Issue does not exist"]}'
        it = self.issues[key]
        if route == "update":
            it["fields"] = data["fields"]
            return 204, {}, b""
        if route == "transitions":
            return 200, {}, json.dumps(self.transitions()).encode()
        if route == "transition":
            tid = data["transition"]["id"]
            if tid == "31":
                it.update(status="done", resolved_at=time.time(), resolution="Done")
            elif tid == "41":
                it.update(status="new", resolved_at=None, resolution=None)
            else:
                return 400, {}, b'{"errorMessages":["bad transition"]}'
            return 204, {}, b""
        return 404, {}, b"{}"

    def transitions(self):
        """A workflow's list, each with its target status in full: well past 4 KB, the
        wanted ones last."""
        out = []
        for i in range(12):
            out.append({"id": str(100 + i), "name": "Step %d" % i, "hasScreen": False,
                        "to": {"self": "http://jira/rest/api/2/status/%d" % i,
                               "description": "x" * 300, "name": "Status %d" % i,
                               "statusCategory": {"key": "indeterminate", "name": "In Progress"}}})
        out.append({"id": "31", "name": CLOSE, "to": {"name": "Done"}})
        out.append({"id": "41", "name": REOPEN, "to": {"name": "Open"}})
        return {"expand": "transitions", "transitions": out}

    def search(self, jql, max_results):
        label = re.search(r'labels="([^"]*)"', jql).group(1)
        project = re.search(r'project="([^"]*)"', jql).group(1)
        open_only = "statusCategory != Done" in jql
        window = re.search(r"resolutiondate >= -(\d+)m", jql)
        wont = re.search(r'resolution != "((?:[^"\\]|\\.)*)"', jql)
        found = []
        for key, it in self.issues.items():
            f = it["fields"]
            if label not in f.get("labels", []) or f["project"]["key"] != project:
                continue
            done = it["status"] == "done"
            if open_only and done:
                continue
            if window and done and it["resolved_at"] < time.time() - 60 * int(window.group(1)):
                continue
            if wont and it["resolution"] == wont.group(1):
                continue
            found.append((done, -(it["resolved_at"] or 0), key))
        found.sort()
        issues = [{"id": "1", "key": k, "self": "http://jira/issue/" + k,
                   "fields": {"status": {"name": "Done" if d else "Open",
                                         "statusCategory": {"key": "done" if d else "new"}}}}
                  for d, _, k in found[:max_results]]
        return {"startAt": 0, "maxResults": max_results, "total": len(found), "issues": issues}


def config(jira, extra="", group_interval=2):
    return """
route:
  receiver: team
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: team
    jira_configs:
      - api_url: %s
        project: OPS
        issue_type: Bug
        summary: '{{ .Status }} {{ .GroupLabels.alertname }} x{{ len .Alerts.Firing }}'
        labels: [alertmanager, '{{ .CommonLabels.team }}']
        reopen_transition: %s
        resolve_transition: %s
        wont_fix_resolution: "Won't Fix"
        reopen_duration: 10m
        fields:
          customfield_10001: '{{ .CommonLabels.team }}'
          customfield_10002: {value: '{{ .CommonLabels.severity }}'}
          customfield_10003: '[{"name": "{{ .CommonLabels.team }}"}]'
        http_config:
          basic_auth:
            username: jira-user
            password: jira-secret
%s""" % (dur(0.5), dur(group_interval), jira.url(), REOPEN, CLOSE, extra)


def group_label(name):
    return "ALERT{%s}" % hashlib.sha256(('{}:{alertname="%s"}' % name).encode()).hexdigest()


def disk(instance="a", **kw):
    return {"alertname": "Disk", "instance": instance, "team": "storage", "severity": "critical",
            **kw}


def test_lifecycle(ctx):
    """Firing creates the issue, resolving closes it, firing again within reopen_duration
    reopens the same issue."""
    jira = FakeJira(ctx)
    srv = ctx.server(config(jira))
    srv.post_ok([alert(disk())])
    create = jira.wait("create", 1, timeout=0.5 + LATE)[0]
    search = jira.requests("search")[0]
    label = group_label("Disk")
    assert search["path"] == API + "/search"
    assert search["json"] == {
        "fields": ["status"], "maxResults": 2,
        "jql": "(resolution is EMPTY or resolution != \"Won't Fix\") and (resolutiondate is "
               "EMPTY OR resolutiondate >= -10m) and project=\"OPS\" and labels=\"%s\" order by "
               "status ASC,resolutiondate DESC" % label}, search["json"]
    h = search["headers"]
    assert h["content-type"] == "application/json" and h["accept-language"] == "en"
    assert h["authorization"] == "Basic " + base64.b64encode(b"jira-user:jira-secret").decode()
    f = create["json"]["fields"]
    assert list(f) == sorted(f), list(f)  # Go writes the fields as a sorted map
    assert f["project"] == {"key": "OPS"} and f["issuetype"] == {"name": "Bug"}
    assert f["summary"] == "firing Disk x1"
    assert f["labels"] == sorted([label, "alertmanager", "storage"])
    assert f["priority"] == {"name": "High"}
    assert f["customfield_10001"] == "storage"
    assert f["customfield_10002"] == {"value": "critical"}
    assert f["customfield_10003"] == [{"name": "storage"}]
    assert "# Alerts Firing:" in f["description"] and "instance = a" in f["description"]
    assert jira.keys() == ["OPS-1"]

    srv.post_ok([resolved(disk())])
    jira.wait("transition", 1, timeout=2 + LATE)
    assert jira.routes() == ["search", "create", "search", "update", "transitions",
                             "transition"], jira.routes()
    resolve_search = jira.requests("search")[1]["json"]["jql"]
    assert resolve_search.startswith("(resolution is EMPTY or resolution != \"Won't Fix\") and "
                                     "statusCategory != Done and "), resolve_search
    update = jira.requests("update")[0]
    assert update["key"] == "OPS-1" and update["method"] == "PUT"
    assert update["json"]["fields"]["summary"] == "resolved Disk x0"
    assert "# Alerts Resolved:" in update["json"]["fields"]["description"]
    # The list ran past 4 KB; the transition was found all the same.
    assert jira.requests("transition")[0]["json"] == {"transition": {"id": "31"}}
    assert jira.issue("OPS-1")["status"] == "done"

    srv.post_ok([alert(disk("b"))])
    jira.wait("transition", 2, timeout=2 + LATE)
    assert jira.routes()[6:] == ["search", "update", "transitions", "transition"], jira.routes()
    assert jira.requests("transition")[1]["json"] == {"transition": {"id": "41"}}
    assert jira.issue("OPS-1")["status"] == "new"
    assert jira.keys() == ["OPS-1"]
    wait_for(lambda: (srv.metric("alertmanager_notifications_total", integration="jira") or 0)
             >= 3, 3, what="three notifications")
    assert not srv.metric("alertmanager_notifications_failed_total", integration="jira")
    assert "jira-secret" not in srv.log()


def test_update_without_transition(ctx):
    """A new alert in a group with an open issue updates it; no transition is read."""
    jira = FakeJira(ctx)
    srv = ctx.server(config(jira))
    srv.post_ok([alert(disk("a"))])
    jira.wait("create", 1, timeout=0.5 + LATE)
    srv.post_ok([alert(disk("b"))])
    update = jira.wait("update", 1, timeout=2 + LATE)[0]
    assert update["key"] == "OPS-1"
    assert update["json"]["fields"]["summary"] == "firing Disk x2"
    assert_no_request_route(jira, "transitions", 1.0)
    assert jira.routes() == ["search", "create", "search", "update"], jira.routes()


def assert_no_request_route(jira, route, during):
    before = len(jira.requests(route))
    time.sleep(scaled(during))
    assert len(jira.requests(route)) == before, jira.routes()


def test_reopen_beyond_duration(ctx):
    """An issue resolved longer ago than reopen_duration is not found: a new one is made."""
    jira = FakeJira(ctx)
    srv = ctx.server(config(jira))
    srv.post_ok([alert(disk())])
    jira.wait("create", 1, timeout=0.5 + LATE)
    srv.post_ok([resolved(disk())])
    jira.wait("transition", 1, timeout=2 + LATE)
    jira.set("OPS-1", resolved_at=time.time() - 11 * 60)
    srv.post_ok([alert(disk("b"))])
    jira.wait("create", 2, timeout=2 + LATE)
    assert jira.keys() == ["OPS-1", "OPS-2"]
    assert jira.issue("OPS-1")["status"] == "done"
    assert len(jira.requests("transition")) == 1


def test_wont_fix(ctx):
    """An issue resolved as wont_fix_resolution is left alone: the group gets a new one."""
    jira = FakeJira(ctx)
    srv = ctx.server(config(jira))
    srv.post_ok([alert(disk("a"))])
    jira.wait("create", 1, timeout=0.5 + LATE)
    jira.set("OPS-1", status="done", resolved_at=time.time(), resolution="Won't Fix")
    srv.post_ok([alert(disk("b"))])
    jira.wait("create", 2, timeout=2 + LATE)
    assert jira.keys() == ["OPS-1", "OPS-2"]
    assert not jira.requests("transitions")


def test_4xx_not_retried(ctx):
    jira = FakeJira(ctx)
    jira.fail("create", [400])
    srv = ctx.server(config(jira, group_interval=30))
    srv.post_ok([alert(disk())])
    jira.wait("create", 1, timeout=0.5 + LATE)
    assert_no_request_route(jira, "search", 2.0)
    assert jira.routes() == ["search", "create"], jira.routes()
    wait_for(lambda: (srv.metric("alertmanager_notifications_failed_total", integration="jira",
                                 reason="clientError") or 0) >= 1, 3, what="clientError failure")
    assert 'failed to POST request to \\"issue\\": unexpected status code 400' in srv.log() or \
        'failed to POST request to "issue": unexpected status code 400' in srv.log()


def test_5xx_retried(ctx):
    jira = FakeJira(ctx)
    jira.fail("search", [503, 502])
    srv = ctx.server(config(jira, group_interval=30))
    srv.post_ok([alert(disk())])
    jira.wait("create", 1, timeout=0.5 + 6)
    assert jira.routes() == ["search", "search", "search", "create"], jira.routes()
    assert jira.keys() == ["OPS-1"]


def test_429_retry_after(ctx):
    jira = FakeJira(ctx)
    jira.fail("create", [(429, {"Retry-After": "1"})])
    srv = ctx.server(config(jira, group_interval=30))
    srv.post_ok([alert(disk())])
    jira.wait("create", 2, timeout=0.5 + 6)
    assert jira.routes() == ["search", "create", "search", "create"], jira.routes()
    creates = jira.requests("create")
    searches = jira.requests("search")
    assert searches[1]["time"] - creates[0]["time"] >= 0.9, "retried before Retry-After"
    assert jira.keys() == ["OPS-1"]
    wait_for(lambda: (srv.metric("alertmanager_notification_requests_failed_total",
                                 integration="jira") or 0) >= 1, 3, what="a failed request")
    assert not srv.metric("alertmanager_notifications_failed_total", integration="jira")


def test_timeout(ctx):
    """A search that outlasts the send's deadline (the next flush, at least 10 s away as in
    Alertmanager) fails the attempt; the next flush sends again and the issue is made once."""
    jira = FakeJira(ctx)
    jira.fail("search", [("delay", 12)])
    srv = ctx.server(config(jira, group_interval=2))
    srv.post_ok([alert(disk())])
    jira.wait("create", 1, timeout=0.5 + 12 + LATE)
    assert jira.keys() == ["OPS-1"]
    assert jira.routes()[:1] == ["search"] and jira.routes()[-2:] == ["search", "create"]
    wait_for(lambda: (srv.metric("alertmanager_notifications_failed_total", integration="jira")
                      or 0) >= 1, 3, what="a failed notification")


def test_step_fails_halfway(ctx):
    """The search succeeds, the create fails with a 500: the whole send is retried, search
    first."""
    jira = FakeJira(ctx)
    jira.fail("create", [500])
    srv = ctx.server(config(jira, group_interval=30))
    srv.post_ok([alert(disk())])
    jira.wait("create", 2, timeout=0.5 + 4)
    assert jira.routes() == ["search", "create", "search", "create"], jira.routes()
    assert jira.keys() == ["OPS-1"]


def test_transition_step_fails(ctx):
    """The transitions read fails (502), then the move (503): each retry starts over with the
    search and the update, and the issue is closed once."""
    jira = FakeJira(ctx)
    srv = ctx.server(config(jira, group_interval=4))
    srv.post_ok([alert(disk())])
    jira.wait("create", 1, timeout=0.5 + LATE)
    jira.fail("transitions", [502])
    jira.fail("transition", [503])
    srv.post_ok([resolved(disk())])
    wait_for(lambda: jira.issue("OPS-1")["status"] == "done", 4 + 4 + LATE, what="issue closed")
    assert jira.routes() == [
        "search", "create",
        "search", "update", "transitions",
        "search", "update", "transitions", "transition",
        "search", "update", "transitions", "transition"], jira.routes()


if __name__ == "__main__":
    run_cases([test_lifecycle, test_update_without_transition, test_reopen_beyond_duration,
               test_wont_fix, test_4xx_not_retried, test_5xx_retried, test_429_retry_after,
               test_timeout, test_step_fails_halfway, test_transition_step_fails])
