#!/usr/bin/env python3
"""Alertmanager's acceptance scenarios from test/with_api_v2/acceptance/silence_test.go."""

import time

from harness import iso, run_cases
from upstream import AcceptanceTest, Alert, Silence

CONF = """
route:
  receiver: "default"
  group_by: []
  group_wait:      1s
  group_interval:  1s
  repeat_interval: 1ms

receivers:
- name: "default"
  webhook_configs:
  - url: 'http://%s'
"""


def test_add_silence(ctx):
    at = AcceptanceTest(ctx, tolerance=0.15, feature_flags=["classic-mode"])
    co = at.collector("webhook")
    wh = at.webhook(co)
    at.alertmanager(CONF % wh.address)
    srv = at.start()
    now = time.time()
    r = srv.request("POST", "/api/v2/silences", {
        "comment": "test", "createdBy": "test",
        "matchers": [{"name": "foo", "isEqual": True, "isRegex": False, "value": "bar"}],
        "startsAt": iso(now), "endsAt": iso(now + 24 * 3600)})
    assert r.status == 200, r
    assert r.json()["silenceID"]


def test_silencing(ctx):
    at = AcceptanceTest(ctx, tolerance=0.15)
    co = at.collector("webhook")
    wh = at.webhook(co)
    at.alertmanager(CONF % wh.address)
    at.push(1, Alert("alertname", "test1").active(1))
    at.push(1, Alert("alertname", "test2").active(1))
    co.want((2, 2.5), Alert("alertname", "test1").active(1), Alert("alertname", "test2").active(1))
    # test1 is silenced from 2.5 to 4.5.
    at.set_silence(2.3, Silence(2.5, 4.5).match("alertname", "test1"))
    co.want((3, 3.5), Alert("alertname", "test2").active(1))
    co.want((4, 4.5), Alert("alertname", "test2").active(1))
    co.want((5, 5.5), Alert("alertname", "test1").active(1), Alert("alertname", "test2").active(1))
    at.run()


def test_silence_delete(ctx):
    at = AcceptanceTest(ctx, tolerance=0.15)
    co = at.collector("webhook")
    wh = at.webhook(co)
    at.alertmanager(CONF % wh.address)
    at.push(1, Alert("alertname", "test1").active(1))
    at.push(1, Alert("alertname", "test2").active(1))
    sil = Silence(1.5, 100).match_re("alertname", ".+")
    at.set_silence(1.3, sil)
    at.del_silence(3.5, sil)
    co.want((3.5, 4.5), Alert("alertname", "test1").active(1),
            Alert("alertname", "test2").active(1))
    at.run()


if __name__ == "__main__":
    run_cases([test_add_silence, test_silencing, test_silence_delete])
