#!/usr/bin/env python3
"""Alertmanager's acceptance scenarios from test/with_api_v2/acceptance/inhibit_test.go."""

from harness import run_cases
from upstream import AcceptanceTest, Alert

CONF = """
route:
  receiver: "default"
  group_by: []
  group_wait:      1s
  group_interval:  1s
  repeat_interval: 1s

receivers:
- name: "default"
  webhook_configs:
  - url: 'http://%s'

inhibit_rules:
"""

JOB_RULE = """- source_match:
    alertname: JobDown
  target_match:
    alertname: InstanceDown
  equal:
    - job
    - zone
"""


def test_inhibiting(ctx):
    # An alert is inhibited while its source fires, and notified again once it resolves.
    at = AcceptanceTest(ctx, tolerance=0.15)
    co = at.collector("webhook")
    wh = at.webhook(co)
    at.alertmanager(CONF % wh.address + JOB_RULE)
    at.push(1, Alert("alertname", "test1", "job", "testjob", "zone", "aa"))
    at.push(1, Alert("alertname", "InstanceDown", "job", "testjob", "zone", "aa"))
    at.push(1, Alert("alertname", "InstanceDown", "job", "testjob", "zone", "ab"))
    at.push(2.2, Alert("alertname", "JobDown", "job", "testjob", "zone", "aa"))
    at.push(3.6, Alert("alertname", "JobDown", "job", "testjob", "zone", "aa").active(2.2, 3.6))
    co.want((2, 2.5),
            Alert("alertname", "test1", "job", "testjob", "zone", "aa").active(1),
            Alert("alertname", "InstanceDown", "job", "testjob", "zone", "aa").active(1),
            Alert("alertname", "InstanceDown", "job", "testjob", "zone", "ab").active(1))
    co.want((3, 3.5),
            Alert("alertname", "test1", "job", "testjob", "zone", "aa").active(1),
            Alert("alertname", "InstanceDown", "job", "testjob", "zone", "ab").active(1),
            Alert("alertname", "JobDown", "job", "testjob", "zone", "aa").active(2.2))
    co.want((4, 4.5),
            Alert("alertname", "test1", "job", "testjob", "zone", "aa").active(1),
            Alert("alertname", "InstanceDown", "job", "testjob", "zone", "aa").active(1),
            Alert("alertname", "InstanceDown", "job", "testjob", "zone", "ab").active(1),
            Alert("alertname", "JobDown", "job", "testjob", "zone", "aa").active(2.2, 3.6))
    at.run()


def test_always_inhibiting(ctx):
    # A target that resolves together with its source is still inhibited up to then: its
    # resolve is sent, its firing never was.
    at = AcceptanceTest(ctx, tolerance=0.15)
    co = at.collector("webhook")
    wh = at.webhook(co)
    at.alertmanager(CONF % wh.address + JOB_RULE)
    at.push(1, Alert("alertname", "InstanceDown", "job", "testjob", "zone", "aa"))
    at.push(1, Alert("alertname", "JobDown", "job", "testjob", "zone", "aa"))
    at.push(2.6, Alert("alertname", "JobDown", "job", "testjob", "zone", "aa").active(1, 2.6))
    at.push(2.6, Alert("alertname", "InstanceDown", "job", "testjob", "zone", "aa").active(1, 2.6))
    co.want((2, 2.5), Alert("alertname", "JobDown", "job", "testjob", "zone", "aa").active(1))
    co.want((3, 3.5),
            Alert("alertname", "InstanceDown", "job", "testjob", "zone", "aa").active(1, 2.6),
            Alert("alertname", "JobDown", "job", "testjob", "zone", "aa").active(1, 2.6))
    at.run()


def test_empty_inhibition_rule(ctx):
    # `inhibit_rules:` with an empty item loads, as a rule that inhibits nothing.
    at = AcceptanceTest(ctx, tolerance=0.15)
    co = at.collector("webhook")
    wh = at.webhook(co)
    at.alertmanager(CONF % wh.address + "-\n")
    at.run()


if __name__ == "__main__":
    run_cases([test_inhibiting, test_always_inhibiting, test_empty_inhibition_rule])
