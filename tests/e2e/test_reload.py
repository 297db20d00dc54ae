"""Configuration reload: POST /-/reload and SIGHUP, no re-page after reload, bad configs
rejected while the old one keeps routing."""

import os
import re
import signal
import threading
import time

from harness import alert, assert_no_request, dur, run_cases, scaled, tocsin_only, wait_for

LATE = 1.0


def config(sink, extra_route="", extra_receiver="", top=""):
    return """%(top)s
route:
  receiver: a
  group_by: [alertname]
  group_wait: %(gw)s
  group_interval: %(gi)s
  repeat_interval: 10m
  routes:
    - matchers: [team="never"]
      receiver: a
%(route)s
receivers:
  - name: a
    webhook_configs:
      - url: %(a)s
%(recv)s""" % {"top": top, "gw": dur(0.5), "gi": dur(2), "route": extra_route,
               "recv": extra_receiver, "a": sink.url("/a")}


def config_b(sink):
    """Sends team=x to receiver b."""
    return config(sink, extra_route="    - matchers: [team=\"x\"]\n      receiver: b\n",
                  extra_receiver="  - name: b\n    webhook_configs:\n      - url: %s\n"
                  % sink.url("/b"))


def reload_ok(srv):
    r = srv.reload()
    assert r.status == 200, "reload: %r" % r


def test_reload_via_http(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "One", "team": "x"})])
    sink.wait("/a", 1, timeout=0.5 + LATE)
    hash1 = srv.metric("alertmanager_config_hash")
    srv.write_config(config_b(sink))
    reload_ok(srv)
    assert srv.metric("alertmanager_config_last_reload_successful") == 1
    assert srv.metric("alertmanager_config_hash") != hash1, "config hash unchanged"
    srv.post_ok([alert({"alertname": "Two", "team": "x"})])

    def names_b():
        return sorted(a["labels"]["alertname"] for r in sink.requests("/b")
                      for a in r["json"]["alerts"])
    # "One" moved to the new route along with "Two" (new route, new groups: both notified).
    wait_for(lambda: names_b() == ["One", "Two"], 0.5 + LATE, what="One and Two on /b")
    assert all(a["labels"]["alertname"] != "Two" for r in sink.requests("/a")
               for a in r["json"]["alerts"])
    # Alerts survive the reload.
    assert sorted(a["labels"]["alertname"] for a in srv.get_alerts()) == ["One", "Two"]


def test_reload_via_sighup(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    hash1 = srv.metric("alertmanager_config_hash")
    srv.write_config(config_b(sink))
    srv.signal(signal.SIGHUP)
    wait_for(lambda: srv.metric("alertmanager_config_hash") != hash1, 5,
             what="config hash to change after SIGHUP")
    assert srv.metric("alertmanager_config_last_reload_successful") == 1
    srv.post_ok([alert({"alertname": "Hup", "team": "x"})])
    sink.wait("/b", 1, timeout=0.5 + LATE)
    assert sink.requests("/a") == []
    assert srv.alive()


def test_no_repage_after_reload(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "Paged", "team": "y"})])
    first = sink.wait("/a", 1, timeout=0.5 + LATE)[0]
    # Let the send be logged: a reload during an in-flight send sends again, in Alertmanager
    # too (it cancels the send and the rebuilt group repeats it).
    time.sleep(scaled(0.5))
    # An unrelated change: the group's route, receiver and key stay the same.
    srv.write_config(config_b(sink))
    reload_ok(srv)
    srv.signal(signal.SIGHUP)
    # Rebuilt groups flush at once (their alerts are older than group_wait), find the group
    # already notified, and stay quiet through later ticks too.
    assert_no_request(sink, "/a", 2 + 2, "re-page after reload")
    assert len(sink.requests("/a")) == 1
    assert first["json"]["groupKey"] == '{}:{alertname="Paged"}'
    # A genuinely new alert in the same group still goes out.
    srv.post_ok([alert({"alertname": "Paged", "team": "z"})])
    p = sink.wait("/a", 2, timeout=2 + LATE)[1]["json"]
    assert len(p["alerts"]) == 2, p


BAD_CONFIGS = {
    "syntax": ("route:\n  receiver: a\n  group_by: [alertname\nreceivers:\n  - name: a\n", None),
    "unknown_key": (None, "foo_unknown_key"),
    "undefined_receiver": (None, "nope"),
}


def bad_config(kind, sink):
    if kind == "syntax":
        return BAD_CONFIGS["syntax"][0]
    if kind == "unknown_key":
        return config(sink, top="foo_unknown_key: 1\n")
    return config(sink, extra_route="    - matchers: [team=\"q\"]\n      receiver: nope\n")


def check_bad_reload(ctx, kind):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    assert srv.metric("alertmanager_config_last_reload_successful") == 1
    hash1 = srv.metric("alertmanager_config_hash")
    srv.write_config(bad_config(kind, sink))
    r = srv.reload()
    assert r.status == 500, "bad config (%s) reload: %r" % (kind, r)
    assert r.body.strip(), "empty error body"
    word = BAD_CONFIGS[kind][1]
    if word:
        assert word in r.text(), "error does not name %r: %r" % (word, r.text())
    if kind == "syntax":
        # Where: "file:line:col" from tocsin, "line N" from Alertmanager.
        assert re.search(r"\d+:\d+|line \d+", r.text()), "no position in %r" % r.text()
    assert srv.metric("alertmanager_config_last_reload_successful") == 0
    assert srv.metric("alertmanager_config_hash") == hash1
    # The old config keeps routing.
    srv.post_ok([alert({"alertname": "Still", "team": "x"})])
    sink.wait("/a", 1, timeout=0.5 + LATE)
    # SIGHUP with the same bad file: the daemon stays up, still unsuccessful.
    srv.signal(signal.SIGHUP)
    time.sleep(scaled(0.5))
    assert srv.alive() and srv.healthy()
    assert srv.metric("alertmanager_config_last_reload_successful") == 0
    # A good config afterwards is taken.
    srv.write_config(config_b(sink))
    reload_ok(srv)
    assert srv.metric("alertmanager_config_last_reload_successful") == 1
    assert srv.metric("alertmanager_config_hash") != hash1


def test_bad_reload_syntax_error(ctx):
    check_bad_reload(ctx, "syntax")


def test_bad_reload_unknown_key(ctx):
    check_bad_reload(ctx, "unknown_key")


def test_bad_reload_undefined_receiver(ctx):
    check_bad_reload(ctx, "undefined_receiver")


def test_reload_runs_off_the_loop(ctx):
    """The new config is read on a worker thread: while its template file (a FIFO here) does
    not open, health checks, alerts and a SIGHUP are still served, and two reloads asked for
    meanwhile share the next load."""
    tocsin_only("reading the config off the event loop is tocsin's")
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    fifo = os.path.join(srv.workdir, "slow.tmpl")
    os.mkfifo(fifo)
    srv.write_config(config(sink, top="templates: ['%s']" % fifo))
    answers = []

    def reload_in_background():
        answers.append(srv.request("POST", "/-/reload", timeout=60))
    threads = [threading.Thread(target=reload_in_background) for _ in range(2)]
    threads[0].start()
    # the load is blocked on the FIFO; the loop is not
    for _ in range(5):
        assert srv.request("GET", "/-/healthy", timeout=2).status == 200
    srv.post_ok([alert({"alertname": "During"})])
    assert [a["labels"]["alertname"] for a in srv.get_alerts()] == ["During"]
    threads[1].start()
    srv.signal(signal.SIGHUP)
    time.sleep(0.2)
    assert answers == [], "a reload answered before its config could be read: %r" % answers
    with open(fifo, "w") as f:  # the first load reads it and finishes
        f.write('{{ define "slow" }}ok{{ end }}')
    threads[0].join(30)
    assert [r.status for r in answers] == [200], answers
    # the two queued behind it (HTTP and SIGHUP) share one load, which reads it again
    with open(fifo, "w") as f:
        f.write('{{ define "slow" }}ok{{ end }}')
    for t in threads:
        t.join(30)
    assert [r.status for r in answers] == [200, 200], answers
    assert srv.metric("alertmanager_config_last_reload_successful") == 1
    sink.wait("/a", 1, timeout=0.5 + LATE)
    assert srv.alive()


def slow_reload(ctx):
    """A server whose new config names a template FIFO nobody writes yet, and a POST /-/reload
    waiting on it in a thread. Returns the server, the FIFO, the answers list and the thread."""
    tocsin_only("reading the config off the event loop is tocsin's")
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    fifo = os.path.join(srv.workdir, "slow.tmpl")
    os.mkfifo(fifo)
    srv.write_config(config(sink, top="templates: ['%s']" % fifo))
    answers = []
    t = threading.Thread(target=lambda: answers.append(srv.request("POST", "/-/reload",
                                                                     timeout=60)))
    t.start()
    # the reload must be under way before a test signals, or SIGTERM closes the listener first
    wait_for(lambda: "Loading configuration file" in srv.log(), 10, what="the reload to start")
    return srv, fifo, answers, t


def test_shutdown_during_reload(ctx):
    """SIGTERM while a reload waits on its file: the waiting client hears an error and the
    server stops cleanly once the load returns."""
    srv, fifo, answers, t = slow_reload(ctx)
    assert srv.request("GET", "/-/healthy", timeout=2).status == 200
    srv.signal(signal.SIGTERM)
    time.sleep(0.3)
    with open(fifo, "w") as f:
        f.write("")
    t.join(30)
    assert [r.status for r in answers] == [500], answers
    assert "shutting down" in answers[0].text()
    assert srv.proc.wait(20) == 0


def test_sigterm_with_stuck_reload(ctx):
    """A load that never returns (its FIFO is never written) cannot hold shutdown: after the
    drain timeout the waiting client hears an error and the process exits."""
    srv, fifo, answers, t = slow_reload(ctx)
    assert srv.request("GET", "/-/healthy", timeout=2).status == 200
    srv.signal(signal.SIGTERM)
    assert srv.proc.wait(40) == 0
    t.join(5)
    assert [r.status for r in answers] == [500], answers
    assert "shutting down" in answers[0].text()


if __name__ == "__main__":
    run_cases([
        test_reload_via_http,
        test_reload_via_sighup,
        test_no_repage_after_reload,
        test_bad_reload_syntax_error,
        test_bad_reload_unknown_key,
        test_bad_reload_undefined_receiver,
        test_reload_runs_off_the_loop,
        test_shutdown_during_reload,
        test_sigterm_with_stuck_reload,
    ])
