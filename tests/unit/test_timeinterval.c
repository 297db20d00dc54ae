/* Time intervals at fixed instants: every field, ranges, negative days, leap
 * years, month ends, DST in three zones, the route mute decision, and the
 * config's validation of them. */
#include "tn_test.h"

#include <stdlib.h>
#include <string.h>

#include "tocsin/config.h"
#include "tocsin/labels.h"
#include "tocsin/timefmt.h"
#include "tocsin/timeinterval.h"

static tn_time_t at(const char *s)
{
    tn_time_t t = 0;
    assert_int_equal(tn_time_parse_rfc3339(s, strlen(s), &t), TN_OK);
    return t;
}

#define CFG_HEAD "route:\n  receiver: r\nreceivers:\n- name: r\n"

static tn_config_t *load(const char *yml)
{
    char err[TN_ERRBUF_SIZE] = "";
    tn_config_t *c = tn_config_load_string("test.yml", yml, strlen(yml), err, sizeof(err));
    if (!c)
        fail_msg("config refused: %s\n%s", err, yml);
    return c;
}

/* A config with one interval "x" made of the given spec lines (YAML under "-
 * "). */
static tn_config_t *one(const char *spec)
{
    char *yml =
        tn_xasprintf(CFG_HEAD "time_intervals:\n- name: x\n  time_intervals:\n  - %s\n", spec);
    tn_config_t *c = load(yml);
    free(yml);
    assert_int_equal(c->ntime_intervals, 1);
    return c;
}

typedef struct probe {
    const char *at;
    bool in;
} probe_t;

static void check(const char *spec, const probe_t *probes, size_t n)
{
    tn_config_t *c = one(spec);
    for (size_t i = 0; i < n; i++) {
        bool got = tn_time_interval_contains(&c->time_intervals[0], at(probes[i].at));
        if (got != probes[i].in)
            fail_msg("{%s} at %s: %s, want %s", spec, probes[i].at, got ? "in" : "out",
                     probes[i].in ? "in" : "out");
    }
    tn_config_unref(c);
}

#define CHECK(spec, ...)                                                                           \
    do {                                                                                           \
        static const probe_t p_[] = {__VA_ARGS__};                                                 \
        check(spec, p_, TN_ARRAY_LEN(p_));                                                         \
    } while (0)

static void test_times(void **state)
{
    (void)state;
    CHECK("times: [{start_time: '09:00', end_time: '17:00'}]", {"2024-05-06T08:59:59Z", false},
          {"2024-05-06T09:00:00Z", true}, {"2024-05-06T16:59:59.999Z", true},
          {"2024-05-06T17:00:00Z", false});
    CHECK("times: [{start_time: '22:00', end_time: '24:00'}, {start_time: "
          "'00:00', end_time: "
          "'06:00'}]",
          {"2024-05-06T21:59:00Z", false}, {"2024-05-06T22:00:00Z", true},
          {"2024-05-06T23:59:59Z", true}, {"2024-05-07T00:00:00Z", true},
          {"2024-05-07T05:59:00Z", true}, {"2024-05-07T06:00:00Z", false});
}

static void test_weekdays(void **state)
{
    (void)state;
    /* 2024-05-06 is a Monday */
    CHECK("weekdays: ['monday:friday']", {"2024-05-05T12:00:00Z", false},
          {"2024-05-06T00:00:00Z", true}, {"2024-05-10T23:59:59Z", true},
          {"2024-05-11T00:00:00Z", false});
    CHECK("weekdays: ['Saturday', 'SUNDAY']", {"2024-05-04T12:00:00Z", true},
          {"2024-05-05T12:00:00Z", true}, {"2024-05-06T12:00:00Z", false});
    CHECK("weekdays: ['wednesday']", {"2024-05-08T12:00:00Z", true},
          {"2024-05-09T12:00:00Z", false});
}

static void test_days_of_month(void **state)
{
    (void)state;
    CHECK("days_of_month: ['1:5', '10']", {"2024-05-01T00:00:00Z", true},
          {"2024-05-05T23:59:00Z", true}, {"2024-05-06T00:00:00Z", false},
          {"2024-05-10T12:00:00Z", true}, {"2024-05-11T12:00:00Z", false});
    /* Last day of the month, whatever its length. */
    CHECK("days_of_month: ['-1']", {"2024-02-29T12:00:00Z", true}, {"2024-02-28T12:00:00Z", false},
          {"2023-02-28T12:00:00Z", true}, {"2024-04-30T12:00:00Z", true},
          {"2024-04-29T12:00:00Z", false}, {"2024-01-31T12:00:00Z", true},
          {"2024-01-30T12:00:00Z", false}, {"2024-12-31T23:59:00Z", true});
    CHECK("days_of_month: ['-3:-1']", {"2023-02-26T12:00:00Z", true},
          {"2023-02-25T12:00:00Z", false}, {"2024-02-27T12:00:00Z", true},
          {"2024-02-26T12:00:00Z", false}, {"2024-03-29T12:00:00Z", true});
    /* Positive start, negative end: the 15th to the second-last day. */
    CHECK("days_of_month: ['15:-2']", {"2024-02-14T12:00:00Z", false},
          {"2024-02-15T12:00:00Z", true}, {"2024-02-28T12:00:00Z", true},
          {"2024-02-29T12:00:00Z", false}, {"2024-03-30T12:00:00Z", true},
          {"2024-03-31T12:00:00Z", false});
    /* A range past a short month's end: clamped at the end, skipped when it
     * starts past it. */
    CHECK("days_of_month: ['25:31']", {"2023-02-28T12:00:00Z", true},
          {"2024-04-30T12:00:00Z", true}, {"2024-05-31T12:00:00Z", true},
          {"2024-05-24T12:00:00Z", false});
    CHECK("days_of_month: ['30:31']", {"2024-02-29T12:00:00Z", false},
          {"2024-03-01T12:00:00Z", false}, {"2024-03-30T12:00:00Z", true});
    CHECK("days_of_month: ['31']", {"2024-04-30T12:00:00Z", false}, {"2024-05-01T12:00:00Z", false},
          {"2024-05-31T12:00:00Z", true});
    /* -31:-29 names days 1..3 of a 31-day month and none of a 28-day February. */
    CHECK("days_of_month: ['-31:-29']", {"2024-05-01T12:00:00Z", true},
          {"2024-05-03T12:00:00Z", true}, {"2024-05-04T12:00:00Z", false},
          {"2023-02-01T12:00:00Z", false}, {"2023-02-28T12:00:00Z", false});
}

static void test_months_years(void **state)
{
    (void)state;
    CHECK("months: ['january:march', 'May', '11']", {"2024-01-01T00:00:00Z", true},
          {"2024-03-31T23:59:00Z", true}, {"2024-04-01T00:00:00Z", false},
          {"2024-05-15T00:00:00Z", true}, {"2024-11-15T00:00:00Z", true},
          {"2024-12-15T00:00:00Z", false});
    CHECK("months: ['10:december']", {"2024-09-30T23:59:00Z", false},
          {"2024-10-01T00:00:00Z", true}, {"2024-12-31T23:59:00Z", true});
    /* Accepted as Alertmanager does, and never matching. */
    CHECK("months: ['13']", {"2024-12-15T00:00:00Z", false}, {"2024-01-15T00:00:00Z", false});
    CHECK("years: ['2024:2025', '2030']", {"2023-12-31T23:59:59Z", false},
          {"2024-01-01T00:00:00Z", true}, {"2025-12-31T23:59:59Z", true},
          {"2026-01-01T00:00:00Z", false}, {"2030-06-01T00:00:00Z", true});
    /* Leap day: Feb 29th exists in 2024 and 2000, not in 2100. */
    CHECK("months: ['february']\n    days_of_month: ['29']", {"2024-02-29T00:00:00Z", true},
          {"2000-02-29T12:00:00Z", true}, {"2023-03-01T00:00:00Z", false},
          {"2100-03-01T00:00:00Z", false}, {"2024-03-29T00:00:00Z", false});
}

static void test_combined_and_specs(void **state)
{
    (void)state;
    /* All fields must hold within one spec. */
    CHECK("times: [{start_time: '09:00', end_time: '17:00'}]\n    weekdays: "
          "['monday:friday']\n"
          "    months: ['may']\n    years: ['2024']",
          {"2024-05-06T10:00:00Z", true}, {"2024-05-04T10:00:00Z", false},
          {"2024-05-06T18:00:00Z", false}, {"2024-06-03T10:00:00Z", false},
          {"2025-05-06T10:00:00Z", false});
    /* An empty spec matches every instant. */
    CHECK("{}", {"2024-05-06T10:00:00Z", true}, {"1999-01-01T00:00:00Z", true});

    /* Any spec matching is enough; an interval without specs matches nothing. */
    tn_config_t *c = load(CFG_HEAD "time_intervals:\n"
                                   "- name: weekend-or-night\n  time_intervals:\n"
                                   "  - weekdays: ['saturday', 'sunday']\n"
                                   "  - times: [{start_time: '20:00', end_time: '24:00'}]\n"
                                   "- name: never\n  time_intervals: []\n"
                                   "- name: never2\n");
    assert_int_equal(c->ntime_intervals, 3);
    const tn_time_interval_t *w = &c->time_intervals[0];
    assert_true(tn_time_interval_contains(w, at("2024-05-04T10:00:00Z")));
    assert_true(tn_time_interval_contains(w, at("2024-05-06T21:00:00Z")));
    assert_false(tn_time_interval_contains(w, at("2024-05-06T10:00:00Z")));
    assert_false(tn_time_interval_contains(&c->time_intervals[1], at("2024-05-06T10:00:00Z")));
    assert_false(tn_time_interval_contains(&c->time_intervals[2], at("2024-05-06T10:00:00Z")));
    tn_config_unref(c);
}

static void test_locations(void **state)
{
    (void)state;
    /* Berlin business hours: 09:00 local is 07:00Z in summer, 08:00Z in winter.
     */
    CHECK("times: [{start_time: '09:00', end_time: '17:00'}]\n    location: "
          "Europe/Berlin",
          {"2024-07-01T06:59:00Z", false}, {"2024-07-01T07:00:00Z", true},
          {"2024-07-01T14:59:00Z", true}, {"2024-07-01T15:00:00Z", false},
          {"2024-01-15T07:30:00Z", false}, {"2024-01-15T08:00:00Z", true},
          {"2024-01-15T15:59:00Z", true}, {"2024-01-15T16:00:00Z", false});
    /* Weekday and month are local: Friday 23:30 in New York is Saturday in UTC.
     */
    CHECK("weekdays: ['friday']\n    location: America/New_York", {"2024-05-11T03:30:00Z", true},
          {"2024-05-11T04:30:00Z", false});
    CHECK("months: ['february']\n    days_of_month: ['-1']\n    location: "
          "America/New_York",
          {"2024-03-01T04:59:00Z", true}, {"2024-03-01T05:00:00Z", false});
    /* Saturday starts at Friday 14:00Z in Sydney in winter (AEST, +10). */
    CHECK("weekdays: ['saturday', 'sunday']\n    location: Australia/Sydney",
          {"2024-07-05T13:59:00Z", false}, {"2024-07-05T14:00:00Z", true});
    /* UTC explicitly, and the empty name, are UTC. */
    CHECK("times: [{start_time: '09:00', end_time: '10:00'}]\n    location: UTC",
          {"2024-07-01T09:30:00Z", true}, {"2024-07-01T08:30:00Z", false});
    CHECK("times: [{start_time: '09:00', end_time: '10:00'}]\n    location: ''",
          {"2024-07-01T09:30:00Z", true});
    CHECK("times: [{start_time: '00:00', end_time: '01:00'}]\n    location: "
          "Asia/Kathmandu",
          {"2024-07-01T18:15:00Z", true}, {"2024-07-01T18:14:00Z", false});
}

static void test_dst(void **state)
{
    (void)state;
    /* Spring forward: 02:00-03:00 local does not exist that night. */
    CHECK("times: [{start_time: '02:00', end_time: '03:00'}]\n    days_of_month: "
          "['31']\n"
          "    months: ['march']\n    location: Europe/Berlin",
          {"2024-03-31T00:59:59Z", false}, {"2024-03-31T01:00:00Z", false},
          {"2024-03-31T01:30:00Z", false}, {"2025-03-31T00:30:00Z", true});
    CHECK("times: [{start_time: '02:00', end_time: '03:00'}]\n    days_of_month: "
          "['10']\n"
          "    months: ['march']\n    location: America/New_York",
          {"2024-03-10T06:59:59Z", false}, {"2024-03-10T07:00:00Z", false},
          {"2025-03-10T06:30:00Z", true});
    /* A 02:00-04:00 window is one hour long that night: 03:00-04:00 CEST. */
    CHECK("times: [{start_time: '02:00', end_time: '04:00'}]\n    location: "
          "Europe/Berlin",
          {"2024-03-31T00:59:59Z", false}, {"2024-03-31T01:00:00Z", true},
          {"2024-03-31T01:59:59Z", true}, {"2024-03-31T02:00:00Z", false});
    /* Fall back: 01:00-02:00 local happens twice, so the window lasts two hours.
     */
    CHECK("times: [{start_time: '01:00', end_time: '02:00'}]\n    location: "
          "America/New_York",
          {"2024-11-03T04:59:59Z", false}, {"2024-11-03T05:00:00Z", true},
          {"2024-11-03T05:59:59Z", true}, {"2024-11-03T06:00:00Z", true},
          {"2024-11-03T06:59:59Z", true}, {"2024-11-03T07:00:00Z", false});
    CHECK("times: [{start_time: '02:00', end_time: '03:00'}]\n    location: "
          "Europe/Berlin",
          {"2024-10-27T00:00:00Z", true}, {"2024-10-27T00:59:59Z", true},
          {"2024-10-27T01:00:00Z", true}, {"2024-10-27T01:59:59Z", true},
          {"2024-10-27T02:00:00Z", false});
    /* Sydney: DST starts 2024-10-06 02:00 (no 02:xx), ends 2024-04-07 03:00
     * (02:xx twice). */
    CHECK("times: [{start_time: '02:00', end_time: '03:00'}]\n    location: "
          "Australia/Sydney",
          {"2024-10-05T15:59:59Z", false}, {"2024-10-05T16:00:00Z", false},
          {"2024-04-06T15:00:00Z", true}, {"2024-04-06T16:00:00Z", true},
          {"2024-04-06T16:59:59Z", true}, {"2024-04-06T17:00:00Z", false});
    /* Local midnight moves with DST: Monday begins at 22:00Z in summer, 23:00Z in
     * winter. */
    CHECK("weekdays: ['monday']\n    location: Europe/Berlin", {"2024-07-07T21:59:00Z", false},
          {"2024-07-07T22:00:00Z", true}, {"2024-01-07T22:30:00Z", false},
          {"2024-01-07T23:00:00Z", true});
}

/* ---- routes ---- */

static const char *const route_cfg =
    "route:\n  receiver: r\n  routes:\n"
    "  - receiver: r\n    matchers: ['a=\"mute\"']\n    mute_time_intervals: "
    "[night]\n"
    "    routes:\n    - receiver: r\n      matchers: ['b=\"child\"']\n"
    "  - receiver: r\n    matchers: ['a=\"active\"']\n    "
    "active_time_intervals: [business]\n"
    "  - receiver: r\n    matchers: ['a=\"both\"']\n"
    "    active_time_intervals: [business]\n    mute_time_intervals: [lunch, "
    "night]\n"
    "  - receiver: r\n    matchers: ['a=\"two\"']\n"
    "    active_time_intervals: [business, weekend]\n"
    "receivers:\n- name: r\n"
    "mute_time_intervals:\n- name: night\n  time_intervals:\n"
    "  - times: [{start_time: '00:00', end_time: '07:00'}]\n"
    "time_intervals:\n- name: business\n  time_intervals:\n"
    "  - times: [{start_time: '09:00', end_time: '17:00'}]\n    weekdays: "
    "['monday:friday']\n"
    "- name: lunch\n  time_intervals:\n  - times: [{start_time: '12:00', "
    "end_time: '13:00'}]\n"
    "- name: weekend\n  time_intervals:\n  - weekdays: [saturday, sunday]\n";

static void expect_muted(const tn_config_t *c, const tn_route_t *r, const char *when,
                         const char *by)
{
    const char *name = "unset";
    bool muted = tn_route_time_muted(c, r, at(when), &name);
    if (muted != (by != NULL))
        fail_msg("route %s at %s: muted=%d", r->id, when, muted);
    if (by)
        assert_string_equal(name, by);
    else
        assert_null(name);
    assert_int_equal(tn_route_time_muted(c, r, at(when), NULL), muted);
}

static void test_route_muted(void **state)
{
    (void)state;
    tn_config_t *c = load(route_cfg);
    const tn_route_t *root = c->route, *mute = root->children[0], *child = mute->children[0],
                     *active = root->children[1], *both = root->children[2],
                     *two = root->children[3];

    /* Names resolve to the config's intervals. */
    assert_ptr_equal(mute->mute_tis[0], &c->time_intervals[0]);
    assert_string_equal(both->mute_tis[1]->name, "night");

    /* 2024-05-06 is a Monday. */
    expect_muted(c, root, "2024-05-06T03:00:00Z", NULL);
    expect_muted(c, mute, "2024-05-06T03:00:00Z", "night");
    expect_muted(c, mute, "2024-05-06T07:00:00Z", NULL);
    /* Not inherited: the child route sends at night. */
    assert_int_equal(child->nmute_time_intervals, 0);
    expect_muted(c, child, "2024-05-06T03:00:00Z", NULL);

    expect_muted(c, active, "2024-05-06T08:59:00Z", "business");
    expect_muted(c, active, "2024-05-06T09:00:00Z", NULL);
    expect_muted(c, active, "2024-05-06T17:00:00Z", "business");
    expect_muted(c, active, "2024-05-04T10:00:00Z", "business");

    /* Active first; then a mute interval inside the active one. */
    expect_muted(c, both, "2024-05-06T10:00:00Z", NULL);
    expect_muted(c, both, "2024-05-06T12:30:00Z", "lunch");
    expect_muted(c, both, "2024-05-06T03:00:00Z", "business");

    /* Several active intervals: inside any is enough. */
    expect_muted(c, two, "2024-05-04T03:00:00Z", NULL);
    expect_muted(c, two, "2024-05-06T10:00:00Z", NULL);
    expect_muted(c, two, "2024-05-06T20:00:00Z", "business");

    /* Without a route, or without the config's pointers (names alone), the answer
     * holds. */
    assert_false(tn_route_time_muted(c, NULL, at("2024-05-06T03:00:00Z"), NULL));
    tn_route_t copy = *mute;
    copy.mute_tis = NULL;
    expect_muted(c, &copy, "2024-05-06T03:00:00Z", "night");
    tn_config_unref(c);
}

/* ---- config validation ---- */

static void expect_error(const char *yml, const char *want)
{
    char err[TN_ERRBUF_SIZE] = "";
    tn_config_t *c = tn_config_load_string("test.yml", yml, strlen(yml), err, sizeof(err));
    if (c) {
        tn_config_unref(c);
        fail_msg("accepted, want error \"%s\":\n%s", want, yml);
    }
    if (!strstr(err, want))
        fail_msg("error \"%s\", want \"%s\"", err, want);
}

static void expect_spec_error(const char *spec, const char *want)
{
    char *yml =
        tn_xasprintf(CFG_HEAD "time_intervals:\n- name: x\n  time_intervals:\n  - %s\n", spec);
    expect_error(yml, want);
    free(yml);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *err;
    } cases[] = {
        {"times: [{start_time: '9:00', end_time: '10:00'}]",
         "couldn't parse timestamp 9:00, invalid format"},
        {"times: [{start_time: '09:00', end_time: '24:01'}]", "couldn't parse timestamp 24:01"},
        {"times: [{start_time: '10:00', end_time: '10:00'}]",
         "start time cannot be equal or greater than end time"},
        {"times: [{start_time: '10:00'}]", "both start and end times must be provided"},
        {"times: [{start_time: '10:00', end_time: '11:00', zone: x}]", "unknown field \"zone\""},
        {"weekdays: ['1']", "1 is not a valid weekday"},
        {"weekdays: ['friday:monday']", "start day cannot be before end day"},
        {"weekdays: ['saturday:sunday']", "start day cannot be before end day"},
        {"weekdays: ['mon']", "mon is not a valid weekday"},
        {"weekdays: ['monday:tuesday:friday']", "couldn't parse range"},
        {"days_of_month: ['0']", "0 is not a valid day of the month: out of range"},
        {"days_of_month: ['32']", "32 is not a valid day of the month: out of range"},
        {"days_of_month: ['-32:-1']", "-32 is not a valid day of the month: out of range"},
        {"days_of_month: ['-1:5']", "end day must be negative if start day is negative"},
        {"days_of_month: ['10:5']", "end day 5 is always before start day 10"},
        {"days_of_month: ['-1:-3']", "end day -3 is always before start day -1"},
        {"days_of_month: ['first']", "strconv.Atoi: parsing \"first\": invalid syntax"},
        {"months: ['May: june']", " june is not a valid month"},
        {"months: ['march:january']", "end month january is before start month march"},
        {"months: ['13:2']", "end month february is before start month "},
        {"years: ['2025:2024']", "end year 2024 is before start year 2025"},
        {"years: [' 2024']", "strconv.Atoi: parsing \" 2024\": invalid syntax"},
        {"location: Nowhere/Atlantis", "unknown time zone Nowhere/Atlantis"},
        {"location: europe/berlin", "unknown time zone europe/berlin"},
        {"location: ../../../etc/passwd", "../../../etc/passwd"},
        {"hours: ['1']", "unknown field \"hours\""},
        /* an error after a zone was loaded frees it */
        {"location: Europe/Berlin\n    weekdays: ['x']", "x is not a valid weekday"},
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++)
        expect_spec_error(cases[i].spec, cases[i].err);

    expect_error("route:\n  receiver: r\n  routes:\n  - receiver: r\n    "
                 "matchers: ['a=\"b\"']\n"
                 "    mute_time_intervals: [nope]\nreceivers:\n- name: r\n",
                 "undefined time interval \"nope\" used in route {}/{a=\"b\"}/0");
    expect_error("route:\n  receiver: r\n  routes:\n  - receiver: r\n"
                 "    active_time_intervals: [x, nope]\nreceivers:\n- name: r\n"
                 "time_intervals:\n- name: x\n",
                 "undefined time interval \"nope\" used in route");
    expect_error("route:\n  receiver: r\n  mute_time_intervals: "
                 "[x]\nreceivers:\n- name: r\n"
                 "time_intervals:\n- name: x\n",
                 "root route must not have any mute time intervals");
    expect_error("route:\n  receiver: r\n  active_time_intervals: "
                 "[x]\nreceivers:\n- name: r\n"
                 "time_intervals:\n- name: x\n",
                 "root route must not have any active time intervals");
    expect_error(CFG_HEAD "mute_time_intervals:\n- name: x\ntime_intervals:\n- name: x\n",
                 "time interval \"x\" is not unique");
    expect_error(CFG_HEAD "mute_time_intervals:\n- name: x\n- name: x\n",
                 "mute time interval \"x\" is not unique");
    expect_error(CFG_HEAD "time_intervals:\n- time_intervals: []\n", "missing name");
}

static void test_config_accepts(void **state)
{
    (void)state;
    /* What Alertmanager accepts, tocsin accepts. */
    const char *ok[] = {
        "months: ['13']",
        "months: ['0:3']",
        "years: ['-5']",
        "years: ['+2024']",
        "weekdays: ['Monday:FRIDAY']",
        "days_of_month: ['1:-1']",
        "location: Local",
        "location: ''",
        "location: Etc/GMT+5",
        "location: EST5EDT",
        "days_of_month: [1, '-7:-1']",
        "times: [{start_time: '00:00', end_time: '24:00'}]",
        "years: [2024]",
    };
    for (size_t i = 0; i < TN_ARRAY_LEN(ok); i++)
        tn_config_unref(one(ok[i]));
    tn_config_t *c = one("location: Europe/Berlin");
    assert_string_equal(c->time_intervals[0].specs[0].location, "Europe/Berlin");
    assert_string_equal(tn_tz_name(c->time_intervals[0].specs[0].tz), "Europe/Berlin");
    tn_config_unref(c);
    c = one("weekdays: [monday]");
    assert_null(c->time_intervals[0].specs[0].tz);
    tn_config_unref(c);
    /* A zone is read once per config: specs naming it share it. */
    c = load(CFG_HEAD "time_intervals:\n- name: a\n  time_intervals:\n"
                      "  - location: Europe/Berlin\n  - location: Europe/Berlin\n"
                      "- name: b\n  time_intervals:\n  - location: Europe/Berlin\n"
                      "  - location: America/New_York\n");
    assert_ptr_equal(c->time_intervals[0].specs[0].tz, c->time_intervals[0].specs[1].tz);
    assert_ptr_equal(c->time_intervals[0].specs[0].tz, c->time_intervals[1].specs[0].tz);
    assert_ptr_not_equal(c->time_intervals[1].specs[0].tz, c->time_intervals[1].specs[1].tz);
    tn_config_unref(c);
}

/* ---- config/examples/business-hours.yml ---- */

static tn_config_t *load_example(void)
{
    const char *data = getenv("TN_TEST_DATA");
    char err[TN_ERRBUF_SIZE] = "";
    char *path =
        tn_xasprintf("%s/../../config/examples/business-hours.yml", data ? data : "tests/data");
    tn_config_t *c = tn_config_load_file(path, err, sizeof(err));
    free(path);
    if (!c)
        fail_msg("example refused: %s", err);
    return c;
}

/* The receivers that get a notification for these labels at t, comma-separated. */
static void receivers_at(const tn_config_t *c, const char *category, const char *severity,
                         tn_time_t t, char *out, size_t outlen)
{
    tn_label_t pairs[3];
    size_t np = 0;
    const tn_route_t *routes[8];

    pairs[np++] = (tn_label_t){tn_intern_cstr("alertname"), tn_intern_cstr("X")};
    if (category)
        pairs[np++] = (tn_label_t){tn_intern_cstr("category"), tn_intern_cstr(category)};
    if (severity)
        pairs[np++] = (tn_label_t){tn_intern_cstr("severity"), tn_intern_cstr(severity)};
    assert_int_equal(tn_labels_sort(pairs, np), TN_OK);
    size_t n = tn_route_match(c->route, (tn_labels_t){pairs, np}, routes, 8);
    assert_true(n <= 8);
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (tn_route_time_muted(c, routes[i], t, NULL))
            continue;
        size_t len = strlen(out);
        snprintf(out + len, outlen - len, "%s%s", len ? "," : "", routes[i]->receiver->name);
    }
    for (size_t i = 0; i < np; i++) {
        tn_intern_unref(pairs[i].name);
        tn_intern_unref(pairs[i].value);
    }
}

static void test_business_hours_example(void **state)
{
    (void)state;
    static const struct {
        const char *at, *category, *severity, *want;
    } cases[] = {
        /* Monday 2024-05-06, 10:00 in Berlin (CEST) */
        {"2024-05-06T08:00:00Z", "database", "critical", "chat-database"},
        {"2024-05-06T08:00:00Z", "database", "warning", "chat-database"},
        {"2024-05-06T08:00:00Z", "network", "critical", "oncall-pager"},
        {"2024-05-06T08:00:00Z", "network", "warning", "chat-general"},
        {"2024-05-06T08:00:00Z", NULL, NULL, "chat-general"},
        /* the same Monday, 08:59 and 17:00 local */
        {"2024-05-06T06:59:00Z", "database", "critical", "oncall-pager"},
        {"2024-05-06T07:00:00Z", "database", "critical", "chat-database"},
        {"2024-05-06T14:59:00Z", "database", "critical", "chat-database"},
        {"2024-05-06T15:00:00Z", "database", "critical", "oncall-pager"},
        {"2024-05-06T15:00:00Z", "database", "warning", ""},
        /* winter (CET): 09:30 local is 08:30Z */
        {"2024-01-08T08:30:00Z", "database", "critical", "chat-database"},
        {"2024-01-08T07:30:00Z", "database", "critical", "oncall-pager"},
        /* Saturday */
        {"2024-05-04T08:00:00Z", "database", "critical", "oncall-pager"},
        {"2024-05-04T08:00:00Z", "database", "warning", ""},
        /* Christmas Day, a Wednesday, 10:00 local */
        {"2024-12-25T09:00:00Z", "database", "critical", "oncall-pager"},
        {"2024-12-25T09:00:00Z", "database", "warning", ""},
        {"2024-12-27T09:00:00Z", "database", "critical", "chat-database"},
        /* Sunday 02:30 local: the maintenance window mutes other critical alerts only */
        {"2024-05-05T00:30:00Z", "network", "critical", ""},
        {"2024-05-05T00:30:00Z", "database", "critical", "oncall-pager"},
        {"2024-05-05T02:00:00Z", "network", "critical", "oncall-pager"},
    };
    char got[256];
    tn_config_t *c = load_example();
    for (size_t i = 0; i < TN_ARRAY_LEN(cases); i++) {
        receivers_at(c, cases[i].category, cases[i].severity, at(cases[i].at), got, sizeof(got));
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s %s/%s: \"%s\", want \"%s\"", cases[i].at,
                     cases[i].category ? cases[i].category : "-",
                     cases[i].severity ? cases[i].severity : "-", got, cases[i].want);
    }
    /* Across a whole year, DST changes included, a critical database alert reaches exactly one
     * receiver at every moment: chat and pager never both, never neither. */
    for (tn_time_t t = at("2024-01-01T00:00:00Z"); t < at("2025-01-01T00:00:00Z");
         t += 7 * 60 * TN_NS_PER_SEC) {
        receivers_at(c, "database", "critical", t, got, sizeof(got));
        if (strcmp(got, "chat-database") != 0 && strcmp(got, "oncall-pager") != 0)
            fail_msg("at %lld: \"%s\"", (long long)(t / TN_NS_PER_SEC), got);
    }
    tn_config_unref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_weekdays),
        cmocka_unit_test(test_days_of_month),
        cmocka_unit_test(test_months_years),
        cmocka_unit_test(test_combined_and_specs),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_dst),
        cmocka_unit_test(test_route_muted),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_accepts),
        cmocka_unit_test(test_business_hours_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
