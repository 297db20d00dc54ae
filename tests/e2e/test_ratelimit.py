"""Rate limits (tocsin extension): held notifications, summary timing and content, group_limit
overflow groups, --alerts.per-alertname-limit."""

from harness import (alert, assert_no_request, dur, metric, resolved, run_cases, scaled,
                     tocsin_only, wait_for)

EARLY = 0.3
LATE = 1.0


def config(sink, rate_limit="", group_limit="", group_by="[alertname]", group_wait=0.5,
           group_interval=60, max_alerts=0):
    return """
route:
  receiver: hook
  group_by: %s
  group_wait: %s
  group_interval: %s
  repeat_interval: 1h
%s
%s
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
        max_alerts: %d
""" % (group_by, dur(group_wait), dur(group_interval),
       ("  rate_limit: %s" % rate_limit) if rate_limit else "",
       ("  group_limit: %s" % group_limit) if group_limit else "", sink.url("/hook"), max_alerts)


def test_summary_after_period(ctx):
    tocsin_only("rate_limit is a tocsin extension")
    sink = ctx.sink()
    period = 3
    srv = ctx.server(config(sink, rate_limit="{limit: 1, period: %s}" % dur(period)))
    srv.post_ok([alert({"alertname": n, "instance": "1"}) for n in ("A", "B", "C", "D")] +
                [alert({"alertname": "B", "instance": "2"})])
    first = sink.wait("/hook", 1, timeout=0.5 + LATE + 2)
    t0 = first[0]["time"]
    assert "tocsinSummary" not in first[0]["json"], first[0]["json"]
    # One token per period: the summary comes with the next one, not before.
    assert len(sink.requests("/hook")) == 1
    reqs = sink.wait("/hook", 2, timeout=period + LATE + 1)
    gap = reqs[1]["time"] - t0
    assert scaled(period) - scaled(EARLY) <= gap <= scaled(period) + scaled(LATE), gap
    body = reqs[1]["json"]
    s = body["tocsinSummary"]
    assert body["notification_reason"] == "rate limit summary", body
    assert s["heldGroups"] == 3 and s["heldAlerts"] == 4 and s["heldFiring"] == 4, s
    assert s["heldNotifications"] == 3, s
    assert s["truncated"] is False, s
    assert {g["groupLabels"]["alertname"] for g in s["groups"]} == \
        {"A", "B", "C", "D"} - {first[0]["json"]["groupLabels"]["alertname"]}, s
    assert len(body["alerts"]) == 4 or first[0]["json"]["groupLabels"]["alertname"] == "B", body
    names = {x["alertname"]: x["count"] for x in s["alertnames"]}
    assert sum(names.values()) == s["heldAlerts"], names
    m = srv.metrics()
    assert metric(m, "tocsin_notifications_rate_limited_total", receiver="hook",
                  integration="webhook") == 3, m
    # Held until the summary's reply is in.
    wait_for(lambda: srv.metric("tocsin_notifications_held_alerts", receiver="hook",
                                integration="webhook") == 0, 2, what="held alerts gauge at 0")
    # Delivered by the summary: nothing is paged again.
    assert_no_request(sink, "/hook", 2.0, "a third notification")
    assert "Rate limit reached" in srv.log()


def test_resolved_while_held_goes_in_summary(ctx):
    tocsin_only("rate_limit is a tocsin extension")
    sink = ctx.sink()
    period = 4
    srv = ctx.server(config(sink, rate_limit="{limit: 1, period: %s}" % dur(period),
                            group_interval=1))
    srv.post_ok([alert({"alertname": "A"}), alert({"alertname": "B"})])
    first = sink.wait("/hook", 1, timeout=0.5 + LATE + 2)
    held = "B" if first[0]["json"]["groupLabels"]["alertname"] == "A" else "A"
    srv.post_ok([resolved({"alertname": held})])
    reqs = sink.wait("/hook", 2, timeout=period + LATE + 1)
    s = reqs[1]["json"]["tocsinSummary"]
    assert s["heldResolved"] == 1 and s["heldFiring"] == 0, s
    assert reqs[1]["json"]["status"] == "resolved", reqs[1]["json"]
    # No resolved notification of its own before or after.
    assert_no_request(sink, "/hook", 2.5, "a resolved notification sent alone")


def test_group_limit_overflow(ctx):
    tocsin_only("group_limit is a tocsin extension")
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_limit="3", group_by="[instance]"))
    srv.post_ok([alert({"alertname": "Storm", "instance": "i%03d" % i}) for i in range(200)])
    reqs = sink.wait("/hook", 4, timeout=0.5 + LATE + 2)
    assert_no_request(sink, "/hook", 1.0, "a fifth notification")
    over = [r["json"] for r in reqs if r["json"]["groupLabels"] == {"overflow": "true"}]
    assert len(over) == 1, [r["json"]["groupLabels"] for r in reqs]
    assert len(over[0]["alerts"]) == 197, len(over[0]["alerts"])
    assert srv.metric("alertmanager_dispatcher_aggregation_group_limit_reached_total") == 197


def test_per_alertname_limit(ctx):
    tocsin_only("Alertmanager 0.25 has no --alerts.per-alertname-limit")
    sink = ctx.sink()
    srv = ctx.server(config(sink), extra_args=["--alerts.per-alertname-limit=2"])
    srv.post_ok([alert({"alertname": "A", "instance": str(i)}) for i in range(3)] +
                [alert({"alertname": "B", "instance": "1"})])
    names = sorted(a["labels"]["alertname"] for a in srv.get_alerts())
    assert names == ["A", "A", "B"], names
    assert srv.metric("alertmanager_alerts_limited_total") == 1
    assert srv.metric("alertmanager_alerts_per_alert_limit") == 2


if __name__ == "__main__":
    run_cases([test_summary_after_period, test_resolved_while_held_goes_in_summary,
               test_group_limit_overflow, test_per_alertname_limit])
