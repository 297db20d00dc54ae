#!/usr/bin/env python3
"""Alertmanager's acceptance scenarios from test/with_api_v2/acceptance/cluster_test.go: the same
configs, timelines and tolerances, with replicas that share state through Redis instead of
gossip. Upstream only logs its collectors' reports here; these checks fail on them."""

import threading

from harness import run_cases
from upstream import AcceptanceTest, Alert


def test_cluster_deduplication(ctx):
    """Three replicas each get the alert: exactly one notification."""
    at = AcceptanceTest(ctx, tolerance=1.0)
    co = at.collector("webhook")
    wh = at.webhook(co)
    at.alertmanager_cluster("""
route:
  receiver: "default"
  group_by: []
  group_wait:      1s
  group_interval:  1s
  repeat_interval: 1h

receivers:
- name: "default"
  webhook_configs:
  - url: 'http://%s'
""" % wh.address, 3)
    at.push(1, Alert("alertname", "test1"))
    co.want((2, 3), Alert("alertname", "test1").active(1))
    at.run()


def _relative(co):
    """Every alert a collector received, its times relative to its test's start."""
    base = co.test.base
    out = []
    with co.lock:
        for _, got in co.collected:
            for labels, ann, starts, ends in got:
                out.append((labels, ann, None if starts is None else starts - base,
                            None if ends is None else ends - base))
    return out


def _same(a, b, tol):
    def t(x, y):
        return (x is None) == (y is None) and (x is None or abs(x - y) <= tol)
    return a[0] == b[0] and a[1] == b[1] and t(a[2], b[2]) and t(a[3], b[3])


def test_cluster_vs_instance(ctx):
    """One instance and a cluster of three get the same timeline: they send the same."""
    conf = """
route:
  receiver: "default"
  group_by: [ "alertname" ]
  group_wait:      1s
  group_interval:  1s
  repeat_interval: 1h

receivers:
- name: "default"
  webhook_configs:
  - url: 'http://%s'
"""
    tests, collectors = [], []
    for size in (1, 3):
        at = AcceptanceTest(ctx, tolerance=2.0)
        co = at.collector("webhook")
        wh = at.webhook(co)
        if size == 1:
            at.alertmanager(conf % wh.address)
        else:
            at.alertmanager_cluster(conf % wh.address, size)
        tests.append(at)
        collectors.append(co)
    for t in (0, 2, 4, 6, 8):
        for at, co in zip(tests, collectors):
            name = "test1-%g" % t
            at.push(t, Alert("alertname", name).active(t))
            # pushed at 0 the start is unset, so the receiver's clock gives it: about 0
            co.want((t, t + 5), Alert("alertname", name).active(max(t, 1e-6)))
    errors = []

    def run(at):
        try:
            at.run()
        except AssertionError as e:
            errors.append(str(e))
    threads = [threading.Thread(target=run, args=(at,)) for at in tests]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, "\n".join(errors)
    single, clustered = _relative(collectors[0]), _relative(collectors[1])
    assert len(single) == len(clustered), (single, clustered)
    for a in single:
        assert any(_same(a, b, 2.0) for b in clustered), (a, clustered)


if __name__ == "__main__":
    run_cases([test_cluster_deduplication, test_cluster_vs_instance])
