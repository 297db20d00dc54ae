#!/usr/bin/env python3
"""The real-world corpus (TN_REALWORLD_DIR/configs): `tocsin check-config` gives every file the
verdict `amtool check-config` gives it, and where both load a file, tocsin and Alertmanager
serve the same receivers. The corpus is read in place, never copied.

Allowed differences, each with its reason:
- NEWER: files that use what current Alertmanager accepts and Debian's 0.25 does not; tocsin
  follows current Alertmanager and loads them.
"""

import glob
import os
import re
import subprocess
import harness
from harness import run_cases

CORPUS = os.environ.get("TN_REALWORLD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "realworld")
AMTOOL = os.environ.get("TN_AMTOOL_BIN", "/usr/bin/amtool")
NEWER = {
    "001-am-doc-simple.yml": "the top-level tracing block is newer than 0.25",
    "003-am-route-labels-newer.yml": "route labels are newer than 0.25",
}


def configs():
    files = sorted(glob.glob(os.path.join(CORPUS, "configs", "*.yml")))
    assert len(files) >= 35, "real-world corpus not found under %s" % CORPUS
    return files


def check(cmd, path):
    p = subprocess.run(cmd + ["check-config", os.path.basename(path)], cwd=os.path.dirname(path),
                       capture_output=True, text=True, timeout=60)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def verdicts():
    if not os.access(AMTOOL, os.X_OK):
        raise AssertionError("amtool is missing: scripts/setup.sh installs it")
    out = []
    for path in configs():
        am_ok, am_out = check([AMTOOL], path)
        tn_ok, tn_out = check([harness.binary()], path)
        out.append((path, am_ok, am_out, tn_ok, tn_out))
    return out


def test_check_config_verdicts(ctx):
    harness.tocsin_only("compares tocsin with amtool")
    bad, newer, same = [], 0, 0
    for path, am_ok, am_out, tn_ok, tn_out in verdicts():
        name = os.path.basename(path)
        if am_ok == tn_ok:
            assert name not in NEWER, "%s: listed as newer, but amtool agrees now" % name
            same += 1
        elif name in NEWER and tn_ok:
            newer += 1
        else:
            bad.append("%s: amtool %s, tocsin %s\n  amtool: %s\n  tocsin: %s" % (
                name, "accepts" if am_ok else "refuses", "accepts" if tn_ok else "refuses",
                am_out[-300:], tn_out[-300:]))
    assert not bad, "\n".join(bad)
    ctx.note("%d same verdict, %d newer than 0.25" % (same, newer))


def receivers(srv):
    r = srv.request("GET", "/api/v2/receivers")
    assert r.status == 200, r
    return sorted(x["name"] for x in r.json())


def test_same_receivers(ctx):
    """Every file both load starts both servers, which list the same receivers."""
    harness.tocsin_only("compares tocsin with Alertmanager")
    checked = 0
    for path, am_ok, _, tn_ok, _ in verdicts():
        if not (am_ok and tn_ok):
            continue
        with open(path) as f:
            text = f.read()
        # Relative template paths resolve against the config's own directory.
        text = text.replace("../templates/", os.path.join(CORPUS, "templates") + "/")
        got = {}
        for target in ("tocsin", "alertmanager"):
            srv = ctx.server(text, target=target)
            got[target] = receivers(srv)
            srv.stop()
        assert got["tocsin"] == got["alertmanager"], "%s: %r" % (os.path.basename(path), got)
        checked += 1
    # 26 files load in Alertmanager; each loads in tocsin too.
    assert checked >= 26, "only %d files were loaded by both" % checked


def routes(cmd, path, *args):
    p = subprocess.run(cmd + ["config", "routes"] + list(args) +
                       ["--config.file=" + os.path.basename(path)], cwd=os.path.dirname(path),
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout


PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def label_sets(tree):
    """A label set for each route of a printed tree whose matchers are all equalities."""
    out = [[]]
    for line in tree.splitlines():
        m = re.search(r"\{([^}]*)\}", line)
        if not m or "=~" in m.group(1) or "!=" in m.group(1):
            continue
        pairs = PAIR.findall(m.group(1))
        if pairs:
            out.append(["%s=%s" % (k, v.replace('\\"', '"')) for k, v in pairs])
    return out


def test_same_routes(ctx):
    """`config routes show` prints the same tree as amtool for every file both load, and
    `config routes test --tree` the same routes and receivers for a label set per route."""
    harness.tocsin_only("compares tocsin with amtool")
    files = tested = 0
    for path, am_ok, _, tn_ok, _ in verdicts():
        if not (am_ok and tn_ok):
            continue
        name = os.path.basename(path)
        am = routes([AMTOOL], path, "show")
        tn = routes([harness.binary()], path, "show")
        assert tn == am, "%s: routes show\n--- amtool\n%s\n--- tocsin\n%s" % (
            name, am[1], tn[1])
        for ls in label_sets(am[1]):
            am = routes([AMTOOL], path, "test", "--tree", *ls)
            tn = routes([harness.binary()], path, "test", "--tree", *ls)
            assert tn == am, "%s: routes test %s\n--- amtool\n%s\n--- tocsin\n%s" % (
                name, ls, am[1], tn[1])
            tested += 1
        if files == 0:  # the refusals, once
            for args in (["team=~x"], ["--verify.receivers=nobody", "team=x"]):
                am = routes([AMTOOL], path, "test", *args)
                tn = routes([harness.binary()], path, "test", *args)
                assert am[0] == 1 and tn == am, "%s: routes test %s: %r vs %r" % (
                    name, args, am, tn)
        files += 1
    assert files >= 26, "only %d files were loaded by both" % files
    ctx.note("%d trees, %d label sets routed alike" % (files, tested))
    print("routes: %d trees, %d label sets routed alike" % (files, tested))


if __name__ == "__main__":
    run_cases([test_check_config_verdicts, test_same_receivers, test_same_routes])
