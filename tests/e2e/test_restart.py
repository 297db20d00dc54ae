"""Durable state: silences, the notification log and alerts survive a restart, kill -9
included; a damaged state database stops the start with a clear error unless
--storage.move-damaged is given."""

import os
import subprocess
import time

from harness import (HOST, alert, assert_no_request, dur, free_port, iso, now_utc, parse_time,
                     run_cases, scaled, tocsin_only)
from datetime import timedelta

LATE = 1.0


def config(sink):
    return """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
""" % (dur(1), dur(2), sink.url("/hook"))


def post_silence(srv, matchers, hours=2, comment="maintenance"):
    body = {
        "matchers": [{"name": n, "value": v, "isRegex": False, "isEqual": True}
                     for n, v in matchers.items()],
        "startsAt": iso(now_utc()),
        "endsAt": iso(now_utc() + timedelta(hours=hours)),
        "createdBy": "e2e",
        "comment": comment,
    }
    r = srv.request("POST", "/api/v2/silences", body=body,
                    headers={"Content-Type": "application/json"})
    assert r.status == 200, "POST /api/v2/silences: %r" % r
    return r.json()["silenceID"]


def silences(srv):
    r = srv.request("GET", "/api/v2/silences")
    assert r.status == 200, r
    return {s["id"]: s for s in r.json()}


def alerts_by_name(srv):
    return {a["labels"]["alertname"]: a for a in srv.get_alerts()}


def check_restart(ctx, how):
    tocsin_only("alerts persisting across restarts is a tocsin extension")
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    sid = post_silence(srv, {"alertname": "Muted"})
    expired = post_silence(srv, {"alertname": "Gone"}, comment="expired before restart")
    assert srv.request("DELETE", "/api/v2/silence/" + expired).status == 200
    srv.post_ok([alert({"alertname": "Paged", "i": "1"}), alert({"alertname": "Muted"})])
    page = sink.wait("/hook", 1, timeout=1 + LATE)[0]
    assert [a["labels"]["alertname"] for a in page["json"]["alerts"]] == ["Paged"], page
    # The notification log is written right after the send; give the write a moment.
    time.sleep(scaled(0.5))
    if how == "kill":
        srv.kill()
    else:
        assert srv.stop() == 0, srv.log_tail()
    srv.start()

    sils = silences(srv)
    assert sid in sils and sils[sid]["status"]["state"] == "active", sils
    assert sils[sid]["comment"] == "maintenance" and sils[sid]["createdBy"] == "e2e"
    assert sils[sid]["matchers"][0]["name"] == "alertname"
    assert expired in sils and sils[expired]["status"]["state"] == "expired", sils

    # Alerts are back without Prometheus resending them, the muted one still silenced.
    got = alerts_by_name(srv)
    assert set(got) == {"Paged", "Muted"}, got
    assert got["Muted"]["status"]["state"] == "suppressed", got["Muted"]
    assert got["Muted"]["status"]["silencedBy"] == [sid], got["Muted"]
    t0 = parse_time(page["json"]["alerts"][0]["startsAt"])
    t1 = parse_time(got["Paged"]["startsAt"])
    assert abs((t1 - t0).total_seconds()) < 0.001, (t0, t1)

    # No second page for the unchanged group (group_wait and a few group_intervals pass).
    assert_no_request(sink, "/hook", 1 + 2 * 2 + LATE, "duplicate page after restart")
    # And the daemon still works: a change to the group pages.
    srv.post_ok([alert({"alertname": "Paged", "i": "2"})])
    second = sink.wait("/hook", 2, timeout=2 + LATE)[1]
    assert len(second["json"]["alerts"]) == 2, second


def test_restart_kill9(ctx):
    check_restart(ctx, "kill")


def test_restart_sigterm(ctx):
    check_restart(ctx, "term")


def test_damaged_database(ctx):
    tocsin_only("tocsin's state file")
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    post_silence(srv, {"alertname": "X"})
    srv.stop()
    db = os.path.join(srv.storage, "tocsin.db")
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    with open(db, "wb") as f:
        f.write(b"garbage, not a database " * 100)
    args = [a for a in srv.args() if not a.startswith("--web.listen-address")]
    args.append("--web.listen-address=%s:%d" % (HOST, free_port()))
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=scaled(20), cwd=srv.workdir)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode != 0, out
    assert db in out and "--storage.move-damaged" in out, out
    with open(db, "rb") as f:
        assert f.read(7) == b"garbage", "the damaged file was changed"
    # With the flag it is moved aside and tocsin starts empty.
    srv.extra_args.append("--storage.move-damaged")
    srv.start()
    assert silences(srv) == {}
    assert any(n.startswith("tocsin.db.damaged-") for n in os.listdir(srv.storage))


if __name__ == "__main__":
    run_cases([test_restart_kill9, test_restart_sigterm, test_damaged_database])
