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

// Go's regexp/syntax names for RE2's error codes: the two libraries share their parser's
// design, so the fragment RE2 reports is the expression Go quotes.
static const char *go_error_text(RE2::ErrorCode c)
{
    switch (c) {
    case RE2::ErrorBadEscape:
        return "invalid escape sequence";
    case RE2::ErrorBadCharClass:
        return "invalid character class";
    case RE2::ErrorBadCharRange:
        return "invalid character class range";
    case RE2::ErrorMissingBracket:
        return "missing closing ]";
    case RE2::ErrorMissingParen:
        return "missing closing )";
    case RE2::ErrorUnexpectedParen:
        return "unexpected )";
    case RE2::ErrorTrailingBackslash:
        return "trailing backslash at end of expression";
    case RE2::ErrorRepeatArgument:
        return "missing argument to repetition operator";
    case RE2::ErrorRepeatSize:
        return "invalid repeat count";
    case RE2::ErrorRepeatOp:
        return "invalid nested repetition operator";
    case RE2::ErrorBadPerlOp:
        return "invalid or unsupported Perl syntax";
    case RE2::ErrorBadUTF8:
        return "invalid UTF-8";
    case RE2::ErrorBadNamedCapture:
        return "invalid named capture";
    case RE2::ErrorPatternTooLarge:
        return "expression too large";
    default:
        return "regexp/syntax: internal error";
    }
}

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
            std::snprintf(err, errlen, "error parsing regexp: %s: `%s`",
                          go_error_text(r->re.error_code()), r->re.error_arg().c_str());
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
