"""Helpers for tocsin's browser tests: headless Debian chromium driven by chromedriver through
python3-selenium, next to a tocsin started by tests/e2e/harness.py.

chromedriver listens on 127.0.0.1 on a free port; the Browser is registered with the case's Ctx,
so it is quit and its chromedriver stopped by PID whatever happens. Screenshots go to
TN_BROWSER_ARTIFACTS (the build tree's browser-artifacts/ under ctest).
"""

import os
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import harness  # noqa: E402
from harness import HOST, scaled  # noqa: E402,F401

CHROMIUM = os.environ.get("TN_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TN_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = os.environ.get("TN_BROWSER_ARTIFACTS") or os.path.join(
    os.environ.get("TMPDIR", "/tmp"), "tocsin-browser-artifacts")


# Two routes and two receivers that send nowhere (group_wait 1h): what the page tests show.
CONFIG = """
route:
  receiver: team-chat
  group_by: [alertname]
  group_wait: 1h
  routes:
  - matchers: [severity="critical"]
    receiver: team-pager
receivers:
- name: team-chat
- name: team-pager
"""


def _missing():
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "python3-selenium"
    for p in (CHROMIUM, CHROMEDRIVER):
        if not os.access(p, os.X_OK):
            return p
    return None


def require():
    """Fails (never skips) when the browser stack is missing."""
    m = _missing()
    if m:
        raise AssertionError("%s is missing: run scripts/setup.sh (it installs chromium, "
                             "chromium-driver and python3-selenium)" % m)


class Browser:
    def __init__(self, ctx, width=1280, height=900, headers=None):
        require()
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--no-first-run", "--disable-extensions", "--window-size=%d,%d" % (width, height),
                  "--user-data-dir=" + tempfile.mkdtemp(prefix="chromium-", dir=ctx.tmp)):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.service = Service(CHROMEDRIVER, port=harness.free_port(),
                               log_path=os.path.join(ctx.tmp, "chromedriver.log"))
        self.ctx = ctx
        self.driver = None
        ctx.on_close(self.close)
        self.driver = webdriver.Chrome(service=self.service, options=opts)
        self.driver.set_page_load_timeout(scaled(60))
        self.driver.set_script_timeout(scaled(60))
        if width < 500:  # a phone: its viewport, not a narrow desktop window
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": height, "deviceScaleFactor": 2, "mobile": True})
        if headers:
            self.driver.execute_cdp_cmd("Network.enable", {})
            self.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": headers})

    def close(self):
        pid = None
        proc = getattr(self.service, "process", None)
        if proc is not None:
            pid = proc.pid
        try:
            if self.driver is not None:
                self.driver.quit()
        finally:
            self.driver = None
            if pid is not None and proc.poll() is None:
                os.kill(pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except Exception:
                    os.kill(pid, signal.SIGKILL)

    # --- page access

    def get(self, url):
        self.driver.get(url)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def css(self, sel):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, sel)

    def one(self, sel, timeout=10):
        return self.wait(lambda: (self.css(sel) or [None])[0], timeout, "element " + sel)

    def wait(self, pred, timeout=10, what="condition"):
        deadline = time.monotonic() + scaled(timeout)
        last = None
        while time.monotonic() < deadline:
            try:
                v = pred()
                if v:
                    return v
            except Exception as e:  # the page may be re-rendering under us
                last = e
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s (last error %r); console: %s" % (
            what, last, self.console()))

    def text(self, sel):
        els = self.css(sel)
        return els[0].text if els else None

    def click(self, sel):
        el = self.one(sel)
        el.click()
        return el

    def console(self):
        try:
            return [e["message"] for e in self.driver.get_log("browser")]
        except Exception:
            return []

    def assert_no_script_errors(self):
        """No uncaught exception or CSP violation in the console (failed requests are the
        tests' business)."""
        bad = [m for m in self.console()
               if "Uncaught" in m or "Content Security Policy" in m or "TypeError" in m]
        assert not bad, bad

    def count(self):
        """The alert count the page shows (data-total), or None while loading."""
        v = self.js("var e=document.getElementById('alert-count'); return e && e.dataset.total;")
        return int(v) if v not in (None, "") else None

    def screenshot(self, name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, name + ".png")
        self.driver.save_screenshot(path)
        return path


def page_url(srv):
    return "http://%s:%d%s/" % (HOST, srv.port, srv.prefix)


def api(srv, method, path, body=None, headers=None):
    """A request to tocsin from the test, JSON in and out."""
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    hdrs.update(headers or {})
    r = srv.request(method, path, body=body, headers=hdrs)
    return r
