"""`tocsin template render` against Debian's `amtool template render` (0.25): every
{{ define }} of every template in the real-world corpus renders to the same bytes, in text and
html mode. Both get the same --template.data (current Alertmanager's example data with fixed
times, since amtool's default data reads the clock and 0.25's differs from current); a
separate case checks tocsin's own default data. amtool missing is a failure, not a skip:
scripts/setup.sh installs prometheus-alertmanager."""

import json
import os
import re
import subprocess
import tempfile

from harness import binary, run_cases

AMTOOL = os.environ.get("TN_AMTOOL_BIN", "/usr/bin/amtool")
AM_DEFAULT_TMPL = "/usr/share/prometheus/alertmanager/default.tmpl"
DEFINE = re.compile(r'{{-?\s*define\s+"([^"]+)"')

# (file, define): why current Alertmanager (which tocsin follows) renders it differently
# from 0.25. Listed in docs/templates.md too; keep both in step.
EXCEPTIONS = {
    ("alertmanager-bot-telegram-default.tmpl", "*"):
        "`since` exists since Alertmanager 0.26; 0.25 fails to parse the file "
        "(and `duration`, not an Alertmanager function, fails in both)",
}

# Current Alertmanager's defaultData (cli/template_render.go) with fixed times.
DATA = {
    "receiver": "receiver",
    "status": "alertstatus",
    "alerts": [
        {
            "status": "firing",
            "labels": {"label1": "value1", "label2": "value2", "instance": "foo.bar:1234",
                       "commonlabelkey1": "commonlabelvalue1",
                       "commonlabelkey2": "commonlabelvalue2"},
            "annotations": {"annotation1": "value1", "annotation2": "value2",
                            "commonannotationkey1": "commonannotationvalue1",
                            "commonannotationkey2": "commonannotationvalue2"},
            "startsAt": "2024-03-01T11:55:00.25Z",
            "endsAt": "2024-03-01T12:00:00Z",
            "generatorURL": "https://generatorurl.com",
            "fingerprint": "fingerprint1",
        },
        {
            "status": "resolved",
            "labels": {"foo": "bar", "baz": "qux", "commonlabelkey1": "commonlabelvalue1",
                       "commonlabelkey2": "commonlabelvalue2"},
            "annotations": {"aaa": "bbb", "ccc": "ddd",
                            "commonannotationkey1": "commonannotationvalue1",
                            "commonannotationkey2": "commonannotationvalue2"},
            "startsAt": "2024-03-01T11:50:00Z",
            "endsAt": "2024-03-01T12:00:00Z",
            "generatorURL": "https://generatorurl.com",
            "fingerprint": "fingerprint2",
        },
    ],
    "groupLabels": {"grouplabelkey1": "grouplabelvalue1", "grouplabelkey2": "grouplabelvalue2"},
    "commonLabels": {"commonlabelkey1": "commonlabelvalue1",
                     "commonlabelkey2": "commonlabelvalue2"},
    "commonAnnotations": {"commonannotationkey1": "commonannotationvalue1",
                          "commonannotationkey2": "commonannotationvalue2"},
    "externalURL": "https://example.com",
}


def corpus_dir():
    d = os.environ.get("TN_REALWORLD_DIR", "")
    if not os.path.isdir(os.path.join(d, "templates")):
        d = "/work/shared/realworld"  # a worktree's ../shared may not exist
    t = os.path.join(d, "templates")
    assert os.path.isdir(t), "real-world corpus not found (TN_REALWORLD_DIR=%r)" % d
    return t


def require_amtool():
    assert os.access(AMTOOL, os.X_OK), \
        "%s is not installed (scripts/setup.sh installs prometheus-alertmanager)" % AMTOOL
    assert os.path.isfile(AM_DEFAULT_TMPL), "%s is missing" % AM_DEFAULT_TMPL


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def render_both(path, text, kind, data_file):
    common = ["--template.text=" + text, "--template.type=" + kind,
              "--template.data=" + data_file]
    tn = run([binary(), "template", "render", "--template.glob=" + path] + common)
    am = run([AMTOOL, "template", "render", "--template.glob=" + AM_DEFAULT_TMPL,
              "--template.glob=" + path] + common)
    return tn, am


def error_text(stderr, prog):
    m = re.match(r"^%s: error: (.*)$" % prog, stderr, re.S)
    assert m, "%s's stderr is not '%s: error: ...': %r" % (prog, prog, stderr)
    return m.group(1).strip()


def compare_corpus(kind):
    require_amtool()
    tdir = corpus_dir()
    files = sorted(os.listdir(tdir))
    assert files, "no templates in " + tdir
    problems, compared = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        data_file = os.path.join(tmp, "data.json")
        with open(data_file, "w") as f:
            json.dump(DATA, f)
        for name in files:
            path = os.path.join(tdir, name)
            with open(path, encoding="utf-8") as f:
                defines = list(dict.fromkeys(DEFINE.findall(f.read())))
            for d in defines:
                if (name, "*") in EXCEPTIONS or (name, d) in EXCEPTIONS:
                    continue
                text = '{{ template "%s" . }}' % d
                (trc, tout, terr), (arc, aout, aerr) = render_both(path, text, kind, data_file)
                compared += 1
                where = "%s %s (%s)" % (name, d, kind)
                if arc != 0:
                    # both fail; a parse error names the same file and line
                    amsg = error_text(aerr, "amtool")
                    if trc != 1:
                        problems.append("%s: amtool fails (%s), tocsin exits %d with %r" %
                                        (where, amsg, trc, tout[:200]))
                        continue
                    tmsg = error_text(terr, "tocsin")
                    pos = re.match(r"template: ([^:]+:\d+): ", amsg)
                    if pos and not tmsg.startswith("template: " + pos.group(1)):
                        problems.append("%s: parse error %r, tocsin says %r" %
                                        (where, amsg, tmsg))
                    continue
                if trc != 0:
                    problems.append("%s: tocsin fails: %s" % (where, terr.strip()))
                elif tout != aout:
                    problems.append("%s: output differs\n--- amtool\n%s\n--- tocsin\n%s" %
                                    (where, aout.decode("utf-8", "replace"),
                                     tout.decode("utf-8", "replace")))
    assert compared > 40, "only %d defines compared" % compared
    assert not problems, "%d of %d differ:\n%s" % (len(problems), compared,
                                                    "\n\n".join(problems))


def test_corpus_text(ctx):
    compare_corpus("text")


def test_corpus_html(ctx):
    compare_corpus("html")


def test_exceptions_exist(ctx):
    """Every listed exception names a real file and define, and the docs list it."""
    tdir = corpus_dir()
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "templates.md")) as f:
        docs = f.read()
    for (name, d) in EXCEPTIONS:
        with open(os.path.join(tdir, name), encoding="utf-8") as f:
            assert d == "*" or d in DEFINE.findall(f.read()), (name, d)
        assert name in docs, "docs/templates.md does not list the exception for " + name


def test_default_data(ctx):
    """Without --template.data tocsin uses current Alertmanager's example data, times
    relative to now."""
    text = ('{{ .Receiver }}|{{ .Status }}|{{ .ExternalURL }}|{{ .GroupLabels }}|'
            '{{ .CommonLabels }}|{{ .CommonAnnotations }}\n'
            '{{ range .Alerts }}{{ .Status }}|{{ .Labels }}|{{ .Annotations }}|'
            '{{ .GeneratorURL }}|{{ .Fingerprint }}|{{ .EndsAt.Sub .StartsAt }}\n{{ end }}'
            '{{ len .Alerts.Firing }} {{ len .Alerts.Resolved }}')
    rc, out, err = run([binary(), "template", "render", "--template.glob=/nonexistent/*",
                        "--template.text=" + text])
    assert rc == 0, err
    assert out.decode() == (
        "receiver|alertstatus|https://example.com|"
        "grouplabelkey1=grouplabelvalue1, grouplabelkey2=grouplabelvalue2|"
        "commonlabelkey1=commonlabelvalue1, commonlabelkey2=commonlabelvalue2|"
        "commonannotationkey1=commonannotationvalue1, "
        "commonannotationkey2=commonannotationvalue2\n"
        "firing|commonlabelkey1=commonlabelvalue1, commonlabelkey2=commonlabelvalue2, "
        "instance=foo.bar:1234, label1=value1, label2=value2|annotation1=value1, "
        "annotation2=value2, commonannotationkey1=commonannotationvalue1, "
        "commonannotationkey2=commonannotationvalue2|https://generatorurl.com|fingerprint1|"
        "5m0s\n"
        "resolved|baz=qux, commonlabelkey1=commonlabelvalue1, commonlabelkey2=commonlabelvalue2, "
        "foo=bar|aaa=bbb, ccc=ddd, commonannotationkey1=commonannotationvalue1, "
        "commonannotationkey2=commonannotationvalue2|https://generatorurl.com|fingerprint2|"
        "10m0s\n"
        "1 1"), out


def test_builtin_templates_load_first(ctx):
    """tocsin's default templates are there without any glob matching, as in the server."""
    rc, out, err = run([binary(), "template", "render", "--template.glob=/nonexistent/*",
                        "--template.text={{ template \"slack.default.username\" . }}"])
    assert (rc, out) == (0, b"Alertmanager"), (rc, out, err)


def test_errors(ctx):
    """Errors go to stderr as `tocsin: error: MSG` with status 1, as amtool's do."""
    require_amtool()
    cases = [
        ["--template.text=x"],
        ["--template.glob=/nonexistent/*"],
        ["--template.glob=/nonexistent/*", "--template.text=x", "--template.type=pdf"],
        ["--template.glob=/nonexistent/*", "--template.text=x", "--template.data=/nonexistent"],
        ["--template.glob=/nonexistent/*", "--template.text=x", "--bogus"],
        ["--template.glob=/nonexistent/*", "--template.text={{ nosuchfunc }}"],
    ]
    for args in cases:
        trc, tout, terr = run([binary(), "template", "render"] + args)
        arc, aout, aerr = run([AMTOOL, "template", "render"] + args)
        assert (trc, tout) == (arc, aout) == (1, b""), (args, trc, tout, arc, aout)
        assert error_text(terr, "tocsin") == error_text(aerr, "amtool"), (args, terr, aerr)
        assert terr.endswith("\n\n") == aerr.endswith("\n\n"), (args, terr, aerr)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write('{"receiver": 5}')
        f.flush()
        args = ["--template.glob=/nonexistent/*", "--template.text=x", "--template.data=" + f.name]
        trc, _, terr = run([binary(), "template", "render"] + args)
        arc, _, aerr = run([AMTOOL, "template", "render"] + args)
        assert trc == arc == 1
        assert error_text(terr, "tocsin") == error_text(aerr, "amtool"), (terr, aerr)


# Execution errors word themselves as Go's text/template does: where ("template: FILE:LINE:COL:"),
# in which template and at which node ("executing NAME at <NODE>:"), then what.
EXEC_ERRORS = [
    "{{ .Foo }}", "x{{ .Receiver.Foo }}", "{{ .Alerts.Nope.X }}", "{{ $x := .Status }}{{ $x.Foo }}",
    "{{ (index .Alerts 0).Nothing }}", "{{ index .Alerts 5 }}", '{{ index .Alerts "a" }}',
    "{{ index 3 1 }}", "{{ title 3 }}", "{{ 3 | title }}",
    '{{ "a" | title | printf "%d" | len | toUpper }}', '{{ template "nope" . }}',
    "{{ range .Status }}x{{ end }}", "{{ nil }}", "{{ 1 2 }}", "{{ .Status 1 }}",
    "{{ $x := 1 }}{{ $x 2 }}", "{{ len 3 }}", "{{ len }}", "{{ eq 1 }}", '{{ eq 1 "a" }}',
    "{{ lt true false }}", "{{ lt .Alerts .Alerts }}", '{{ slice "abc" 5 }}', "{{ toUpper }}",
    '{{ join "," "a" }}', '{{ join "," .Alerts }}', '{{ .CommonLabels.Remove "a" }}',
    "{{ .CommonLabels.Remove }}", "{{ .CommonLabels.SortedPairs 1 }}",
    "{{ .CommonLabels.foo 1 }}", "{{ (index .Alerts 0).Status 1 }}",
    '{{ reReplaceAll "(" "x" "y" }}', '{{ match "(" "x" }}', "{{ printf 3 }}",
    "{{ (index .Alerts 0).StartsAt.Format 3 }}", "{{ (index .Alerts 0).StartsAt.Sub 3 }}",
    '{{ (index .Alerts 0).StartsAt.Add "x" }}', "{{ (index .Alerts 0).StartsAt.Add 1.5 }}",
    "{{ (index .Alerts 0).StartsAt.Format }}", "{{ with .Foo }}x{{ end }}",
    "{{ .Alerts.Firing.Foo }}", "{{ call .Status }}", "{{ html .Foo }}", "{{ stringSlice 1 }}",
    "{{ safeHtml 1 }}", "{{ and }}", "{{ or 0 .Foo }}",
    'line1\n  {{ .Status | printf "%s" | len | title }}',
    '{{ define "x" }}\n\n  {{ .Nope }}{{ end }}{{ template "x" . }}',
    "{{ .GroupLabels.SortedPairs.Foo }}", "{{ $.Foo }}", '{{ ("a").Foo }}',
]


# html/template's contexts, where Debian's amtool 0.25 (built with Go 1.19.8 and its security
# patches) escapes as current Go does; tests/unit/test_template.c has the cases where current
# Go differs from that build.
HTML_CASES = [
    '<a href="{{ .ExternalURL }}/x?r={{ .Receiver | urlquery }}&a=1">l</a>',
    "<script>var s = {{ .Status }}; var n = {{ len .Alerts }}; var b = {{ true }}; "
    "var f = {{ 1.5 }};</script>",
    "<script>var x = '{{ \"a'b\\\"c<>&+/\\\\ x\" }}'; var y = \"{{ \"tab\\there\" }}\";</script>",
    '<script>var r = /{{ "a.b*c" }}/; var e = /{{ "" }}/;</script>',
    "<script>var a = {{ (index .Alerts 0).Labels.Names }};</script>",
    "<a onclick=\"f({{ .Status }}, '{{ .Receiver }}')\" onmouseover='g({{ \"x\" }})'>y</a>",
    '<a href="javascript:{{ "x" }}">z</a><a href="{{ "javascript:alert(1)" }}">z</a>'
    '<a href="{{ "JavaScript:x" }}">z</a>',
    '<a href="{{ "http://h/a b?c=d e#f" }}">x</a><a href="/p?{{ "a=b c&d" }}">x</a>'
    '<a href="#{{ "a b" }}">x</a>',
    '<a href="{{ "a?b:c" }}">x</a><a href="{{ "/x:y" }}">x</a><a href="{{ "mailto:a@b" }}">x</a>'
    '<a href="{{ "%zz%41" }}">x</a>',
    '<a href="{{ "http://x" }}{{ "javascript:y" }}">q</a>',
    '<img src={{ "a b" }} alt={{ "c d" }}>',
    "<p style=\"color: {{ \"red\" }}; x: {{ \"a;b\" }}; font: '{{ \"x'y\" }}'\">x</p>",
    '<style>p { color: {{ "#fff" }} } q::after { content: "{{ "a<b" }}" } '
    'r { background: url({{ "javascript:x" }}) } s { background: url("/a?{{ "b c" }}") }</style>',
    '<style>p { width: {{ "10px" }}; x: {{ "expression(alert(1))" }}; y: {{ "a--b" }}; '
    'z: {{ "\\\\41 bc" }} }</style>',
    '<textarea>{{ "<b>" }}</textarea><title>{{ "<i>" | safeHtml }}</title>',
    '<textarea>{{ "<b>" | safeHtml }}</textarea><a title="{{ "<b>x</b>" | safeHtml }}">',
    '<p title="{{ "a<b" | html }}">{{ "a+b" | html }}</p>',
    '<a href="/x?q={{ "a b&c" | urlquery }}">{{ "x y" | urlquery }}</a>',
    '<script>var a = {{ "<\\u2028" }}; /* c {{ .Status }} */ var b = 1; // x {{ .Status }}\n'
    'var c = /re{{ "a.b" }}/;</script>',
    '<p {{ "onclick" }}="x" {{ "title" }}="y" {{ "Id" }}=z>',
    '<img srcset="{{ "/a.png 1x, javascript:x 2x" }}">',
    '<img srcset="{{ "/a b.png 1x, /c.png 2x" }}">',
    "<!-- comment {{ .Status }} --><p>a < b</p> <!DOCTYPE html> x<y <",
    '<script type="text/template">{{ "<b>" }}</script>'
    '<script type="text/javascript">{{ "<b>" }}</script>',
    '<div data-url="{{ "javascript:x" }}" data-foo="{{ "javascript:x" }}" '
    'xlink:href="{{ "javascript:x" }}" srcdoc="{{ "<b>" }}"></div>',
    "<a title='{{ \"it's\" }}' href='/{{ \"it's\" }}'>x</a>",
    '<button onclick="alert(&quot;{{ "x\\"y" }}&quot;)">b</button>',
    '{{ define "t" }}<b>{{ . }}</b>{{ end }}<p title="{{ template "t" "x<y" }}">'
    '{{ template "t" "a&b" }}</p>',
    '<a href="/a/{{ "b/c?d" }}">x</a>',
    '<p>{{ print nil }}{{ printf "%v" nil }}</p>',
    # html/template's errors
    "<a", '<a href="x', '<script>var x = "{{ .Status }}', '{{ .Status | html | printf "%s" }}',
    "<a title={{ .Status | html }}>", '<p "x">', '<a x=y"z>', "<a title=x{{ .Status }}=y>",
    "<script>var x = /[a-{{ .Status }}/</script>", "<p =x>",
    '<a href="{{ .Status | urlquery | html }}">', '{{ template "nope" }}',
]


def test_html_contexts(ctx):
    """html mode escapes each value for its HTML, JS, CSS or URL context as amtool does."""
    require_amtool()
    problems = []
    for text in HTML_CASES:
        args = ["--template.glob=/nonexistent/*", "--template.text=" + text,
                "--template.type=html"]
        trc, tout, terr = run([binary(), "template", "render"] + args)
        arc, aout, aerr = run([AMTOOL, "template", "render"] + args)
        if (trc, tout) != (arc, aout) or \
                (arc and error_text(terr, "tocsin") != error_text(aerr, "amtool")):
            problems.append("%r:\n  amtool %d %r %r\n  tocsin %d %r %r" %
                            (text, arc, aout, aerr, trc, tout, terr))
    assert not problems, "\n".join(problems)


def test_exec_errors(ctx):
    """tocsin's execution errors are amtool's, word for word, in text and html mode."""
    require_amtool()
    problems = []
    for kind in ("text", "html"):
        for text in EXEC_ERRORS:
            args = ["--template.glob=/nonexistent/*", "--template.text=" + text,
                    "--template.type=" + kind]
            trc, tout, terr = run([binary(), "template", "render"] + args)
            arc, aout, aerr = run([AMTOOL, "template", "render"] + args)
            if (trc, tout) != (arc, aout) or \
                    (arc and error_text(terr, "tocsin") != error_text(aerr, "amtool")):
                problems.append("%s %r:\n  amtool %d %r %r\n  tocsin %d %r %r" %
                                (kind, text, arc, aout, aerr, trc, tout, terr))
    assert not problems, "\n".join(problems)


if __name__ == "__main__":
    run_cases([
        test_corpus_text,
        test_corpus_html,
        test_exceptions_exist,
        test_default_data,
        test_builtin_templates_load_first,
        test_errors,
        test_exec_errors,
        test_html_contexts,
    ])
