/* Amazon SNS (sns_configs): one Publish call of SNS's Query API per notification, form-encoded
 * as the AWS SDK writes it and signed with SigV4, to a topic, a phone number (SMS) or a
 * platform endpoint. Credentials are static (the config's or the environment's); the reply is
 * SNS's XML, whose error message is kept for the log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "rcv.h"
#include "tocsin/clock.h"
#include "tocsin/log.h"
#include "tocsin/utf8.h"

/* SNS's limits: a message in bytes (an SMS's, when publishing to a phone number), a subject in
 * characters. */
#define SNS_MAX_MESSAGE_BYTES (256 * 1024)
#define SNS_MAX_SMS_BYTES     1600
#define SNS_MAX_SUBJECT_RUNES 100
#define SNS_API_VERSION       "2010-03-31"
#define SNS_SERVICE           "sns"

typedef struct sns_sigv4 {
    char *region;
    char *access_key, *secret_key;
    char *profile, *role_arn, *external_id;
    bool use_fips_sts_endpoint; /* STS only, with role_arn */
    char *service_name;         /* read by Prometheus's remote write; SNS signs as "sns" */
} sns_sigv4_t;

typedef struct sns_conf {
    char *api_url;
    sns_sigv4_t sigv4;
    char *topic_arn, *phone_number, *target_arn;
    char *subject, *message;
    tn_strmap_t attributes;
    bool use_aws_http_client; /* chooses the SDK's HTTP client; tocsin has one */
    tn_http_config_t http_config;
} sns_conf_t;

#define S(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(sns_sigv4_t, m)                                    \
    }
#define F(k, t, m)                                                                                 \
    {                                                                                              \
        .key = k, .type = t, .offset = offsetof(sns_conf_t, m)                                     \
    }

static const tn_field_t sns_sigv4_fields[] = {
    S("region", TN_F_STRING, region),
    S("access_key", TN_F_STRING, access_key),
    S("secret_key", TN_F_SECRET, secret_key),
    S("profile", TN_F_STRING, profile),
    S("role_arn", TN_F_STRING, role_arn),
    S("external_id", TN_F_STRING, external_id),
    S("use_fips_sts_endpoint", TN_F_BOOL, use_fips_sts_endpoint),
    S("service_name", TN_F_STRING, service_name),
    {.key = NULL},
};

static const tn_field_t sns_fields[] = {
    F("api_url", TN_F_STRING, api_url),
    {.key = "sigv4",
     .type = TN_F_STRUCT,
     .offset = offsetof(sns_conf_t, sigv4),
     .sub = sns_sigv4_fields},
    F("topic_arn", TN_F_STRING, topic_arn),
    F("phone_number", TN_F_STRING, phone_number),
    F("target_arn", TN_F_STRING, target_arn),
    {.key = "subject",
     .type = TN_F_STRING,
     .offset = offsetof(sns_conf_t, subject),
     .def = "{{ template \"sns.default.subject\" . }}"},
    {.key = "message",
     .type = TN_F_STRING,
     .offset = offsetof(sns_conf_t, message),
     .def = "{{ template \"sns.default.message\" . }}"},
    F("attributes", TN_F_STRING_MAP, attributes),
    F("use_aws_http_client", TN_F_BOOL, use_aws_http_client),
    F("http_config", TN_F_HTTP_CONFIG, http_config),
    {.key = NULL},
};

static void sns_drop(char **s)
{
    if (*s)
        memset(*s, 0, strlen(*s));
    free(*s);
    *s = NULL;
}

static int sns_finalize(void *conf, const tn_global_config_t *g, char *err, size_t errlen)
{
    TN_UNUSED(g);
    sns_conf_t *c = conf;
    const sns_sigv4_t *v = &c->sigv4;

    /* Alertmanager's checks first, with its words: the sigv4 block's, then the target's. */
    if (tn_receiver_set(v->access_key) != tn_receiver_set(v->secret_key)) {
        snprintf(err, errlen,
                 "must provide a AWS SigV4 Access key and Secret Key if credentials are "
                 "specified in the SigV4 config");
        return TN_ERR_INVAL;
    }
    if (tn_receiver_set(v->external_id) && !tn_receiver_set(v->role_arn)) {
        snprintf(err, errlen, "external_id can only be used with role_arn");
        return TN_ERR_INVAL;
    }
    /* Alertmanager's test is an exclusive or of the three: one target passes, and so do all
     * three at once (which SNS then refuses); none or two do not. */
    int targets = tn_receiver_set(c->topic_arn) + tn_receiver_set(c->phone_number) +
                  tn_receiver_set(c->target_arn);
    if (targets % 2 == 0) {
        snprintf(err, errlen,
                 "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config");
        return TN_ERR_INVAL;
    }
    /* What tocsin does not do, refused rather than ignored: a send would go unsigned or
     * signed with other credentials than the ones meant. */
    if (tn_receiver_set(v->role_arn)) {
        snprintf(err, errlen,
                 "sigv4.role_arn is not supported by tocsin: it does not assume roles through "
                 "AWS STS; give sigv4.access_key and sigv4.secret_key, or the environment "
                 "variables AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN");
        return TN_ERR_INVAL;
    }
    if (tn_receiver_set(v->profile)) {
        snprintf(err, errlen,
                 "sigv4.profile is not supported by tocsin: it reads no shared AWS config or "
                 "credentials file; give sigv4.access_key and sigv4.secret_key, or the "
                 "environment variables AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "
                 "AWS_SESSION_TOKEN");
        return TN_ERR_INVAL;
    }

    /* The request carries SigV4's Authorization header; Alertmanager's HTTP client never
     * replaces a header the request has, so http_config's credentials are not sent. */
    sns_drop(&c->http_config.basic_auth_username);
    sns_drop(&c->http_config.basic_auth_password);
    sns_drop(&c->http_config.authorization_type);
    sns_drop(&c->http_config.authorization_credentials);
    /* The SDK's custom CA bundle replaces the roots tls_config names. */
    const char *bundle = getenv("AWS_CA_BUNDLE");
    if (tn_receiver_set(bundle)) {
        free(c->http_config.tls.ca_file);
        free(c->http_config.tls.ca);
        c->http_config.tls.ca = NULL;
        c->http_config.tls.ca_file = tn_xstrdup(bundle);
    }
    return TN_OK;
}

/* ---- the Publish parameters ---- */

typedef struct sns_params {
    char **k, **v;
    size_t n;
} sns_params_t;

static void sns_param(sns_params_t *p, const char *k, const char *v)
{
    p->k = tn_xrealloc(p->k, (p->n + 1) * sizeof(*p->k));
    p->v = tn_xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
    p->k[p->n] = tn_xstrdup(k);
    p->v[p->n] = tn_xstrdup(v);
    p->n++;
}

static void sns_params_free(sns_params_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->k[i]);
        free(p->v[i]);
    }
    free(p->k);
    free(p->v);
}

/* Go's url.QueryEscape: unreserved bytes as they are, space as '+', the rest %XY. */
static void sns_form_escape(tn_buf_t *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            tn_buf_putc(b, (char)*p);
        else if (*p == ' ')
            tn_buf_putc(b, '+');
        else
            tn_buf_printf(b, "%%%02X", *p);
    }
}

/* The body as the SDK's query encoder writes it: every key=value, sorted by key. */
static void sns_form(tn_buf_t *b, const sns_params_t *p)
{
    size_t *idx = tn_xmalloc((p->n ? p->n : 1) * sizeof(*idx));
    for (size_t i = 0; i < p->n; i++)
        idx[i] = i;
    for (size_t i = 1; i < p->n; i++)
        for (size_t j = i; j > 0 && strcmp(p->k[idx[j - 1]], p->k[idx[j]]) > 0; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    for (size_t i = 0; i < p->n; i++) {
        if (i)
            tn_buf_putc(b, '&');
        sns_form_escape(b, p->k[idx[i]]);
        tn_buf_putc(b, '=');
        sns_form_escape(b, p->v[idx[i]]);
    }
    free(idx);
}

static int sns_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* MessageAttributes as a query map: entries numbered from 1 in the order of their names. */
static void sns_attributes(sns_params_t *p, const tn_strmap_t *attrs)
{
    const char **names = tn_xmalloc((attrs->n ? attrs->n : 1) * sizeof(*names));
    for (size_t i = 0; i < attrs->n; i++)
        names[i] = attrs->keys[i];
    qsort(names, attrs->n, sizeof(*names), sns_str_cmp);
    for (size_t i = 0; i < attrs->n; i++) {
        char k[64];
        snprintf(k, sizeof(k), "MessageAttributes.entry.%zu.Name", i + 1);
        sns_param(p, k, names[i]);
        snprintf(k, sizeof(k), "MessageAttributes.entry.%zu.Value.DataType", i + 1);
        sns_param(p, k, "String");
        snprintf(k, sizeof(k), "MessageAttributes.entry.%zu.Value.StringValue", i + 1);
        sns_param(p, k, tn_strmap_get(attrs, names[i]));
    }
    free(names);
}

/* Cuts s to at most max bytes, back to a whole character: Alertmanager cuts at the byte, which
 * can leave half a character SNS would refuse. */
static bool sns_truncate_bytes(char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max)
        return false;
    size_t cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    s[cut] = 0;
    return true;
}

/* The region field of an ARN (arn:partition:service:region:account:resource), or NULL. */
static char *sns_arn_region(const char *arn)
{
    if (!arn || strncmp(arn, "arn:", 4) != 0)
        return NULL;
    const char *p = arn;
    for (int i = 0; i < 3; i++) {
        p = strchr(p, ':');
        if (!p)
            return NULL;
        p++;
    }
    const char *end = strchr(p, ':');
    if (!end || end == p)
        return NULL;
    return tn_xstrndup(p, (size_t)(end - p));
}

static bool sns_host_label(const char *s)
{
    if (!s[0])
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            return false;
    return true;
}

static const char *sns_env(const char *a, const char *b)
{
    const char *v = getenv(a);
    if (!tn_receiver_set(v) && b)
        v = getenv(b);
    return tn_receiver_set(v) ? v : NULL;
}

/* The Publish URL for an api_url: the SDK joins the operation's path "/" to the endpoint's,
 * so a path of its own ends in a slash ("/sns" becomes "/sns/"). NULL if it is no http(s)
 * URL. */
static char *sns_endpoint(const char *api_url)
{
    char *scheme = NULL, *path = NULL, *out = NULL;
    CURLU *u = curl_url();
    if (!u)
        abort();
    if (curl_url_set(u, CURLUPART_URL, api_url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        size_t len = path ? strlen(path) : 0;
        while (len > 0 && path[len - 1] == '/')
            len--;
        char *joined = tn_xasprintf("%.*s/", (int)len, path ? path : "");
        char *url = NULL;
        if (curl_url_set(u, CURLUPART_PATH, joined, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK)
            out = tn_xstrdup(url);
        curl_free(url);
        free(joined);
    }
    curl_free(scheme);
    curl_free(path);
    curl_url_cleanup(u);
    return out;
}

typedef struct sns_build_ctx {
    tn_rcv_tmpl_t t;
    char *err;
    size_t errlen;
    int rc;
} sns_build_ctx_t;

/* A text the request cannot do without: a template failure fails the send. */
static char *sns_render_strict(sns_build_ctx_t *x, const char *text, const char *key)
{
    unsigned before = x->t.failures;
    char *s = tn_rcv_render(&x->t, text, 0);
    if (x->t.failures != before && x->rc == TN_OK) {
        snprintf(x->err, x->errlen, "execute '%s' template: failed", key);
        x->rc = TN_ERR_INVAL;
    }
    return s;
}

static int sns_build(tn_send_t *s, tn_out_request_t *req, char *err, size_t errlen)
{
    const sns_conf_t *c = s->ic->conf;
    const tn_notification_t *n = s->n;
    sns_build_ctx_t x = {.err = err, .errlen = errlen, .rc = TN_OK};
    sns_params_t p = {0};
    tn_strmap_t attrs = {0};
    char *api_url = NULL, *arn = NULL, *region = NULL, *url = NULL, *msg = NULL;
    tn_rcv_tmpl_init(&x.t, n, "sns");

    /* Static credentials: the config's, else the environment's, as the SDK's chain starts. */
    tn_rcv_aws_creds_t cr = {0};
    if (tn_receiver_set(c->sigv4.access_key)) {
        cr.access_key = c->sigv4.access_key;
        cr.secret_key = c->sigv4.secret_key;
    } else {
        cr.access_key = sns_env("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY");
        cr.secret_key = sns_env("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY");
        if (!cr.access_key || !cr.secret_key) {
            snprintf(err, errlen,
                     "no AWS credentials: sigv4 has no access_key and AWS_ACCESS_KEY_ID and "
                     "AWS_SECRET_ACCESS_KEY are not both set (tocsin reads no shared "
                     "credentials file and no instance or container role)");
            return TN_ERR_INVAL;
        }
        cr.session_token = sns_env("AWS_SESSION_TOKEN", NULL);
    }

    api_url = sns_render_strict(&x, c->api_url, "api_url");
    for (size_t i = 0; i < c->attributes.n && x.rc == TN_OK; i++) {
        char *k = sns_render_strict(&x, c->attributes.keys[i], "attributes");
        char *v = sns_render_strict(&x, c->attributes.values[i], "attributes");
        tn_strmap_set(&attrs, k, v);
        free(k);
        free(v);
    }

    size_t limit = SNS_MAX_MESSAGE_BYTES;
    if (tn_receiver_set(c->topic_arn) && x.rc == TN_OK) {
        char *topic = sns_render_strict(&x, c->topic_arn, "topic_arn");
        sns_param(&p, "TopicArn", topic);
        /* A FIFO topic wants both ids: the group key's hash, as Alertmanager sends. */
        size_t tl = strlen(topic);
        if (tl >= 5 && strcmp(topic + tl - 5, ".fifo") == 0) {
            char hash[65];
            tn_rcv_sha256_hex(n->group_key ? n->group_key : "", hash);
            sns_param(&p, "MessageDeduplicationId", hash);
            sns_param(&p, "MessageGroupId", hash);
        }
        arn = topic;
    }
    if (tn_receiver_set(c->phone_number) && x.rc == TN_OK) {
        char *phone = sns_render_strict(&x, c->phone_number, "phone_number");
        sns_param(&p, "PhoneNumber", phone);
        free(phone);
        limit = SNS_MAX_SMS_BYTES;
    }
    if (tn_receiver_set(c->target_arn) && x.rc == TN_OK) {
        char *target = sns_render_strict(&x, c->target_arn, "target_arn");
        sns_param(&p, "TargetArn", target);
        if (!arn)
            arn = target;
        else
            free(target);
    }
    if (x.rc != TN_OK)
        goto done;

    /* The message and subject page whatever happens: a broken template sends the fallback. */
    msg = tn_rcv_render_main(&x.t, c->message, 0);
    if (!tn_utf8_valid(msg, strlen(msg))) {
        snprintf(err, errlen, "non utf8 encoded message string");
        x.rc = TN_ERR_INVAL;
        goto done;
    }
    if (sns_truncate_bytes(msg, limit)) {
        char max[24];
        snprintf(max, sizeof(max), "%zu", limit);
        tn_log(TN_LOG_WARN, "Truncated message", "integration", "sns", "aggrGroup", n->group_key,
               "max_bytes", max, NULL);
        tn_strmap_set(&attrs, "truncated", "true");
    }
    sns_param(&p, "Message", msg);
    if (tn_receiver_set(c->subject)) {
        char *subject = tn_rcv_render_main(&x.t, c->subject, 0);
        /* SNS refuses a longer subject; Alertmanager sends it and loses the page. */
        if (tn_rcv_truncate_runes(&subject, SNS_MAX_SUBJECT_RUNES))
            tn_log(TN_LOG_WARN, "Truncated subject", "integration", "sns", "aggrGroup",
                   n->group_key, "max_runes", TN_STR(SNS_MAX_SUBJECT_RUNES), NULL);
        sns_param(&p, "Subject", subject);
        free(subject);
    }
    sns_attributes(&p, &attrs);
    sns_param(&p, "Action", "Publish");
    sns_param(&p, "Version", SNS_API_VERSION);

    /* The region: the config's, the environment's, else the ARN's (where the SDK has none). */
    const char *env_region = sns_env("AWS_REGION", "AWS_DEFAULT_REGION");
    if (tn_receiver_set(c->sigv4.region))
        region = tn_xstrdup(c->sigv4.region);
    else if (env_region)
        region = tn_xstrdup(env_region);
    else
        region = sns_arn_region(arn);
    if (!region) {
        snprintf(err, errlen,
                 "region not configured in sns.sigv4.region or in default "
                 "credentials chain");
        x.rc = TN_ERR_INVAL;
        goto done;
    }
    if (!sns_host_label(region)) {
        snprintf(err, errlen, "invalid region \"%s\": not a host name label", region);
        x.rc = TN_ERR_INVAL;
        goto done;
    }
    if (api_url[0])
        url = sns_endpoint(api_url);
    else
        url = tn_xasprintf("https://sns.%s.amazonaws.com%s/", region,
                           strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    if (!url) {
        snprintf(err, errlen, "invalid api_url \"%s\": not an absolute http(s) URL", api_url);
        x.rc = TN_ERR_INVAL;
        goto done;
    }

    tn_buf_reset(&req->body);
    sns_form(&req->body, &p);
    tn_out_request_set_url(req, url);
    tn_out_request_add_header(req, "Content-Type", "application/x-www-form-urlencoded");
    x.rc = tn_rcv_sigv4_sign(req, &cr, region, SNS_SERVICE, tn_clock_now(), err, errlen);
    req->http = &c->http_config;

done:
    sns_params_free(&p);
    tn_strmap_free(&attrs);
    free(api_url);
    free(arn);
    free(region);
    free(url);
    free(msg);
    return x.rc;
}

/* ---- the reply ---- */

/* The text of the first <name> element in xml[0..len), entities decoded; NULL if none. */
static char *sns_xml_text(const char *xml, size_t len, const char *name)
{
    char open[40], close[40];
    snprintf(open, sizeof(open), "<%s>", name);
    snprintf(close, sizeof(close), "</%s>", name);
    const char *end = xml + len, *a = NULL;
    for (const char *p = xml; p + strlen(open) <= end; p++)
        if (memcmp(p, open, strlen(open)) == 0) {
            a = p + strlen(open);
            break;
        }
    if (!a)
        return NULL;
    const char *z = NULL;
    for (const char *p = a; p + strlen(close) <= end; p++)
        if (memcmp(p, close, strlen(close)) == 0) {
            z = p;
            break;
        }
    if (!z)
        return NULL;
    tn_buf_t b;
    tn_buf_init(&b, 0);
    static const char *const ents[][2] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""}, {"&apos;", "'"},
    };
    for (const char *p = a; p < z;) {
        bool done = false;
        if (*p == '&') {
            for (size_t i = 0; i < TN_ARRAY_LEN(ents) && !done; i++) {
                size_t l = strlen(ents[i][0]);
                if ((size_t)(z - p) >= l && memcmp(p, ents[i][0], l) == 0) {
                    tn_buf_puts(&b, ents[i][1]);
                    p += l;
                    done = true;
                }
            }
            if (!done && p + 2 < z && p[1] == '#') {
                char *stop;
                bool hex = p[2] == 'x' || p[2] == 'X';
                unsigned long cp = strtoul(p + (hex ? 3 : 2), &stop, hex ? 16 : 10);
                if (stop < z && *stop == ';' && stop > p + (hex ? 3 : 2) && cp > 0 &&
                    cp <= 0x10FFFF) {
                    tn_utf8_put(&b, (uint32_t)cp);
                    p = stop + 1;
                    done = true;
                }
            }
        }
        if (!done)
            tn_buf_putc(&b, *p++);
    }
    char *s = tn_xstrndup(b.data ? b.data : "", b.len);
    tn_buf_free(&b);
    return s;
}

/* Error codes the SDK's standard retryer tries again: throttling and request timeouts. */
static bool sns_retryable_code(const char *code)
{
    static const char *const codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
    };
    for (size_t i = 0; code && i < TN_ARRAY_LEN(codes); i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

static void sns_classify(tn_send_t *s, const tn_out_response_t *resp, tn_send_outcome_t *o)
{
    TN_UNUSED(s);
    /* 5xx and transport failures are retried, as the notifier does; 429 too, after its
     * Retry-After, as the SDK retries throttling before giving the error to Alertmanager. */
    o->result = tn_receiver_classify_http(resp, true, &o->reason, o->err, sizeof(o->err));
    if (resp->curl_code != 0)
        return;
    if (o->result == TN_SEND_DONE) {
        char *id = sns_xml_text(resp->body, resp->body_len, "MessageId");
        char *seq = sns_xml_text(resp->body, resp->body_len, "SequenceNumber");
        tn_log(TN_LOG_DEBUG, "SNS message successfully published", "integration", "sns",
               "message_id", id ? id : "", "sequence_number", seq ? seq : "", NULL);
        free(id);
        free(seq);
        return;
    }
    /* SNS's XML error: <ErrorResponse><Error><Type/><Code/><Message/></Error>... */
    const char *body = resp->body ? resp->body : "";
    const char *e = strstr(body, "<Error>");
    size_t elen = e ? resp->body_len - (size_t)(e - body) : 0;
    char *code = e ? sns_xml_text(e, elen, "Code") : NULL;
    char *msg = e ? sns_xml_text(e, elen, "Message") : NULL;
    if (msg || code)
        snprintf(o->err, sizeof(o->err), "unexpected status code %ld: %s", resp->status,
                 msg && msg[0] ? msg : code);
    if (o->result == TN_SEND_FAIL && sns_retryable_code(code))
        o->result = TN_SEND_RETRY;
    free(code);
    free(msg);
}

const tn_receiver_type_t tn_receiver_sns = {
    .name = "sns",
    .conf_size = sizeof(sns_conf_t),
    .fields = sns_fields,
    .send_resolved_default = true,
    .finalize = sns_finalize, /* upstream's checks; role_arn and profile refused */
    .conf_free = NULL,        /* the field table frees everything */
    .build = sns_build,       /* one signed Publish */
    .classify = sns_classify, /* retry 5xx, 429 and throttling codes; SNS's error message */
};
