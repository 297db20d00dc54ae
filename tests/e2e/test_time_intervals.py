"""Time intervals on routes: mute_time_intervals and active_time_intervals built around the
current time (so the cases hold whatever the wall clock), muted notifications not recorded as
sent, and config/examples/business-hours.yml with its receivers replaced by local sinks."""

import os
import re
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from harness import alert, dur, run_cases, scaled

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "config", "examples", "business-hours.yml")
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def window_specs(zone, start, end, indent="      "):
    """YAML list items (time interval specs) covering [start, end) in local time of `zone`, one
    spec per local day the window touches, each pinned to that exact date."""
    tz = ZoneInfo(zone)
    a, b = start.astimezone(tz), end.astimezone(tz)
    out = []
    day = a.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < b:
        nxt = (day + timedelta(days=1)).replace(hour=0, minute=0)
        lo = max(a, day)
        hi = min(b, nxt)
        m0 = lo.hour * 60 + lo.minute
        m1 = 1440 if hi >= nxt else hi.hour * 60 + hi.minute
        if m1 > m0:
            out.append(
                "%s- times: [{start_time: '%02d:%02d', end_time: '%02d:%02d'}]\n"
                "%s  weekdays: [%s]\n%s  days_of_month: ['%d']\n%s  months: ['%d']\n"
                "%s  years: ['%d']\n%s  location: %s\n" %
                (indent, m0 // 60, m0 % 60, m1 // 60, m1 % 60, indent, WEEKDAYS[day.weekday()],
                 indent, day.day, indent, day.month, indent, day.year, indent, zone))
        day = nxt
    return "".join(out)


def interval(name, zone, start, end):
    return "  - name: %s\n    time_intervals:\n%s" % (name, window_specs(zone, start, end))


def intervals_around_now():
    """'now' holds for the next hour and the last one; 'later' starts in three hours."""
    now = datetime.now(timezone.utc)
    return "time_intervals:\n" + "".join([
        interval("now", "America/New_York", now - timedelta(hours=1), now + timedelta(hours=1)),
        interval("now-utc", "UTC", now - timedelta(hours=1), now + timedelta(hours=1)),
        interval("later", "Australia/Sydney", now + timedelta(hours=3), now + timedelta(hours=5)),
    ])


ROUTES = [
    # name, route settings, whether it sends now
    ("mute-now", "mute_time_intervals: [now]", False),
    ("mute-later", "mute_time_intervals: [later]", True),
    ("active-now", "active_time_intervals: [now]", True),
    ("active-later", "active_time_intervals: [later]", False),
    ("active-any", "active_time_intervals: [later, now-utc]", True),
    ("active-now-mute-now", "active_time_intervals: [now]\n      mute_time_intervals: [now-utc]",
     False),
]


def config(sink, swap=False):
    """The ROUTES above; with swap, 'now' and 'later' trade places."""
    routes = ""
    for name, settings, _ in ROUTES:
        if swap:
            settings = settings.replace("[now]", "[X]").replace("[later]", "[now]")
            settings = settings.replace("[X]", "[later]")
        routes += ("    - matchers: ['r=\"%s\"']\n      receiver: %s\n      %s\n" %
                   (name, name, settings))
    # Child routes do not inherit the parent's intervals.
    routes += ("      routes:\n        - matchers: ['child=\"yes\"']\n"
               "          receiver: child\n")
    recv = "".join("  - name: %s\n    webhook_configs:\n      - url: %s\n" %
                   (n, sink.url("/" + n)) for n in [r[0] for r in ROUTES] + ["default", "child"])
    return ("route:\n  receiver: default\n  group_by: [r]\n  group_wait: %s\n"
            "  group_interval: %s\n  repeat_interval: 1h\n  routes:\n%s"
            "receivers:\n%s%s" % (dur(0.3), dur(1.5), routes, recv, intervals_around_now()))


def test_muted_now_and_active_now(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    alerts = [alert({"alertname": "T", "r": name}) for name, _, _ in ROUTES]
    # The last route has a child: this alert goes there, unmuted although its parent is.
    alerts.append(alert({"alertname": "T", "r": ROUTES[-1][0], "child": "yes"}))
    srv.post_ok(alerts)
    sink.wait("/child", 1, timeout=0.3 + 2)
    # Two more group_interval ticks: muted groups stay silent, sending groups do not repeat.
    time.sleep(scaled(0.3 + 1.5 * 2 + 0.5))
    got = sorted(set(r["path"].lstrip("/") for r in sink.requests()))
    want = sorted([name for name, _, sends in ROUTES if sends] + ["child"])
    assert got == want, "\n got: %r\nwant: %r" % (got, want)
    for name, _, sends in ROUTES:
        n = len(sink.requests("/" + name))
        assert n == (1 if sends else 0), "%s: %d notifications" % (name, n)


def test_muted_not_recorded_as_sent(ctx):
    """A flush muted by a time interval leaves no trace in the notification log: once the route
    is active (here after a reload swaps the intervals), the alert goes out, although its
    repeat_interval (1h) has not passed; the routes sending before stop."""
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "T", "r": name}) for name, _, _ in ROUTES])
    sink.wait("/active-now", 1, timeout=0.3 + 2)
    time.sleep(scaled(1.5 + 0.5))
    before = {name: len(sink.requests("/" + name)) for name, _, _ in ROUTES}
    assert before["mute-now"] == 0 and before["active-later"] == 0, before

    srv.write_config(config(sink, swap=True))
    r = srv.reload()
    assert r.status == 200, r
    sink.wait("/mute-now", 1, timeout=0.3 + 1.5 + 2)
    sink.wait("/active-later", 1, timeout=0.3 + 1.5 + 2)
    time.sleep(scaled(1.5 * 2))
    after = {name: len(sink.requests("/" + name)) for name, _, _ in ROUTES}
    assert after["mute-now"] == 1 and after["active-later"] == 1, after
    # Now muted: the routes that sent before stay at one notification.
    assert after["mute-later"] == 1 and after["active-now"] == 1, after


# ---- the business-hours example ----

def example_text(sink, intervals=None):
    """The example with its receivers on the sink, short group timers and, when given,
    its time_intervals section replaced."""
    with open(EXAMPLE) as f:
        text = f.read()
    assert "http://127.0.0.1:9101/" in text
    text = text.replace("http://127.0.0.1:9101/", sink.url("/"))
    text = re.sub(r"group_wait: \S+", "group_wait: " + dur(0.3), text)
    text = re.sub(r"group_interval: \S+", "group_interval: " + dur(1.5), text)
    if intervals is not None:
        text = text[:text.index("\ntime_intervals:\n")] + "\n" + intervals
    return text


EXAMPLE_ALERTS = {
    "DbCrit": {"category": "database", "severity": "critical"},
    "DbWarn": {"category": "database", "severity": "warning"},
    "NetCrit": {"category": "network", "severity": "critical"},
    "NetWarn": {"category": "network", "severity": "warning"},
}


def never(name):
    return "  - name: %s\n    time_intervals:\n      - years: ['1999']\n" % name


def test_example_business_hours(ctx):
    now = datetime.now(timezone.utc)
    berlin = "Europe/Berlin"
    intervals = "time_intervals:\n" + "".join([
        interval("business-hours", berlin, now - timedelta(hours=1), now + timedelta(hours=1)),
        interval("after-hours", berlin, now + timedelta(hours=2), now + timedelta(hours=4)),
        never("holidays"), never("maintenance")])
    run_example(ctx, intervals, {
        "DbCrit": ["chat-database"], "DbWarn": ["chat-database"],
        "NetCrit": ["oncall-pager"], "NetWarn": ["chat-general"]})


def test_example_after_hours(ctx):
    now = datetime.now(timezone.utc)
    berlin = "Europe/Berlin"
    intervals = "time_intervals:\n" + "".join([
        interval("business-hours", berlin, now + timedelta(hours=2), now + timedelta(hours=4)),
        interval("after-hours", berlin, now - timedelta(hours=1), now + timedelta(hours=1)),
        never("holidays"),
        interval("maintenance", berlin, now - timedelta(hours=1), now + timedelta(hours=1))])
    # After hours: database warnings wait for the morning; the maintenance window mutes the
    # other critical alerts but never the database pager.
    run_example(ctx, intervals, {
        "DbCrit": ["oncall-pager"], "DbWarn": [], "NetCrit": [], "NetWarn": ["chat-general"]})


def run_example(ctx, intervals, want):
    """Posts one alert per EXAMPLE_ALERTS entry and checks where each went."""
    sink = ctx.sink()
    srv = ctx.server(example_text(sink, intervals))
    srv.post_ok([alert(dict(ls, alertname=name)) for name, ls in EXAMPLE_ALERTS.items()])
    time.sleep(scaled(0.3 + 1.5 + 1.0))
    got = {}
    for r in sink.requests():
        for a in r["json"]["alerts"]:
            got.setdefault(a["labels"]["alertname"], set()).add(r["path"].lstrip("/"))
    got = {k: sorted(v) for k, v in got.items()}
    want = {k: sorted(v) for k, v in want.items() if v}
    assert got == want, "\n got: %r\nwant: %r" % (got, want)


def berlin_expectation(t):
    """Where the unmodified example sends each alert at instant t, computed independently."""
    local = t.astimezone(ZoneInfo("Europe/Berlin"))
    holiday = (local.month, local.day) in [(1, 1), (12, 24), (12, 25), (12, 26), (12, 31)]
    business = local.weekday() < 5 and 9 <= local.hour < 17
    maintenance = local.weekday() == 6 and 2 <= local.hour < 4
    chat = business and not holiday
    return {
        "DbCrit": ["chat-database"] if chat else ["oncall-pager"],
        "DbWarn": ["chat-database"] if chat else [],
        "NetCrit": [] if maintenance else ["oncall-pager"],
        "NetWarn": ["chat-general"],
    }


def test_example_unmodified(ctx):
    """The example exactly as shipped (only the receiver URLs and group timers changed),
    against whatever time it is in Berlin now."""
    while True:
        now = datetime.now(timezone.utc)
        want = berlin_expectation(now)
        if want == berlin_expectation(now + timedelta(seconds=scaled(10))):
            break
        time.sleep(scaled(10))  # a boundary is about to pass: wait until it has
    run_example(ctx, None, want)


if __name__ == "__main__":
    run_cases([test_muted_now_and_active_now, test_muted_not_recorded_as_sent,
               test_example_business_hours, test_example_after_hours, test_example_unmodified])
