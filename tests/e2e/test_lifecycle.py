"""Process lifecycle: flags, check-config, health endpoints, metrics, signals, restart."""

import json
import os
import re
import signal
import subprocess
import time
from datetime import timedelta

from harness import (IS_AM, alert, assert_no_request, binary, dur, free_port, metric, now_utc,
                     run_cases, scaled, tocsin_only, wait_for)

LATE = 1.0


def config(sink, group_wait=0.5):
    return """
route:
  receiver: a
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 10m
receivers:
  - name: a
    webhook_configs:
      - url: %s
""" % (dur(group_wait), dur(2), sink.url("/a"))


def run_bin(args, timeout=20):
    p = subprocess.run([binary()] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=scaled(timeout))
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def test_version_flag(ctx):
    rc, out = run_bin(["--version"])
    assert rc == 0, (rc, out)
    assert re.search(r"version \d+\.\d+\.\d+", out), out


def test_help_flag(ctx):
    rc, out = run_bin(["--help"])
    assert rc == 0, (rc, out)
    for flag in ("--config.file", "--storage.path", "--web.listen-address",
                 "--web.external-url", "--log.level"):
        assert flag in out, "%s missing from --help" % flag


def test_unknown_flag_rejected(ctx):
    rc, out = run_bin(["--no.such-flag=1"])
    assert rc != 0, (rc, out)


def test_check_config(ctx):
    # tocsin's subcommand; Alertmanager's equivalent is amtool's.
    good = os.path.join(ctx.tmp, "good.yml")
    bad = os.path.join(ctx.tmp, "bad.yml")
    with open(good, "w") as f:
        f.write("route:\n  receiver: a\nreceivers:\n  - name: a\n")
    with open(bad, "w") as f:
        f.write("route:\n  receiver: a\n  group_wait: [\nreceivers:\n  - name: a\n")
    cmd = (["amtool", "check-config"] if IS_AM else [binary(), "check-config"])

    def run(*files):
        p = subprocess.run(cmd + list(files), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=scaled(20))
        return p.returncode, p.stdout.decode("utf-8", "replace")

    rc, out = run(good)
    assert rc == 0, (rc, out)
    rc, out = run(bad)
    assert rc == 1, (rc, out)
    rc, out = run(good, bad)
    assert rc == 1, (rc, out)
    if not IS_AM:
        assert re.search(re.escape(bad) + r":\d+:\d+", out), "no file:line:col in %r" % out
        rc, out = run(os.path.join(ctx.tmp, "missing.yml"))
        assert rc == 1, (rc, out)


def test_health_endpoints(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    for path in ("/-/healthy", "/-/ready"):
        r = srv.request("GET", path)
        assert r.status == 200, (path, r)
        r = srv.request("HEAD", path)
        assert r.status == 200, (path, r)
        assert r.body == b"", (path, r)
    assert srv.request("GET", "/no/such/path").status == 404


def test_metrics_names(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "M", "i": "1"}), alert({"alertname": "M", "i": "2"})])
    sink.wait("/a", 1, timeout=0.5 + LATE)
    r = srv.request("GET", "/metrics")
    assert r.headers.get("content-type", "").startswith("text/plain"), r.headers
    samples = srv.metrics()
    names = {n for n, _, _ in samples}
    for want in ("alertmanager_alerts", "alertmanager_alerts_received_total",
                 "alertmanager_notifications_total", "alertmanager_notifications_failed_total",
                 "alertmanager_config_last_reload_successful",
                 "alertmanager_dispatcher_aggregation_groups", "alertmanager_config_hash"):
        assert want in names, "%s missing from /metrics" % want
    wait_for(lambda: srv.metric("alertmanager_alerts", state="active") == 2, 2,
             what="alertmanager_alerts{state=active} == 2")
    assert srv.metric("alertmanager_alerts_received_total", status="firing") >= 2
    assert srv.metric("alertmanager_dispatcher_aggregation_groups") == 1
    assert srv.metric("alertmanager_notifications_total", integration="webhook") >= 1
    assert srv.metric("alertmanager_config_last_reload_successful") == 1


def test_memory_metric(ctx):
    """tocsin_memory_bytes{part} follows what the alerts hold: 500 alerts with 400 unique bytes
    of annotation each add at least that much to the strings, and a version each to alerts."""
    tocsin_only("tocsin_memory_bytes is tocsin's")
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=3600))
    parts = ("strings", "alerts", "groups", "nflog", "sqlite", "other", "free")

    def memory():
        samples = srv.metrics()
        got = {p: metric(samples, "tocsin_memory_bytes", part=p) for p in parts}
        for p, v in got.items():
            assert v is not None and v >= 0, (p, v)
        return got

    before = memory()
    n, size = 500, 400
    alerts = [alert({"alertname": "Mem", "i": str(i)}, {"description": ("%06d" % i) * (size // 6)})
              for i in range(n)]
    for k in range(0, n, 100):
        srv.post_ok(alerts[k:k + 100])
    after = memory()
    assert after["strings"] - before["strings"] >= n * size, (before, after)
    assert after["alerts"] - before["alerts"] >= n * 64, (before, after)
    assert after["groups"] > before["groups"], (before, after)


def test_sigterm_exits_zero_promptly(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "T"})])
    t0 = time.monotonic()
    srv.signal(signal.SIGTERM)
    rc = srv.proc.wait(scaled(5))
    assert rc == 0, "exit code %d" % rc
    assert time.monotonic() - t0 <= scaled(5)


def test_sigint_exits_zero(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.signal(signal.SIGINT)
    rc = srv.proc.wait(scaled(5))
    assert rc == 0, "exit code %d" % rc


def test_sigterm_delivers_due_notification(ctx):
    tocsin_only("Alertmanager does not drain pending notifications on SIGTERM")
    sink = ctx.sink()
    srv = ctx.server(config(sink, group_wait=30))
    # startsAt long past: the group is due at once; SIGTERM right behind the POST.
    srv.post_ok([alert({"alertname": "Due"}, starts_at=now_utc() - timedelta(hours=1))])
    srv.signal(signal.SIGTERM)
    rc = srv.proc.wait(scaled(10))
    assert rc == 0, "exit code %d" % rc
    reqs = sink.requests("/a")
    assert len(reqs) == 1, "due notification not delivered before exit: %d" % len(reqs)


def test_sigterm_waits_for_inflight_send(ctx):
    tocsin_only("Alertmanager cancels in-flight notifications on SIGTERM")
    sink = ctx.sink()
    sink.delay("/a", scaled(1.5))
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "Slow"})])
    req = sink.wait("/a", 1, timeout=0.5 + LATE)[0]
    srv.signal(signal.SIGTERM)
    rc = srv.proc.wait(scaled(10))
    t_exit = time.monotonic()
    assert rc == 0, "exit code %d" % rc
    # Exited only after the receiver answered.
    assert t_exit >= req["time"] + scaled(1.5) - 0.1, "exited %.2fs after the request" % (
        t_exit - req["time"])


def test_cluster_flags_accepted(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink), extra_args=[
        "--cluster.peer-timeout=15s", "--cluster.gossip-interval=200ms",
        "--cluster.pushpull-interval=1m", "--cluster.settle-timeout=1s",
        "--cluster.reconnect-timeout=6h", "--cluster.advertise-address=",
    ])
    assert srv.healthy()


def test_other_flags_accepted(ctx):
    sink = ctx.sink()
    args = ["--alerts.gc-interval=10m", "--data.retention=24h",
            "--web.external-url=http://x.test/"]
    if not IS_AM:  # flags of later Alertmanager releases than Debian's 0.25
        args += ["--dispatch.start-delay=0s", "--enable-feature=receiver-name-in-metrics"]
    srv = ctx.server(config(sink), extra_args=args)
    assert srv.healthy()


def test_bad_flag_values_rejected(ctx):
    cfg = os.path.join(ctx.tmp, "ok.yml")
    with open(cfg, "w") as f:
        f.write("route:\n  receiver: a\nreceivers:\n  - name: a\n")
    # Otherwise runnable: only the bad value can make these exit (a hang fails the case).
    base = ["--config.file=" + cfg, "--storage.path=" + ctx.tmp, "--cluster.listen-address=",
            "--web.listen-address=127.0.0.1:%d" % free_port()]
    for args in (["--data.retention=forever"], ["--log.level=loud"]):
        rc, out = run_bin(base + args, timeout=10)
        assert rc != 0, (args, rc, out)
    if not IS_AM:
        rc, out = run_bin(["--enable-feature=no-such-feature"], timeout=10)
        assert rc != 0 and "no-such-feature" in out, (rc, out)


def test_route_prefix(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink), route_prefix="/am")
    assert srv.request("GET", "/-/healthy").status == 200  # /am/-/healthy
    srv.post_ok([alert({"alertname": "Prefixed"})])
    assert [a["labels"]["alertname"] for a in srv.get_alerts()] == ["Prefixed"]
    sink.wait("/a", 1, timeout=0.5 + LATE)


def test_json_logs(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink), extra_args=["--log.format=json"])
    srv.post_ok([alert({"alertname": "Log"})])
    sink.wait("/a", 1, timeout=0.5 + LATE)
    assert srv.stop() == 0
    lines = [ln for ln in srv.log().splitlines() if ln.strip()]
    assert lines, "no log output"
    for ln in lines:
        obj = json.loads(ln)
        assert isinstance(obj, dict) and "level" in obj, ln


def test_restart_does_not_repage(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    a = alert({"alertname": "Persist"}, starts_at=now_utc() - timedelta(minutes=5))
    srv.post_ok([a])
    sink.wait("/a", 1, timeout=LATE)
    time.sleep(scaled(0.5))  # let the send be logged as done (a crash in between re-pages)
    assert srv.restart() == 0
    # The sender re-sends the still-firing alert after the restart, as Prometheus does.
    srv.post_ok([a])
    assert_no_request(sink, "/a", 0.5 + 2 + 0.5, "re-page after restart")
    assert len(sink.requests("/a")) == 1


if __name__ == "__main__":
    run_cases([
        test_version_flag,
        test_help_flag,
        test_unknown_flag_rejected,
        test_check_config,
        test_health_endpoints,
        test_metrics_names,
        test_memory_metric,
        test_sigterm_exits_zero_promptly,
        test_sigint_exits_zero,
        test_sigterm_delivers_due_notification,
        test_sigterm_waits_for_inflight_send,
        test_cluster_flags_accepted,
        test_other_flags_accepted,
        test_bad_flag_values_rejected,
        test_route_prefix,
        test_json_logs,
        test_restart_does_not_repage,
    ])
