/* Template engine: a table of template texts against one notification with exact expected
 * output, parse and execution errors, HTML escaping, the default templates, caps, and golden
 * renderings captured from Alertmanager 0.25 (fixtures/template/). */
#include "tn_test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tocsin/alert.h"
#include "tocsin/clock.h"
#include "tocsin/notification.h"
#include "tocsin/template.h"
#include "tocsin/timefmt.h"

/* ---- the notification every case renders against ---- */

static tn_time_t ts(const char *s)
{
    tn_time_t t;
    assert_int_equal(tn_time_parse_rfc3339(s, strlen(s), &t), TN_OK);
    return t;
}

static size_t pairs(const char *const *kv, tn_label_t *out)
{
    size_t n = 0;
    for (; kv && kv[0]; kv += 2, n++) {
        out[n].name = tn_intern_cstr(kv[0]);
        out[n].value = tn_intern_cstr(kv[1]);
    }
    return n;
}

static tn_alert_t *mk_alert(const char *const *labels, const char *const *annotations,
                            const char *gen, const char *starts, const char *ends)
{
    tn_label_t l[16], a[16];
    size_t nl = pairs(labels, l), na = pairs(annotations, a);
    tn_labels_sort(l, nl);
    tn_labels_sort(a, na);
    tn_alert_t *al = tn_alert_new(l, nl, a, na, gen ? tn_intern_cstr(gen) : NULL);
    al->starts_at = ts(starts);
    al->ends_at = ends ? ts(ends) : 0;
    return al;
}

typedef struct fixture {
    tn_alert_t *a[3];
    tn_notif_alert_t na[3];
    tn_label_t group[1];
    tn_notification_t n;
    tn_tmpl_t *t;
} fixture_t;

static fixture_t *fx_new(void)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->a[0] = mk_alert((const char *const[]){"alertname", "DiskFull", "job", "node", "instance",
                                             "a:9100", "severity", "critical", NULL},
                       (const char *const[]){"summary", "Disk <full> & \"hot\"", "runbook",
                                             "https://rb/disk", NULL},
                       "http://prom:9090/graph?g0.expr=up", "2024-01-02T03:04:05Z", NULL);
    f->a[1] = mk_alert((const char *const[]){"alertname", "DiskFull", "job", "node", "instance",
                                             "b:9100", "severity", "critical", NULL},
                       (const char *const[]){"summary", "Disk <full> & \"hot\"", NULL},
                       "http://prom:9090/graph?g0.expr=up", "2024-01-02T03:04:05.5Z", NULL);
    f->a[2] = mk_alert((const char *const[]){"alertname", "DiskFull", "job", "node", "instance",
                                             "c:9100", "severity", "critical", NULL},
                       (const char *const[]){"summary", "Disk <full> & \"hot\"", NULL}, NULL,
                       "2024-01-02T03:00:00Z", "2024-01-02T03:30:00.123Z");
    for (int i = 0; i < 3; i++) {
        f->na[i].alert = f->a[i];
        f->na[i].resolved = i == 2;
    }
    f->group[0].name = tn_intern_cstr("alertname");
    f->group[0].value = tn_intern_cstr("DiskFull");
    f->n.receiver = "team-X.ops";
    f->n.group_key = "{}:{alertname=\"DiskFull\"}";
    f->n.group_labels = (tn_labels_t){f->group, 1};
    f->n.alerts = f->na;
    f->n.nalerts = 3;
    f->n.nfiring = 2;
    f->n.external_url = "http://am.example:9093";
    f->n.now = ts("2024-01-02T04:00:00Z");
    char err[TN_ERRBUF_SIZE];
    f->t = tn_tmpl_load(NULL, 0, err, sizeof err);
    if (!f->t)
        fail_msg("defaults: %s", err);
    return f;
}

static void fx_free(fixture_t *f)
{
    for (int i = 0; i < 3; i++)
        tn_alert_unref(f->a[i]);
    tn_intern_unref(f->group[0].name);
    tn_intern_unref(f->group[0].value);
    tn_tmpl_free(f->t);
    free(f);
}

static int setup(void **state)
{
    *state = fx_new();
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* Renders text; returns a heap string, or NULL with err filled. */
static char *render(fixture_t *f, const tn_tmpl_t *t, const char *text, unsigned flags, char *err)
{
    tn_buf_t b;
    tn_buf_init(&b, 4 * 1024 * 1024);
    int rc = tn_tmpl_render(t, text, &f->n, flags, &b, err, TN_ERRBUF_SIZE);
    if (rc < 0) {
        tn_buf_free(&b);
        return NULL;
    }
    char *s = tn_xstrndup(b.data ? b.data : "", b.len);
    tn_buf_free(&b);
    return s;
}

typedef struct tcase {
    const char *in;
    const char *want; /* NULL: an error containing `err` */
    const char *err;
} tcase_t;

static const tcase_t cases[] = {
    /* text, actions, trimming, comments */
    {"plain", "plain", NULL},
    {"a {{- \" b \" -}} c", "a b c", NULL},
    {"a  {{- /* note */ -}}  b", "ab", NULL},
    {"{{/* only a comment */}}x", "x", NULL},
    {"{{ -3 }} {{ 0x1F }} {{ 1.5 }} {{ 1e6 }} {{ 'a' }} {{ true }} {{ \"q\\t\" }}{{ `r\\n` }}",
     "-3 31 1.5 1e+06 97 true q\tr\\n", NULL},
    /* data model */
    {"{{ .Receiver }}|{{ .Status }}|{{ .ExternalURL }}",
     "team-X\\.ops|firing|http://am.example:9093", NULL},
    {"{{ len .Alerts }} {{ len .Alerts.Firing }} {{ len .Alerts.Resolved }}", "3 2 1", NULL},
    {"{{ .GroupLabels }} / {{ .CommonLabels }}",
     "alertname=DiskFull / alertname=DiskFull, job=node, severity=critical", NULL},
    {"{{ .CommonAnnotations.summary }}", "Disk <full> & \"hot\"", NULL},
    {"{{ .CommonLabels.Remove .GroupLabels.Names }}", "job=node, severity=critical", NULL},
    {"{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}",
     "alertname=DiskFull;job=node;severity=critical;", NULL},
    {"{{ .CommonLabels.Names }} {{ .CommonLabels.Values.Join \",\" }}",
     "[alertname job severity] DiskFull,node,critical", NULL},
    {"{{ .CommonLabels.SortedPairs }}", "alertname=DiskFull, job=node, severity=critical", NULL},
    {"{{ range .Alerts }}{{ .Status }} {{ .StartsAt }} {{ .EndsAt }}\n{{ end }}",
     "firing 2024-01-02 03:04:05 +0000 UTC 0001-01-01 00:00:00 +0000 UTC\n"
     "firing 2024-01-02 03:04:05.5 +0000 UTC 0001-01-01 00:00:00 +0000 UTC\n"
     "resolved 2024-01-02 03:00:00 +0000 UTC 2024-01-02 03:30:00.123 +0000 UTC\n",
     NULL},
    {"{{ (index .Alerts 0).Fingerprint | len }} {{ (index .Alerts 2).GeneratorURL }}|", "16 |",
     NULL},
    {"{{ .Missing }}", NULL, "can't evaluate field Missing"},
    {"{{ .CommonLabels.nothere }}|{{ index .CommonLabels \"nothere\" }}|", "||", NULL},
    {"{{ $d := dict \"a\" 1 }}{{ $d.b }}|{{ $d.a }}", "<no value>|1", NULL},
    /* variables, control flow */
    {"{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2", NULL},
    {"{{ if eq .Status \"x\" }}a{{ else if eq .Status \"firing\" }}b{{ else }}c{{ end }}", "b",
     NULL},
    {"{{ range $i, $a := .Alerts }}{{ $i }}:{{ $a.Labels.instance }} {{ end }}",
     "0:a:9100 1:b:9100 2:c:9100 ", NULL},
    {"{{ range .Alerts.Resolved }}{{ .Labels.instance }}{{ else }}none{{ end }}", "c:9100", NULL},
    {"{{ range (list) }}x{{ else }}empty{{ end }}", "empty", NULL},
    {"{{ range $i, $e := list 1 2 3 4 }}{{ if eq $e 2 }}{{ continue }}{{ end }}"
     "{{ if eq $e 4 }}{{ break }}{{ end }}{{ $e }}{{ end }}",
     "13", NULL},
    {"{{ with .CommonAnnotations.runbook }}rb={{ . }}{{ else }}no runbook{{ end }}", "no runbook",
     NULL},
    {"{{ with $x := .Status }}{{ $x }}{{ end }}", "firing", NULL},
    {"{{ define \"t1\" }}[{{ . }}]{{ end }}{{ define \"t2\" }}{{ template \"t1\" .Status }}{{ end "
     "}}"
     "{{ template \"t2\" . }}",
     "[firing]", NULL},
    {"{{ block \"blk\" .Receiver }}<{{ . }}>{{ end }}", "<team-X\\.ops>", NULL},
    /* built-ins */
    {"{{ and 1 0 2 }} {{ or 0 \"\" \"x\" }} {{ not 0 }} {{ and .Status (eq 1 1) }}",
     "0 x true true", NULL},
    {"{{ eq 1 2 3 1 }} {{ ne \"a\" \"b\" }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} "
     "{{ ge 1.5 2.5 }}",
     "true true true true true false", NULL},
    {"{{ eq 1 1.0 }}", NULL, "incompatible types for comparison"},
    {"{{ index (list 1 2 3) 1 }} {{ slice \"abcdef\" 1 3 }} {{ slice (list 1 2 3) 1 }}",
     "2 bc [2 3]", NULL},
    {"{{ index (list 1) 5 }}", NULL, "index out of range: 5"},
    {"{{ print 1 2 \"a\" \"b\" 3 }}|{{ println \"x\" 1 }}|", "1 2ab3|x 1\n|", NULL},
    {"{{ printf \"%s|%d|%5.2f|%q|%x|%t|%%|%-4s|%04d|%v|%X\" \"s\" 42 3.14159 \"q\" \"hi\" true "
     "\"ab\" 7 .Status 255 }}",
     "s|42| 3.14|\"q\"|6869|true|%|ab  |0007|firing|FF", NULL},
    {"{{ printf \"%d %s\" \"x\" }}", "%!d(string=x) %!s(MISSING)", NULL},
    /* widths past fmt's million are refused, as Go does (found by fuzzing: the width overflowed) */
    {"{{ printf \"%1111111111111111111111d\" 5 }}|{{ printf \"%*d\" 10000000 5 }}|"
     "{{ printf \"%.*d\" -1 5 }}",
     "%!(NOVERB)%!(EXTRA int=5)|%!(BADWIDTH)5|%!(BADPREC)5", NULL},
    {"{{ printf \"%v\" (list 1 \"a\" nil) }} {{ printf \"%.2s\" \"héllo\" }}", "[1 a <nil>] hé",
     NULL},
    {"{{ \"a b&c\" | urlquery }} {{ html \"<a href='x'>\" }} {{ js \"it's <b>\" }}",
     "a+b%26c &lt;a href=&#39;x&#39;&gt; it\\'s \\u003Cb\\u003E", NULL},
    {"{{ call .Status }}", NULL, "call"},
    /* Alertmanager functions */
    {"{{ toUpper \"abc\" }} {{ toLower \"ÄBC\" }} {{ title \"hello wORLD it's\" }} "
     "[{{ trimSpace \"  x \\n\" }}]",
     "ABC äbc Hello World It's [x]", NULL},
    {"{{ join \", \" (stringSlice \"a\" \"b\") }} {{ match \"^Disk\" \"DiskFull\" }} "
     "{{ match \"x\" \"y\" }}",
     "a, b true false", NULL},
    {"{{ reReplaceAll \"(\\\\w+)@(\\\\w+)\" \"$2 at ${1}\" \"joe@host, ann@box\" }}|"
     "{{ reReplaceAll \"a(?P<x>b)\" \"[$x]$1x$$\" \"ab\" }}|{{ reReplaceAll \"x*\" \"-\" \"abc\" "
     "}}",
     "host at joe, box at ann|[b]$|-a-b-c-", NULL},
    {"{{ urlUnescape \"a%20b+c\" }} {{ base64encode \"hi?>\" }} {{ base64decode \"aGk_Pg==\" }}",
     "a b c aGk_Pg== hi?>", NULL},
    {"{{ urlUnescape \"%zz\" }}", NULL, "invalid URL escape"},
    {"{{ date \"2006-01-02T15:04:05Z07:00 Mon Jan _2 3PM .000\" (index .Alerts 1).StartsAt }}",
     "2024-01-02T03:04:05Z Tue Jan  2 3AM .500", NULL},
    {"{{ (index .Alerts 0).StartsAt.Format \"15:04\" }} {{ (index .Alerts 0).StartsAt.Unix }}",
     "03:04 1704164645", NULL},
    {"{{ humanizeDuration 3661 }} {{ humanizeDuration 0.0015 }} {{ humanizeDuration 90061 }} "
     "{{ humanizeDuration 1.5 }} {{ humanizeDuration 0 }}",
     "1h 1m 1s 1.5ms 1d 1h 1m 1s 1.5s 0s", NULL},
    {"{{ since (index .Alerts 0).StartsAt }}", "55m55s", NULL},
    {"{{ toJson .CommonLabels }} {{ toJson (list 1 \"<\" true nil 1.5) }} {{ toJson (dict \"b\" 1 "
     "\"a\" .GroupLabels) }}",
     "{\"alertname\":\"DiskFull\",\"job\":\"node\",\"severity\":\"critical\"} "
     "[1,\"\\u003c\",true,null,1.5] {\"a\":{\"alertname\":\"DiskFull\"},\"b\":1}",
     NULL},
    {"{{ $l := list 1 }}{{ $l = append $l 2 3 }}{{ $l }} {{ len $l }}", "[1 2 3] 3", NULL},
    {"{{ dict \"a\" }}", NULL, "even number"},
    {"{{ safeHtml \"<b>\" }} {{ routeLabels \"x\" }}|", "<b> |", NULL},
    /* the default templates */
    {"{{ template \"__subject\" . }}", "[FIRING:2] DiskFull (node critical)", NULL},
    {"{{ template \"slack.default.fallback\" . }}",
     "[FIRING:2] DiskFull (node critical) | "
     "http://am.example:9093/#/alerts?receiver=team-X%5C.ops",
     NULL},
    {"{{ template \"slack.default.color\" . }} {{ template \"jira.default.priority\" . }}",
     "danger High", NULL},
    {"{{ template \"__text_alert_list\" .Alerts.Resolved }}",
     "Labels:\n - alertname = DiskFull\n - instance = c:9100\n - job = node\n - severity = "
     "critical\nAnnotations:\n - summary = Disk <full> & \"hot\"\nSource: \n",
     NULL},
    {"{{ template \"nope\" . }}", NULL, "template \"nope\" not defined"},
    /* parse errors name the line */
    {"line1\n{{ if .Status }}\n", NULL, "template: :3: unexpected EOF"},
    {"a\nb\n{{ nofunc 1 }}", NULL, "template: :3: function \"nofunc\" not defined"},
    {"{{ $y }}", NULL, "undefined variable \"$y\""},
    {"x\n{{ end }}", NULL, "template: :2: unexpected {{end}}"},
    {"{{ .A", NULL, "unclosed action"},
    {"{{ break }}", NULL, "{{break}} outside {{range}}"},
    {"{{ \"a\" | \"b\" }}", NULL, "non executable command in pipeline stage 2"},
    {"{{ printf \"%s\" \"x\" | len | printf \"%d\" }}", "1", NULL},
    {"{{ 1 2 }}", NULL, "can't give argument to non-function"},
};

static void test_cases(void **state)
{
    fixture_t *f = *state;
    tn_time_t now = ts("2024-01-02T04:00:00Z");
    tn_clock_set_fake(&now);
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        char err[TN_ERRBUF_SIZE] = "";
        char *got = render(f, f->t, cases[i].in, 0, err);
        if (cases[i].want) {
            if (!got)
                fail_msg("case %zu %s: error %s", i, cases[i].in, err);
            if (strcmp(got, cases[i].want))
                fail_msg("case %zu %s:\n got: [%s]\nwant: [%s]", i, cases[i].in, got,
                         cases[i].want);
        } else {
            if (got)
                fail_msg("case %zu %s: want error %s, got [%s]", i, cases[i].in, cases[i].err, got);
            if (!strstr(err, cases[i].err))
                fail_msg("case %zu %s: error [%s] lacks [%s]", i, cases[i].in, err, cases[i].err);
        }
        free(got);
    }
    tn_clock_set_fake(NULL);
}

/* cases.Title semantics (x/text word breaking), methods of time.Time and time.Duration, and
 * Go fmt output of values. Alert 2 ran 03:00:00 .. 03:30:00.123; alert 0 fires (zero EndsAt). */
static const tcase_t more[] = {
    /* title */
    {"{{ title \"db-1.example.net\" }}", "Db-1.Example.net", NULL},
    {"{{ title \"hello_world\" }}", "Hello_world", NULL},
    {"{{ title \"3rd\" }}", "3Rd", NULL},
    {"{{ title \"HELLO wORLD\" }}", "Hello World", NULL},
    {"{{ title \"o'neil a..b x,y\" }}", "O'neil A..B X,Y", NULL},
    {"{{ title \"über-straße\" }}", "Über-Straße", NULL},
    {"{{ title \"\xc7\x86"
     "emal\" }}",
     "\xc7\x85"
     "emal",
     NULL}, /* the dz digraph */
    {"{{ title .CommonLabels.instance }}", "", NULL},
    {"{{ title 3 }}", NULL, "expected string"},
    /* time.Time */
    {"{{ $a := index .Alerts 2 }}{{ $a.EndsAt.Sub $a.StartsAt }}", "30m0.123s", NULL},
    {"{{ $a := index .Alerts 2 }}{{ $a.StartsAt.Sub $a.EndsAt }}", "-30m0.123s", NULL},
    {"{{ $a := index .Alerts 0 }}{{ $a.EndsAt.Sub $a.StartsAt }}", "-2562047h47m16.854775808s",
     NULL},
    {"{{ (index .Alerts 2).StartsAt.Add 2700000000000 }}", "2024-01-02 03:45:00 +0000 UTC", NULL},
    {"{{ $a := index .Alerts 2 }}{{ ($a.StartsAt.Add 2700000000000).Sub $a.StartsAt }}", "45m0s",
     NULL},
    {"{{ $a := index .Alerts 2 }}{{ $a.EndsAt.After $a.StartsAt }} {{ $a.EndsAt.Before "
     "$a.StartsAt }} {{ $a.StartsAt.Equal $a.StartsAt }}",
     "true false true", NULL},
    {"{{ (index .Alerts 2).EndsAt.Format \"2006-01-02T15:04:05.000Z07:00 Mon Jan _2\" }}",
     "2024-01-02T03:30:00.123Z Tue Jan  2", NULL},
    {"{{ $a := index .Alerts 2 }}{{ $a.StartsAt.Unix }} {{ $a.EndsAt.UnixMilli }}",
     "1704164400 1704166200123", NULL},
    {"{{ (index .Alerts 0).EndsAt.IsZero }} {{ (index .Alerts 2).EndsAt.IsZero }}", "true false",
     NULL},
    {"{{ (index .Alerts 0).EndsAt }}", "0001-01-01 00:00:00 +0000 UTC", NULL},
    {"{{ (index .Alerts 0).EndsAt.Unix }}", "-62135596800", NULL},
    {"{{ (tz \"Europe/Paris\" (index .Alerts 2).StartsAt) }}", "2024-01-02 04:00:00 +0100 CET",
     NULL},
    {"{{ (tz \"Europe/Paris\" (index .Alerts 2).StartsAt).UTC }}", "2024-01-02 03:00:00 +0000 UTC",
     NULL},
    {"{{ $a := index .Alerts 2 }}{{ $a.StartsAt.In (tz \"Asia/Tokyo\" $a.StartsAt).Location }}",
     "2024-01-02 12:00:00 +0900 JST", NULL},
    {"{{ (index .Alerts 2).StartsAt.Local.Location }}", "Local", NULL},
    {"{{ (index .Alerts 2).StartsAt.In \"UTC\" }}", NULL,
     "can't handle \"UTC\" for arg of type *time.Location"},
    {"{{ (index .Alerts 1).StartsAt.Round 1000000000 }}", "2024-01-02 03:04:06 +0000 UTC", NULL},
    {"{{ (index .Alerts 1).StartsAt.Truncate 1000000000 }}", "2024-01-02 03:04:05 +0000 UTC", NULL},
    {"{{ (index .Alerts 2).EndsAt.Round 3600000000000 }}", "2024-01-02 04:00:00 +0000 UTC", NULL},
    {"{{ (index .Alerts 2).EndsAt.Truncate 0 }}", "2024-01-02 03:30:00.123 +0000 UTC", NULL},
    {"{{ (index .Alerts 2).EndsAt.Sub 5 }}", NULL, "can't handle 5 for arg of type time.Time"},
    {"{{ (index .Alerts 2).EndsAt.Nope }}", NULL, "can't evaluate field Nope"},
    /* time.Duration */
    {"{{ $a := index .Alerts 2 }}{{ $d := $a.EndsAt.Sub $a.StartsAt }}{{ $d.Hours }} "
     "{{ $d.Minutes }} {{ $d.Seconds }} {{ $d.String }}",
     "0.5000341666666667 30.00205 1800.123 30m0.123s", NULL},
    {"{{ $a := index .Alerts 2 }}{{ $d := $a.EndsAt.Sub $a.StartsAt }}{{ $d.Round 60000000000 }} "
     "{{ $d.Truncate 1000000000 }} {{ $d.Round 1000000 }} {{ $d.Round 0 }}",
     "30m0s 30m0s 30m0.123s 30m0.123s", NULL},
    {"{{ $a := index .Alerts 2 }}{{ $d := $a.StartsAt.Sub $a.EndsAt }}{{ $d.Round 1000000000 }} "
     "{{ $d.Truncate 60000000000 }}",
     "-30m0s -30m0s", NULL},
    {"{{ $a := index .Alerts 2 }}{{ $d := $a.EndsAt.Sub $a.StartsAt }}{{ printf \"%v|%s|%d|%T\" "
     "$d $d $d $d }}",
     "30m0.123s|30m0.123s|1800123000000|time.Duration", NULL},
    {"{{ since (index .Alerts 2).StartsAt }}", "1h0m0s", NULL},
    /* fmt output of values */
    {"{{ dict \"b\" 1 \"a\" \"x\" }}", "map[a:x b:1]", NULL},
    {"{{ list 1 \"a\" 2.5 nil true }}", "[1 a 2.5 <nil> true]", NULL},
    {"{{ stringSlice \"a\" \"b\" }} {{ .GroupLabels.Names }}", "[a b] [alertname]", NULL},
    {"{{ print nil }} {{ (dict).x }} [{{ .CommonLabels.nothere }}]", "<nil> <no value> []", NULL},
    {"{{ 1.5 }} {{ 1e6 }} {{ 100000.0 }} {{ 0.000001 }} {{ 3.0 }}", "1.5 1e+06 100000 1e-06 3",
     NULL},
    {"{{ printf \"%v %.2f %g\" 2.25 2.25 1e21 }}", "2.25 2.25 1e+21", NULL},
    {"{{ list (index .Alerts 2).StartsAt }}", "[2024-01-02 03:00:00 +0000 UTC]", NULL},
    {"{{ $a := index .Alerts 2 }}{{ list ($a.EndsAt.Sub $a.StartsAt) }}", "[30m0.123s]", NULL},
    {"{{ dict \"k\" .GroupLabels }}", "map[k:alertname=DiskFull]", NULL},
    {"{{ .GroupLabels.SortedPairs }} {{ index .GroupLabels.SortedPairs 0 }}",
     "alertname=DiskFull {alertname DiskFull}", NULL},
    {"{{ printf \"%v\" . | printf \"%.16s\" }}", "&{team-X\\.ops fi", NULL},
};

static void test_more(void **state)
{
    fixture_t *f = *state;
    tn_time_t now = ts("2024-01-02T04:00:00Z");
    tn_clock_set_fake(&now);
    for (size_t i = 0; i < TN_ARRAY_LEN(more); i++) {
        char err[TN_ERRBUF_SIZE] = "";
        char *got = render(f, f->t, more[i].in, 0, err);
        if (more[i].want) {
            if (!got)
                fail_msg("more %zu %s: error %s", i, more[i].in, err);
            if (strcmp(got, more[i].want))
                fail_msg("more %zu %s:\n got: [%s]\nwant: [%s]", i, more[i].in, got, more[i].want);
        } else {
            if (got)
                fail_msg("more %zu %s: want error %s, got [%s]", i, more[i].in, more[i].err, got);
            if (!strstr(err, more[i].err))
                fail_msg("more %zu %s: error [%s] lacks [%s]", i, more[i].in, err, more[i].err);
        }
        free(got);
    }
    tn_clock_set_fake(NULL);
}

static void test_html(void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *in, *want;
    } h[] = {
        {"<p>{{ .CommonAnnotations.summary }}</p>", "<p>Disk &lt;full&gt; &amp; &#34;hot&#34;</p>"},
        {"<p title=\"{{ \"a'b+c\" }}\">{{ safeHtml \"<i>ok</i>\" }}</p>",
         "<p title=\"a&#39;b&#43;c\"><i>ok</i></p>"},
        {"<!-- gone {{ .Status }} -->kept", "kept"},
        {"<a href=\"{{ .ExternalURL }}/x?r={{ .Receiver | urlquery }}&a=1\">l</a>",
         "<a href=\"http://am.example:9093/x?r=team-X%5c.ops&a=1\">l</a>"},
        {"<a href=\"{{ \"javascript:alert(1)\" }}\">x</a>", "<a href=\"#ZgotmplZ\">x</a>"},
        {"<a href=\"{{ \"http://h/a b\" }}\">x</a>", "<a href=\"http://h/a%20b\">x</a>"},
        {"<a href={{ \"x y\" }}>", "<a href=x%20y>"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(h); i++) {
        char err[TN_ERRBUF_SIZE] = "";
        char *got = render(f, f->t, h[i].in, TN_TMPL_HTML, err);
        if (!got)
            fail_msg("html %zu: %s", i, err);
        if (strcasecmp(got, h[i].want))
            fail_msg("html %zu:\n got: [%s]\nwant: [%s]", i, got, h[i].want);
        free(got);
    }
    /* the default HTML body renders and escapes */
    char err[TN_ERRBUF_SIZE] = "";
    char *got = render(f, f->t, "{{ template \"email.default.html\" . }}", TN_TMPL_HTML, err);
    assert_non_null(got);
    assert_non_null(strstr(got, "summary = Disk &lt;full&gt; &amp; &#34;hot&#34;<br>"));
    assert_non_null(strstr(got, "[2] Firing"));
    assert_non_null(strstr(got, "[1] Resolved"));
    assert_non_null(strstr(got, "href=\"http://prom:9090/graph?g0.expr=up\""));
    free(got);
}

/* html/template's contexts beyond HTML text and attributes: each value is escaped for where
 * it lands as Go 1.26's html/template escapes it. Most rows agree with Debian's amtool 0.25
 * (tests/e2e/test_template_render.py compares many more); those marked "current" differ from
 * that older build: empty unquoted attributes, JS template literals, HTML comments and end
 * tags inside JS, meta refresh URLs, and KVs (a fmt.Stringer in current Alertmanager). */
static const tcase_t html_ctx[] = {
    /* JS values */
    {"<script>var st = {{ .Status }}; var n = {{ len .Alerts }};</script>",
     "<script>var st = \"firing\"; var n =  3 ;</script>", NULL},
    {"<script>var l = {{ list .CommonLabels.alertname (index .Alerts 0).Labels.instance }};"
     "</script>",
     "<script>var l = [\"DiskFull\",\"a:9100\"];</script>", NULL},
    {"<script>var d = {{ dict \"a\" 1 \"b\" (list \"x\" nil 1.5 true) }}, z = {{ (dict).x }};"
     "</script>",
     "<script>var d = {\"a\":1,\"b\":[\"x\",null,1.5,true]}, z =  null ;</script>", NULL},
    {"<script>var kv = {{ .GroupLabels }};</script>", /* current */
     "<script>var kv = \"alertname=DiskFull\";</script>", NULL},
    {"<script>var t = {{ (index .Alerts 2).EndsAt }}, d = {{ $a := index .Alerts 2 }}"
     "{{ $a.EndsAt.Sub $a.StartsAt }};</script>",
     "<script>var t = \"2024-01-02T03:30:00.123Z\", d = \"30m0.123s\";</script>", NULL},
    {"<script>var s = {{ .CommonAnnotations.summary }};</script>",
     "<script>var s = \"Disk \\u003cfull\\u003e \\u0026 \\\"hot\\\"\";</script>", NULL},
    {"<a onclick=\"f({{ .Status }}, '{{ .Receiver }}')\">x</a>",
     "<a onclick=\"f(&#34;firing&#34;, 'team-X\\\\.ops')\">x</a>", NULL},
    /* JS strings, template literals, regexps */
    {"<script>var q = '{{ \"it's <b>&+/\" }}', r = \"{{ \"a\\tb\\n\" }}\";</script>",
     "<script>var q = 'it\\u0027s \\u003cb\\u003e\\u0026\\u002b\\/', r = \"a\\tb\\n\";</script>",
     NULL},
    {"<script>var t = `x${ {{ .Status }} }y {{ \"${z}`\" }}`;</script>", /* current */
     "<script>var t = `x${ \"firing\" }y \\u0024\\u007bz\\u007d\\u0060`;</script>", NULL},
    {"<script>var r = /{{ \"a.b*\" }}/, e = /{{ \"\" }}/;</script>",
     "<script>var r = /a\\.b\\*/, e = /(?:)/;</script>", NULL},
    {"<script>var a = 1 / {{ 2 }} / 3;</script>", "<script>var a = 1 /  2  / 3;</script>", NULL},
    /* JS comments and end tags inside literals */
    {"<script>/* {{ .Status }} */ var a = 1; // {{ .Status }}\nvar b = 2;</script>",
     "<script>   var a = 1; \nvar b = 2;</script>", NULL},
    {"<script><!-- {{ .Status }}\nvar a = \"</script><!--\";</script>", /* current */
     "<script>\nvar a = \"\\x3C/script>\\x3C!--\";</script>", NULL},
    /* CSS */
    {"<p style=\"color: {{ \"red\" }}; x: {{ \"a;b\" }}; y: {{ \"expression(x)\" }}\">x</p>",
     "<p style=\"color: red; x: ZgotmplZ; y: ZgotmplZ\">x</p>", NULL},
    {"<style>q::after { content: \"{{ \"a<b\" }}\" } r { background: url({{ "
     "\"javascript:x\" }}) } s { background: url('/a?{{ \"b c\" }}') }</style>",
     "<style>q::after { content: \"a\\3c b\" } r { background: url(#ZgotmplZ) } s { "
     "background: url('/a?b%20c') }</style>",
     NULL},
    /* RCDATA */
    {"<textarea>{{ \"<b>\" }}</textarea><title>{{ safeHtml \"<i>&amp;\" }}</title>",
     "<textarea>&lt;b&gt;</textarea><title>&lt;i&gt;&amp;</title>", NULL},
    /* URLs, srcset, meta refresh, attribute names */
    {"<a href=\"{{ \"javascript:alert(1)\" }}\">a</a><a href=\"/q?{{ \"a=b c\" }}\">b</a>",
     "<a href=\"#ZgotmplZ\">a</a><a href=\"/q?a%3db%20c\">b</a>", NULL},
    {"<img srcset=\"{{ \"/a.png 1x, javascript:x 2x\" }}\">",
     "<img srcset=\"/a.png 1x,#ZgotmplZ\">", NULL},
    {"<meta http-equiv=\"refresh\" content=\"0; url={{ \"javascript:x\" }}\">", /* current */
     "<meta http-equiv=\"refresh\" content=\"0; url=#ZgotmplZ\">", NULL},
    {"<p {{ \"onclick\" }}=\"x\" {{ \"Title\" }}=y>", "<p ZgotmplZ=\"x\" title=y>", NULL},
    {"<p title={{ \"\" }}>", "<p title=ZgotmplZ>", NULL}, /* current */
    {"<a title=\"{{ safeHtml \"<b>x</b> y\" }}\" b={{ safeHtml \"<i>z w</i>\" }}>",
     "<a title=\"x y\" b=z&#32;w>", NULL},
    /* the predefined escapers */
    {"<p title=\"{{ \"a<b+\" | html }}\">{{ \"a+b\" | urlquery }}</p>",
     "<p title=\"a&lt;b+\">a%2Bb</p>", NULL},
    /* html/template's errors */
    {"{{ .Status | html | printf \"%s\" }}", NULL,
     "html/template::1:3: predefined escaper \"html\" disallowed in template"},
    {"<p title=\"x", NULL,
     "html/template: ends in a non-text context: {stateAttr delimDoubleQuote urlPartNone "
     "jsCtxRegexp attrNone elementNone <nil>}"},
    {"<p a\"b>", NULL, "html/template: \"\\\"\" in attribute name: \" a\\\"b>\""},
    {"<script>var x = /[{{ .Status }}/</script>", NULL,
     "html/template: unfinished JS regexp charset: \"[\""},
    {"{{ template \"nope\" }}", NULL, "html/template::1:12: no such template \"nope\""},
};

static void test_html_contexts(void **state)
{
    fixture_t *f = *state;
    for (size_t i = 0; i < TN_ARRAY_LEN(html_ctx); i++) {
        char err[TN_ERRBUF_SIZE] = "";
        char *got = render(f, f->t, html_ctx[i].in, TN_TMPL_HTML, err);
        if (html_ctx[i].want) {
            if (!got)
                fail_msg("html_ctx %zu %s: error %s", i, html_ctx[i].in, err);
            if (strcmp(got, html_ctx[i].want))
                fail_msg("html_ctx %zu %s:\n got: [%s]\nwant: [%s]", i, html_ctx[i].in, got,
                         html_ctx[i].want);
        } else {
            if (got)
                fail_msg("html_ctx %zu %s: want an error, got [%s]", i, html_ctx[i].in, got);
            if (strcmp(err, html_ctx[i].err))
                fail_msg("html_ctx %zu %s:\n error: [%s]\n  want: [%s]", i, html_ctx[i].in, err,
                         html_ctx[i].err);
        }
        free(got);
    }
    /* the context is a fixed-size value: deep template-literal nesting is refused, not grown */
    tn_buf_t deep;
    tn_buf_init(&deep, 0);
    tn_buf_puts(&deep, "<script>");
    for (int i = 0; i < 40; i++)
        tn_buf_puts(&deep, "`${");
    char err[TN_ERRBUF_SIZE];
    assert_null(render(f, f->t, tn_buf_cstr(&deep), TN_TMPL_HTML, err));
    assert_non_null(strstr(err, "nest too deeply"));
    tn_buf_free(&deep);
}

static void test_limits(void **state)
{
    fixture_t *f = *state;
    char err[TN_ERRBUF_SIZE];
    tn_tmpl_t *t = tn_tmpl_new();
    const char *rec = "{{ define \"loop\" }}{{ template \"loop\" . }}{{ end }}";
    assert_int_equal(tn_tmpl_add(t, "rec.tmpl", rec, strlen(rec), err, sizeof err), 0);
    assert_null(render(f, t, "{{ template \"loop\" . }}", 0, err));
    assert_non_null(strstr(err, "maximum template depth"));
    /* output cap */
    const char *big = "{{ define \"x\" }}{{ range $i := 2000 }}{{ range $j := 1000 }}"
                      "0123456789{{ end }}{{ end }}{{ end }}";
    assert_int_equal(tn_tmpl_add(t, "big.tmpl", big, strlen(big), err, sizeof err), 0);
    assert_null(render(f, t, "{{ template \"x\" . }}", 0, err));
    assert_non_null(strstr(err, "output exceeds"));
    /* a value past the output cap is refused before it is escaped */
    assert_null(render(f, t,
                       "{{ $s := printf \"%0*d%0*d\" 1000000 0 1000000 0 }}<script>var x = "
                       "'{{ $s }}', "
                       "y = {{ $s }};</script>",
                       TN_TMPL_HTML, err));
    assert_non_null(strstr(err, "output exceeds"));
    /* iteration cap without output */
    assert_null(render(f, t, "{{ range 2000 }}{{ range 1000 }}{{ end }}{{ end }}", 0, err));
    assert_non_null(strstr(err, "range iterations"));
    /* a failed add leaves the set as it was */
    const char *bad = "{{ define \"x\" }}changed{{ end }}\n{{ if }}";
    assert_int_equal(tn_tmpl_add(t, "bad.tmpl", bad, strlen(bad), err, sizeof err), TN_ERR_INVAL);
    assert_string_equal(err, "template: bad.tmpl:2: missing value for if");
    assert_null(render(f, t, "{{ template \"x\" . }}", 0, err));
    /* redefinition replaces; an empty body does not */
    const char *r1 = "{{ define \"y\" }}one{{ end }}", *r2 = "{{ define \"y\" }}two{{ end }}",
               *r3 = "{{ define \"y\" }}  {{ end }}";
    assert_int_equal(tn_tmpl_add(t, "r1", r1, strlen(r1), err, sizeof err), 0);
    assert_int_equal(tn_tmpl_add(t, "r2", r2, strlen(r2), err, sizeof err), 0);
    assert_int_equal(tn_tmpl_add(t, "r3", r3, strlen(r3), err, sizeof err), 0);
    char *got = render(f, t, "{{ template \"y\" }}", 0, err);
    assert_string_equal(got, "two");
    free(got);
    tn_tmpl_free(t);
}

/* ---- routeLabels: template/template_test.go's cases, over explicit data ---- */

typedef struct rl_case {
    const char *title;
    const char *in;
    const char *const *route_labels; /* name, value, ..., NULL */
    bool rendered;                   /* MarkRouteLabelsRendered */
    unsigned flags;
    const char *want; /* NULL: an error containing err */
    const char *err;
} rl_case_t;

static const rl_case_t rl_cases[] = {
    {"Template using routeLabels",
     "Simple: {{ routeLabels \"rl1\" }} - Templated: {{ routeLabels \"rl2\" }} - Recursive: "
     "{{ routeLabels \"rl3\" }}",
     (const char *const[]){"rl1", "rl1", "rl2", "{{ .GroupLabels.key1 }}", "rl3",
                           "{{ routeLabels \"rl2\" }} recursive", NULL},
     false, 0, "Simple: rl1 - Templated: key1 - Recursive: key1 recursive", NULL},
    {"routeLabels unknown name renders empty", "[{{ routeLabels \"nope\" }}]",
     (const char *const[]){"rl1", "rl1", NULL}, false, 0, "[]", NULL},
    {"routeLabels direct cycle is detected, not a stack overflow", "{{ routeLabels \"rl1\" }}",
     (const char *const[]){"rl1", "{{ routeLabels \"rl2\" }}", "rl2", "{{ routeLabels \"rl1\" }}",
                           NULL},
     false, 0, NULL, "route label cycle detected: rl1 -> rl2 -> rl1"},
    {"routeLabels self cycle is detected", "{{ routeLabels \"rl1\" }}",
     (const char *const[]){"rl1", "{{ routeLabels \"rl1\" }}", NULL}, false, 0, NULL,
     "route label cycle detected: rl1 -> rl1"},
    {"routeLabels diamond reference renders once per branch", "{{ routeLabels \"top\" }}",
     (const char *const[]){"top", "{{ routeLabels \"a\" }}-{{ routeLabels \"b\" }}", "a",
                           "{{ routeLabels \"leaf\" }}", "b", "{{ routeLabels \"leaf\" }}", "leaf",
                           "{{ .GroupLabels.x }}", NULL},
     false, 0, "v-v", NULL},
    /* TestRouteLabelsRenderedNotReExecuted */
    {"rendered route labels are returned verbatim", "[{{ routeLabels \"desc\" }}]",
     (const char *const[]){"desc", "disk usage is {{ $value | humanize }}", NULL}, true, 0,
     "[disk usage is {{ $value | humanize }}]", NULL},
    /* TestRouteLabelsUnrenderedExecuted */
    {"unrendered route labels are executed", "[{{ routeLabels \"desc\" }}]",
     (const char *const[]){"desc", "{{ .GroupLabels.x }}", NULL}, false, 0, "[v]", NULL},
    /* TestTemplateData: route labels are passed through as Data.RouteLabels */
    {"Data.RouteLabels", "{{ .RouteLabels.rlabel_a }}|{{ .RouteLabels.rlabel_plain }}",
     (const char *const[]){"rlabel_a", "rvalue a", "rlabel_plain", "plain {}", NULL}, false, 0,
     "rvalue a|plain {}", NULL},
    /* An HTML render executes the label as HTML too, and escapes what it returns again, as
     * html/template does with any string a function returns. */
    {"html", "<p>{{ routeLabels \"a\" }}</p>",
     (const char *const[]){"a", "{{ .GroupLabels.lt }}", NULL}, false, TN_TMPL_HTML,
     "<p>&amp;lt;</p>", NULL},
    {"an error inside a label is the caller's", "{{ routeLabels \"a\" }}",
     (const char *const[]){"a", "{{ index .Alerts 5 }}", NULL}, false, 0, NULL,
     "error calling routeLabels"},
};

static void test_route_labels(void **state)
{
    (void)state;
    tn_label_t gl[8];
    size_t ngl = pairs((const char *const[]){"key1", "key1", "key2", "key2", "key3", "key3", "key4",
                                             "key4", "x", "v", "lt", "<", NULL},
                       gl);
    tn_labels_sort(gl, ngl);
    for (size_t i = 0; i < TN_ARRAY_LEN(rl_cases); i++) {
        const rl_case_t *tc = &rl_cases[i];
        tn_label_t rl[8];
        size_t nrl = pairs(tc->route_labels, rl);
        tn_labels_sort(rl, nrl);
        tn_tmpl_data_t d = {.group_labels = {gl, ngl},
                            .route_labels = {rl, nrl},
                            .route_labels_rendered = tc->rendered};
        tn_buf_t b;
        tn_buf_init(&b, 0);
        char err[TN_ERRBUF_SIZE] = "";
        int rc = tn_tmpl_render_data(NULL, tc->in, &d, tc->flags, &b, err, sizeof(err));
        const char *got = tn_buf_cstr(&b);
        if (tc->want && rc)
            fail_msg("%s: error %s", tc->title, err);
        if (tc->want && strcmp(got, tc->want))
            fail_msg("%s:\n got: [%s]\nwant: [%s]", tc->title, got, tc->want);
        if (!tc->want && !rc)
            fail_msg("%s: want error %s, got [%s]", tc->title, tc->err, got);
        if (!tc->want && !strstr(err, tc->err))
            fail_msg("%s: error [%s] lacks [%s]", tc->title, err, tc->err);
        tn_buf_free(&b);
        for (size_t k = 0; k < nrl; k++) {
            tn_intern_unref(rl[k].name);
            tn_intern_unref(rl[k].value);
        }
    }
    for (size_t k = 0; k < ngl; k++) {
        tn_intern_unref(gl[k].name);
        tn_intern_unref(gl[k].value);
    }
}

typedef struct rl_errs {
    char names[128];
    char last[TN_ERRBUF_SIZE];
} rl_errs_t;

static void rl_err(void *ud, const char *name, const char *value, const char *err)
{
    rl_errs_t *e = ud;
    (void)value;
    size_t len = strlen(e->names);
    snprintf(e->names + len, sizeof(e->names) - len, "%s%s", len ? "," : "", name);
    snprintf(e->last, sizeof(e->last), "%s", err);
}

/* The dispatcher's render of a group's route labels (TestRouteLabelRendererSharesResolver's
 * labels): every label against the notification, one that fails left out and reported. */
static void test_render_route_labels(void **state)
{
    fixture_t *f = *state;
    tn_label_t rl[8];
    size_t nrl =
        pairs((const char *const[]){"a", "{{ routeLabels \"leaf\" }}", "b",
                                    "{{ routeLabels \"leaf\" }}", "leaf", "{{ \"leaf\" }}", "who",
                                    "{{ .Receiver }}/{{ .Status }}/"
                                    "{{ .NotificationReason }}/{{ .GroupLabels.alertname }}",
                                    "bad", "{{ .Foo", "loop", "{{ routeLabels \"loop\" }}", NULL},
              rl);
    tn_labels_sort(rl, nrl);
    f->n.route_labels = (tn_labels_t){rl, nrl};
    tn_label_t out[8];
    rl_errs_t e = {0};
    size_t n = tn_tmpl_render_route_labels(f->t, &f->n, out, rl_err, &e);
    tn_buf_t b;
    tn_buf_init(&b, 0);
    tn_labels_format(&b, (tn_labels_t){out, n});
    assert_string_equal(tn_buf_cstr(&b), "{a=\"leaf\", b=\"leaf\", leaf=\"leaf\", "
                                         "who=\"team-X\\\\.ops/firing/unknown/DiskFull\"}");
    assert_string_equal(e.names, "bad,loop");
    assert_non_null(strstr(e.last, "route label cycle detected: loop -> loop"));
    /* A notification carries them rendered: routeLabels and .RouteLabels return them. */
    f->n.route_labels = (tn_labels_t){out, n};
    char err[TN_ERRBUF_SIZE];
    char *got = render(f, f->t, "{{ routeLabels \"a\" }} {{ .RouteLabels.who }}", 0, err);
    assert_string_equal(got, "leaf team-X\\.ops/firing/unknown/DiskFull");
    free(got);
    got = render(f, f->t, "{{ printf \"%v\" . }}", 0, err);
    assert_true(strlen(got) > 6 && !strcmp(got + strlen(got) - 6, " true}"));
    free(got);
    f->n.route_labels = (tn_labels_t){NULL, 0};
    tn_buf_free(&b);
    for (size_t k = 0; k < n; k++) {
        tn_intern_unref(out[k].name);
        tn_intern_unref(out[k].value);
    }
    for (size_t k = 0; k < nrl; k++) {
        tn_intern_unref(rl[k].name);
        tn_intern_unref(rl[k].value);
    }
}

/* ---- golden output from Alertmanager 0.25 ---- */

static const char *fixture_dir(void)
{
    static char dir[1024];
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    snprintf(dir, sizeof dir, "%.*s/fixtures/template", slash ? (int)(slash - file) : 1,
             slash ? file : ".");
    return dir;
}

static void test_golden(void **state)
{
    fixture_t *f = *state;
    char path[1200], err[TN_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/golden.tmpl", fixture_dir());
    char *globs[] = {path};
    tn_tmpl_t *t = tn_tmpl_load(globs, 1, err, sizeof err);
    if (!t)
        fail_msg("load: %s", err);
    snprintf(path, sizeof path, "%s/golden.json", fixture_dir());
    json_error_t je;
    json_t *want = json_load_file(path, 0, &je);
    assert_non_null(want);
    static const char *const keys[] = {"title", "text"};
    for (size_t i = 0; i < TN_ARRAY_LEN(keys); i++) {
        char text[128];
        snprintf(text, sizeof text, "{{ template \"golden.%s\" . }}", keys[i]);
        char *got = render(f, t, text, 0, err);
        if (!got)
            fail_msg("%s: %s", keys[i], err);
        const char *exp = json_string_value(json_object_get(want, keys[i]));
        assert_non_null(exp);
        if (strcmp(got, exp)) {
            size_t k = 0;
            while (got[k] && got[k] == exp[k])
                k++;
            fail_msg("%s differs at byte %zu:\n got: [%.80s]\nwant: [%.80s]", keys[i], k, got + k,
                     exp + k);
        }
        free(got);
    }
    json_decref(want);
    /* the file's own top-level text is a template named after the file */
    char *got = render(f, t, "{{ template \"golden.tmpl\" . }}", 0, err);
    assert_non_null(got);
    free(got);
    tn_tmpl_free(t);
    tn_tmpl_t *ok = tn_tmpl_load((char *[]){"/nonexistent/*.tmpl"}, 1, err, sizeof err);
    assert_non_null(ok); /* an empty glob match is allowed */
    tn_tmpl_free(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more, setup, teardown),
        cmocka_unit_test_setup_teardown(test_html, setup, teardown),
        cmocka_unit_test_setup_teardown(test_html_contexts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test(test_route_labels),
        cmocka_unit_test_setup_teardown(test_render_route_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
