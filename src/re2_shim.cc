// C entry points to RE2 (see re2_shim.h). No exception crosses into C: RE2 reports errors
// through ok() and error(), and allocation failure aborts as tn_xmalloc does.
#include "re2_shim.h"

#include <re2/re2.h>

#include <cstdio>
#include <cstdlib>
#include <new>

struct tn_re2 {
    RE2 re;
    tn_re2(const re2::StringPiece &p, const RE2::Options &o) : re(p, o) {}
};

// RE2 keeps a lazily built DFA per regex within max_mem; past it, it falls back to its NFA,
// still linear. A small budget keeps thousands of silences' regexes cheap.
static const int64_t kMaxMem = 1 << 20;

extern "C" tn_re2_t *tn_re2_new(const char *pattern, size_t len, char *err, size_t errlen)
{
    RE2::Options o;
    o.set_log_errors(false);
    o.set_max_mem(kMaxMem);
    // Go's syntax: Perl classes and \b, no POSIX-only longest match; "." does not match "\n".
    tn_re2 *r = new (std::nothrow) tn_re2(re2::StringPiece(pattern, len), o);
    if (!r)
        std::abort();
    if (!r->re.ok()) {
        if (err && errlen)
            std::snprintf(err, errlen, "%s", r->re.error().c_str());
        delete r;
        return nullptr;
    }
    return r;
}

extern "C" bool tn_re2_full_match(const tn_re2_t *re, const char *s, size_t len)
{
    return RE2::FullMatch(re2::StringPiece(s, len), re->re);
}

extern "C" void tn_re2_free(tn_re2_t *re)
{
    delete re;
}
