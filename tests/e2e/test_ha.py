"""Replicas sharing state through a real Redis: three tocsin processes, a Prometheus-like sender
that posts every alert to each of them, and one webhook sink. Checked: exactly one notification
per group per change, a kill -9 of the replica that holds leases (no loss, at most one duplicate
per group), Redis going away (every replica keeps paging; silences made meanwhile survive), a
silence reaching every replica within a second, catching up after a restart, an alert posted to
one replica only, the live replicas in /api/v2/status, Sentinel, and bad URLs."""

import collections
import os
import subprocess
import time

from harness import alert, dur, run_cases, scaled, tocsin_only, wait_for
from redis_server import Redis


def config(sink, group_interval=1, group_wait=0.5):
    return """
route:
  receiver: hook
  group_by: [alertname, group]
  group_wait: %s
  group_interval: %s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
""" % (dur(group_wait), dur(group_interval), sink.url("/hook"))


def replica(ctx, cfg, redis, i, url=None, extra=()):
    return ctx.server(cfg, ["--cluster.redis-url=" + (url or redis.url),
                            "--cluster.peer-name=r%d" % i] + list(extra))


def status(srv):
    return srv.request("GET", "/api/v2/status").json()["cluster"]


def ready(srvs, n=None):
    """Waits until every replica is connected, has read the shared state back and sees n."""
    n = n or len(srvs)

    def ok():
        for s in srvs:
            st = status(s)
            if st["status"] != "ready" or len(st["peers"]) < n:
                return False
        return True
    wait_for(ok, scaled(10), what="replicas ready and seeing each other")


def cluster(ctx, sink, n=3, redis=None, **kw):
    tocsin_only("replicas that share state through Redis are tocsin's")
    redis = redis or Redis(ctx)
    cfg = config(sink, **kw)
    srvs = [replica(ctx, cfg, redis, i) for i in range(n)]
    ready(srvs)
    return redis, cfg, srvs


def post_all(srvs, alerts):
    for s in srvs:
        r = s.request("POST", "/api/v2/alerts", alerts)
        assert r.status == 200, (r.status, r.text())


def firing_sets(sink):
    """(groupKey, frozenset of firing alerts' label sets) per notification, in order."""
    out = []
    for p in sink.payloads("/hook"):
        firing = frozenset(tuple(sorted(a["labels"].items())) for a in p["alerts"]
                           if a["status"] == "firing")
        out.append((p["groupKey"], firing))
    return out


def leases(srv, result):
    return srv.metric("tocsin_cluster_leases_total", result=result) or 0


def webhook_sent(srv):
    return srv.metric("alertmanager_notifications_total", integration="webhook") or 0


def failed(srv):
    return srv.metric("alertmanager_notifications_failed_total", integration="webhook") or 0


def redis_up(srv):
    return srv.metric("tocsin_cluster_redis_up")


def test_200_groups_page_once(ctx):
    """200 groups get a new alert each group interval, posted to all three replicas: every
    change is notified exactly once, and nothing is lost."""
    sink = ctx.sink()
    redis, cfg, srvs = cluster(ctx, sink, group_interval=1)
    rounds = 10
    for k in range(rounds):
        post_all(srvs, [alert({"alertname": "Load", "group": "g%03d" % g, "n": str(k)})
                        for g in range(200)])
        time.sleep(scaled(1))

    def complete():
        last = {}
        for key, firing in firing_sets(sink):
            last[key] = firing
        return len(last) == 200 and all(len(f) == rounds for f in last.values())
    wait_for(complete, scaled(15), what="every group notified with all its alerts")
    time.sleep(scaled(2))  # a late duplicate would come within a flush or two
    sets = firing_sets(sink)
    dups = [k for k, c in collections.Counter(sets).items() if c > 1]
    assert not dups, "%d notifications sent twice, e.g. %r" % (len(dups), dups[:2])
    per_group = collections.Counter(k for k, _ in sets)
    assert max(per_group.values()) <= rounds, per_group.most_common(3)
    # every notification went through a lease, and each replica took a share of the flushes
    won = sum(leases(s, "won") for s in srvs)
    assert won >= len(sets), (won, len(sets))
    sent = [webhook_sent(s) - failed(s) for s in srvs]
    assert sum(sent) == len(sets), (sent, len(sets), [leases(s, "won") for s in srvs])
    assert all(leases(s, "unavailable") == 0 for s in srvs)


def test_kill_lease_holder(ctx):
    """kill -9 of the replica that is sending (its requests held open by a slow receiver): its
    groups are sent again by another replica once its leases expire, so nothing is lost, with
    at most one duplicate per group. Restarted, it pages nothing again."""
    sink = ctx.sink()
    sink.delay("/hook", scaled(3))
    redis, cfg, srvs = cluster(ctx, sink, group_interval=1)
    groups = 20
    post_all(srvs, [alert({"alertname": "Kill", "group": "g%02d" % g}) for g in range(groups)])
    sink.wait("/hook", groups, timeout=5)
    wins = [leases(s, "won") for s in srvs]
    victim = max(range(3), key=lambda i: wins[i])
    assert wins[victim] > 0, wins
    srvs[victim].kill()
    sink.delay("/hook", 0)
    others = [s for i, s in enumerate(srvs) if i != victim]

    # The victim's leases last until its flush deadline (at least 10 s), then a survivor sends.
    wait_for(lambda: len(sink.requests("/hook")) >= groups + 1, 10 + scaled(8),
             what="a survivor re-sending the victim's groups")
    time.sleep(scaled(3))
    per_group = collections.Counter(k for k, _ in firing_sets(sink))
    assert len(per_group) == groups, per_group
    assert max(per_group.values()) <= 2, per_group.most_common(3)
    twice = sum(1 for c in per_group.values() if c == 2)
    assert 1 <= twice <= wins[victim], (twice, wins)
    # Back with its own storage: it reads the shared log and pages nothing again.
    before = len(sink.requests("/hook"))
    srvs[victim].start()
    ready(srvs)
    time.sleep(scaled(3))
    assert len(sink.requests("/hook")) == before, firing_sets(sink)[before:]


def test_redis_outage(ctx):
    """Redis goes away: every replica pages on its own (at least once), a silence made meanwhile
    on one replica reaches the others once Redis is back, even an empty one."""
    sink = ctx.sink()
    redis, cfg, srvs = cluster(ctx, sink, group_interval=1)
    redis.kill()
    wait_for(lambda: all(redis_up(s) == 0 for s in srvs), scaled(10), what="replicas see Redis gone")
    post_all(srvs, [alert({"alertname": "Outage", "group": "a"})])
    # each replica sends on its own state
    wait_for(lambda: all(webhook_sent(s) >= 1 for s in srvs), scaled(8),
             what="every replica notifying on its own")
    assert all(leases(s, "unavailable") >= 1 for s in srvs)
    assert "Redis unreachable" in srvs[0].log()
    now = time.time()
    sil = {"matchers": [{"name": "alertname", "value": "Outage", "isRegex": False}],
           "startsAt": iso(now), "endsAt": iso(now + 3600), "createdBy": "ops",
           "comment": "made while Redis was down"}
    r = srvs[0].request("POST", "/api/v2/silences", sil)
    assert r.status == 200, r.text()
    sid = r.json()["silenceID"]
    redis.restart()
    wait_for(lambda: all(redis_up(s) == 1 for s in srvs), scaled(15), what="replicas reconnect")

    def everywhere():
        for s in srvs:
            got = [x for x in s.request("GET", "/api/v2/silences").json() if x["id"] == sid]
            if not got or got[0]["status"]["state"] != "active":
                return False
        return True
    wait_for(everywhere, scaled(5), what="the outage's silence on every replica")
    assert redis.keys("tocsin:sil:*") == ["tocsin:sil:" + sid]
    ready(srvs)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def test_silence_everywhere_within_a_second(ctx):
    sink = ctx.sink()
    redis, cfg, srvs = cluster(ctx, sink)
    post_all(srvs, [alert({"alertname": "Mute", "group": "a"})])
    sink.wait("/hook", 1, timeout=4)
    now = time.time()
    sil = {"matchers": [{"name": "alertname", "value": "Mute", "isRegex": False}],
           "startsAt": iso(now), "endsAt": iso(now + 3600), "createdBy": "ops", "comment": "x"}
    t0 = time.monotonic()
    r = srvs[0].request("POST", "/api/v2/silences", sil)
    assert r.status == 200, r.text()

    def muted_on(s):
        a = s.request("GET", "/api/v2/alerts").json()
        return a and a[0]["status"]["state"] == "suppressed"
    wait_for(lambda: all(muted_on(s) for s in srvs[1:]), scaled(1), interval=0.01,
             what="the silence muting on the other replicas")
    took = time.monotonic() - t0
    assert took < scaled(1), took
    # amtool-style listing through any replica shows the same silence
    ids = [sorted(x["id"] for x in s.request("GET", "/api/v2/silences").json()) for s in srvs]
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 1, ids
    # expiring it on another replica ends it everywhere
    r = srvs[2].request("DELETE", "/api/v2/silence/" + ids[0][0])
    assert r.status == 200, r.text()
    wait_for(lambda: all(not muted_on(s) for s in srvs), scaled(1), interval=0.01,
             what="the expiry reaching every replica")


def test_restart_catches_up(ctx):
    """A replica that was away, and a new one with empty storage, get the silences, the log and
    the alerts from Redis: neither pages what was already paged."""
    sink = ctx.sink()
    redis, cfg, srvs = cluster(ctx, sink)
    srvs[2].stop()
    srvs[0].post_ok([alert({"alertname": "Away", "group": "a"})])
    sink.wait("/hook", 1, timeout=4)
    now = time.time()
    r = srvs[1].request("POST", "/api/v2/silences", {
        "matchers": [{"name": "alertname", "value": "Other", "isRegex": False}],
        "startsAt": iso(now), "endsAt": iso(now + 3600), "createdBy": "ops", "comment": "x"})
    assert r.status == 200
    srvs[2].start()
    fresh = replica(ctx, cfg, redis, 3)
    ready(srvs + [fresh])
    for s in (srvs[2], fresh):
        assert [a["labels"]["alertname"] for a in s.get_alerts()] == ["Away"]
        assert len(s.request("GET", "/api/v2/silences").json()) == 1
    time.sleep(scaled(3))
    assert len(sink.requests("/hook")) == 1, firing_sets(sink)


def test_alert_posted_to_one_replica(ctx):
    """Prometheus reached one replica only: the others know the alert within a second, and it
    is paged once."""
    sink = ctx.sink()
    redis, cfg, srvs = cluster(ctx, sink)
    srvs[1].post_ok([alert({"alertname": "One", "group": "a"})])
    wait_for(lambda: all(len(s.get_alerts()) == 1 for s in srvs), scaled(1),
             what="the alert on every replica")
    sink.wait("/hook", 1, timeout=4)
    time.sleep(scaled(3))
    assert len(sink.requests("/hook")) == 1


def test_status_lists_live_replicas(ctx):
    sink = ctx.sink()
    redis, cfg, srvs = cluster(ctx, sink)
    st = status(srvs[0])
    assert st["name"] == "r0" and st["status"] == "ready"
    assert sorted(p["name"] for p in st["peers"]) == ["r0", "r1", "r2"]
    assert all(p["address"].startswith("http://") for p in st["peers"])
    assert srvs[0].metric("alertmanager_cluster_members") == 3
    assert srvs[0].metric("alertmanager_cluster_enabled") == 1
    srvs[2].stop()
    wait_for(lambda: sorted(p["name"] for p in status(srvs[0])["peers"]) == ["r0", "r1"],
             scaled(10), what="a stopped replica leaving the list")


def test_sentinel(ctx):
    """redis+sentinel://: the master's address comes from the sentinel."""
    tocsin_only("Redis Sentinel is tocsin's")
    sink = ctx.sink()
    master = Redis(ctx)
    sentinel = Redis(ctx, sentinel_for=master)
    url = "redis+sentinel://127.0.0.1:%d/mymaster/0" % sentinel.port
    cfg = config(sink)
    srvs = [replica(ctx, cfg, master, i, url=url) for i in range(2)]
    ready(srvs)
    srvs[0].post_ok([alert({"alertname": "Sentinel", "group": "a"})])
    wait_for(lambda: len(srvs[1].get_alerts()) == 1, scaled(2), what="the alert on both")
    sink.wait("/hook", 1, timeout=4)
    assert master.keys("tocsin:alert:*"), "nothing was written to the master"
    time.sleep(scaled(2))
    assert len(sink.requests("/hook")) == 1


def test_tls(ctx):
    """rediss://: a Redis that speaks TLS only, its certificate checked against a given CA;
    with the wrong CA the replica does not connect and pages on its own."""
    tocsin_only("rediss:// is tocsin's")
    sink = ctx.sink()
    redis = Redis(ctx, tls=True)
    cfg = config(sink)
    srvs = [replica(ctx, cfg, redis, i, extra=["--cluster.redis-tls-ca-file=" + redis.ca_file])
            for i in range(2)]
    ready(srvs)
    srvs[0].post_ok([alert({"alertname": "Tls", "group": "a"})])
    wait_for(lambda: len(srvs[1].get_alerts()) == 1, scaled(2), what="the alert on both")
    sink.wait("/hook", 1, timeout=4)
    wrong = replica(ctx, cfg, redis, 2, extra=[
        "--cluster.redis-tls-ca-file=" + os.path.join(ctx.tmp, "nope.crt")])
    wait_for(lambda: "Redis unreachable" in wrong.log(), scaled(5), what="the refusal logged")
    assert redis_up(wrong) == 0
    assert status(wrong)["status"] == "settling"
    time.sleep(scaled(2))
    assert len(sink.requests("/hook")) == 1


def test_bad_urls_refused(ctx):
    """A URL that cannot work stops the start with a clear message (the password never shows);
    Alertmanager's gossip flags are still accepted and ignored."""
    tocsin_only("--cluster.redis-url is tocsin's")
    sink = ctx.sink()
    cfg = config(sink)
    path = os.path.join(ctx.tmp, "bad.yml")
    with open(path, "w") as f:
        f.write(cfg)
    binary = os.environ["TOCSIN_BIN"]
    for url, want in [("http://127.0.0.1:6379", "redis://"),
                      ("redis://:s3cret@127.0.0.1:notaport/0", "port"),
                      ("redis://127.0.0.1:6379/x", "db"),
                      ("redis+sentinel://127.0.0.1:26379", "master")]:
        p = subprocess.run([binary, "--config.file=" + path, "--storage.path=" + ctx.tmp,
                            "--web.listen-address=127.0.0.1:0", "--cluster.redis-url=" + url],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0, url
        assert "--cluster.redis-url" in p.stderr and want in p.stderr, (url, p.stderr)
        assert "s3cret" not in p.stderr + p.stdout, p.stderr
    # the gossip flags of an Alertmanager command line still start a (single) replica
    redis = Redis(ctx)
    srv = ctx.server(cfg, ["--cluster.redis-url=" + redis.url, "--cluster.peer=10.0.0.1:9094",
                           "--cluster.listen-address=0.0.0.0:9094"])
    ready([srv])
    assert "gossip" in srv.log()


def test_ack_shared_and_escalation_once(ctx):
    """An ack made on one replica reaches the others within a second, so no replica repeats
    the acked group; escalation steps go out once across replicas."""
    sink = ctx.sink()
    tocsin_only("acks and escalation are tocsin's")
    redis = Redis(ctx)
    cfg = """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: %s
  escalation:
  - after: %s
    receiver: pager
receivers:
  - name: hook
    webhook_configs:
      - url: %s
  - name: pager
    webhook_configs:
      - url: %s
""" % (dur(0.5), dur(1), dur(6), dur(2), sink.url("/hook"), sink.url("/pager"))
    srvs = [replica(ctx, cfg, redis, i) for i in range(3)]
    ready(srvs)
    post_all(srvs, [alert({"alertname": "Esc"})])
    sink.wait("/pager", 1, timeout=scaled(4))
    time.sleep(scaled(1.5))
    assert len(sink.requests("/pager")) == 1, "escalation step sent more than once"
    assert len(sink.requests("/hook")) == 1, sink.payloads("/hook")
    # Ack through replica 0; every replica must know it before the next repeat is due.
    view = srvs[0].request("GET", "/api/tocsin/v1/alerts").json()
    fp = view["alerts"][0]["fingerprint"]
    r = srvs[0].request("POST", "/api/tocsin/v1/acks", {"fingerprints": [fp], "by": "ann"},
                        headers={"Content-Type": "application/json"})
    assert r.status == 200, r
    ack_id = r.json()["id"]
    for s in srvs[1:]:
        wait_for(lambda: any(a["id"] == ack_id for a in
                             s.request("GET", "/api/tocsin/v1/acks").json()), 1.0,
                 what="the ack on another replica")
    before = (len(sink.requests("/hook")), len(sink.requests("/pager")))
    # Past the next repeat of both the route's receiver (6 s) and the step's (2 + 6 s).
    time.sleep(scaled(7))
    after = (len(sink.requests("/hook")), len(sink.requests("/pager")))
    assert after == before, "a replica repeated an acked group: %r -> %r" % (before, after)
    # Every replica's history has the ack, and each notification once, whoever sent it.
    for i, s in enumerate(srvs):
        def hist(kind, s=s):
            return s.request("GET", "/api/tocsin/v1/history?kind=" + kind).json()["events"]
        wait_for(lambda: hist("ack"), scaled(2), what="the ack in replica %d's history" % i)
        ack = hist("ack")[0]
        assert ack["by"] == "ann" and ack.get("replica", "r0") == "r0", ack
        assert (i == 0) == ("replica" not in ack), ack
        sent = [e for e in hist("notification") if e["outcome"] == "sent"]
        assert sorted(e["receiver"] for e in sent) == ["hook", "pager"], sent
    # Deleted on replica 2: gone everywhere.
    assert srvs[2].request("DELETE", "/api/tocsin/v1/acks/" + ack_id).status == 200
    for s in srvs[:2]:
        wait_for(lambda: not s.request("GET", "/api/tocsin/v1/acks").json(), 1.0,
                 what="the ack gone on another replica")


if __name__ == "__main__":
    run_cases([test_200_groups_page_once, test_kill_lease_holder, test_redis_outage,
               test_silence_everywhere_within_a_second, test_restart_catches_up,
               test_alert_posted_to_one_replica, test_status_lists_live_replicas, test_sentinel,
               test_tls, test_bad_urls_refused, test_ack_shared_and_escalation_once])
