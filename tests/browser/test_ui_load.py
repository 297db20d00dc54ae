"""The on-call page with 10,000 alerts: load time measured (printed), bounded generously, and
the DOM holds one page of groups, not one node per alert."""

import time

from browser import CONFIG, Browser, page_url, scaled
import harness
from harness import run_cases

N = 10000
SEVS = ["critical", "warning", "warning", "info"]


def many(n, start=0):
    return [harness.alert({"alertname": "Load%03d" % (i % 250), "instance": "host-%05d" % i,
                           "severity": SEVS[i % len(SEVS)], "job": "node"},
                          annotations={"summary": "load test alert %d" % i})
            for i in range(start, start + n)]


def test_ten_thousand_alerts(ctx):
    srv = ctx.server(CONFIG)
    for i in range(0, N, 2000):
        srv.post_ok(many(2000, i))
    t0 = time.monotonic()
    r = srv.request("GET", "/api/v2/alerts/groups", timeout=60)
    api_s = time.monotonic() - t0
    assert r.status == 200, r
    print("GET /api/v2/alerts/groups with %d alerts: %.2f s, %.1f MB" % (N, api_s, len(r.body) / 1e6))

    b = Browser(ctx)
    t0 = time.monotonic()
    b.get(page_url(srv))
    b.wait(lambda: b.count() == N, 60, "%d alerts counted" % N)
    load_s = time.monotonic() - t0
    render_ms = int(b.js("return document.body.dataset.renderMs") or -1)
    rows = b.js("return document.querySelectorAll('li.alert').length")
    nodes = b.js("return document.getElementsByTagName('*').length")
    print("page load with %d alerts: %.2f s to the full count (fetch+group+render %d ms in the "
          "page), %d alert rows, %d DOM elements" % (N, load_s, render_ms, rows, nodes))
    assert rows <= 20 * 10, rows
    assert nodes < 5000, nodes
    # 250 names for the chat route, the 125 with critical alerts again for the pager: 375 groups
    assert "page 1 of 19" in (b.text("#group-pager") or ""), b.text("#group-pager")
    assert load_s < scaled(30), "loading took %.1f s" % load_s
    b.screenshot("load-10000")

    # a live update still arrives in time with 10,000 alerts on the page
    b.wait(lambda: b.js("return document.body.dataset.live") == "on", 10, "the events stream")
    t0 = time.monotonic()
    srv.post_ok([harness.alert({"alertname": "OneMore", "severity": "critical"})])
    b.wait(lambda: b.count() == N + 1, scaled(10), "the new alert")
    live_s = time.monotonic() - t0
    print("live update with %d alerts shown: %.2f s" % (N, live_s))
    assert live_s < scaled(5), live_s

    # paging: the last page, then a filter narrowing to one group
    b.click("#group-pager button:last-child")
    b.wait(lambda: "page 2 of" in b.text("#group-pager"), 10, "page 2")
    b.get(page_url(srv) + "#/alerts?filter=alertname%3D%22Load007%22")
    b.wait(lambda: b.count() == N // 250, 20, "one group")
    more = b.one("button[data-act=more]")
    more.click()
    b.wait(lambda: len(b.css("li.alert")) == N // 250, 10, "the group expanded")


if __name__ == "__main__":
    run_cases([test_ten_thousand_alerts], jobs=1)
