/* Matcher lists: parse; what parses prints in Alertmanager's form, which parses again to
 * the same form. Invalid UTF-8 is exempt from the round trip: the form writes bytes as they
 * are (as Alertmanager does) and parsing reads them as U+FFFD; so is an empty quoted name,
 * which both parse and both print bare (="v"), a form neither parses. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tocsin/config.h"
#include "tocsin/labels.h"

static bool has_empty_name(const tn_matchers_t *ms)
{
    for (size_t i = 0; i < ms->n; i++)
        if (!ms->v[i].name[0])
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    char err[512];
    tn_matchers_t ms = {0};
    if (tn_matchers_parse(s, &ms, err, sizeof(err)) == TN_OK && ms.n > 0 &&
        tn_utf8_valid(s, strlen(s)) && !has_empty_name(&ms)) {
        tn_buf_t a, b;
        tn_buf_init(&a, 0);
        tn_buf_init(&b, 0);
        tn_matchers_format(&a, &ms);
        tn_matchers_t again = {0};
        if (tn_matchers_parse(tn_buf_cstr(&a), &again, err, sizeof(err)) != TN_OK)
            abort();
        tn_matchers_format(&b, &again);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            abort();
        tn_matchers_free(&again);
        tn_buf_free(&a);
        tn_buf_free(&b);
    }
    tn_matchers_free(&ms);
    free(s);
    return 0;
}
