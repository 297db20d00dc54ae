"""The page behind --web.config.file basic auth and under --web.route-prefix: nothing without
the password, everything after login, and acks take the user's name."""

import base64
import crypt  # noqa: E402 - deprecated in 3.13; bcrypt hashes for the tests
import os

from browser import Browser, HOST
import harness
from harness import Server, run_cases

API = "/api/tocsin/v1"
CONFIG = """
route:
  receiver: team-chat
  group_by: [alertname]
  group_wait: 1h
receivers:
- name: team-chat
"""
USER, PASSWORD = "alice", "s3cret pass"


def bcrypt(password, cost=4):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << cost))


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


class AuthServer(Server):
    """A Server whose own requests (readiness, API helpers) carry the password."""

    def request(self, method, path, body=None, headers=None, timeout=10):
        hdrs = dict(headers or {})
        hdrs.setdefault("Authorization", basic(USER, PASSWORD))
        return harness.http_request(self.port, method, self.prefix + path, body, hdrs, timeout)


def auth_server(ctx, prefix="/tocsin"):
    d = os.path.join(ctx.tmp, "srv%d" % len(ctx.servers))
    os.makedirs(d)
    web = os.path.join(d, "web.yml")
    with open(web, "w") as f:
        f.write("basic_auth_users:\n  %s: %s\n" % (USER, bcrypt(PASSWORD)))
    srv = AuthServer.__new__(AuthServer)
    ctx.servers.append(srv)
    srv.proc = None
    srv.logf = None
    Server.__init__(srv, CONFIG, d, ["--web.config.file=" + web], route_prefix=prefix)
    return srv


def test_basic_auth_and_prefix(ctx):
    srv = auth_server(ctx)
    srv.post_ok([harness.alert({"alertname": "Locked", "instance": "a"})])
    url = "http://%s:%d/tocsin/" % (HOST, srv.port)
    # without the password: neither the page nor its assets nor whoami
    for path in ("/", "/ui/app.js", API + "/whoami"):
        r = harness.http_request(srv.port, "GET", "/tocsin" + path)
        assert r.status == 401, (path, r)
    # the prefix without its slash sends the browser to the page
    r = srv.request("GET", "")
    assert r.status == 302 and r.headers["location"] == "/tocsin/", r
    # a wrong password makes whoami say nothing either
    r = harness.http_request(srv.port, "GET", "/tocsin" + API + "/whoami",
                             headers={"Authorization": basic(USER, "wrong")})
    assert r.status == 401, r
    assert srv.request("GET", API + "/whoami").json() == {"user": USER}

    # no password in the browser: the 401 page, no app
    b = Browser(ctx)
    b.get(url)
    assert not b.css("#alert-count"), "the page without a password"
    b.screenshot("auth-refused")
    b.close()

    # credentials in the address: the page's own requests must leave them out of their URLs
    b = Browser(ctx)
    b.get("http://%s:%s@%s:%d/tocsin/" % (USER, PASSWORD.replace(" ", "%20"), HOST, srv.port))
    b.wait(lambda: b.count() == 1, 20, "the alert, logged in by URL")
    b.wait(lambda: b.text("#whoami") == "signed in as " + USER, 10, "the user's name")
    b.close()

    # logged in (the browser sends the credentials on every request, as after a login prompt)
    b = Browser(ctx, headers={"Authorization": basic(USER, PASSWORD)})
    b.get(url)
    b.wait(lambda: b.count() == 1, 20, "the alert behind the password")
    b.wait(lambda: b.text("#whoami") == "signed in as " + USER, 10, "the user's name")
    b.wait(lambda: b.js("return document.body.dataset.live") == "on", 10, "the events stream")
    fp = srv.get_alerts()[0]["fingerprint"]
    b.click('li[data-fp="%s"] button[data-act=ack]' % fp)
    b.one("#act-dialog[open]")
    by = b.one("#act-by")
    assert by.get_attribute("value") == USER and by.get_attribute("readonly") is not None
    b.one("#act-form textarea[name=comment]").send_keys("looking")
    b.click("#act-ok")
    b.wait(lambda: b.css('li[data-fp="%s"] .ackinfo' % fp), 5, "the ack shown")
    acks = srv.request("GET", API + "/acks").json()
    assert [(a["by"], a["comment"]) for a in acks] == [(USER, "looking")], acks
    # a live update behind the password
    srv.post_ok([harness.alert({"alertname": "Locked", "instance": "b"})])
    b.wait(lambda: b.count() == 2, 5, "the second alert, live")
    b.get(url + "#/status")
    b.wait(lambda: b.css("#route-tree li[data-route]"), 10, "the route tree")
    b.screenshot("auth-ok")


def test_whoami_ignores_unchecked_header(ctx):
    """Without basic auth configured, an Authorization header proves nothing: no user."""
    srv = ctx.server(CONFIG)
    r = srv.request("GET", API + "/whoami", headers={"Authorization": basic("mallory", "x")})
    assert r.status == 200 and r.json() == {"user": None}, r


if __name__ == "__main__":
    run_cases([test_basic_auth_and_prefix, test_whoami_ignores_unchecked_header], jobs=1)
