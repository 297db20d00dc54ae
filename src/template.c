/* Template engine: stub until the engine lands. */
#include "tocsin/template.h"

#include <stdlib.h>

struct tn_tmpl {
    int unused;
};

tn_tmpl_t *tn_tmpl_new(void)
{
    return tn_xcalloc(1, sizeof(tn_tmpl_t));
}

int tn_tmpl_add(tn_tmpl_t *t, const char *name, const char *text, size_t len, char *err,
                size_t errlen)
{
    TN_UNUSED(t);
    TN_UNUSED(name);
    TN_UNUSED(text);
    TN_UNUSED(len);
    TN_UNUSED(err);
    TN_UNUSED(errlen);
    return TN_OK;
}

tn_tmpl_t *tn_tmpl_load(char *const *globs, size_t nglobs, char *err, size_t errlen)
{
    TN_UNUSED(globs);
    TN_UNUSED(nglobs);
    TN_UNUSED(err);
    TN_UNUSED(errlen);
    return tn_tmpl_new();
}

void tn_tmpl_free(tn_tmpl_t *t)
{
    free(t);
}

int tn_tmpl_render(const tn_tmpl_t *t, const char *text, const struct tn_notification *n,
                   unsigned flags, tn_buf_t *out, char *err, size_t errlen)
{
    TN_UNUSED(t);
    TN_UNUSED(n);
    TN_UNUSED(flags);
    TN_UNUSED(err);
    TN_UNUSED(errlen);
    return tn_buf_puts(out, text);
}
