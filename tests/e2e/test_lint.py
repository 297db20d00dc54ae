"""`tocsin check-config` warns, with file:line:col, of what loads but is likely a mistake, and
`--strict` fails on it; a clean config gets no warning."""

import os
import subprocess
import tempfile

import harness
from harness import run_cases

HEAD = "route:\n  receiver: a\n"
RECEIVERS = "receivers:\n- name: a\n"


def check(text, strict=False):
    d = tempfile.mkdtemp(prefix="tn-lint-")
    path = os.path.join(d, "am.yml")
    with open(path, "w") as f:
        f.write(text)
    args = [harness.binary(), "check-config"] + (["--strict"] if strict else []) + [path]
    p = subprocess.run(args, capture_output=True, text=True, timeout=30)
    os.unlink(path)
    os.rmdir(d)
    warnings = [l.split("am.yml:", 1)[1] for l in p.stderr.splitlines() if "am.yml:" in l]
    return p.returncode, warnings, p.stdout


def expect(text, *want):
    """Loads with exactly these warnings ("line:col: message" prefixes); --strict fails."""
    rc, got, out = check(text)
    assert rc == 0 and "SUCCESS" in out, (rc, out)
    assert len(got) == len(want) and all(g.startswith(w) for g, w in zip(got, want)), got
    rc, _, out = check(text, strict=True)
    assert rc == (1 if want else 0), (rc, out)
    if want:
        assert "FAILED: %d warning(s) with --strict" % len(want) in out, out


def test_clean_config(ctx):
    harness.tocsin_only("the lint is tocsin's")
    expect(HEAD + "  routes:\n  - matchers: [team=db]\n    receiver: b\n" + RECEIVERS +
           "- name: b\n")


def test_unreachable_route(ctx):
    harness.tocsin_only("the lint is tocsin's")
    expect(HEAD + "  routes:\n  - receiver: a\n  - matchers: [team=db]\n    receiver: a\n" +
           RECEIVERS,
           "5:5: this route can never match: the route at line 4 matches every alert")
    # with continue, or a regex that does not take every value, the later route is reachable
    expect(HEAD + "  routes:\n  - receiver: a\n    continue: true\n  - matchers: [team=db]\n"
           "    receiver: a\n" + RECEIVERS)
    expect(HEAD + "  routes:\n  - matchers: ['team=~\".*\"']\n    receiver: a\n"
           "  - matchers: [team=db]\n    receiver: a\n" + RECEIVERS,
           "6:5: this route can never match")


def test_repeat_shorter_than_group_interval(ctx):
    harness.tocsin_only("the lint is tocsin's")
    expect("route:\n  receiver: a\n  group_interval: 10m\n  repeat_interval: 5m\n"
           "  routes:\n  - matchers: [x=y]\n" + RECEIVERS,
           "2:3: repeat_interval (5m) is less than group_interval (10m)")


def test_unused_receiver_and_interval(ctx):
    harness.tocsin_only("the lint is tocsin's")
    expect(HEAD + RECEIVERS + "- name: spare\ntime_intervals:\n- name: weekends\n"
           "  time_intervals:\n  - weekdays: [saturday, sunday]\n",
           '5:3: receiver "spare" is not used by any route',
           '7:3: time interval "weekends" is not used by any route')


def test_interval_that_never_happens(ctx):
    harness.tocsin_only("the lint is tocsin's")
    expect("route:\n  receiver: a\n  mute_time_intervals: []\n  routes:\n  - matchers: [x=y]\n"
           "    mute_time_intervals: [past, feb30, later]\n" + RECEIVERS +
           "time_intervals:\n"
           "- name: past\n  time_intervals:\n  - years: ['2001:2003']\n"
           "- name: feb30\n  time_intervals:\n  - months: [february]\n    days_of_month: [30, 31]\n"
           "- name: later\n  time_intervals:\n  - years: ['2001:2099']\n",
           '10:3: time interval "past" never happens again',
           '13:3: time interval "feb30" never happens again')


def test_inhibit_rules(ctx):
    harness.tocsin_only("the lint is tocsin's")
    expect(HEAD + RECEIVERS + "inhibit_rules:\n"
           "- source_matchers: [severity=critical]\n"
           "  target_matchers: ['severity=~\"critical|warning\"']\n  equal: [cluster]\n"
           "-\n"
           "- source_matchers: [severity=critical]\n  target_matchers: [severity=warning]\n",
           "6:3: every source alert of this inhibit rule is also a target: two source alerts "
           "with the same equal labels inhibit each other",
           "9:2: inhibit rule has no matchers: it inhibits nothing")


def test_template_fails_on_example_data(ctx):
    harness.tocsin_only("the lint is tocsin's")
    text = ("route:\n  receiver: a\nreceivers:\n- name: a\n  slack_configs:\n"
            "  - api_url: http://127.0.0.1:1/x\n    channel: '#x'\n"
            "    title: '{{ template \"slack.custom.title\" . }}'\n"
            "    text: '{{ .CommonLabels.alertname | toUpper }}'\n")
    expect(text, '4:3: receiver "a": slack title fails on the example data: ')
    # defined in a template file: no warning
    d = tempfile.mkdtemp(prefix="tn-lint-")
    tmpl = os.path.join(d, "custom.tmpl")
    with open(tmpl, "w") as f:
        f.write('{{ define "slack.custom.title" }}[{{ .Status }}]{{ end }}')
    expect(text + "templates: ['%s']\n" % tmpl)
    os.unlink(tmpl)
    os.rmdir(d)


def test_structured_values_linted(ctx):
    """Strings inside a YAML value (the webhook payload), keys too, are linted the same way."""
    harness.tocsin_only("the lint is tocsin's")
    text = ("route:\n  receiver: a\nreceivers:\n- name: a\n  webhook_configs:\n"
            "  - url: http://127.0.0.1:1/x\n    payload:\n"
            "      ok: '{{ .CommonLabels | toJson }}'\n"
            "      '{{ .Nope }}': [1, '{{ template \"no.such\" . }}']\n")
    expect(text, '4:3: receiver "a": webhook payload fails on the example data: ',
           '4:3: receiver "a": webhook payload fails on the example data: ')


def test_misspelled_group_by(ctx):
    harness.tocsin_only("the lint is tocsin's")
    # one slip from a label alerts usually carry, and from one the config's matchers name
    expect("route:\n  receiver: a\n  group_by: [alertnmae, cluster]\n" + RECEIVERS,
           '2:3: group_by label "alertnmae" is named nowhere else and looks like "alertname"')
    expect(HEAD + "  routes:\n  - matchers: [tenant=x]\n    group_by: [tennat]\n" + RECEIVERS,
           '4:5: group_by label "tennat" is named nowhere else and looks like "tenant"')
    # said where it is set, not on the routes that inherit it; real names and '...' are quiet
    expect("route:\n  receiver: a\n  group_by: [alertnmae]\n  routes:\n  - matchers: [x=y]\n" +
           RECEIVERS, '2:3: group_by label "alertnmae"')
    expect("route:\n  receiver: a\n  group_by: ['...']\n" + RECEIVERS)
    expect("route:\n  receiver: a\n  group_by: [alertname, datacenter]\n" + RECEIVERS)


if __name__ == "__main__":
    run_cases([test_clean_config, test_unreachable_route, test_repeat_shorter_than_group_interval,
               test_unused_receiver_and_interval, test_interval_that_never_happens,
               test_inhibit_rules, test_template_fails_on_example_data,
               test_structured_values_linted, test_misspelled_group_by])
