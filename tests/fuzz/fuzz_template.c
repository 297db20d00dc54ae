/* Template text: parsed as a template file (with tocsin's defaults loaded, so {{template}}
 * calls resolve), then rendered as inline text against a fixed two-alert notification, in
 * plain and HTML mode. The render caps bound the work. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tocsin/notification.h"
#include "tocsin/template.h"

static tn_tmpl_t *base;
static tn_alert_t *alerts[2];
static tn_notif_alert_t nalerts[2];
static tn_label_t group[1];

static tn_alert_t *mk(const char *name, const char *inst, bool resolved)
{
    tn_label_t l[] = {{tn_intern_cstr("alertname"), tn_intern_cstr(name)},
                      {tn_intern_cstr("instance"), tn_intern_cstr(inst)}};
    tn_label_t an[] = {{tn_intern_cstr("summary"), tn_intern_cstr("disk <full> & \"x\"")}};
    tn_alert_t *a = tn_alert_new(l, 2, an, 1, tn_intern_cstr("http://prom/graph?g0.expr=up"));
    a->starts_at = (tn_time_t)1700000000 * TN_NS_PER_SEC;
    a->ends_at = resolved ? a->starts_at + 60 * TN_NS_PER_SEC : 0;
    return a;
}

static void setup(void)
{
    if (base)
        return;
    char err[512];
    base = tn_tmpl_load(NULL, 0, err, sizeof(err));
    if (!base)
        abort();
    alerts[0] = mk("DiskFull", "a:9100", false);
    alerts[1] = mk("DiskFull", "b:9100", true);
    nalerts[0] = (tn_notif_alert_t){alerts[0], false};
    nalerts[1] = (tn_notif_alert_t){alerts[1], true};
    group[0] = (tn_label_t){tn_intern_cstr("alertname"), tn_intern_cstr("DiskFull")};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    tn_notification_t n = {
        .receiver = "team-x",
        .group_key = "{}:{alertname=\"DiskFull\"}",
        .group_labels = {group, 1},
        .alerts = nalerts,
        .nalerts = 2,
        .nfiring = 1,
        .external_url = "http://tocsin:9093",
        .now = (tn_time_t)1700000100 * TN_NS_PER_SEC,
    };
    char err[512];
    tn_buf_t out;
    tn_buf_init(&out, 0);
    /* As a template file added to a copy of the defaults' names, then as inline text. */
    tn_tmpl_t *t = tn_tmpl_new();
    if (tn_tmpl_add(t, "fuzz.tmpl", text, size, err, sizeof(err)) == 0)
        tn_tmpl_render(t, "{{ template \"x\" . }}", &n, 0, &out, err, sizeof(err));
    tn_tmpl_free(t);
    tn_buf_free(&out);
    tn_buf_init(&out, 0);
    tn_tmpl_render(base, text, &n, 0, &out, err, sizeof(err));
    tn_buf_free(&out);
    tn_buf_init(&out, 0);
    tn_tmpl_render(base, text, &n, TN_TMPL_HTML, &out, err, sizeof(err));
    tn_buf_free(&out);
    free(text);
    return 0;
}
