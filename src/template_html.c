/* Template engine, part 4: html/template's contextual escaping for email `html` bodies.
 *
 * Go escapes a template statically: it walks the template text through an HTML/JS/CSS state
 * machine and appends escaping functions to each action for the context it lands in. tocsin
 * runs the same state machine as the template executes, over the same template text (values
 * never move the context), so each action gets the escapers Go would give it: HTML text and
 * RCDATA, attribute values (quoted or not), URLs (filtered and normalised or escaped by URL
 * part), srcset, <script> and on* handlers (JS values, strings, template literals, regexps),
 * <style> and style attributes (CSS values, strings, url()), comments (dropped).
 *
 * The context is a fixed-size value (the JS template-literal brace stack is capped), so the
 * tracker never allocates in proportion to the input; scratch buffers are bounded by a text
 * node or a value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "template_internal.h"

enum {
    S_TEXT,
    S_TAG,
    S_ATTRNAME,
    S_AFTERNAME,
    S_BEFOREVALUE,
    S_HTMLCMT,
    S_RCDATA,
    S_ATTR,
    S_URL,
    S_SRCSET,
    S_JS,
    S_JSDQSTR,
    S_JSSQSTR,
    S_JSTMPLLIT,
    S_JSREGEXP,
    S_JSBLOCKCMT,
    S_JSLINECMT,
    S_JSHTMLOPENCMT,
    S_JSHTMLCLOSECMT,
    S_CSS,
    S_CSSDQSTR,
    S_CSSSQSTR,
    S_CSSDQURL,
    S_CSSSQURL,
    S_CSSURL,
    S_CSSBLOCKCMT,
    S_CSSLINECMT,
    S_METACONTENT,
    S_METACONTENTURL,
    S_ERROR,
};
static const char *const state_names[] = {"stateText",
                                          "stateTag",
                                          "stateAttrName",
                                          "stateAfterName",
                                          "stateBeforeValue",
                                          "stateHTMLCmt",
                                          "stateRCDATA",
                                          "stateAttr",
                                          "stateURL",
                                          "stateSrcset",
                                          "stateJS",
                                          "stateJSDqStr",
                                          "stateJSSqStr",
                                          "stateJSTmplLit",
                                          "stateJSRegexp",
                                          "stateJSBlockCmt",
                                          "stateJSLineCmt",
                                          "stateJSHTMLOpenCmt",
                                          "stateJSHTMLCloseCmt",
                                          "stateCSS",
                                          "stateCSSDqStr",
                                          "stateCSSSqStr",
                                          "stateCSSDqURL",
                                          "stateCSSSqURL",
                                          "stateCSSURL",
                                          "stateCSSBlockCmt",
                                          "stateCSSLineCmt",
                                          "stateMetaContent",
                                          "stateMetaContentURL",
                                          "stateError"};

enum { D_NONE, D_DQ, D_SQ, D_SPACE };
static const char *const delim_names[] = {"delimNone", "delimDoubleQuote", "delimSingleQuote",
                                          "delimSpaceOrTagEnd"};
enum { U_NONE, U_PREQUERY, U_QUERY };
static const char *const url_names[] = {"urlPartNone", "urlPartPreQuery", "urlPartQueryOrFrag"};
enum { J_REGEXP, J_DIVOP };
static const char *const js_names[] = {"jsCtxRegexp", "jsCtxDivOp"};
enum { A_NONE, A_SCRIPT, A_SCRIPTTYPE, A_STYLE, A_URL, A_SRCSET, A_METACONTENT };
static const char *const attr_names[] = {"attrNone", "attrScript", "attrScriptType", "attrStyle",
                                         "attrURL",  "attrSrcset", "attrMetaContent"};
enum { E_NONE, E_SCRIPT, E_STYLE, E_TEXTAREA, E_TITLE, E_META };
static const char *const element_names[] = {"elementNone",     "elementScript", "elementStyle",
                                            "elementTextarea", "elementTitle",  "elementMeta"};

typedef tt_hctx_t hc_t;

#define FAILSAFE "ZgotmplZ"

/* ---- helpers ---- */

static size_t index_any(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] && strchr(set, s[i]))
            return i;
    return n;
}

static size_t index_of(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(s + i, needle, k))
            return i;
    return n;
}

static bool is_comment(int st)
{
    return st == S_HTMLCMT || st == S_JSBLOCKCMT || st == S_JSLINECMT || st == S_JSHTMLOPENCMT ||
           st == S_JSHTMLCLOSECMT || st == S_CSSBLOCKCMT || st == S_CSSLINECMT;
}

static bool in_tag(int st)
{
    return st == S_TAG || st == S_ATTRNAME || st == S_AFTERNAME || st == S_BEFOREVALUE ||
           st == S_ATTR;
}

static bool in_script_literal(int st)
{
    return st == S_JSDQSTR || st == S_JSSQSTR || st == S_JSTMPLLIT || st == S_JSREGEXP;
}

static bool alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool alnum(char c)
{
    return alpha(c) || (c >= '0' && c <= '9');
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static size_t eat_space(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\f' || s[i] == '\r'))
        i++;
    return i;
}

/* Go's %.32q of s: the first 32 runes, quoted. */
static void quote32(tn_buf_t *b, const char *s, size_t n)
{
    size_t k = 0, runes = 0;
    while (k < n && runes < 32) {
        k++;
        while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
            k++;
        runes++;
    }
    tn_go_quote(b, s, k);
}

static size_t set_error(hc_t *c, char *err, size_t errlen, size_t n, const char *fmt, const char *a,
                        size_t an, const char *b, size_t bn, bool b32)
{
    tn_buf_t m;
    tn_buf_init(&m, 0);
    for (const char *p = fmt; *p; p++) {
        if (*p == '%' && (p[1] == 'A' || p[1] == 'B')) {
            if (p[1] == 'A')
                tn_go_quote(&m, a, an);
            else if (b32)
                quote32(&m, b, bn);
            else
                tn_go_quote(&m, b, bn);
            p++;
        } else {
            tn_buf_putc(&m, *p);
        }
    }
    snprintf(err, errlen, "%s", tn_buf_cstr(&m));
    tn_buf_free(&m);
    *c = (hc_t){.state = S_ERROR};
    return n;
}
#define ERRLEN 256

/* attrType: how an attribute's value is read (html/template's attrTypeMap and heuristics). */
enum { CT_PLAIN, CT_CSS, CT_HTML, CT_JS, CT_URL, CT_SRCSET, CT_UNSAFE };
static int attr_type(const char *name)
{
    static const char *const url[] = {"action",   "archive",  "background", "cite",    "classid",
                                      "codebase", "data",     "formaction", "href",    "icon",
                                      "longdesc", "manifest", "poster",     "profile", "src",
                                      "usemap",   "xmlns",    NULL};
    static const char *const unsafe[] = {
        "accept-charset", "async",          "challenge",  "charset", "content",
        "crossorigin",    "defer",          "enctype",    "form",    "formenctype",
        "formmethod",     "formnovalidate", "http-equiv", "keytype", "language",
        "method",         "novalidate",     "pattern",    "rel",     "sandbox",
        "type",           "value",          NULL};
    /* listed as plain though a heuristic below would say otherwise */
    static const char *const plain[] = {"srclang", NULL};
    if (!strncmp(name, "data-", 5)) {
        name += 5;
    } else {
        const char *colon = strchr(name, ':');
        if (colon) {
            if (colon - name == 5 && !strncmp(name, "xmlns", 5))
                return CT_URL;
            name = colon + 1;
        }
    }
    for (size_t i = 0; url[i]; i++)
        if (!strcmp(name, url[i]))
            return CT_URL;
    for (size_t i = 0; unsafe[i]; i++)
        if (!strcmp(name, unsafe[i]))
            return CT_UNSAFE;
    for (size_t i = 0; plain[i]; i++)
        if (!strcmp(name, plain[i]))
            return CT_PLAIN;
    if (!strcmp(name, "style"))
        return CT_CSS;
    if (!strcmp(name, "srcset"))
        return CT_SRCSET;
    if (!strcmp(name, "srcdoc"))
        return CT_HTML;
    if (!strncmp(name, "on", 2))
        return CT_JS;
    if (strstr(name, "src") || strstr(name, "uri") || strstr(name, "url"))
        return CT_URL;
    return CT_PLAIN;
}

static bool js_ident_part(unsigned char c)
{
    return c == '$' || c == '_' || alnum((char)c);
}

/* nextJSCtx: whether a '/' after s starts a regexp or a division. */
static uint8_t next_js_ctx(const char *s, size_t n, uint8_t preceding)
{
    /* trim JS white space: ASCII, NBSP, and the U+1680 / U+2000.. / U+3000 / U+FEFF forms */
    for (;;) {
        if (n > 0 && strchr("\f\n\r\t\v ", s[n - 1]) && s[n - 1]) {
            n--;
        } else if (n >= 2 && (unsigned char)s[n - 2] == 0xC2 && (unsigned char)s[n - 1] == 0xA0) {
            n -= 2;
        } else if (n >= 3) {
            const unsigned char *u = (const unsigned char *)s + n - 3;
            uint32_t r =
                ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
            bool three = (u[0] & 0xF0) == 0xE0 && (u[1] & 0xC0) == 0x80 && (u[2] & 0xC0) == 0x80;
            if (three && (r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 ||
                          r == 0x2029 || r == 0x202F || r == 0x205F || r == 0x3000 || r == 0xFEFF))
                n -= 3;
            else
                break;
        } else {
            break;
        }
    }
    if (n == 0)
        return preceding;
    char c = s[n - 1];
    switch (c) {
    case '+':
    case '-': {
        size_t start = n - 1;
        while (start > 0 && s[start - 1] == c)
            start--;
        return ((n - start) & 1) ? J_REGEXP : J_DIVOP;
    }
    case '.':
        return n != 1 && s[n - 2] >= '0' && s[n - 2] <= '9' ? J_DIVOP : J_REGEXP;
    case ',':
    case '<':
    case '>':
    case '=':
    case '*':
    case '%':
    case '&':
    case '|':
    case '^':
    case '?':
    case '!':
    case '~':
    case '(':
    case '[':
    case ':':
    case ';':
    case '{':
    case '}':
        return J_REGEXP;
    default: {
        static const char *const kw[] = {"break", "case",    "continue", "delete",     "do",
                                         "else",  "finally", "in",       "instanceof", "return",
                                         "throw", "try",     "typeof",   "void",       NULL};
        size_t j = n;
        while (j > 0 && js_ident_part((unsigned char)s[j - 1]))
            j--;
        for (size_t i = 0; kw[i]; i++)
            if (strlen(kw[i]) == n - j && !memcmp(s + j, kw[i], n - j))
                return J_REGEXP;
        return J_DIVOP;
    }
    }
}

static bool is_js_type(const char *s, size_t n)
{
    static const char *const types[] = {"application/ecmascript",
                                        "application/javascript",
                                        "application/json",
                                        "application/ld+json",
                                        "application/x-ecmascript",
                                        "application/x-javascript",
                                        "module",
                                        "text/ecmascript",
                                        "text/javascript",
                                        "text/javascript1.0",
                                        "text/javascript1.1",
                                        "text/javascript1.2",
                                        "text/javascript1.3",
                                        "text/javascript1.4",
                                        "text/javascript1.5",
                                        "text/jscript",
                                        "text/livescript",
                                        "text/x-ecmascript",
                                        "text/x-javascript",
                                        NULL};
    size_t k = index_any(s, n, ";");
    while (k > 0 && strchr(" \t\n\v\f\r", s[k - 1]) && s[k - 1])
        k--;
    size_t b = 0;
    while (b < k && strchr(" \t\n\v\f\r", s[b]) && s[b])
        b++;
    for (size_t i = 0; types[i]; i++)
        if (strlen(types[i]) == k - b && !strncasecmp(s + b, types[i], k - b))
            return true;
    return false;
}

/* decodeCSS: CSS escapes (\hex and \char) decoded, into b. */
static void decode_css(tn_buf_t *b, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] != '\\') {
            tn_buf_putc(b, s[i++]);
            continue;
        }
        if (n - i < 2)
            break;
        if (is_hex(s[i + 1])) {
            size_t j = i + 2;
            while (j < n && j < i + 7 && is_hex(s[j]))
                j++;
            uint32_t r = 0;
            for (size_t k = i + 1; k < j; k++)
                r = r * 16 + (uint32_t)tn_hexval(s[k]);
            if (r > 0x10FFFF)
                r /= 16, j--;
            tn_utf8_put(b, r);
            i = j;
            if (i < n && (s[i] == '\t' || s[i] == '\n' || s[i] == '\f' || s[i] == ' '))
                i++;
            else if (i < n && s[i] == '\r')
                i += (i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
        } else {
            size_t k = i + 2;
            while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
                k++;
            tn_buf_append(b, s + i + 1, k - i - 1);
            i = k;
        }
    }
}

/* html.UnescapeString for the transitions inside attribute values: numeric references and
 * the named ones that stand for characters the transitions look at. */
static void unescape_html(tn_buf_t *b, const char *s, size_t n)
{
    static const struct {
        const char *name;
        const char *text;
    } named[] = {{"quot", "\""},  {"amp", "&"},         {"lt", "<"},     {"gt", ">"},
                 {"apos", "'"},   {"nbsp", "\xC2\xA0"}, {"sol", "/"},    {"bsol", "\\"},
                 {"ast", "*"},    {"excl", "!"},        {"num", "#"},    {"quest", "?"},
                 {"lpar", "("},   {"rpar", ")"},        {"lbrace", "{"}, {"rbrace", "}"},
                 {"lcub", "{"},   {"rcub", "}"},        {"grave", "`"},  {"dollar", "$"},
                 {"lsqb", "["},   {"rsqb", "]"},        {"lbrack", "["}, {"rbrack", "]"},
                 {"colon", ":"},  {"semi", ";"},        {"comma", ","},  {"period", "."},
                 {"equals", "="}, {"plus", "+"},        {"Tab", "\t"},   {"NewLine", "\n"}};
    for (size_t i = 0; i < n;) {
        if (s[i] != '&') {
            tn_buf_putc(b, s[i++]);
            continue;
        }
        size_t j = i + 1;
        if (j < n && s[j] == '#') {
            j++;
            bool hex = j < n && (s[j] == 'x' || s[j] == 'X');
            if (hex)
                j++;
            size_t d = j;
            uint32_t r = 0;
            while (j < n && (hex ? is_hex(s[j]) : (s[j] >= '0' && s[j] <= '9'))) {
                if (r < 0x110000)
                    r = r * (hex ? 16 : 10) + (uint32_t)tn_hexval(s[j]);
                j++;
            }
            if (j == d) {
                tn_buf_putc(b, s[i++]);
                continue;
            }
            if (j < n && s[j] == ';')
                j++;
            if (r == 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
                r = 0xFFFD;
            tn_utf8_put(b, r);
            i = j;
            continue;
        }
        bool done = false;
        for (size_t k = 0; k < TN_ARRAY_LEN(named) && !done; k++) {
            size_t l = strlen(named[k].name);
            if (n - j > l && !memcmp(s + j, named[k].name, l) && s[j + l] == ';') {
                tn_buf_puts(b, named[k].text);
                i = j + l + 1;
                done = true;
            }
        }
        if (!done)
            tn_buf_putc(b, s[i++]);
    }
}

/* ---- transitions (html/template's transition.go) ---- */

static size_t t_special_tag_end(hc_t *c, const char *s, size_t n);

static size_t eat_tag_name(const char *s, size_t n, size_t i, int *elem)
{
    *elem = E_NONE;
    if (i == n || !alpha(s[i]))
        return i;
    size_t j = i + 1;
    while (j < n) {
        if (alnum(s[j])) {
            j++;
            continue;
        }
        if ((s[j] == ':' || s[j] == '-') && j + 1 < n && alnum(s[j + 1])) {
            j += 2;
            continue;
        }
        break;
    }
    static const char *const names[] = {"script", "style", "textarea", "title", "meta"};
    for (size_t k = 0; k < TN_ARRAY_LEN(names); k++)
        if (strlen(names[k]) == j - i && !strncasecmp(s + i, names[k], j - i))
            *elem = E_SCRIPT + (int)k;
    return j;
}

static size_t t_text(hc_t *c, const char *s, size_t n)
{
    size_t k = 0;
    for (;;) {
        size_t i = k + index_any(s + k, n - k, "<");
        if (i >= n || i + 1 == n)
            return n;
        if (i + 4 <= n && !memcmp(s + i, "<!--", 4)) {
            *c = (hc_t){.state = S_HTMLCMT};
            return i + 4;
        }
        i++;
        bool end = false;
        if (s[i] == '/') {
            if (i + 1 == n)
                return n;
            end = true;
            i++;
        }
        int e;
        size_t j = eat_tag_name(s, n, i, &e);
        if (j != i) {
            *c = (hc_t){.state = S_TAG, .element = (uint8_t)(end ? E_NONE : e)};
            return j;
        }
        k = j;
    }
}

static size_t eat_attr_name(const char *s, size_t n, size_t i, char *err, hc_t *c, bool *bad)
{
    *bad = false;
    for (size_t j = i; j < n; j++) {
        switch (s[j]) {
        case ' ':
        case '\t':
        case '\n':
        case '\f':
        case '\r':
        case '=':
        case '>':
            return j;
        case '\'':
        case '"':
        case '<':
            *bad = true;
            return set_error(c, err, ERRLEN, n, "%A in attribute name: %B", s + j, 1, s, n, true);
        default:
            break;
        }
    }
    return n;
}

static size_t t_tag(hc_t *c, const char *s, size_t n, char *err)
{
    size_t i = eat_space(s, n, 0);
    if (i == n)
        return n;
    if (s[i] == '>') {
        static const uint8_t content[] = {S_TEXT, S_JS, S_CSS, S_RCDATA, S_RCDATA, S_TEXT};
        if (c->element == E_META)
            *c = (hc_t){.state = S_TEXT};
        else
            *c = (hc_t){.state = content[c->element], .element = c->element};
        return i + 1;
    }
    bool bad;
    size_t j = eat_attr_name(s, n, i, err, c, &bad);
    if (bad)
        return j;
    if (i == j)
        return set_error(c, err, ERRLEN, n, "expected space, attr name, or end of tag, but got %A",
                         s + i, n - i, NULL, 0, false);
    char *name = tn_xstrndup(s + i, j - i);
    for (size_t q = 0; name[q]; q++)
        name[q] = (char)(name[q] >= 'A' && name[q] <= 'Z' ? name[q] | 32 : name[q]);
    uint8_t attr = A_NONE;
    if (c->element == E_SCRIPT && !strcmp(name, "type")) {
        attr = A_SCRIPTTYPE;
    } else if (c->element == E_META && !strcmp(name, "content")) {
        attr = A_METACONTENT;
    } else {
        switch (attr_type(name)) {
        case CT_URL:
            attr = A_URL;
            break;
        case CT_CSS:
            attr = A_STYLE;
            break;
        case CT_JS:
            attr = A_SCRIPT;
            break;
        case CT_SRCSET:
            attr = A_SRCSET;
            break;
        default:
            break;
        }
    }
    free(name);
    *c = (hc_t){.state = j == n ? S_ATTRNAME : S_AFTERNAME, .element = c->element, .attr = attr};
    return j;
}

static size_t t_attr_name(hc_t *c, const char *s, size_t n, char *err)
{
    bool bad;
    size_t i = eat_attr_name(s, n, 0, err, c, &bad);
    if (!bad && i != n)
        c->state = S_AFTERNAME;
    return i;
}

static size_t t_after_name(hc_t *c, const char *s, size_t n)
{
    size_t i = eat_space(s, n, 0);
    if (i == n)
        return n;
    if (s[i] != '=') {
        c->state = S_TAG; /* a valueless attribute or the end of the tag */
        return i;
    }
    c->state = S_BEFOREVALUE;
    return i + 1;
}

static const uint8_t attr_start[] = {
    [A_NONE] = S_ATTR, [A_SCRIPT] = S_JS,     [A_SCRIPTTYPE] = S_ATTR,        [A_STYLE] = S_CSS,
    [A_URL] = S_URL,   [A_SRCSET] = S_SRCSET, [A_METACONTENT] = S_METACONTENT};

static size_t t_before_value(hc_t *c, const char *s, size_t n)
{
    size_t i = eat_space(s, n, 0);
    if (i == n)
        return n;
    uint8_t delim = D_SPACE;
    if (s[i] == '\'')
        delim = D_SQ, i++;
    else if (s[i] == '"')
        delim = D_DQ, i++;
    c->state = attr_start[c->attr];
    c->delim = delim;
    return i;
}

static size_t t_html_cmt(hc_t *c, const char *s, size_t n)
{
    size_t i = index_of(s, n, "-->");
    if (i < n) {
        *c = (hc_t){0};
        return i + 3;
    }
    return n;
}

/* The index of the end tag </tag (any case, then a separator) in s, or n. */
static size_t index_tag_end(const char *s, size_t n, const char *tag)
{
    size_t tl = strlen(tag);
    for (size_t i = 0; i + 2 <= n; i++) {
        if (s[i] != '<' || s[i + 1] != '/')
            continue;
        if (n - i - 2 >= tl && !strncasecmp(s + i + 2, tag, tl) && i + 2 + tl < n &&
            strchr("> \t\n\f/", s[i + 2 + tl]))
            return i;
    }
    return n;
}

static size_t t_special_tag_end(hc_t *c, const char *s, size_t n)
{
    static const char *const end[] = {"", "script", "style", "textarea", "title", ""};
    if (c->element != E_NONE) { /* meta's marker is empty: "</" and a separator */
        if (c->element == E_SCRIPT && (in_script_literal(c->state) || is_comment(c->state)))
            return n;
        size_t i = index_tag_end(s, n, end[c->element]);
        if (i < n) {
            *c = (hc_t){0};
            return i;
        }
    }
    return n;
}

static size_t t_url(hc_t *c, const char *s, size_t n)
{
    if (index_any(s, n, "#?") < n)
        c->url_part = U_QUERY;
    else if (eat_space(s, n, 0) != n && c->url_part == U_NONE)
        c->url_part = U_PREQUERY;
    return n;
}

static size_t t_js(hc_t *c, const char *s, size_t n, char *err)
{
    size_t i = index_any(s, n, "\"`'/{}<-#");
    if (i == n) {
        c->js_ctx = next_js_ctx(s, n, c->js_ctx);
        return n;
    }
    c->js_ctx = next_js_ctx(s, i, c->js_ctx);
    switch (s[i]) {
    case '"':
        c->state = S_JSDQSTR, c->js_ctx = J_REGEXP;
        break;
    case '\'':
        c->state = S_JSSQSTR, c->js_ctx = J_REGEXP;
        break;
    case '`':
        c->state = S_JSTMPLLIT, c->js_ctx = J_REGEXP;
        break;
    case '/':
        if (i + 1 < n && s[i + 1] == '/')
            c->state = S_JSLINECMT, i++;
        else if (i + 1 < n && s[i + 1] == '*')
            c->state = S_JSBLOCKCMT, i++;
        else if (c->js_ctx == J_REGEXP)
            c->state = S_JSREGEXP;
        else
            c->js_ctx = J_REGEXP;
        break;
    case '<':
        if (i + 3 < n && !memcmp(s + i, "<!--", 4))
            c->state = S_JSHTMLOPENCMT, i += 3;
        break;
    case '-':
        if (i + 2 < n && !memcmp(s + i, "-->", 3))
            c->state = S_JSHTMLCLOSECMT, i += 2;
        break;
    case '#':
        if (i + 1 < n && s[i + 1] == '!')
            c->state = S_JSLINECMT, i++;
        break;
    case '{':
        if (c->nbrace > 0)
            c->brace[c->nbrace - 1]++;
        break;
    case '}':
        if (c->nbrace == 0)
            break;
        /* a '}' closing a ${...} returns to the template literal */
        if (--c->brace[c->nbrace - 1] >= 0)
            break;
        c->nbrace--;
        c->state = S_JSTMPLLIT;
        break;
    }
    TN_UNUSED(err);
    return i + 1;
}

static size_t t_js_tmpl(hc_t *c, const char *s, size_t n, char *err)
{
    for (size_t k = 0;;) {
        size_t i = k + index_any(s + k, n - k, "`\\$");
        if (i >= n)
            return n;
        switch (s[i]) {
        case '\\':
            i++;
            if (i == n)
                return set_error(c, err, ERRLEN, n, "unfinished escape sequence in JS string: %A",
                                 s, n, NULL, 0, false);
            break;
        case '$':
            if (i + 2 <= n && s[i + 1] == '{') {
                if (c->nbrace == TT_JS_BRACES)
                    return set_error(c, err, ERRLEN, n, "JS template literals nest too deeply: %A",
                                     s, n, NULL, 0, false);
                c->brace[c->nbrace++] = 0;
                c->state = S_JS;
                return i + 2;
            }
            break;
        case '`':
            c->state = S_JS;
            return i + 1;
        }
        k = i + 1;
    }
}

static size_t t_js_delimited(hc_t *c, const char *s, size_t n, char *err)
{
    const char *specials = c->state == S_JSSQSTR    ? "\\'"
                           : c->state == S_JSREGEXP ? "\\/[]"
                                                    : "\\\"";
    bool in_charset = false;
    for (size_t k = 0;;) {
        size_t i = k + index_any(s + k, n - k, specials);
        if (i >= n)
            break;
        switch (s[i]) {
        case '\\':
            i++;
            if (i == n)
                return set_error(c, err, ERRLEN, n, "unfinished escape sequence in JS string: %A",
                                 s, n, NULL, 0, false);
            break;
        case '[':
            in_charset = true;
            break;
        case ']':
            in_charset = false;
            break;
        case '/':
            /* "</script" inside a regexp is escaped later, not its end */
            if (i > 0 && i + 7 <= n && !strncasecmp(s + i - 1, "</script", 8)) {
                i++;
            } else if (!in_charset) {
                c->state = S_JS, c->js_ctx = J_DIVOP;
                return i + 1;
            }
            break;
        default:
            if (!in_charset) {
                c->state = S_JS, c->js_ctx = J_DIVOP;
                return i + 1;
            }
        }
        k = i + 1;
    }
    if (in_charset)
        return set_error(c, err, ERRLEN, n, "unfinished JS regexp charset: %A", s, n, NULL, 0,
                         false);
    return n;
}

static size_t t_block_cmt(hc_t *c, const char *s, size_t n)
{
    size_t i = index_of(s, n, "*/");
    if (i == n)
        return n;
    c->state = c->state == S_JSBLOCKCMT ? S_JS : S_CSS;
    return i + 2;
}

static size_t t_line_cmt(hc_t *c, const char *s, size_t n)
{
    size_t i;
    if (c->state == S_CSSLINECMT) {
        i = index_any(s, n, "\n\f\r");
    } else {
        i = index_any(s, n, "\n\r");
        size_t u = index_of(s, n, "\xE2\x80\xA8"), v = index_of(s, n, "\xE2\x80\xA9");
        i = TN_MIN(i, TN_MIN(u, v));
    }
    if (i == n)
        return n;
    c->state = c->state == S_CSSLINECMT ? S_CSS : S_JS;
    return i; /* the line terminator is not part of the comment */
}

static bool css_nmchar(uint32_t r)
{
    return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '-' ||
           r == '_' || (r >= 0x80 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) ||
           (r >= 0x10000 && r <= 0x10FFFF);
}

/* endsWithCSSKeyword(b, "url") */
static bool ends_with_url(const char *s, size_t n)
{
    if (n < 3 || strncasecmp(s + n - 3, "url", 3))
        return false;
    if (n == 3)
        return true;
    unsigned char p = (unsigned char)s[n - 4];
    if (p >= 0x80)
        return false; /* the tail of a non-ASCII rune: an identifier character */
    return !css_nmchar(p);
}

static size_t t_css(hc_t *c, const char *s, size_t n)
{
    for (size_t k = 0;;) {
        size_t i = k + index_any(s + k, n - k, "(\"'/");
        if (i >= n)
            return n;
        switch (s[i]) {
        case '(': {
            size_t p = i;
            while (p > 0 && strchr("\t\n\f\r ", s[p - 1]))
                p--;
            if (ends_with_url(s, p)) {
                size_t j = eat_space(s, n, i + 1);
                if (j < n && s[j] == '"')
                    c->state = S_CSSDQURL, j++;
                else if (j < n && s[j] == '\'')
                    c->state = S_CSSSQURL, j++;
                else
                    c->state = S_CSSURL;
                return j;
            }
            break;
        }
        case '/':
            if (i + 1 < n && s[i + 1] == '/') {
                c->state = S_CSSLINECMT;
                return i + 2;
            }
            if (i + 1 < n && s[i + 1] == '*') {
                c->state = S_CSSBLOCKCMT;
                return i + 2;
            }
            break;
        case '"':
            c->state = S_CSSDQSTR;
            return i + 1;
        case '\'':
            c->state = S_CSSSQSTR;
            return i + 1;
        }
        k = i + 1;
    }
}

static void t_url_decoded(hc_t *c, const char *s, size_t n)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    decode_css(&b, s, n);
    t_url(c, b.data ? b.data : "", b.len);
    tn_buf_free(&b);
}

static size_t t_css_str(hc_t *c, const char *s, size_t n, char *err)
{
    const char *end_esc = c->state == S_CSSDQSTR || c->state == S_CSSDQURL   ? "\\\""
                          : c->state == S_CSSSQSTR || c->state == S_CSSSQURL ? "\\'"
                                                                             : "\\\t\n\f\r )";
    for (size_t k = 0;;) {
        size_t i = k + index_any(s + k, n - k, end_esc);
        if (i >= n) {
            t_url_decoded(c, s + k, n - k);
            return n;
        }
        if (s[i] == '\\') {
            i++;
            if (i == n)
                return set_error(c, err, ERRLEN, n, "unfinished escape sequence in CSS string: %A",
                                 s, n, NULL, 0, false);
        } else {
            c->state = S_CSS;
            return i + 1;
        }
        t_url_decoded(c, s, i + 1);
        k = i + 1;
    }
}

static size_t t_meta_content(hc_t *c, const char *s, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (!strncasecmp(s + i, "url=", 4)) {
            c->state = S_METACONTENTURL;
            return i + 4;
        }
    return n;
}

static size_t t_meta_content_url(hc_t *c, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == ';') {
            c->state = S_METACONTENT;
            return i + 1;
        }
    return n;
}

static size_t transition(hc_t *c, const char *s, size_t n, char *err)
{
    switch (c->state) {
    case S_TEXT:
        return t_text(c, s, n);
    case S_TAG:
        return t_tag(c, s, n, err);
    case S_ATTRNAME:
        return t_attr_name(c, s, n, err);
    case S_AFTERNAME:
        return t_after_name(c, s, n);
    case S_BEFOREVALUE:
        return t_before_value(c, s, n);
    case S_HTMLCMT:
        return t_html_cmt(c, s, n);
    case S_RCDATA:
        return t_special_tag_end(c, s, n);
    case S_URL:
    case S_SRCSET:
        return t_url(c, s, n);
    case S_METACONTENT:
        return t_meta_content(c, s, n);
    case S_METACONTENTURL:
        return t_meta_content_url(c, s, n);
    case S_JS:
        return t_js(c, s, n, err);
    case S_JSDQSTR:
    case S_JSSQSTR:
    case S_JSREGEXP:
        return t_js_delimited(c, s, n, err);
    case S_JSTMPLLIT:
        return t_js_tmpl(c, s, n, err);
    case S_JSBLOCKCMT:
    case S_CSSBLOCKCMT:
        return t_block_cmt(c, s, n);
    case S_JSLINECMT:
    case S_JSHTMLOPENCMT:
    case S_JSHTMLCLOSECMT:
    case S_CSSLINECMT:
        return t_line_cmt(c, s, n);
    case S_CSS:
        return t_css(c, s, n);
    case S_CSSDQSTR:
    case S_CSSSQSTR:
    case S_CSSDQURL:
    case S_CSSSQURL:
    case S_CSSURL:
        return t_css_str(c, s, n, err);
    default: /* S_ATTR, S_ERROR */
        return n;
    }
}

/* contextAfterText: consumes some of s from context c. */
static size_t after_text(hc_t *c, const char *s, size_t n, char *err)
{
    if (c->delim == D_NONE) {
        hc_t c1 = *c;
        size_t i = t_special_tag_end(&c1, s, n);
        if (i == 0) { /* the end tag comes first: everything before it is consumed */
            *c = c1;
            return 0;
        }
        return transition(c, s, i, err);
    }
    /* inside an attribute value */
    static const char *const ends[] = {"", "\"", "'", " \t\n\f\r>"};
    size_t i = index_any(s, n, ends[c->delim]);
    if (c->delim == D_SPACE) {
        size_t j = index_any(s, i, "\"'<=`");
        if (j < i)
            return set_error(c, err, ERRLEN, n, "%A in unquoted attr: %B", s + j, 1, s, i, false);
    }
    if (i == n) {
        /* still inside: run the transitions over the decoded value */
        tn_buf_t u;
        tn_buf_init(&u, 0);
        unescape_html(&u, s, n);
        for (size_t k = 0; k < u.len && c->state != S_ERROR;)
            k += transition(c, u.data + k, u.len - k, err);
        tn_buf_free(&u);
        return n;
    }
    uint8_t elem = c->element;
    if (c->state == S_ATTR && elem == E_SCRIPT && c->attr == A_SCRIPTTYPE && !is_js_type(s, i))
        elem = E_NONE; /* <script type="text/template">: not JS */
    if (c->delim != D_SPACE)
        i++;
    *c = (hc_t){.state = S_TAG, .element = elem};
    return i;
}

/* ---- output of template text (escapeText) ---- */

static bool special_script_tag_at(const char *s, size_t n)
{
    return n >= 1 && s[0] == '<' &&
           ((n >= 7 && !strncasecmp(s + 1, "script", 6)) ||
            (n >= 8 && !strncasecmp(s + 1, "/script", 7)) || (n >= 4 && !memcmp(s + 1, "!--", 3)));
}

static int html_fail(tt_ctx_t *c, const char *err)
{
    return tt_rawerrorf(c, "html/template: %s", err);
}

int tt_html_text(tt_ctx_t *c, const char *s, size_t n)
{
    hc_t *h = &c->h;
    char err[ERRLEN] = "";
    size_t written = 0, i = 0;
    int rc;
#define EMIT(p, k)                                                                                 \
    do {                                                                                           \
        if ((rc = tt_out(c, (p), (k))))                                                            \
            return rc;                                                                             \
    } while (0)
    while (i != n) {
        hc_t c1 = *h;
        size_t i1 = i + after_text(&c1, s + i, n - i, err);
        if (c1.state == S_ERROR)
            return html_fail(c, err);
        if (h->state == S_TEXT || h->state == S_RCDATA) {
            size_t end = i1;
            if (c1.state != h->state)
                for (size_t j = end; j-- > i;)
                    if (s[j] == '<') {
                        end = j;
                        break;
                    }
            for (size_t j = i; j < end; j++)
                if (s[j] == '<' && !(n - j >= 9 && !strncasecmp(s + j, "<!DOCTYPE", 9))) {
                    EMIT(s + written, j - written);
                    EMIT("&lt;", 4);
                    written = j + 1;
                }
        } else if (is_comment(h->state) && h->delim == D_NONE) {
            if (h->state == S_JSBLOCKCMT) {
                /* a comment with a line break in it counts as a line break */
                const char *p = s + written;
                size_t k = i1 - written;
                bool nl = index_any(p, k, "\n\r") < k || index_of(p, k, "\xE2\x80\xA8") < k ||
                          index_of(p, k, "\xE2\x80\xA9") < k;
                EMIT(nl ? "\n" : " ", 1);
            } else if (h->state == S_CSSBLOCKCMT) {
                EMIT(" ", 1);
            }
            written = i1;
        }
        if (h->state != c1.state && is_comment(c1.state) && c1.delim == D_NONE) {
            size_t cs = i1 - 2;
            if (c1.state == S_HTMLCMT || c1.state == S_JSHTMLOPENCMT)
                cs -= 2;
            else if (c1.state == S_JSHTMLCLOSECMT)
                cs -= 1;
            if (cs > written)
                EMIT(s + written, cs - written);
            written = i1;
        }
        if (in_script_literal(h->state)) {
            /* "<script", "</script" and "<!--" in a JS literal get their '<' as \x3C */
            bool special = false;
            for (size_t j = i; j < i1 && !special; j++)
                special = special_script_tag_at(s + j, i1 - j);
            if (special) {
                EMIT(s + written, i - written);
                for (size_t j = i; j < i1; j++) {
                    if (special_script_tag_at(s + j, i1 - j))
                        EMIT("\\x3C", 4);
                    else
                        EMIT(s + j, 1);
                }
                written = i1;
            }
        }
        if (i == i1 && h->state == c1.state)
            return tt_rawerrorf(c, "html/template: internal error: no progress in %s",
                                state_names[h->state]);
        *h = c1;
        i = i1;
    }
    if (written == 0)
        EMIT(s, n);
    else if ((!is_comment(h->state) || h->delim != D_NONE) && written < n)
        EMIT(s + written, n - written);
    return 0;
#undef EMIT
}

int tt_html_end(tt_ctx_t *c)
{
    if (!(c->flags & TN_TMPL_HTML) || c->h.state == S_TEXT)
        return 0;
    const hc_t *h = &c->h;
    return tt_rawerrorf(c, "html/template: ends in a non-text context: {%s %s %s %s %s %s <nil>}",
                        state_names[h->state], delim_names[h->delim], url_names[h->url_part],
                        js_names[h->js_ctx], attr_names[h->attr], element_names[h->element]);
}

/* ---- escapers (html.go, js.go, css.go, url.go) ---- */

enum {
    X_ATTR = 1,
    X_COMMENT,
    X_CSS,
    X_CSSVALUE,
    X_HTMLNAME,
    X_HTML,
    X_JSREGEXP,
    X_JSSTR,
    X_JSTMPL,
    X_JSVAL,
    X_NOSPACE,
    X_RCDATA,
    X_SRCSET,
    X_URLESC,
    X_URLFILTER,
    X_URLNORM,
    X_PRE_HTML,     /* text/template's html */
    X_PRE_URLQUERY, /* text/template's urlquery */
};

/* escFnsEq: the context escapers the predefined html and urlquery stand in for. */
static int normalize(int e)
{
    switch (e) {
    case X_ATTR:
    case X_HTML:
    case X_RCDATA:
        return X_PRE_HTML;
    case X_URLESC:
    case X_URLNORM:
        return X_PRE_URLQUERY;
    default:
        return e;
    }
}

/* redundantFuncs[a][b]: b adds nothing after a. */
static bool redundant(int a, int b)
{
    switch (a) {
    case X_COMMENT:
        return b == X_ATTR || b == X_HTML;
    case X_CSS:
    case X_JSREGEXP:
    case X_JSSTR:
    case X_JSTMPL:
        return b == X_ATTR;
    case X_URLESC:
        return b == X_URLNORM;
    default:
        return false;
    }
}

enum { CTY_PLAIN, CTY_HTML, CTY_URL };

/* stringify: the value as fmt prints it, with its content type; nil is "". */
static int stringify(tt_ctx_t *c, const tv_t *v, tn_buf_t *b)
{
    if (v->kind == TV_NIL)
        return CTY_PLAIN;
    if (v->kind == TV_STR) {
        tn_buf_append(b, v->s.p, v->s.n);
        return v->sub == TS_HTML ? CTY_HTML : v->sub == TS_URL ? CTY_URL : CTY_PLAIN;
    }
    tv_print(c, b, v, false);
    return CTY_PLAIN;
}

/* htmlReplacer with one of the four tables. */
enum { HT_HTML, HT_NORM, HT_NOSPACE, HT_NOSPACE_NORM };
static void html_replace(tn_buf_t *b, const char *s, size_t n, int table)
{
    bool nospace = table == HT_NOSPACE || table == HT_NOSPACE_NORM;
    bool amp = table == HT_HTML || table == HT_NOSPACE;
    for (size_t i = 0; i < n;) {
        size_t w;
        uint32_t r = tn_utf8_rune(s + i, n - i, &w);
        const char *rep = NULL;
        char tmp[16];
        switch (r) {
        case 0:
            rep = nospace ? "&#xfffd;" : "\xEF\xBF\xBD";
            break;
        case '"':
            rep = "&#34;";
            break;
        case '&':
            rep = amp ? "&amp;" : NULL;
            break;
        case '\'':
            rep = "&#39;";
            break;
        case '+':
            rep = "&#43;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '\t':
        case '\n':
        case '\v':
        case '\f':
        case '\r':
        case ' ':
        case '=':
        case '`':
            if (nospace) {
                snprintf(tmp, sizeof tmp, "&#%u;", (unsigned)r);
                rep = tmp;
            }
            break;
        default:
            if (nospace && ((r >= 0xFDD0 && r <= 0xFDEF) || (r >= 0xFFF0 && r <= 0xFFFF))) {
                snprintf(tmp, sizeof tmp, "&#x%x;", (unsigned)r);
                rep = tmp;
            }
            break;
        }
        if (rep)
            tn_buf_puts(b, rep);
        else
            tn_buf_append(b, s + i, w);
        i += w;
    }
}

/* stripTags: the text content of an HTML snippet. */
static void strip_tags(tn_buf_t *out, const char *s, size_t n)
{
    static const char *const ends[] = {"", "\"", "'", " \t\n\f\r>"};
    hc_t c = {0};
    char err[ERRLEN];
    size_t i = 0;
    bool all_text = true;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    while (i != n) {
        if (c.delim == D_NONE) {
            hc_t d = c;
            /* inside an element, read as RCDATA rather than as JS or CSS */
            size_t nread = c.element != E_NONE && !in_tag(c.state)
                               ? t_special_tag_end(&d, s + i, n - i)
                               : transition(&d, s + i, n - i, err);
            size_t i1 = i + nread;
            if (c.state == S_TEXT || c.state == S_RCDATA) {
                size_t j = i1;
                if (d.state != c.state)
                    for (size_t j1 = j; j1-- > i;)
                        if (s[j1] == '<') {
                            j = j1;
                            break;
                        }
                tn_buf_append(&b, s + i, j - i);
            } else {
                all_text = false;
            }
            if (nread == 0 && d.state == c.state)
                break; /* no progress: cannot happen, but never loop */
            c = d;
            i = i1;
            continue;
        }
        size_t k = index_any(s + i, n - i, ends[c.delim]);
        if (i + k >= n)
            break;
        size_t i1 = i + k + (c.delim != D_SPACE);
        c = (hc_t){.state = S_TAG, .element = c.element};
        i = i1;
    }
    if (all_text) {
        tn_buf_append(out, s, n);
    } else {
        tn_buf_append(out, b.data ? b.data : "", b.len);
        if ((c.state == S_TEXT || c.state == S_RCDATA) && i < n)
            tn_buf_append(out, s + i, n - i);
    }
    tn_buf_free(&b);
}

/* JS string escaping: the three tables of js.go. */
enum { JT_STR, JT_TMPL, JT_REGEXP };
static void js_replace(tn_buf_t *b, const char *s, size_t n, int table)
{
    for (size_t i = 0; i < n;) {
        size_t w;
        uint32_t r = tn_utf8_rune(s + i, n - i, &w);
        if (w == 1 && (unsigned char)s[i] >= 0x80)
            r = 0xFFFD;
        const char *rep = NULL;
        char tmp[16];
        if (r < 0x20) {
            switch (r) {
            case '\t':
                rep = "\\t";
                break;
            case '\n':
                rep = "\\n";
                break;
            case '\f':
                rep = "\\f";
                break;
            case '\r':
                rep = "\\r";
                break;
            default:
                snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)r);
                rep = tmp;
            }
        } else if (r == 0x2028) {
            rep = "\\u2028";
        } else if (r == 0x2029) {
            rep = "\\u2029";
        } else if (r < 0x80) {
            switch (r) {
            case '"':
                rep = "\\u0022";
                break;
            case '&':
                rep = "\\u0026";
                break;
            case '\'':
                rep = "\\u0027";
                break;
            case '+':
                rep = "\\u002b";
                break;
            case '/':
                rep = "\\/";
                break;
            case '<':
                rep = "\\u003c";
                break;
            case '>':
                rep = "\\u003e";
                break;
            case '\\':
                rep = "\\\\";
                break;
            case '`':
                rep = table == JT_REGEXP ? NULL : "\\u0060";
                break;
            case '$':
                rep = table == JT_TMPL ? "\\u0024" : table == JT_REGEXP ? "\\$" : NULL;
                break;
            case '{':
                rep = table == JT_TMPL ? "\\u007b" : table == JT_REGEXP ? "\\{" : NULL;
                break;
            case '}':
                rep = table == JT_TMPL ? "\\u007d" : table == JT_REGEXP ? "\\}" : NULL;
                break;
            default:
                if (table == JT_REGEXP && strchr("()*-.?[]^|", (int)r)) {
                    tmp[0] = '\\';
                    tmp[1] = (char)r;
                    tmp[2] = 0;
                    rep = tmp;
                }
            }
        }
        if (rep)
            tn_buf_puts(b, rep);
        else
            tn_buf_append(b, s + i, w);
        i += w;
    }
}

/* jsValEscaper: the value as a JS expression (JSON), padded when it could run into a
 * neighbouring identifier or number. */
static void js_val(tt_ctx_t *c, const tv_t *v, tn_buf_t *out)
{
    tv_t a = *v;
    bool stringer = v->kind == TV_KV || v->kind == TV_DUR || v->kind == TV_LOC ||
                    (v->kind == TV_LIST && v->sub == TL_PAIRS);
    tn_buf_t tmp;
    tn_buf_init(&tmp, 0);
    if (stringer) { /* a fmt.Stringer marshals as its String() */
        tv_print(c, &tmp, v, false);
        a = tv_str(tmp.data ? tmp.data : "", tmp.len);
    }
    tn_buf_t j;
    tn_buf_init(&j, 0);
    char *saved = c->fnerr;
    c->fnerr = NULL;
    int rc = tt_json(c, &j, &a);
    if (!rc && j.len > TN_TMPL_MAX_OUTPUT) {
        tt_rawerrorf(c, "template: output exceeds %d bytes", TN_TMPL_MAX_OUTPUT);
    } else if (rc) {
        const char *m = c->fnerr ? c->fnerr : "json: error";
        tn_buf_puts(out, " /* ");
        for (const char *p = m; *p; p++) {
            if (p[0] == '*' && p[1] == '/') {
                tn_buf_puts(out, "* /");
                p++;
            } else if (!strncmp(p, "</script", 8)) {
                tn_buf_puts(out, "\\x3C/script");
                p += 7;
            } else if (!strncmp(p, "<!--", 4)) {
                tn_buf_puts(out, "\\x3C!--");
                p += 3;
            } else {
                tn_buf_putc(out, *p);
            }
        }
        tn_buf_puts(out, " */null ");
    } else if (j.len == 0) {
        tn_buf_puts(out, " null ");
    } else {
        bool pad = js_ident_part((unsigned char)j.data[0]) ||
                   js_ident_part((unsigned char)j.data[j.len - 1]);
        if (pad)
            tn_buf_putc(out, ' ');
        tn_buf_append(out, j.data, j.len);
        if (pad)
            tn_buf_putc(out, ' ');
    }
    free(c->fnerr);
    c->fnerr = saved;
    tn_buf_free(&j);
    tn_buf_free(&tmp);
}

static bool css_space(char c)
{
    return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

static void css_escape(tn_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case 0:
            rep = "\\0";
            break;
        case '\t':
            rep = "\\9";
            break;
        case '\n':
            rep = "\\a";
            break;
        case '\f':
            rep = "\\c";
            break;
        case '\r':
            rep = "\\d";
            break;
        case '"':
            rep = "\\22";
            break;
        case '&':
            rep = "\\26";
            break;
        case '\'':
            rep = "\\27";
            break;
        case '(':
            rep = "\\28";
            break;
        case ')':
            rep = "\\29";
            break;
        case '+':
            rep = "\\2b";
            break;
        case '/':
            rep = "\\2f";
            break;
        case ':':
            rep = "\\3a";
            break;
        case ';':
            rep = "\\3b";
            break;
        case '<':
            rep = "\\3c";
            break;
        case '>':
            rep = "\\3e";
            break;
        case '\\':
            rep = "\\\\";
            break;
        case '{':
            rep = "\\7b";
            break;
        case '}':
            rep = "\\7d";
            break;
        }
        if (!rep) {
            tn_buf_putc(b, s[i]);
            continue;
        }
        tn_buf_puts(b, rep);
        /* a hex escape runs into a following hex digit or space unless separated */
        if (strcmp(rep, "\\\\") && (i + 1 == n || is_hex(s[i + 1]) || css_space(s[i + 1])))
            tn_buf_putc(b, ' ');
    }
}

static void css_value_filter(tn_buf_t *out, const char *s, size_t n)
{
    tn_buf_t b;
    tn_buf_init(&b, 0);
    decode_css(&b, s, n);
    const char *d = b.data ? b.data : "";
    bool bad = false;
    tn_buf_t ids;
    tn_buf_init(&ids, 0);
    for (size_t i = 0; i < b.len && !bad; i++) {
        char ch = d[i];
        if (ch == 0 || strchr("\"'()/;@[\\]`{}<>", ch))
            bad = true;
        else if (ch == '-' && i > 0 && d[i - 1] == '-')
            bad = true;
        else if ((unsigned char)ch < 0x80 && css_nmchar((unsigned char)ch))
            tn_buf_putc(&ids, (char)(ch >= 'A' && ch <= 'Z' ? ch | 32 : ch));
    }
    if (!bad) {
        const char *p = tn_buf_cstr(&ids);
        bad = strstr(p, "expression") || strstr(p, "mozbinding");
    }
    if (bad)
        tn_buf_puts(out, FAILSAFE);
    else
        tn_buf_append(out, d, b.len);
    tn_buf_free(&ids);
    tn_buf_free(&b);
}

static bool safe_url(const char *s, size_t n)
{
    size_t colon = index_any(s, n, ":");
    if (colon == n || index_any(s, colon, "/") < colon)
        return true;
    return (colon == 4 && !strncasecmp(s, "http", 4)) ||
           (colon == 5 && !strncasecmp(s, "https", 5)) ||
           (colon == 6 && !strncasecmp(s, "mailto", 6));
}

/* processURLOnto: percent-encodes what a URL part may not hold (norm keeps the reserved
 * characters and existing escapes). */
static void url_process(tn_buf_t *b, const char *s, size_t n, bool norm)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool keep;
        if (strchr("!#$&*+,/:;=?@[]", ch) && ch)
            keep = norm;
        else if (strchr("-._~", ch) && ch)
            keep = true;
        else if (ch == '%')
            keep = norm && i + 2 < n && is_hex(s[i + 1]) && is_hex(s[i + 2]);
        else
            keep = alnum((char)ch);
        if (keep)
            tn_buf_putc(b, (char)ch);
        else
            tn_buf_printf(b, "%%%02x", ch);
    }
}

static bool html_space(unsigned char c)
{
    return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

static void srcset_element(tn_buf_t *b, const char *s, size_t left, size_t right)
{
    size_t start = left;
    while (start < right && html_space((unsigned char)s[start]))
        start++;
    size_t end = right;
    for (size_t i = start; i < right; i++)
        if (html_space((unsigned char)s[i])) {
            end = i;
            break;
        }
    if (safe_url(s + start, end - start)) {
        bool meta_ok = true;
        for (size_t i = end; i < right && meta_ok; i++)
            meta_ok = html_space((unsigned char)s[i]) || alnum(s[i]);
        if (meta_ok) {
            tn_buf_append(b, s + left, start - left);
            url_process(b, s + start, end - start, true);
            tn_buf_append(b, s + end, right - end);
            return;
        }
    }
    tn_buf_puts(b, "#" FAILSAFE);
}

static bool html_name_ok(const char *s, size_t n)
{
    if (n == 0)
        return false; /* <input checked {{.K}}={{.V}}> must keep its structure */
    for (size_t i = 0; i < n; i++) {
        char ch = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] | 32 : s[i]);
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')))
            return false;
    }
    char *name = tn_xstrndup(s, n);
    for (size_t i = 0; i < n; i++)
        name[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] | 32 : name[i]);
    bool ok = attr_type(name) == CT_PLAIN;
    free(name);
    return ok;
}

/* Applies escaper e to v, the result (a plain string) into out. */
static void apply(tt_ctx_t *c, int e, const tv_t *v, tn_buf_t *out)
{
    if (e == X_JSVAL) {
        js_val(c, v, out);
        return;
    }
    if ((e == X_PRE_HTML || e == X_PRE_URLQUERY) && v->kind == TV_STR &&
        v->s.n > TN_TMPL_MAX_OUTPUT) {
        tt_rawerrorf(c, "template: output exceeds %d bytes", TN_TMPL_MAX_OUTPUT);
        return;
    }
    if (e == X_PRE_HTML || e == X_PRE_URLQUERY) {
        tv_t arg = *v, res = {0};
        const tt_func_t *f = tt_func_find(e == X_PRE_HTML ? "html" : "urlquery");
        f->fn(c, &arg, 1, &res);
        if (res.kind == TV_STR)
            tn_buf_append(out, res.s.p, res.s.n);
        return;
    }
    tn_buf_t sb;
    tn_buf_init(&sb, 0);
    int ct = stringify(c, v, &sb);
    const char *s = sb.data ? sb.data : "";
    size_t n = sb.len;
    /* escaping at most multiplies a value by 8: refuse one past the output cap up front */
    if (n > TN_TMPL_MAX_OUTPUT && e != X_COMMENT) {
        tn_buf_free(&sb);
        tt_rawerrorf(c, "template: output exceeds %d bytes", TN_TMPL_MAX_OUTPUT);
        return;
    }
    tn_buf_t st;
    tn_buf_init(&st, 0);
    switch (e) {
    case X_HTML:
        if (ct == CTY_HTML)
            tn_buf_append(out, s, n);
        else
            html_replace(out, s, n, HT_HTML);
        break;
    case X_RCDATA:
        html_replace(out, s, n, ct == CTY_HTML ? HT_NORM : HT_HTML);
        break;
    case X_ATTR:
        if (ct == CTY_HTML) {
            strip_tags(&st, s, n);
            html_replace(out, st.data ? st.data : "", st.len, HT_NORM);
        } else {
            html_replace(out, s, n, HT_HTML);
        }
        break;
    case X_NOSPACE:
        if (n == 0) {
            tn_buf_puts(out, FAILSAFE);
        } else if (ct == CTY_HTML) {
            strip_tags(&st, s, n);
            html_replace(out, st.data ? st.data : "", st.len, HT_NOSPACE_NORM);
        } else {
            html_replace(out, s, n, HT_NOSPACE);
        }
        break;
    case X_COMMENT:
        break;
    case X_HTMLNAME:
        if (html_name_ok(s, n))
            for (size_t i = 0; i < n; i++)
                tn_buf_putc(out, (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] | 32 : s[i]));
        else
            tn_buf_puts(out, FAILSAFE);
        break;
    case X_JSSTR:
        js_replace(out, s, n, JT_STR);
        break;
    case X_JSTMPL:
        js_replace(out, s, n, JT_TMPL);
        break;
    case X_JSREGEXP: {
        size_t before = out->len;
        js_replace(out, s, n, JT_REGEXP);
        if (out->len == before)
            tn_buf_puts(out, "(?:)"); /* an empty regexp would start a comment */
        break;
    }
    case X_CSS:
        css_escape(out, s, n);
        break;
    case X_CSSVALUE:
        css_value_filter(out, s, n);
        break;
    case X_URLFILTER:
        if (ct == CTY_URL || safe_url(s, n))
            tn_buf_append(out, s, n);
        else
            tn_buf_puts(out, "#" FAILSAFE);
        break;
    case X_URLESC:
    case X_URLNORM:
        url_process(out, s, n, e == X_URLNORM || ct == CTY_URL);
        break;
    case X_SRCSET:
        if (ct == CTY_URL) {
            url_process(&st, s, n, true);
            for (size_t i = 0; i < st.len; i++)
                if (st.data[i] == ',')
                    tn_buf_puts(out, "%2c");
                else
                    tn_buf_putc(out, st.data[i]);
        } else {
            size_t left = 0;
            for (size_t i = 0; i < n; i++)
                if (s[i] == ',') {
                    srcset_element(out, s, left, i);
                    tn_buf_putc(out, ',');
                    left = i + 1;
                }
            srcset_element(out, s, left, n);
        }
        break;
    }
    tn_buf_free(&st);
    tn_buf_free(&sb);
}

/* ---- actions (escapeAction + ensurePipelineContains) ---- */

static int predefined(const tt_node_t *cmd)
{
    if (cmd->nkids == 0 || cmd->kids[0]->type != TN_IDENT)
        return 0;
    if (!strcmp(cmd->kids[0]->str, "html"))
        return X_PRE_HTML;
    if (!strcmp(cmd->kids[0]->str, "urlquery"))
        return X_PRE_URLQUERY;
    return 0;
}

/* nudge: the context an action sees where the text left a tag or an attribute undecided. */
static void nudge(hc_t *h)
{
    switch (h->state) {
    case S_TAG:
        h->state = S_ATTRNAME;
        break;
    case S_BEFOREVALUE:
        h->state = attr_start[h->attr];
        h->delim = D_SPACE;
        h->attr = A_NONE;
        break;
    case S_AFTERNAME:
        h->state = S_ATTRNAME;
        h->attr = A_NONE;
        break;
    }
}

int tt_html_action(tt_ctx_t *c, const tt_node_t *n, const tv_t *dot)
{
    const tt_node_t *pipe = n->pipe;
    if (pipe->ndecl) { /* an assignment prints nothing and leaves the context */
        tv_t v;
        return tt_eval_pipeline(c, pipe, dot, &v);
    }
    hc_t *h = &c->h;
    nudge(h);
    for (size_t i = 0; i < pipe->nkids; i++) {
        int pre = predefined(pipe->kids[i]);
        if (pre && (i + 1 < pipe->nkids ||
                    (h->state == S_ATTR && h->delim == D_SPACE && pre == X_PRE_HTML)))
            return tt_rawerrorf(c,
                                "html/template:%s:%d:%d: predefined escaper \"%s\" disallowed "
                                "in template",
                                c->tfile ? c->tfile : "", n->line, n->col,
                                pre == X_PRE_HTML ? "html" : "urlquery");
    }
    int esc[4];
    size_t ne = 0;
    switch (h->state) {
    case S_URL:
    case S_CSSDQSTR:
    case S_CSSSQSTR:
    case S_CSSDQURL:
    case S_CSSSQURL:
    case S_CSSURL:
        if (h->url_part == U_NONE)
            esc[ne++] = X_URLFILTER;
        if (h->url_part == U_QUERY)
            esc[ne++] = X_URLESC;
        else if (h->state == S_CSSDQSTR || h->state == S_CSSSQSTR)
            esc[ne++] = X_CSS;
        else
            esc[ne++] = X_URLNORM;
        break;
    case S_METACONTENT:
        break;
    case S_METACONTENTURL:
        esc[ne++] = X_URLFILTER;
        break;
    case S_JS:
        esc[ne++] = X_JSVAL;
        h->js_ctx = J_DIVOP; /* a '/' after a value divides */
        break;
    case S_JSDQSTR:
    case S_JSSQSTR:
        esc[ne++] = X_JSSTR;
        break;
    case S_JSTMPLLIT:
        esc[ne++] = X_JSTMPL;
        break;
    case S_JSREGEXP:
        esc[ne++] = X_JSREGEXP;
        break;
    case S_CSS:
        esc[ne++] = X_CSSVALUE;
        break;
    case S_TEXT:
        esc[ne++] = X_HTML;
        break;
    case S_RCDATA:
        esc[ne++] = X_RCDATA;
        break;
    case S_ATTR:
        break;
    case S_ATTRNAME:
    case S_TAG:
        h->state = S_ATTRNAME;
        esc[ne++] = X_HTMLNAME;
        break;
    case S_SRCSET:
        esc[ne++] = X_SRCSET;
        break;
    default:
        esc[ne++] = X_COMMENT;
        break;
    }
    if (h->delim == D_SPACE)
        esc[ne++] = X_NOSPACE;
    else if (h->delim != D_NONE)
        esc[ne++] = X_ATTR;

    /* the pipeline's own trailing html / urlquery stands in for an equivalent escaper */
    const tt_node_t *last = pipe->kids[pipe->nkids - 1];
    int pre = predefined(last);
    size_t keep = pipe->nkids;
    bool eval_args = false, pre_kept = pre != 0;
    if (ne > 0 && pre) {
        eval_args = pipe->nkids == 1 && last->nkids > 1; /* {{ html a b }} */
        bool dup = false;
        for (size_t i = 0; i < ne; i++)
            if (normalize(esc[i]) == pre) {
                esc[i] = pre;
                dup = true;
            }
        if (dup) {
            pre_kept = false;
            if (!eval_args)
                keep--;
        }
    }
    int chain[6];
    size_t nchain = 0;
    int lastcmd = pre_kept ? pre : 0;
    for (size_t i = 0; i < ne; i++) {
        if (pre_kept && normalize(esc[i]) == pre)
            continue; /* already in the pipeline */
        if (lastcmd && redundant(lastcmd, esc[i]))
            continue;
        chain[nchain++] = lastcmd = esc[i];
    }

    tv_t v = {0};
    int rc;
    if (eval_args) {
        /* html/template's _eval_args_: the arguments as fmt.Sprint prints them */
        tv_t *args = tt_alloc(&c->arena, last->nkids * sizeof(tv_t));
        for (size_t i = 1; i < last->nkids; i++)
            if ((rc = tt_eval_arg(c, last->kids[i], dot, &args[i - 1])))
                return rc;
        tn_buf_t b;
        tn_buf_init(&b, 0);
        if (last->nkids == 2 && args[0].kind == TV_STR)
            tn_buf_append(&b, args[0].s.p, args[0].s.n);
        else
            tt_sprint(c, &b, args, last->nkids - 1, false);
        v = tt_buf_value(c, &b);
        tn_buf_free(&b);
        if (pre_kept) {
            tn_buf_t o;
            tn_buf_init(&o, 0);
            apply(c, pre, &v, &o);
            v = tt_buf_value(c, &o);
            tn_buf_free(&o);
            if (c->failed)
                return TN_ERR_INVAL;
        }
    } else if (keep > 0) {
        tt_node_t part = *pipe;
        part.nkids = keep;
        if ((rc = tt_eval_pipeline(c, &part, dot, &v)))
            return rc;
    } else {
        v = tv_cstr(""); /* {{ html }}: the escaper gets no argument */
    }
    if (nchain == 0) {
        tn_buf_t b;
        tn_buf_init(&b, 0);
        tv_print(c, &b, &v, true);
        rc = tt_out(c, b.data ? b.data : "", b.len);
        tn_buf_free(&b);
        return rc;
    }
    for (size_t i = 0; i < nchain; i++) {
        tn_buf_t o;
        tn_buf_init(&o, 0);
        apply(c, chain[i], &v, &o);
        v = tt_buf_value(c, &o);
        tn_buf_free(&o);
        if (c->failed)
            return TN_ERR_INVAL;
    }
    return tt_out(c, v.s.p, v.s.n);
}
