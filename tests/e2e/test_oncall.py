"""The on-call workflow through the real binary: acks, resolves by hand, escalation, the
history and the live events stream (tocsin extensions under /api/tocsin/v1/)."""

import json
import socket
import threading
import time

from harness import (HOST, alert, assert_no_request, dur, resolved, run_cases, scaled,
                     wait_for)

LATE = 1.0
API = "/api/tocsin/v1"


def config(sink, group_wait=1, group_interval=1, repeat_interval=3, escalation=None,
           ack_notify=False):
    esc = ""
    if escalation:
        esc = "\n    escalation:\n" + "".join(
            "    - after: %s\n      receiver: %s\n" % (dur(a), r) for a, r in escalation)
    return """
route:
  receiver: chat
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: %s
  routes:
  - matchers: [severity="critical"]
    receiver: chat
    ack_notify: %s%s
receivers:
- name: chat
  webhook_configs:
  - url: %s
    send_resolved: true
- name: pager
  webhook_configs:
  - url: %s
    send_resolved: true
- name: manager
  webhook_configs:
  - url: %s
    send_resolved: false
""" % (dur(group_wait), dur(group_interval), dur(repeat_interval),
       "true" if ack_notify else "false", esc, sink.url("/chat"), sink.url("/pager"),
       sink.url("/manager"))


def post(srv, path, body):
    return srv.request("POST", API + path, body=body, headers={"Content-Type": "application/json"})


def fingerprint(srv, name):
    view = srv.request("GET", API + "/alerts?filter=" + "alertname%3D%22" + name + "%22").json()
    assert view["total_count"] == 1, view
    return view["alerts"][0]["fingerprint"]


def history(srv, query=""):
    r = srv.request("GET", API + "/history" + (("?" + query) if query else ""))
    assert r.status == 200, r
    return r.json()["events"]


def test_ack_stops_repeats_and_escalation(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, repeat_interval=2, escalation=[(3, "pager")]))
    srv.post_ok([alert({"alertname": "Disk", "severity": "critical"})])
    sink.wait("/chat", 1, timeout=1 + LATE)
    fp = fingerprint(srv, "Disk")
    r = post(srv, "/acks", {"fingerprints": [fp], "by": "alice", "comment": "on it"})
    assert r.status == 200, r
    ack = r.json()
    assert ack["by"] == "alice" and ack["comment"] == "on it" and ack["fingerprints"] == [fp]
    # No repeat (2 s) and no escalation (3 s) while acked.
    assert_no_request(sink, "/chat", 4, "repeat of an acked alert")
    assert not sink.requests("/pager"), "escalated an acked alert"
    view = srv.request("GET", API + "/alerts").json()
    a = view["alerts"][0]
    assert a["status"] == "acknowledged" and a["ack"]["by"] == "alice", a
    assert a["ack"]["comment"] == "on it" and a["notifications"] == 1, a
    # Deleting the ack brings repeats back.
    r = srv.request("DELETE", API + "/acks/" + ack["id"] + "?by=alice&comment=handing+over")
    assert r.status == 200, r
    sink.wait("/chat", 2, timeout=2 + LATE)
    kinds = [e["kind"] for e in history(srv, "kind=ack,unack")]
    assert kinds == ["unack", "ack"], kinds
    assert srv.metric("tocsin_acks_total") == 1


def test_unacked_critical_escalates_in_steps(ctx):
    sink = ctx.sink()
    # The steps fall between flushes (every 8 s): they fire at their own time.
    srv = ctx.server(config(sink, group_interval=8, repeat_interval=600,
                            escalation=[(2, "pager"), (5, "manager")]))
    t0 = time.monotonic()
    srv.post_ok([alert({"alertname": "Down", "severity": "critical"})])
    first = sink.wait("/chat", 1, timeout=1 + LATE)[0]
    page = sink.wait("/pager", 1, timeout=2 + LATE)[0]
    dt = page["time"] - first["time"]
    assert scaled(2) - 0.1 <= dt <= scaled(2 + LATE), "step 1 after %.2fs" % dt
    mgr = sink.wait("/manager", 1, timeout=3 + LATE)[0]
    dt = mgr["time"] - first["time"]
    assert scaled(5) - 0.1 <= dt <= scaled(5 + LATE), "step 2 after %.2fs" % dt
    assert page["json"]["receiver"] == "pager" and mgr["json"]["receiver"] == "manager"
    assert page["json"]["groupKey"] == first["json"]["groupKey"]
    # Each step pages once (its own dedup), and nothing else went to chat.
    assert_no_request(sink, "/pager", 1.5, "second page")
    assert len(sink.requests("/chat")) == 1 and len(sink.requests("/manager")) == 1
    assert srv.metric("tocsin_escalations_total", step="1") == 1
    assert srv.metric("tocsin_escalations_total", step="2") == 1
    view = srv.request("GET", API + "/alerts").json()["alerts"][0]
    assert view["escalationStep"] == 2, view
    # Resolved: every paged receiver with send_resolved hears it (manager has it off).
    srv.post_ok([resolved({"alertname": "Down", "severity": "critical"})])
    res = sink.wait("/pager", 2, timeout=8 + LATE)[1]
    assert res["json"]["status"] == "resolved", res["json"]
    sink.wait("/chat", 2, timeout=LATE)
    assert len(sink.requests("/manager")) == 1
    del t0


def test_escalation_survives_restart(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_interval=30, repeat_interval=600,
                            escalation=[(3, "pager")]))
    srv.post_ok([alert({"alertname": "Restart", "severity": "critical"})])
    first = sink.wait("/chat", 1, timeout=1 + LATE)[0]
    srv.restart()
    srv.post_ok([alert({"alertname": "Restart", "severity": "critical"})])
    page = sink.wait("/pager", 1, timeout=4 + LATE)[0]
    dt = page["time"] - first["time"]
    assert dt <= scaled(3 + 2 * LATE) + 1, "step after %.2fs across a restart" % dt
    # The route's receiver was not paged again by the restart.
    assert_no_request(sink, "/chat", 1, "re-page after restart")
    assert len(sink.requests("/chat")) == 1


def test_manual_resolve_and_silence_for(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, repeat_interval=600))
    labels = {"alertname": "Flaky", "severity": "warning", "instance": "a"}
    srv.post_ok([alert(labels)])
    sink.wait("/chat", 1, timeout=1 + LATE)
    r = post(srv, "/resolves", {"filter": ['alertname="Flaky"'], "by": "bob",
                                "comment": "restarted it", "silenceFor": "1h"})
    assert r.status == 200, r
    body = r.json()
    assert len(body["fingerprints"]) == 1 and len(body["silenceIDs"]) == 1, body
    res = sink.wait("/chat", 2, timeout=1 + LATE)[1]
    assert res["json"]["status"] == "resolved", res["json"]
    # The source keeps sending it firing: the silence holds it quiet.
    srv.post_ok([alert(labels)])
    assert_no_request(sink, "/chat", 2.5, "notification of a silenced alert")
    sils = srv.request("GET", "/api/v2/silences").json()
    assert len(sils) == 1 and sils[0]["createdBy"] == "bob", sils
    assert sils[0]["comment"] == "restarted it"
    view = srv.request("GET", API + "/alerts?status=silenced").json()
    assert view["total_count"] == 1, view
    ev = history(srv, "kind=resolve")
    assert ev[0]["by"] == "bob" and ev[0]["comment"] == "restarted it", ev


def test_manual_resolve_fires_again_without_silence(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, repeat_interval=600))
    labels = {"alertname": "Again", "severity": "warning"}
    srv.post_ok([alert(labels)])
    sink.wait("/chat", 1, timeout=1 + LATE)
    r = post(srv, "/resolves", {"filter": ['alertname="Again"'], "by": "bob"})
    assert r.status == 200, r
    assert sink.wait("/chat", 2, timeout=1 + LATE)[1]["json"]["status"] == "resolved"
    srv.post_ok([alert(labels)])
    again = sink.wait("/chat", 3, timeout=1 + LATE)[2]
    assert again["json"]["status"] == "firing", again["json"]


def test_ack_notify_and_new_occurrence(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, repeat_interval=600, ack_notify=True))
    labels = {"alertname": "Cpu", "severity": "critical"}
    srv.post_ok([alert(labels)])
    sink.wait("/chat", 1, timeout=1 + LATE)
    r = post(srv, "/acks", {"filter": ['alertname="Cpu"'], "by": "carol", "comment": "looking"})
    assert r.status == 200, r
    note = sink.wait("/chat", 2, timeout=LATE)[1]["json"]
    assert note["tocsinAck"]["by"] == "carol" and note["tocsinAck"]["comment"] == "looking", note
    assert note["tocsinAck"]["id"] == r.json()["id"]
    # Resolve and fire again (a new startsAt): the new occurrence is not acked.
    srv.post_ok([resolved(labels)])
    sink.wait("/chat", 3, timeout=1 + LATE)
    srv.post_ok([alert(labels)])
    sink.wait("/chat", 4, timeout=1 + LATE)
    view = srv.request("GET", API + "/alerts").json()["alerts"][0]
    assert view["status"] == "active" and view["ack"] is None, view


def test_history_survives_kill(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, repeat_interval=600))
    srv.post_ok([alert({"alertname": "Hist", "severity": "critical"})])
    sink.wait("/chat", 1, timeout=1 + LATE)
    fp = fingerprint(srv, "Hist")
    assert post(srv, "/acks", {"fingerprints": [fp], "by": "dave",
                               "comment": "<script>x</script>"}).status == 200
    wait_for(lambda: len(history(srv)) >= 3, scaled(2), what="history rows")
    srv.kill()
    srv.start()
    events = history(srv)
    kinds = [e["kind"] for e in events]
    assert "ack" in kinds and "notification" in kinds and "alert_firing" in kinds, kinds
    ack = next(e for e in events if e["kind"] == "ack")
    assert ack["by"] == "dave" and ack["comment"] == "<script>x</script>", ack
    n = next(e for e in events if e["kind"] == "notification")
    assert n["receiver"] == "chat" and n["outcome"] == "sent" and n["attempts"] == 1, n
    assert n["alerts"][0]["labels"]["alertname"] == "Hist", n
    # One alert's timeline, oldest first.
    r = srv.request("GET", API + "/alerts/%s/history" % fp)
    assert r.status == 200, r
    tl = [e["kind"] for e in r.json()["events"]]
    assert tl[0] == "alert_firing" and tl.index("notification") < tl.index("ack"), tl
    # The ack survived the kill as well (it is in the state database).
    acks = srv.request("GET", API + "/acks").json()
    assert len(acks) == 1 and acks[0]["by"] == "dave", acks


def sse_reader(port, path, out, stop):
    s = socket.create_connection((HOST, port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n" % path).encode())
    buf = b""
    try:
        while not stop.is_set():
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                ev = {}
                for line in block.decode("utf-8", "replace").split("\n"):
                    if line.startswith("event: "):
                        ev["event"] = line[7:]
                    elif "data: " in line:
                        ev["data"] = json.loads(line[line.index("data: ") + 6:])
                if "event" in ev:
                    ev["time"] = time.monotonic()
                    out.append(ev)
    finally:
        s.close()


def test_events_stream_delivers_ack(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, repeat_interval=600))
    srv.post_ok([alert({"alertname": "Live", "severity": "critical"})])
    sink.wait("/chat", 1, timeout=1 + LATE)
    fp = fingerprint(srv, "Live")
    got, stop = [], threading.Event()
    t = threading.Thread(target=sse_reader, args=(srv.port, API + "/events", got, stop))
    t.start()
    ctx.on_close(lambda: (stop.set(), t.join()))
    wait_for(lambda: srv.metric("tocsin_events_clients") == 1, scaled(2), what="subscriber")
    t_ack = time.monotonic()
    assert post(srv, "/acks", {"fingerprints": [fp], "by": "erin"}).status == 200
    wait_for(lambda: any(e["event"] == "ack" for e in got), 1.0, what="ack on the stream")
    ev = next(e for e in got if e["event"] == "ack")
    assert ev["data"]["by"] == "erin" and ev["time"] - t_ack < 1.0, ev


def test_slow_events_reader_is_dropped(ctx):
    # A client that never reads: once 1 MiB waits for it, it is dropped, and memory with it.
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=600))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((HOST, srv.port))
    ctx.on_close(s.close)
    s.sendall(("GET %s/events HTTP/1.1\r\nHost: x\r\n\r\n" % API).encode())
    wait_for(lambda: srv.metric("tocsin_events_clients") == 1, scaled(2), what="subscriber")
    pad = "x" * 400
    for batch in range(12):
        srv.post_ok([alert({"alertname": "Slow", "i": "%d-%d" % (batch, i), "pad": pad})
                     for i in range(1000)])
        if srv.metric("tocsin_events_clients_dropped_total"):
            break
    wait_for(lambda: srv.metric("tocsin_events_clients_dropped_total") == 1, scaled(5),
             what="the slow reader dropped")
    assert srv.metric("tocsin_events_clients") == 0
    assert srv.healthy()


def test_bad_requests_name_the_field(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "Bad"})])
    cases = [
        ({"fingerprints": ["x"], "by": "a"}, "fingerprints[0]"),
        ({"fingerprints": ["0123456789abcdef"]}, "by"),
        ({"by": "a"}, "fingerprints or filter"),
        ({"filter": ["a=~("], "by": "a"}, "filter[0]"),
        ({"filter": ['alertname="Bad"'], "by": "a", "comment": "x" * 5000}, "comment"),
        ({"filter": ['alertname="Bad"'], "by": "a", "expiresAt": "yesterday"}, "expiresAt"),
        ({"filter": ['alertname="None"'], "by": "a"}, "no firing alert"),
    ]
    for body, field in cases:
        r = post(srv, "/acks", body)
        assert r.status == 400, (body, r)
        assert field in r.json()["message"], (field, r.json())
    r = post(srv, "/resolves", {"filter": ['alertname="Bad"'], "by": "a", "silenceFor": "-1h"})
    assert r.status == 400 and "silenceFor" in r.json()["message"], r
    r = srv.request("POST", API + "/acks", body=b"{nope",
                    headers={"Content-Type": "application/json"})
    assert r.status == 400 and "invalid JSON" in r.json()["message"], r
    # writes must say JSON: a cross-site form cannot send that without a preflight
    r = srv.request("POST", API + "/acks", body=b"by=x", headers={})
    assert r.status == 415 and "Content-Type" in r.json()["message"], r
    r = srv.request("GET", API + "/alerts?status=sleeping")
    assert r.status == 400 and "status" in r.json()["message"], r
    r = srv.request("GET", API + "/history?kind=nope")
    assert r.status == 400 and "kind" in r.json()["message"], r
    r = srv.request("GET", API + "/history?since=soon")
    assert r.status == 400 and "since" in r.json()["message"], r
    r = srv.request("DELETE", API + "/acks/0000")
    assert r.status == 404, r
    r = srv.request("GET", API + "/nothing")
    assert r.status == 404, r


def test_view_filters_and_paging(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=60))
    alerts = [alert({"alertname": "V%d" % i, "severity": "critical" if i % 3 == 0 else "warning",
                     "team": "db" if i % 2 else "web"}, annotations={"summary": "disk %d" % i})
              for i in range(30)]
    srv.post_ok(alerts)
    v = srv.request("GET", API + "/alerts?limit=5&offset=0").json()
    assert v["total_count"] == 30 and len(v["alerts"]) == 5, v
    assert all(a["labels"]["severity"] == "critical" for a in v["alerts"]), v
    v = srv.request("GET", API + "/alerts?severity=critical").json()
    assert v["total_count"] == 10, v
    v = srv.request("GET", API + "/alerts?filter=team%3D%22db%22&limit=100").json()
    assert v["total_count"] == 15, v
    v = srv.request("GET", API + "/alerts?q=disk+7").json()
    assert v["total_count"] == 1 and v["alerts"][0]["labels"]["alertname"] == "V7", v
    v = srv.request("GET", API + "/alerts?receiver=chat&limit=0").json()
    assert v["total_count"] == 30 and v["alerts"] == [], v
    v = srv.request("GET", API + "/alerts?offset=28&limit=10").json()
    assert len(v["alerts"]) == 2, v


if __name__ == "__main__":
    run_cases([
        test_ack_stops_repeats_and_escalation,
        test_unacked_critical_escalates_in_steps,
        test_escalation_survives_restart,
        test_manual_resolve_and_silence_for,
        test_manual_resolve_fires_again_without_silence,
        test_ack_notify_and_new_occurrence,
        test_history_survives_kill,
        test_events_stream_delivers_ack,
        test_slow_events_reader_is_dropped,
        test_bad_requests_name_the_field,
        test_view_filters_and_paging,
    ])
