"""The route tree: matchers, first match wins, `continue`, inherited settings, the default
receiver."""

import time

from harness import alert, dur, run_cases, scaled

RECEIVERS = ["default", "db", "db-page", "db-warn", "web", "svc", "slow", "legacy", "each"]


def config(sink):
    recv = "".join("  - name: %s\n    webhook_configs:\n      - url: %s\n" % (n, sink.url("/" + n))
                   for n in RECEIVERS)
    return """
route:
  receiver: default
  group_by: [alertname]
  group_wait: %(gw)s
  group_interval: %(gi)s
  repeat_interval: 10m
  routes:
    - matchers: ['team="db"']
      receiver: db
      group_by: [alertname, instance]
      routes:
        - matchers: ['severity="critical"']
          receiver: db-page
          continue: true
        - matchers: ['severity=~"critical|warning"']
          receiver: db-warn
    - matchers: ['team="web"']
      receiver: web
      continue: true
    - matchers: ['service=~"api|web"', 'env!="dev"']
      receiver: svc
    - matchers: [team="slow"]
      receiver: slow
      group_wait: %(slow)s
      routes:
        - matchers: [sub="yes"]
          receiver: slow
          group_by: [alertname, sub]
    - match:
        env: staging
      match_re:
        region: eu-.*
      receiver: legacy
    - matchers: [team="all"]
      receiver: each
      group_by: ['...']
receivers:
%(recv)s""" % {"gw": dur(0.5), "gi": dur(2), "slow": dur(3), "recv": recv}


# alertname -> (labels, receivers it must reach)
CASES = {
    "DbCrit": ({"team": "db", "severity": "critical", "instance": "i1"}, ["db-page", "db-warn"]),
    "DbWarn": ({"team": "db", "severity": "warning", "instance": "i1"}, ["db-warn"]),
    "DbInfo": ({"team": "db", "severity": "info", "instance": "i1"}, ["db"]),
    "WebApi": ({"team": "web", "service": "api"}, ["svc", "web"]),
    "WebDev": ({"team": "web", "service": "api", "env": "dev"}, ["web"]),
    "Svc": ({"service": "web"}, ["svc"]),
    "Legacy": ({"env": "staging", "region": "eu-west"}, ["legacy"]),
    "NotLegacy": ({"env": "staging", "region": "us-east"}, ["default"]),
    "RegexAnchored": ({"service": "xapi"}, ["default"]),
    "Other": ({"team": "other"}, ["default"]),
    "Bare": ({}, ["default"]),
}


def test_routes_and_continue(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert(dict(labels, alertname=name)) for name, (labels, _) in CASES.items()])
    time.sleep(scaled(0.5 + 1.5))
    got = {}
    for r in sink.requests():
        for a in r["json"]["alerts"]:
            got.setdefault(a["labels"]["alertname"], []).append(r["path"].lstrip("/"))
    want = {name: sorted(recv) for name, (_, recv) in CASES.items()}
    got = {k: sorted(v) for k, v in got.items()}
    assert got == want, "\n got: %r\nwant: %r" % (got, want)
    # The API reports the same receivers per alert.
    for a in srv.get_alerts():
        name = a["labels"]["alertname"]
        recv = sorted(r["name"] for r in a["receivers"])
        assert recv == want[name], (name, recv, want[name])


def test_inherited_group_by_and_key(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "X", "team": "db", "severity": "critical", "instance": i})
                 for i in ("i1", "i2")])
    reqs = sink.wait("/db-page", 2, timeout=0.5 + 1.5)
    # group_by [alertname, instance] comes from the parent route: one group per instance.
    keys = sorted(r["json"]["groupKey"] for r in reqs)
    assert keys == ['{}/{team="db"}/{severity="critical"}:{alertname="X", instance="i1"}',
                    '{}/{team="db"}/{severity="critical"}:{alertname="X", instance="i2"}'], keys
    for r in reqs:
        p = r["json"]
        assert sorted(p["groupLabels"]) == ["alertname", "instance"], p["groupLabels"]
        assert p["receiver"] == "db-page"
        assert len(p["alerts"]) == 1


def test_inherited_group_wait(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    t0 = time.monotonic()
    srv.post_ok([alert({"alertname": "S", "team": "slow"}),
                 alert({"alertname": "S", "team": "slow", "sub": "yes"}),
                 alert({"alertname": "S", "team": "other"})])
    fast = sink.wait("/default", 1, timeout=0.5 + 1.5)[0]
    assert fast["time"] - t0 <= scaled(0.5 + 1.0)
    assert sink.requests("/slow") == [], "slow route ignored its group_wait"
    reqs = sink.wait("/slow", 2, timeout=3 + 1.5)
    for r in reqs:
        # Both the route with group_wait 3s and its child (which inherits it) waited.
        dt = r["time"] - t0
        assert scaled(3 - 0.3) <= dt <= scaled(3 + 1.0), "slow after %.2fs" % dt
    keys = sorted(r["json"]["groupKey"] for r in reqs)
    assert keys == ['{}/{team="slow"}/{sub="yes"}:{alertname="S", sub="yes"}',
                    '{}/{team="slow"}:{alertname="S"}'], keys


def test_group_by_all_labels(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "E", "team": "all", "i": str(i)}) for i in range(3)])
    reqs = sink.wait("/each", 3, timeout=0.5 + 1.5)
    time.sleep(scaled(0.3))
    assert len(sink.requests("/each")) == 3
    for r in reqs:
        p = r["json"]
        assert len(p["alerts"]) == 1
        assert p["groupLabels"] == p["alerts"][0]["labels"], p


def test_default_receiver_only_for_unmatched(ctx):
    sink = ctx.sink()
    srv = ctx.server(config(sink))
    srv.post_ok([alert({"alertname": "U1", "team": "nobody"}),
                 alert({"alertname": "U2", "team": "web"})])
    time.sleep(scaled(0.5 + 1.5))
    names = sorted(a["labels"]["alertname"] for r in sink.requests("/default")
                   for a in r["json"]["alerts"])
    assert names == ["U1"], names
    assert [r["json"]["receiver"] for r in sink.requests("/default")] == ["default"]


if __name__ == "__main__":
    run_cases([
        test_routes_and_continue,
        test_inherited_group_by_and_key,
        test_inherited_group_wait,
        test_group_by_all_labels,
        test_default_receiver_only_for_unmatched,
    ])
