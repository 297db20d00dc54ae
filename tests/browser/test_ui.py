"""The on-call page in headless chromium: live updates, ack, silence, filters in the URL, escaping.

Each case starts its own tocsin and browser; screenshots land in the artifacts directory.
"""

import json
import subprocess
import time

from browser import CONFIG, Browser, api, page_url, scaled
import harness
from harness import run_cases

API = "/api/tocsin/v1"


def firing(name, **labels):
    labels = dict(labels, alertname=name)
    a = harness.alert(labels, annotations={"summary": "%s is on fire" % name})
    return a


def fp_of(srv, name):
    alerts = [a for a in srv.get_alerts() if a["labels"].get("alertname") == name]
    assert alerts, "no alert %s in %r" % (name, srv.get_alerts())
    return alerts[0]["fingerprint"]


def open_page(ctx, srv, frag="", **kw):
    b = Browser(ctx, **kw)
    b.get(page_url(srv) + frag)
    if not frag.startswith("#/status"):
        b.wait(lambda: b.count() is not None, 20, "the alert list")
    return b


def test_live_updates(ctx):
    """Alerts posted after the page loaded appear without a reload, within 2 s."""
    srv = ctx.server(CONFIG)
    b = open_page(ctx, srv)
    assert b.count() == 0, b.count()
    b.wait(lambda: b.js("return document.body.dataset.live") == "on", 10, "the events stream")
    b.js("window.__marker = 1")  # gone if the page reloads
    t0 = time.monotonic()
    srv.post_ok([firing("DiskFull", severity="critical", instance="db-1"),
                 firing("DiskFull", severity="critical", instance="db-2"),
                 firing("HighLatency", severity="warning", instance="web-1")])
    b.wait(lambda: b.count() == 3, 2 + scaled(1), "3 alerts shown")
    took = time.monotonic() - t0
    print("live: 3 new alerts shown %.2f s after the POST" % took)
    assert b.js("return window.__marker") == 1, "the page reloaded"
    groups = b.css("section.group")
    assert len(groups) == 2, len(groups)
    # the most severe group first, with its receiver from the route tree
    assert "DiskFull" in groups[0].text and "team-pager" in groups[0].text, groups[0].text
    assert b.text("#sev-counts [data-sev=critical]") == "critical 2"
    # a resolve from elsewhere disappears as well
    srv.post_ok([harness.resolved({"alertname": "HighLatency", "severity": "warning",
                                   "instance": "web-1"})])
    b.wait(lambda: b.count() == 2, 2 + scaled(1), "the resolved alert gone")
    b.screenshot("alerts")
    b.assert_no_script_errors()


def test_ack_from_page(ctx):
    """Ack one alert from the page: the API has who and the comment; the page shows it."""
    srv = ctx.server(CONFIG)
    srv.post_ok([firing("DiskFull", severity="critical", instance="db-1"),
                 firing("DiskFull", severity="critical", instance="db-2")])
    fp = fp_of(srv, "DiskFull")
    b = open_page(ctx, srv)
    b.wait(lambda: b.count() == 2, 10, "2 alerts")
    # no basic auth: the name is asked for once and kept in the browser
    assert b.text("#whoami") == "name: not set", b.text("#whoami")
    b.click('li[data-fp="%s"] button[data-act=ack]' % fp)
    b.one("#act-dialog[open]")
    b.one("#act-by").send_keys("alice")
    b.one("#act-form textarea[name=comment]").send_keys("on it, cleaning /var/log")
    b.screenshot("ack-dialog")
    b.click("#act-ok")
    b.wait(lambda: b.css('li[data-fp="%s"] .ackinfo' % fp), 5, "the ack shown")
    assert "alice" in b.text('li[data-fp="%s"] .ackinfo' % fp)
    acks = srv.request("GET", API + "/acks").json()
    assert len(acks) == 1, acks
    assert acks[0]["by"] == "alice" and acks[0]["comment"] == "on it, cleaning /var/log", acks
    assert acks[0]["fingerprints"] == [fp], acks
    assert b.js("return localStorage.getItem('tocsin.name')") == "alice"
    assert b.text("#whoami") == "name: alice"
    # the acknowledged filter now holds exactly that alert
    b.get(page_url(srv) + "#/alerts?state=acknowledged")
    b.wait(lambda: b.count() == 1, 10, "1 acknowledged")
    # un-ack from the page; the name is remembered
    b.click('li[data-fp="%s"] button[data-act=unack]' % fp)
    b.one("#act-dialog[open]")
    assert b.one("#act-by").get_attribute("value") == "alice"
    b.click("#act-ok")
    b.wait(lambda: b.count() == 0, 5, "no acknowledged alert left")
    assert srv.request("GET", API + "/acks").json() == []
    hist = srv.request("GET", API + "/history?kind=ack,unack").json()["events"]
    assert [e["kind"] for e in hist] == ["unack", "ack"], hist
    b.screenshot("acked")
    b.assert_no_script_errors()


def test_group_resolve(ctx):
    """Resolve a whole group from its header: the API ends every alert of it."""
    srv = ctx.server(CONFIG)
    srv.post_ok([firing("Flappy", instance="a"), firing("Flappy", instance="b"),
                 firing("Other", instance="c")])
    b = open_page(ctx, srv)
    b.wait(lambda: b.count() == 3, 10, "3 alerts")
    g = [e for e in b.css("section.group") if "Flappy" in e.text][0]
    g.find_element("css selector", "button[data-act=resolve-group]").click()
    b.one("#act-dialog[open]")
    b.one("#act-by").send_keys("bob")
    b.one("#act-form textarea[name=comment]").send_keys("restarted")
    b.click("#act-ok")
    b.wait(lambda: b.count() == 1, 5, "the group resolved")
    names = sorted(a["labels"]["alertname"] for a in srv.get_alerts("active=true")
                   if a["status"]["state"] == "active")
    assert names == ["Other"], names
    hist = srv.request("GET", API + "/history?kind=resolve").json()["events"]
    assert hist and hist[0]["by"] == "bob" and hist[0]["comment"] == "restarted", hist
    b.screenshot("group-resolved")


def test_silence_from_page(ctx):
    """A silence made from an alert's labels: amtool sees it, the alert shows silenced."""
    srv = ctx.server(CONFIG)
    srv.post_ok([firing("DiskFull", severity="critical", instance="db-1"),
                 firing("DiskFull", severity="critical", instance="db-2")])
    fp = fp_of(srv, "DiskFull")
    b = open_page(ctx, srv)
    b.wait(lambda: b.count() == 2, 10, "2 alerts")
    b.js("localStorage.setItem('tocsin.name', 'carol')")
    b.click('li[data-fp="%s"] button[data-act=silence]' % fp)
    b.one("#sil-dialog[open]")
    # pre-filled from the alert's labels: it matches that alert alone
    names = [e.get_attribute("value") for e in b.css("#sil-matchers .m-name")]
    assert sorted(names) == ["alertname", "instance", "severity"], names
    b.wait(lambda: b.text("#sil-preview") == "matches 1 alert now", 5, "the preview")
    # widen it: drop the instance matcher; the preview follows
    for row in b.css("#sil-matchers .mrow"):
        if row.find_element("css selector", ".m-name").get_attribute("value") == "instance":
            row.find_element("css selector", "button").click()
    b.wait(lambda: b.text("#sil-preview") == "matches 2 alerts now", 5, "the wider preview")
    b.one("#sil-by").clear()
    b.one("#sil-by").send_keys("carol")
    b.one("#sil-comment").send_keys("disk swap tonight")
    b.screenshot("silence-editor")
    b.click("#sil-ok")
    b.wait(lambda: b.css("li.alert.st-silenced"), 5, "the alerts silenced")
    b.wait(lambda: len(b.css("li.alert.st-silenced")) == 2, 5, "both silenced")
    out = subprocess.run(["amtool", "--alertmanager.url=http://127.0.0.1:%d" % srv.port,
                          "silence", "query", "-o", "json"], capture_output=True, text=True,
                         timeout=scaled(20))
    assert out.returncode == 0, out.stderr
    sils = json.loads(out.stdout)
    assert len(sils) == 1, sils
    s = sils[0]
    assert s["createdBy"] == "carol" and s["comment"] == "disk swap tonight", s
    got = sorted((m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in s["matchers"])
    assert got == [("alertname", "DiskFull", True, False), ("severity", "critical", True, False)], got
    # the silences view lists it; expire it from there
    b.get(page_url(srv) + "#/silences")
    b.wait(lambda: b.css("#silences tr[data-silence]"), 10, "the silence listed")
    b.screenshot("silences")
    # edit: a longer comment, same matchers
    b.click("#silences button[data-sact=edit]")
    b.one("#sil-dialog[open]")
    assert b.text("#sil-title") == "Edit silence"
    b.one("#sil-comment").send_keys(", then reboot")
    b.click("#sil-ok")
    b.wait(lambda: "then reboot" in (b.text("#silences") or ""), 5, "the edited silence")
    live = [x for x in srv.request("GET", "/api/v2/silences").json()
            if x["status"]["state"] == "active"]
    assert [x["comment"] for x in live] == ["disk swap tonight, then reboot"], live
    s = live[0]
    b.click("#silences button[data-sact=expire]")
    b.wait(lambda: not b.css("#silences tr[data-silence]"), 5, "the silence expired")
    st = srv.request("GET", "/api/v2/silence/" + s["id"]).json()
    assert st["status"]["state"] == "expired", st


def test_filter_in_url(ctx):
    """Filters live in the URL: a link opens the same view with the same count."""
    srv = ctx.server(CONFIG)
    alerts = [firing("DiskFull", severity="critical", instance="db-%d" % i) for i in range(5)]
    alerts += [firing("DiskFull", severity="warning", instance="web-%d" % i) for i in range(3)]
    alerts += [firing("Latency", severity="warning", instance="web-%d" % i) for i in range(4)]
    srv.post_ok(alerts)
    b = open_page(ctx, srv, '#/alerts?filter=alertname%3D%22DiskFull%22')
    b.wait(lambda: b.count() == 8, 10, "8 DiskFull")
    b.get(page_url(srv) + '#/alerts?filter=alertname%3D%22DiskFull%22&filter=instance%3D~%22db-.*%22')
    b.wait(lambda: b.count() == 5, 10, "5 on db")
    b.get(page_url(srv) + "#/alerts?receiver=team-pager")
    b.wait(lambda: b.count() == 5, 10, "5 to the pager")
    # the form writes the URL: type a filter, submit, read it back
    b.get(page_url(srv) + "#/alerts")
    b.wait(lambda: b.count() == 12, 10, "all 12")
    f = b.one("#f-filter")
    f.send_keys('severity="warning", alertname="Latency"')
    b.click("#alert-filter button[type=submit]")
    b.wait(lambda: b.count() == 4, 10, "4 Latency warnings")
    url = b.driver.current_url
    assert "filter=severity%3D%22warning%22" in url and "alertname%3D%22Latency%22" in url, url
    # the same link in a fresh page
    b.get("about:blank")
    b.get(url)
    b.wait(lambda: b.count() == 4, 10, "4 again from the link")
    assert b.one("#f-filter").get_attribute("value") == 'severity="warning", alertname="Latency"'
    # free text over label and annotation values, any case
    b.get(page_url(srv) + "#/alerts?q=WEB-1")
    b.wait(lambda: b.count() == 2, 10, "2 on web-1")
    assert b.one("#f-q").get_attribute("value") == "WEB-1"
    # states: nothing acked yet
    b.get(page_url(srv) + "#/alerts?state=acknowledged")
    b.wait(lambda: b.count() == 0, 10, "none acknowledged")
    b.screenshot("filtered")


STATES_CONFIG = CONFIG + """
inhibit_rules:
- source_matchers: [severity="critical"]
  target_matchers: [severity="warning"]
  equal: [cluster]
"""


def test_states(ctx):
    """Each state filter counts what the API says: active, acknowledged (with an end),
    silenced and inhibited, and the page says by what."""
    srv = ctx.server(STATES_CONFIG)
    srv.post_ok([firing("Down", severity="critical", cluster="a"),
                 firing("Slow", severity="warning", cluster="a"),      # inhibited by Down
                 firing("Slow", severity="warning", cluster="b"),      # acked below
                 firing("Noisy", severity="info", cluster="b"),        # silenced below
                 firing("Other", severity="info", cluster="c")])
    by_name = {(a["labels"]["alertname"], a["labels"]["cluster"]): a["fingerprint"]
               for a in srv.get_alerts()}
    r = api(srv, "POST", "/api/v2/silences", {
        "matchers": [{"name": "alertname", "value": "Noisy", "isRegex": False, "isEqual": True}],
        "startsAt": harness.iso(harness.now_utc()),
        "endsAt": harness.iso(harness.now_utc() + harness.timedelta(hours=1)),
        "createdBy": "bob", "comment": "noisy"})
    assert r.status == 200, r
    b = open_page(ctx, srv)
    b.wait(lambda: b.count() == 5, 10, "5 alerts")
    b.js("localStorage.setItem('tocsin.name', 'dave')")
    b.click('li[data-fp="%s"] button[data-act=ack]' % by_name[("Slow", "b")])
    b.one("#act-dialog[open]")
    b.one("#act-form input[name=expires]").send_keys("2h")
    b.click("#act-ok")
    b.wait(lambda: b.css('li[data-fp="%s"] .ackinfo' % by_name[("Slow", "b")]), 5, "the ack")
    assert "ends in 1h59m" in b.text('li[data-fp="%s"] .ackinfo' % by_name[("Slow", "b")]) or \
        "ends in 2h0m" in b.text('li[data-fp="%s"] .ackinfo' % by_name[("Slow", "b")])
    ack = srv.request("GET", API + "/acks").json()[0]
    left = harness.parse_time(ack["expiresAt"]) - harness.now_utc()
    assert 7000 < left.total_seconds() <= 7200, ack
    assert "inhibited by " + by_name[("Down", "a")] in b.text(
        'li[data-fp="%s"]' % by_name[("Slow", "a")])
    assert "silenced by" in b.text('li[data-fp="%s"]' % by_name[("Noisy", "b")])
    for state, n in (("active", 2), ("acknowledged", 1), ("silenced", 1), ("inhibited", 1),
                     ("active,inhibited", 3)):
        b.get(page_url(srv) + "#/alerts?state=" + state)
        b.wait(lambda: b.count() == n, 10, "%d %s" % (n, state))
        view = srv.request("GET", API + "/alerts?status=" + state).json()
        assert view["total_count"] == n, (state, view)
    b.screenshot("states")
    b.assert_no_script_errors()


HOSTILE = ['<script>window.__pwned=1</script>', '"><img src=x onerror="window.__pwned=2">',
           "<b onmouseover=alert(1)>bold</b>"]


def test_hostile_labels_are_text(ctx):
    """Labels holding markup render as text and run nothing, in every view."""
    srv = ctx.server(CONFIG)
    srv.post_ok([harness.alert({"alertname": HOSTILE[0], "instance": HOSTILE[1],
                                "severity": "critical"},
                               annotations={"summary": HOSTILE[2]},
                               generator_url="javascript:window.__pwned=3")])
    b = open_page(ctx, srv)
    b.wait(lambda: b.count() == 1, 10, "the alert")
    page = b.one("#groups").text
    for h in HOSTILE[:2]:
        assert h in page, (h, page)
    assert HOSTILE[2] in page, page
    assert not b.css("#groups img, #groups script, #groups b"), "markup from labels became elements"
    assert not b.css('#groups a[href^="javascript"]'), "a javascript: link"
    fp = srv.get_alerts()[0]["fingerprint"]
    b.click('li[data-fp="%s"] button[data-act=silence]' % fp)
    b.one("#sil-dialog[open]")
    b.wait(lambda: b.text("#sil-preview") == "matches 1 alert now", 5, "the preview")
    b.click("#sil-cancel")
    b.get(page_url(srv) + "#/alert/" + fp)
    b.wait(lambda: b.css("#hist-alert .chip"), 10, "the timeline")
    b.get(page_url(srv) + "#/history")
    b.wait(lambda: b.css("#hist-table tbody tr"), 10, "the history")
    assert HOSTILE[0] in b.one("#hist-table").text
    assert b.js("return window.__pwned === undefined"), b.js("return window.__pwned")
    b.get(page_url(srv) + "#/alerts")
    b.wait(lambda: b.count() == 1, 10, "the alert again")
    assert b.js("return window.__pwned === undefined"), b.js("return window.__pwned")
    # the CSP would have stopped an inline script anyway; the browser saw no violation
    assert not [m for m in b.console() if "Content Security Policy" in m], b.console()
    b.screenshot("hostile-labels")


def test_views_and_headers(ctx):
    """Status (config, receivers, route tree with a route test), history and a phone screen;
    the page's headers and the JSON-only rule for writes."""
    srv = ctx.server(CONFIG)
    srv.post_ok([firing("DiskFull", severity="critical", instance="db-1"),
                 firing("Latency", severity="warning", instance="web-1")])
    r = srv.request("GET", "/")
    assert r.status == 200, r
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe" not in csp, csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-cache"
    r2 = srv.request("GET", "/ui/app.js", headers={"If-None-Match": r.headers["etag"]})
    assert r2.status == 200, "index.html's ETag must not match app.js"
    r3 = srv.request("GET", "/ui/app.js", headers={"If-None-Match": r2.headers["etag"]})
    assert r3.status == 304 and r3.body == b"", r3
    # a form post (not JSON) cannot reach the on-call API
    r = srv.request("POST", API + "/acks", body="by=mallory&filter=alertname%3D~%22.%2B%22",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415 and "Content-Type" in r.json()["message"], r
    assert srv.request("GET", API + "/acks").json() == []

    b = open_page(ctx, srv, "#/status")
    b.wait(lambda: b.css("#route-tree li[data-route]"), 10, "the route tree")
    # the page's files come by versioned URLs, which may be cached for good
    loaded = b.js("return performance.getEntriesByType('resource').map(e => e.name)")
    js = [u for u in loaded if "/ui/app.js" in u]
    assert len(js) == 1 and "/ui/app.js?v=" in js[0], loaded
    r = srv.request("GET", js[0][js[0].index("/ui/"):])
    assert r.status == 200 and "immutable" in r.headers["cache-control"], r.headers
    assert "team-pager" in b.one("#status-receivers").text
    assert "group_by: [alertname]" in b.one("#status-config").text
    b.one("#route-test input[name=labels]").send_keys('alertname="X", severity="critical"')
    b.click("#route-test button")
    b.wait(lambda: b.text("#route-result") == "goes to team-pager", 5, "the route test")
    hits = [e.get_attribute("data-route") for e in b.css("#route-tree li.hit")]
    assert hits == ["0", "1"], hits
    b.screenshot("status")
    b.get(page_url(srv) + "#/history")
    b.wait(lambda: len(b.css("#hist-table tbody tr")) >= 2, 10, "history rows")
    b.screenshot("history")
    # keyboard: "/" jumps to the filter
    b.get(page_url(srv) + "#/alerts")
    b.wait(lambda: b.count() == 2, 10, "2 alerts")
    from selenium.webdriver.common.keys import Keys  # noqa: F401
    b.one("body").send_keys("/")
    assert b.js("return document.activeElement.id") == "f-filter"

    phone = Browser(ctx, width=390, height=844)
    phone.get(page_url(srv))
    phone.wait(lambda: phone.count() == 2, 20, "2 alerts on the phone")
    overflow = phone.js("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the phone view scrolls sideways by %dpx" % overflow
    phone.screenshot("phone")
    phone.assert_no_script_errors()


def test_stream_lost_banner(ctx):
    """The banner says when the stream is lost and when it is back, then the page refetches."""
    srv = ctx.server(CONFIG)
    b = open_page(ctx, srv)
    b.wait(lambda: b.js("return document.body.dataset.live") == "on", 10, "the events stream")
    srv.stop()
    b.wait(lambda: b.js("return document.body.dataset.live") == "off", 10, "the stream lost")
    assert "lost" in b.text("#banner"), b.text("#banner")
    b.screenshot("stream-lost")
    # same port: the browser's EventSource comes back on its own
    port = srv.port
    proc_args = srv.args()
    srv.logf = open(srv.log_path, "ab")
    srv.proc = subprocess.Popen(proc_args, stdout=srv.logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=srv.workdir)
    srv.wait_ready(scaled(15))
    assert srv.port == port
    srv.post_ok([firing("BackAgain")])
    b.wait(lambda: b.js("return document.body.dataset.live") == "on", 20, "the stream back")
    assert "back" in b.text("#banner"), b.text("#banner")
    b.wait(lambda: b.count() == 1, 10, "the alert posted while away")


SCENE_CONFIG = """
route:
  receiver: team-chat
  group_by: [alertname, cluster]
  group_wait: 1h
  routes:
  - matchers: [severity="critical"]
    receiver: team-pager
    escalation:
    - after: 10m
      receiver: duty-manager
  - matchers: [team=~"db|storage"]
    receiver: team-db
receivers:
- name: team-chat
- name: team-pager
- name: duty-manager
- name: team-db
"""


def test_main_views(ctx):
    """A realistic scene in every view, light and dark; the screenshots are docs/images'."""
    srv = ctx.server(SCENE_CONFIG)
    alerts = [harness.alert({"alertname": "DiskFull", "severity": "critical", "cluster": "eu-1",
                             "instance": "db-%d" % i, "team": "db"},
                            annotations={"summary": "/var is 97%% full on db-%d" % i})
              for i in (1, 2, 3)]
    alerts += [harness.alert({"alertname": "HighLatency", "severity": "warning", "cluster": "eu-1",
                              "instance": "web-%d" % i, "team": "web"},
                             annotations={"summary": "p99 latency above 800 ms"})
               for i in (1, 2, 3, 4)]
    alerts += [harness.alert({"alertname": "BackupFailed", "severity": "error", "cluster": "us-2",
                              "team": "storage"}, annotations={"summary": "nightly backup failed"})]
    alerts += [harness.alert({"alertname": "CertExpiry", "severity": "info", "cluster": "us-2",
                              "instance": "lb-%d" % i}, annotations={"summary": "expires in 20 days"})
               for i in (1, 2)]
    srv.post_ok(alerts)
    db1 = [a["fingerprint"] for a in srv.get_alerts() if a["labels"].get("instance") == "db-1"][0]
    r = api(srv, "POST", API + "/acks", {"fingerprints": [db1], "by": "alice",
                                          "comment": "on it, cleaning /var/log"})
    assert r.status == 200, r
    r = api(srv, "POST", "/api/v2/silences", {
        "matchers": [{"name": "alertname", "value": "CertExpiry", "isRegex": False, "isEqual": True}],
        "startsAt": harness.iso(harness.now_utc()),
        "endsAt": harness.iso(harness.now_utc() + harness.timedelta(days=7)),
        "createdBy": "bob", "comment": "renewal ticket OPS-123"})
    assert r.status == 200, r

    b = open_page(ctx, srv, width=1200, height=860)
    b.wait(lambda: b.count() == 10, 10, "10 alerts")
    b.js("localStorage.setItem('tocsin.name', 'alice')")
    b.driver.refresh()
    b.wait(lambda: b.count() == 10, 10, "10 alerts again")
    assert b.text("#whoami") == "name: alice", b.text("#whoami")
    assert len(b.css("li.alert.st-acknowledged")) == 1 and len(b.css("li.alert.st-silenced")) == 2
    light = b.js("return getComputedStyle(document.body).backgroundColor")
    b.screenshot("docs-ui-alerts")
    b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    dark = b.js("return getComputedStyle(document.body).backgroundColor")
    assert dark != light, (light, dark)
    lum = sum(int(x) for x in dark[dark.index("(") + 1:dark.index(")")].split(",")[:3])
    assert lum < 150, dark
    b.screenshot("docs-ui-alerts-dark")
    b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})

    web1 = [a["fingerprint"] for a in srv.get_alerts() if a["labels"].get("instance") == "web-1"][0]
    b.click('li[data-fp="%s"] button[data-act=ack]' % web1)
    b.one("#act-dialog[open]")
    assert not b.one("#act-silence-row").is_displayed(), "silenceFor belongs to resolves"
    b.one("#act-form textarea[name=comment]").send_keys("looking at the load balancer")
    b.screenshot("docs-ui-ack")
    b.click("#act-cancel")
    g = [e for e in b.css("section.group") if "BackupFailed" in e.text][0]
    g.find_element("css selector", "button[data-act=silence-group]").click()
    b.one("#sil-dialog[open]")
    b.wait(lambda: b.text("#sil-preview") == "matches 1 alert now", 5, "the preview")
    b.one("#sil-comment").send_keys("storage migration until Monday")
    b.screenshot("docs-ui-silence")
    b.click("#sil-cancel")

    b.get(page_url(srv) + "#/status")
    b.wait(lambda: b.css("#route-tree li[data-route]"), 10, "the route tree")
    b.one("#route-test input[name=labels]").send_keys('alertname="DiskFull", severity="critical"')
    b.click("#route-test button")
    b.wait(lambda: b.text("#route-result") == "goes to team-pager", 5, "the route test")
    assert "10m→duty-manager" in b.one("#route-tree").text
    b.screenshot("docs-ui-status")
    b.get(page_url(srv) + "#/history")
    b.wait(lambda: b.css("#hist-table tr.k-silence_created"), 10, "the silence in the history")
    assert b.css("#hist-table tr.k-ack")
    b.screenshot("docs-ui-history")
    b.get(page_url(srv) + "#/alert/" + db1)
    b.wait(lambda: b.css("#hist-table tr.k-ack"), 10, "the ack in the timeline")
    assert not b.one("#hist-filter").is_displayed(), "the search form on a timeline"
    kinds = [e.get_attribute("class") for e in b.css("#hist-table tbody tr")]
    assert kinds[0] == "k-alert_firing", kinds
    b.screenshot("docs-ui-timeline")
    b.get(page_url(srv) + "#/silences")
    b.wait(lambda: b.css("#silences tr[data-silence]"), 10, "the silence")
    b.screenshot("docs-ui-silences")
    b.assert_no_script_errors()


if __name__ == "__main__":
    run_cases([test_live_updates, test_ack_from_page, test_group_resolve, test_silence_from_page,
               test_filter_in_url, test_hostile_labels_are_text, test_views_and_headers,
               test_stream_lost_banner, test_main_views, test_states], jobs=1)
