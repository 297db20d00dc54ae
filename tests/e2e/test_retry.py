"""Notification retries: 5xx retried with backoff, 4xx not, integrations of one receiver
retried and deduplicated independently."""

import time

from harness import alert, assert_no_request, dur, run_cases, scaled, wait_for

LATE = 1.0


def config(sink, group_interval=2, paths=("/a",)):
    hooks = "".join("      - url: %s\n        send_resolved: true\n" % sink.url(p) for p in paths)
    return """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: hook
    webhook_configs:
%s""" % (dur(0.5), dur(group_interval), hooks)


def test_5xx_is_retried_until_success(ctx):
    sink = ctx.sink()
    sink.respond("/a", [500, 500])
    srv = ctx.server(config(sink, group_interval=20))
    srv.post_ok([alert({"alertname": "Retry"})])
    reqs = sink.wait("/a", 3, timeout=0.5 + 6)
    assert [r["status"] for r in reqs] == [500, 500, 200]
    # The same notification each time.
    assert reqs[0]["json"]["alerts"] == reqs[2]["json"]["alerts"]
    assert reqs[0]["json"]["groupKey"] == reqs[2]["json"]["groupKey"]
    # Backed off rather than hammered.
    assert reqs[2]["time"] - reqs[0]["time"] >= 0.2, [r["time"] for r in reqs]
    # Delivered: nothing more, not even at the next flush.
    assert_no_request(sink, "/a", 2.0, "request after a delivered notification")
    assert srv.metric("alertmanager_notifications_total", integration="webhook") >= 1


def test_4xx_is_not_retried(ctx):
    sink = ctx.sink()
    sink.respond("/a", [400])
    srv = ctx.server(config(sink, group_interval=20))
    srv.post_ok([alert({"alertname": "Bad"})])
    sink.wait("/a", 1, timeout=0.5 + LATE)
    assert_no_request(sink, "/a", 3.0, "retry of a 400")
    assert len(sink.requests("/a")) == 1
    wait_for(lambda: (srv.metric("alertmanager_notifications_failed_total",
                                 integration="webhook") or 0) >= 1,
             3, what="alertmanager_notifications_failed_total >= 1")


def test_failed_notification_retried_at_next_flush(ctx):
    # A 4xx ends this flush's attempts; the group is not logged as notified, so the next
    # group_interval tick tries again.
    sink = ctx.sink()
    sink.respond("/a", [400])
    srv = ctx.server(config(sink, group_interval=2))
    srv.post_ok([alert({"alertname": "Again"})])
    first = sink.wait("/a", 1, timeout=0.5 + LATE)[0]
    second = sink.wait("/a", 2, timeout=2 + LATE)[1]
    dt = second["time"] - first["time"]
    assert scaled(2 - 0.3) <= dt <= scaled(2 + LATE), "second attempt after %.2fs" % dt
    assert second["status"] == 200
    assert_no_request(sink, "/a", 2.5, "request after success")


def test_integrations_retried_independently(ctx):
    sink = ctx.sink()
    sink.respond("/bad", [500] * 1000)
    srv = ctx.server(config(sink, group_interval=1, paths=("/good", "/bad")))
    srv.post_ok([alert({"alertname": "Pair"})])
    sink.wait("/good", 1, timeout=0.5 + LATE)
    sink.wait("/bad", 3, timeout=6)
    # The failing sibling keeps retrying; the good one was delivered once and stays quiet
    # through several group_interval ticks.
    time.sleep(scaled(3))
    assert len(sink.requests("/good")) == 1, len(sink.requests("/good"))
    assert len(sink.requests("/bad")) >= 4, len(sink.requests("/bad"))


if __name__ == "__main__":
    run_cases([
        test_5xx_is_retried_until_success,
        test_4xx_is_not_retried,
        test_failed_notification_retried_at_next_flush,
        test_integrations_retried_independently,
    ])
