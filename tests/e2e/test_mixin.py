"""contrib/mixin: promtool checks and unit-tests the rules; every expression of the dashboard
parses, and every metric the dashboard and the rules name is one a running tocsin exports (or a
recording rule of the mixin defines)."""

import json
import os
import re
import shutil
import subprocess

from harness import alert, dur, run_cases, tocsin_only, wait_for
from redis_server import Redis

MIXIN = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                      "contrib", "mixin"))
RULE_FILES = ("alerts.yml", "rules.yml")


def promtool(*args, cwd=MIXIN):
    exe = shutil.which("promtool") or "/usr/bin/promtool"
    if not os.access(exe, os.X_OK):
        raise AssertionError("promtool not found: run scripts/setup.sh (Debian's prometheus)")
    r = subprocess.run([exe] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    return r.returncode, r.stdout.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# reading the rule files (standard library only: a reader for the shape these files have;
# test_rules_check compares its count with promtool's, so a rule it misses fails the test)


def _unquote(v):
    if len(v) >= 2 and v[0] == v[-1] == "'":
        return v[1:-1].replace("''", "'")
    if len(v) >= 2 and v[0] == v[-1] == '"':
        return json.loads(v)
    return v


def read_rules(path):
    """[(kind "alert"|"record", name, expr)] of a Prometheus rule file."""
    lines = open(path).read().splitlines()
    rules, cur, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^\s*- (alert|record):\s*(\S.*?)\s*$", line)
        if m:
            cur = [m.group(1), _unquote(m.group(2)), None]
            rules.append(cur)
            i += 1
            continue
        m = re.match(r"^(\s*)expr:\s*(.*?)\s*$", line)
        if m and cur is not None:
            if m.group(2) in ("|", "|-", "|+", ">", ">-", ">+"):
                indent = len(m.group(1))
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or
                                          len(lines[i]) - len(lines[i].lstrip()) > indent):
                    block.append(lines[i].strip())
                    i += 1
                cur[2] = "\n".join(block).strip()
                continue
            cur[2] = _unquote(m.group(2))
        i += 1
    for kind, name, expr in rules:
        assert expr, "%s: %s %s has no expr this reader understands" % (path, kind, name)
    return [tuple(r) for r in rules]


def all_rules():
    return [(f,) + r for f in RULE_FILES for r in read_rules(os.path.join(MIXIN, f))]


def read_alert_tests(path):
    """{alertname: [number of expected alerts, per evaluation]} from a promtool test file."""
    out = {}
    lines = open(path).read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(?:- )?alertname:\s*(\S+)\s*$", line)
        if not m:
            continue
        # exp_alerts follows the alertname of its alert_rule_test entry
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*exp_alerts:", lines[j]):
            j += 1
        assert j < len(lines), "%s:%d: alertname without exp_alerts" % (path, i + 1)
        if re.match(r"^\s*exp_alerts:\s*\[\]\s*$", lines[j]):
            n = 0
        else:
            ind = len(lines[j]) - len(lines[j].lstrip())
            n, k = 0, j + 1
            while k < len(lines) and (not lines[k].strip() or
                                      len(lines[k]) - len(lines[k].lstrip()) >= ind):
                stripped = lines[k].lstrip()
                if stripped.startswith("- exp_labels:"):
                    n += 1
                elif stripped.startswith("- ") and len(lines[k]) - len(stripped) <= ind:
                    break  # the next alert_rule_test entry
                k += 1
        out.setdefault(m.group(2), []).append(n)
    return out


# ---------------------------------------------------------------------------------------------
# PromQL: metric names in an expression (enough of the lexer to tell them from functions,
# keywords, label names, strings, numbers and durations)

_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = _GROUPING | {
    "bool", "offset", "and", "or", "unless", "atan2", "inf", "nan",
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile"}
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[a-zA-Z0-9_]*")


def _skip_string(s, i):
    q = s[i]
    i += 1
    while i < len(s) and s[i] != q:
        i += 2 if (s[i] == "\\" and q != "`") else 1
    return i + 1


def _skip_until(s, i, close):
    """From just after an opening bracket to just after its `close`, passing over strings."""
    while i < len(s) and s[i] != close:
        i = _skip_string(s, i) if s[i] in "\"'`" else i + 1
    return i + 1


def metric_names(expr):
    names = set()
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
        elif c == "#":
            nl = expr.find("\n", i)
            i = n if nl < 0 else nl
        elif c == "{":
            i = _skip_until(expr, i + 1, "}")  # label matchers
        elif c == "[":
            i = _skip_until(expr, i + 1, "]")  # range or subquery durations
        elif c.isdigit() or (c == "." and i + 1 < n and expr[i + 1].isdigit()):
            i = _NUMBER.match(expr, i).end()
        elif _IDENT.match(c):
            word = _IDENT.match(expr, i).group(0)
            i += len(word)
            j = i
            while j < n and expr[j].isspace():
                j += 1
            low = word.lower()
            if low in _GROUPING:
                if j < n and expr[j] == "(":
                    i = _skip_until(expr, j + 1, ")")  # label list
            elif j < n and expr[j] == "(":
                pass  # a function or an aggregation
            elif low not in _KEYWORDS:
                names.add(word)
        else:
            i += 1
    return names


def test_tokenizer(ctx):
    cases = {
        'sum by (job, le) (rate(a_bucket{x="}{", y=~"b|c"}[5m])) / ignoring (reason) '
        'group_left b_total offset 1h > bool 0.5e-3': {"a_bucket", "b_total"},
        "histogram_quantile(0.99, sum without (le) (rate(x:y:z[1h30m:1m]))) or vector(0)":
            {"x:y:z"},
        "count(up == 1) by (instance) + on (a) group_right (b) Inf * topk(3, c)": {"up", "c"},
        "max(m) # a comment naming not_a_metric\n - min(n)": {"m", "n"},
    }
    for expr, want in cases.items():
        got = metric_names(expr)
        assert got == want, "%r: %r, want %r" % (expr, got, want)


# ---------------------------------------------------------------------------------------------
# the dashboard


def dashboard():
    with open(os.path.join(MIXIN, "dashboard.json")) as f:
        return json.load(f)


def all_panels(d):
    for p in d.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:  # collapsed rows hold their panels
            yield q


_VAR = re.compile(r"\$(?:\{([a-zA-Z0-9_]+)(?::[a-z]+)?\}|([a-zA-Z0-9_]+))")
_GRAFANA_DURATIONS = {"__rate_interval", "__interval", "__range"}


def substitute(expr, defined, where):
    """The expression as Prometheus would see it: durations for Grafana's interval variables,
    `.*` (they sit in regex matchers) for the dashboard's own."""
    def rep(m):
        name = m.group(1) or m.group(2)
        if name in _GRAFANA_DURATIONS:
            return "5m"
        assert name in defined, "%s: variable $%s is not defined" % (where, name)
        return ".*"
    return _VAR.sub(rep, expr)


def dashboard_exprs():
    """[(where, expr with variables substituted)] for every panel target and query variable."""
    d = dashboard()
    variables = d["templating"]["list"]
    defined = {v["name"] for v in variables}
    assert "datasource" in defined, "no ${datasource} template variable"
    ds = [v for v in variables if v["name"] == "datasource"][0]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus", ds
    out = []
    for v in variables:
        if v["type"] != "query":
            continue
        assert v["datasource"]["uid"] == "${datasource}", v
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.match(r"^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$", q, re.S)
        if m:
            q = m.group(1)
        else:
            m = re.match(r"^\s*query_result\((.*)\)\s*$", q, re.S)
            assert m, "variable %s: a query this test does not read: %r" % (v["name"], q)
            q = m.group(1)
        out.append(("variable %s" % v["name"], substitute(q, defined, v["name"])))
    for p in all_panels(d):
        if p.get("type") == "row":
            continue
        where = "panel %r" % p.get("title")
        assert p.get("datasource", {}).get("uid") == "${datasource}", \
            "%s: datasource is not ${datasource}: %r" % (where, p.get("datasource"))
        assert p.get("targets"), "%s has no targets" % where
        for t in p["targets"]:
            assert t.get("datasource", {}).get("uid") == "${datasource}", \
                "%s target %s: datasource %r" % (where, t.get("refId"), t.get("datasource"))
            assert t.get("expr", "").strip(), "%s target %s: no expr" % (where, t.get("refId"))
            out.append(("%s target %s" % (where, t["refId"]),
                        substitute(t["expr"], defined, where)))
    return out


# ---------------------------------------------------------------------------------------------
# cases


def test_rules_check(ctx):
    rc, out = promtool("check", "rules", *RULE_FILES)
    assert rc == 0, "promtool check rules:\n" + out
    for f in RULE_FILES:
        m = re.search(r"Checking %s\s+SUCCESS: (\d+) rules found" % re.escape(f), out)
        assert m, "promtool check rules %s:\n%s" % (f, out)
        mine = read_rules(os.path.join(MIXIN, f))
        assert int(m.group(1)) == len(mine), "%s: promtool found %s rules, this test %d" % (
            f, m.group(1), len(mine))
    alerts = [r for r in all_rules() if r[1] == "alert"]
    assert all(f == "alerts.yml" for f, _, _, _ in alerts), alerts
    assert all(f == "rules.yml" for f, k, _, _ in all_rules() if k == "record")


def test_rules_unit(ctx):
    rc, out = promtool("test", "rules", "tests.yml")
    assert rc == 0, "promtool test rules:\n" + out
    tests = read_alert_tests(os.path.join(MIXIN, "tests.yml"))
    for _, kind, name, _ in all_rules():
        if kind != "alert":
            continue
        counts = tests.get(name)
        assert counts, "alert %s has no test in tests.yml" % name
        assert any(c > 0 for c in counts), "no test of %s expects it to fire" % name
        assert any(c == 0 for c in counts), "no test of %s expects it not to fire" % name


def test_dashboard_parses(ctx):
    """promtool parses every dashboard expression, given to it as a recording rule."""
    exprs = dashboard_exprs()
    assert len(exprs) >= 10, exprs
    path = os.path.join(ctx.tmp, "dashboard_rules.yml")
    with open(path, "w") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, (where, expr) in enumerate(exprs):
            f.write("      # %s\n      - record: tn_dashboard_expr_%d\n        expr: %s\n" % (
                where.replace("\n", " "), i, json.dumps(expr)))
    rc, out = promtool("check", "rules", path, cwd=ctx.tmp)
    assert rc == 0, "promtool check rules (dashboard expressions):\n%s\n%s" % (
        out, open(path).read())
    assert "SUCCESS: %d rules found" % len(exprs) in out, out


def exported(text):
    """(names of the samples scraped, {family: type}) of a /metrics answer."""
    series, types = set(), {}
    for line in text.splitlines():
        m = re.match(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$", line)
        if m:
            types[m.group(1)] = m.group(2)
        elif line and not line.startswith("#"):
            series.add(re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return series, types


def test_names_exported(ctx):
    tocsin_only("the mixin reads tocsin_* metrics too")
    sink = ctx.sink()
    # A rate limit of one notification an hour: the second group is held, so the rate-limit
    # families (created on first use) are exported too.
    # A replica on a real Redis: the cluster families are exported too.
    redis = Redis(ctx)
    srv = ctx.server("""
route:
  receiver: hook
  group_by: [alertname]
  group_wait: %s
  group_interval: 1h
  repeat_interval: 1h
  rate_limit: {limit: 1, period: 1h}
receivers:
  - name: hook
    webhook_configs:
      - url: %s
""" % (dur(0.2), sink.url("/hook")), ["--cluster.redis-url=" + redis.url])
    srv.post_ok([alert({"alertname": "MixinOne"}), alert({"alertname": "MixinTwo"})])
    sink.wait("/hook", 1, timeout=5)
    wait_for(lambda: srv.metric("tocsin_notifications_rate_limited_total"), 5,
             what="a notification held by the rate limit")
    r = srv.request("GET", "/metrics")
    assert r.status == 200, r
    series, types = exported(r.text())
    histograms = {n for n, t in types.items() if t == "histogram"}
    recorded = {name for _, kind, name, _ in all_rules() if kind == "record"}
    # Prometheus' own series about its targets.
    known = series | set(types) | recorded | {"up"}

    def base(name):
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[:-len(suffix)] in histograms:
                return name[:-len(suffix)]
        return name

    uses = dashboard_exprs()
    uses += [("%s %s %s" % (f, k, n), e) for f, k, n, e in all_rules()]
    problems = []
    for where, expr in uses:
        names = metric_names(expr)
        if not names:
            problems.append("%s names no metric: %r" % (where, expr))
        for name in sorted(names):
            b = base(name)
            if b == name and name in histograms:
                # a classic histogram has no series of its own name
                problems.append("%s: %s is a histogram: use %s_bucket, _sum or _count" % (
                    where, name, name))
            elif b not in known:
                problems.append("%s: tocsin does not export %s" % (where, name))
    assert not problems, "\n".join(problems) + "\nexported: " + " ".join(sorted(types))


if __name__ == "__main__":
    run_cases([test_tokenizer, test_rules_check, test_rules_unit, test_dashboard_parses,
               test_names_exported])
