"""repeat_interval, resolved notifications (send_resolved true/false), resolved alerts leaving
their group."""

import time

from harness import (alert, alert_names, assert_no_request, dur, resolved, run_cases, scaled,
                     wait_for)

EARLY = 0.3
LATE = 1.0


def config(sink, group_wait=1, group_interval=2, repeat_interval=3):
    # Two webhooks in one receiver: /on sends resolved notifications, /off does not.
    return """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: %s
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
      - url: %s
        send_resolved: false
""" % (dur(group_wait), dur(group_interval), dur(repeat_interval), sink.url("/on"),
       sink.url("/off"))


def test_repeat_interval_resends(ctx):
    # group_interval 2s, repeat_interval 3s: flushes happen on group_interval ticks, so the
    # repeat goes out on the first tick at least repeat_interval after the last send (~4s).
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=1, group_interval=2, repeat_interval=3))
    srv.post_ok([alert({"alertname": "Rep", "i": "1"})])
    first = sink.wait("/on", 1, timeout=1 + LATE)[0]
    time.sleep(max(0.0, first["time"] + scaled(3 - EARLY) - time.monotonic()))
    assert len(sink.requests("/on")) == 1, "resent before repeat_interval"
    second = sink.wait("/on", 2, timeout=2 + EARLY + LATE)[1]
    dt = second["time"] - first["time"]
    assert scaled(3 - EARLY) <= dt <= scaled(3 + 2 + LATE), "repeat after %.2fs" % dt
    assert second["json"]["alerts"] == first["json"]["alerts"]
    assert second["json"]["groupKey"] == first["json"]["groupKey"]
    # The other webhook of the receiver repeats too (dedup is per integration).
    sink.wait("/off", 2, timeout=LATE)


def test_no_resend_before_repeat_interval(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=1, group_interval=1, repeat_interval=60))
    srv.post_ok([alert({"alertname": "Quiet"})])
    sink.wait("/on", 1, timeout=1 + LATE)
    # Several group_interval ticks pass with nothing new: no notification.
    assert_no_request(sink, "/on", 4.5, "repeat")
    assert len(sink.requests("/off")) == 1


def test_resolve_sends_resolved_only_when_asked(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=1, group_interval=2, repeat_interval=600))
    labels = {"alertname": "Res", "i": "1"}
    srv.post_ok([alert(labels)])
    first = sink.wait("/on", 1, timeout=1 + LATE)[0]
    sink.wait("/off", 1, timeout=LATE)
    starts_at = first["json"]["alerts"][0]["startsAt"]
    t_resolve = time.monotonic()
    srv.post_ok([resolved(labels)])
    res = sink.wait("/on", 2, timeout=2 + LATE)[1]
    dt = res["time"] - t_resolve
    assert dt <= scaled(2 + LATE), "resolved notification after %.2fs" % dt
    p = res["json"]
    assert p["status"] == "resolved", p
    assert len(p["alerts"]) == 1 and p["alerts"][0]["status"] == "resolved", p
    a = p["alerts"][0]
    assert a["endsAt"] != "0001-01-01T00:00:00Z", a
    assert a["startsAt"] == starts_at, (a["startsAt"], starts_at)
    assert p["groupKey"] == first["json"]["groupKey"]
    # send_resolved: false gets nothing, even after a few more ticks.
    assert_no_request(sink, "/off", 2.5, "resolved notification with send_resolved false")
    assert len(sink.requests("/off")) == 1
    assert len(sink.requests("/on")) == 2


def test_partial_resolve(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=1, group_interval=2, repeat_interval=600))
    srv.post_ok([alert({"alertname": "Part", "i": "1"}), alert({"alertname": "Part", "i": "2"})])
    sink.wait("/on", 1, timeout=1 + LATE)
    sink.wait("/off", 1, timeout=LATE)
    srv.post_ok([resolved({"alertname": "Part", "i": "1"})])
    p = sink.wait("/on", 2, timeout=2 + LATE)[1]["json"]
    assert p["status"] == "firing", p  # one alert still fires
    st = sorted((a["labels"]["i"], a["status"]) for a in p["alerts"])
    assert st == [("1", "resolved"), ("2", "firing")], st
    # Without send_resolved, a shrinking firing set is not news.
    assert_no_request(sink, "/off", 2.5, "notification with send_resolved false")


def test_resolved_alert_leaves_group(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=1, group_interval=2, repeat_interval=600))
    srv.post_ok([alert({"alertname": "Leave", "i": "a"})])
    sink.wait("/on", 1, timeout=1 + LATE)
    srv.post_ok([resolved({"alertname": "Leave", "i": "a"})])
    sink.wait("/on", 2, timeout=2 + LATE)
    # The resolved alert is gone from the API's active list ...
    wait_for(lambda: srv.get_alerts() == [], 2, what="resolved alert out of GET /api/v2/alerts")
    # ... and from the group: a new alert is notified alone.
    srv.post_ok([alert({"alertname": "Leave", "i": "b"})])
    p = sink.wait("/on", 3, timeout=1 + 2 + LATE)[2]["json"]
    assert alert_names(p, "i") == ["b"], p
    assert p["status"] == "firing"
    # /off: the first page, then the new alert (a new firing alert is always news).
    offs = sink.wait("/off", 2, timeout=LATE)
    assert alert_names(offs[1]["json"], "i") == ["b"], offs[1]["json"]


def test_resolved_before_first_flush_not_sent(ctx):
    # An alert that fires and resolves inside group_wait was never paged: nothing goes out.
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=2, group_interval=2, repeat_interval=600))
    srv.post_ok([alert({"alertname": "Blip"})])
    time.sleep(scaled(0.3))
    srv.post_ok([resolved({"alertname": "Blip"})])
    assert_no_request(sink, None, 4.0, "notification for an alert resolved before group_wait")


if __name__ == "__main__":
    run_cases([
        test_repeat_interval_resends,
        test_no_resend_before_repeat_interval,
        test_resolve_sends_resolved_only_when_asked,
        test_partial_resolve,
        test_resolved_alert_leaves_group,
        test_resolved_before_first_flush_not_sent,
    ])
