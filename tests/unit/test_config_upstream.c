/* Alertmanager's config/testdata verdicts: each upstream file is rewritten here as an input of
 * the same shape (names and values are this file's own), with the verdict upstream's loader
 * gives it. A file upstream accepts loads; one it refuses is refused with upstream's reason in
 * the message. Until every integration exists, a file whose only problem for tocsin is a
 * receiver type it lacks must be refused with "is not supported yet", never accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tocsin/config.h"

#define UNSUPPORTED "is not supported yet"

typedef struct row {
    const char *upstream; /* config/testdata/conf.<name>.yml */
    const char *yaml;
    const char *want_err; /* NULL: loads */
} row_t;

static const row_t rows[] = {
    {"empty-fields",
     "global:\n  smtp_smarthost: 'mail.example.net:25'\n  smtp_from: 'am@example.net'\n"
     "  smtp_auth_username: ''\n  smtp_auth_password: ''\n  smtp_hello: ''\n"
     "  slack_api_url: 'https://chat.example.net/hook'\n"
     "templates:\n  - '/nonexistent/tocsin-test/*.tmpl'\n"
     "route:\n  group_by: ['alertname', 'zone']\n  receiver: ops-mail\n  routes:\n"
     "    - match_re:\n        service: ^(api|web)$\n      receiver: ops-mail\n"
     "receivers:\n  - name: ops-mail\n    email_configs:\n      - to: 'ops@example.net'\n",
     NULL},
    {"good (without its victorops, opsgenie and pushover receivers)",
     "global:\n  resolve_timeout: 5m\n  smtp_smarthost: 'mail.example.net:25'\n"
     "  smtp_from: 'am@example.net'\n  smtp_auth_username: 'am'\n"
     "  smtp_auth_password: \"two\\nlines\"\n  smtp_hello: 'am.example.net'\n"
     "  slack_api_url: 'http://hidden.example.net/'\n"
     "  http_config:\n    proxy_url: 'http://127.0.0.1:3128'\n"
     "templates:\n  - '/nonexistent/tocsin-test/*.tmpl'\n"
     "route:\n  group_by: ['alertname', 'zone', 'service']\n  group_wait: 30s\n"
     "  group_interval: 5m\n  repeat_interval: 3h\n  receiver: a-mail\n  routes:\n"
     "    - match_re:\n        service: ^(api|web)$\n      receiver: a-mail\n      routes:\n"
     "        - match:\n            severity: critical\n          receiver: a-pager\n"
     "    - match:\n        service: db\n      receiver: db-pager\n"
     "      group_by: [alertname, zone, database]\n      routes:\n"
     "        - match:\n            owner: team-a\n          receiver: a-pager\n"
     "          continue: true\n"
     "inhibit_rules:\n  - source_match:\n      severity: 'critical'\n"
     "    target_match:\n      severity: 'warning'\n    target_match_re:\n"
     "      service: '^(api|web)$'\n    equal: ['alertname', 'zone']\n"
     "receivers:\n  - name: a-mail\n    email_configs:\n      - to: 'a@example.net'\n"
     "  - name: a-pager\n    email_configs:\n      - to: 'a-pager@example.net'\n"
     "    pagerduty_configs:\n      - routing_key: 'hidden'\n"
     "  - name: db-pager\n    pagerduty_configs:\n      - routing_key: 'hidden'\n"
     "  - name: chat\n    slack_configs:\n      - channel: '#ops'\n"
     "        image_url: 'http://img.example.net/i.png'\n",
     NULL},
    {"good (its victorops receiver)",
     "route:\n  receiver: v\nreceivers:\n  - name: v\n    victorops_configs:\n"
     "      - api_key: k\n        routing_key: r\n",
     UNSUPPORTED},
    {"good (its opsgenie receiver)",
     "route:\n  receiver: o\nreceivers:\n  - name: o\n    opsgenie_configs:\n      - api_key: k\n",
     UNSUPPORTED},
    {"good (its pushover receiver)",
     "route:\n  receiver: p\nreceivers:\n  - name: p\n    pushover_configs:\n"
     "      - token: t\n        user_key: u\n",
     UNSUPPORTED},
    {"group-by-all",
     "route:\n  group_by: ['...']\n  group_wait: 30s\n  group_interval: 5m\n"
     "  repeat_interval: 3h\n  receiver: all\nreceivers:\n  - name: all\n",
     NULL},
    {"http-config.good",
     "global:\n  slack_api_url: 'https://chat.example.net/hook'\n"
     "  http_config:\n    follow_redirects: false\n"
     "route:\n  receiver: chat\nreceivers:\n  - name: chat\n    slack_configs:\n"
     "      - http_config:\n          proxy_url: relative\n",
     NULL},
    {"nil-match_re-route",
     "route:\n  receiver: none\n  routes:\n    - match_re:\n        no_value_here:\n"
     "      receiver: none\nreceivers:\n  - name: none\n",
     "no_value_here"},
    {"nil-source_match_re-inhibition",
     "route:\n  receiver: none\nreceivers:\n  - name: none\ninhibit_rules:\n"
     "  - source_match_re:\n      empty_source:\n    target_match_re:\n      severity: page\n",
     "empty_source"},
    {"nil-target_match_re-inhibition",
     "route:\n  receiver: none\nreceivers:\n  - name: none\ninhibit_rules:\n"
     "  - source_match_re:\n      severity: page\n    target_match_re:\n      empty_target:\n",
     "empty_target"},
    {"slack-both-file-and-token",
     "global:\n  slack_app_token: 'xoxb-1-a'\n  slack_app_token_file: '/nonexistent/t'\n"
     "route:\n  receiver: chat\nreceivers:\n  - name: chat\n    slack_configs:\n"
     "      - channel: '#a'\n",
     "at most one of slack_app_token & slack_app_token_file must be configured"},
    {"slack-both-file-and-url",
     "global:\n  slack_api_url: 'https://chat.example.net/hook'\n"
     "  slack_api_url_file: '/nonexistent/u'\n"
     "route:\n  receiver: chat\nreceivers:\n  - name: chat\n    slack_configs:\n"
     "      - channel: '#a'\n",
     "at most one of slack_api_url & slack_api_url_file must be configured"},
    {"slack-both-url-and-token",
     "global:\n  slack_app_token: 'xoxb-1-a'\n  slack_api_url: 'https://chat.example.net/hook'\n"
     "route:\n  receiver: chat\nreceivers:\n  - name: chat\n    slack_configs:\n"
     "      - channel: '#a'\n",
     "at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file "
     "must be configured"},
    {"slack-default-api-url-file",
     "global:\n  slack_api_url_file: '/nonexistent/global'\n"
     "route:\n  receiver: chat\nreceivers:\n  - name: chat\n    slack_configs:\n"
     "      - channel: '#a'\n      - channel: '#b'\n        api_url_file: '/nonexistent/b'\n"
     "      - channel: '#c'\n        api_url: 'http://hidden.example.net/'\n",
     NULL},
    {"slack-default-app-token",
     "global:\n  slack_app_token: 'xoxb-1-a'\n  slack_api_url: "
     "'https://slack.com/api/chat.postMessage'\n"
     "route:\n  receiver: chat\nreceivers:\n  - name: chat\n    slack_configs:\n"
     "      - channel: '#a'\n      - channel: '#b'\n        app_token: 'xoxb-2-b'\n"
     "      - channel: '#c'\n        app_url: http://api.chat.example.net/\n"
     "      - channel: '#d'\n        http_config:\n          authorization:\n"
     "            credentials: 'xoxb-3-d'\n"
     "      - api_url: 'https://hooks.chat.example.net/x'\n        send_resolved: true\n",
     NULL},
    {"slack-no-api-url-or-token",
     "route:\n  receiver: chat\nreceivers:\n  - name: chat\n    slack_configs:\n"
     "      - channel: '#a'\n",
     "no Slack API URL nor App token set either inline or in a file"},
    {"slack-update-message-and-webhook",
     "route:\n  receiver: chat\nreceivers:\n  - name: chat\n    slack_configs:\n"
     "      - channel: '#a'\n        api_url: 'https://hooks.chat.example.net/x'\n"
     "        update_message: true\n",
     "update_message can only be used with bot tokens. api_url must be set to "
     "https://slack.com/api/chat.postMessage"},
    {"smtp-both-password-and-file",
     "global:\n  smtp_smarthost: 'mail.example.net:25'\n  smtp_from: 'am@example.net'\n"
     "  smtp_auth_username: 'am'\n  smtp_auth_password: 'p'\n"
     "  smtp_auth_password_file: '/nonexistent/p'\n"
     "route:\n  receiver: mail\nreceivers:\n  - name: mail\n    email_configs:\n"
     "      - to: 'a@example.net'\n",
     "at most one of smtp_auth_password & smtp_auth_password_file must be configured"},
    {"smtp-no-username-or-password",
     "global:\n  smtp_smarthost: 'mail.example.net:25'\n  smtp_from: 'am@example.net'\n"
     "  smtp_hello: 'am.example.net'\n"
     "route:\n  receiver: mail\nreceivers:\n  - name: mail\n    email_configs:\n"
     "      - to: 'a@example.net'\n",
     NULL},
    {"smtp-password-global-and-local",
     "global:\n  smtp_smarthost: 'mail.example.net:25'\n  smtp_from: 'am@example.net'\n"
     "  smtp_auth_username: 'g'\n  smtp_auth_password_file: '/nonexistent/gp'\n"
     "  smtp_auth_secret_file: '/nonexistent/gs'\n"
     "route:\n  receiver: mail\nreceivers:\n  - name: mail\n    email_configs:\n"
     "      - to: 'a@example.net'\n"
     "      - to: 'b@example.net'\n        auth_username: 'b'\n"
     "        auth_password_file: '/nonexistent/bp'\n"
     "      - to: 'c@example.net'\n        auth_username: 'c'\n        auth_password: 'cp'\n"
     "      - to: 'd@example.net'\n        auth_username: 'd'\n        auth_secret: 'ds'\n"
     "      - to: 'e@example.net'\n        auth_username: 'e'\n"
     "        auth_secret_file: '/nonexistent/es'\n",
     NULL},
    /* Integrations tocsin does not have yet: upstream accepts or refuses these for reasons of
     * their own fields; tocsin refuses every one, naming the type. */
    {"mattermost-default-webhook-url",
     "global:\n  mattermost_webhook_url: 'https://mm.example.net/hooks/x'\n"
     "route:\n  receiver: m\nreceivers:\n  - name: m\n    mattermost_configs:\n      - text: t\n",
     UNSUPPORTED},
    {"opsgenie-default-apikey",
     "global:\n  opsgenie_api_key: k\n"
     "route:\n  receiver: o\nreceivers:\n  - name: o\n    opsgenie_configs:\n"
     "      - responders:\n          - name: team-a\n            type: team\n",
     UNSUPPORTED},
    {"rocketchat-default-token",
     "global:\n  rocketchat_token: t\n  rocketchat_token_id: i\n"
     "route:\n  receiver: r\nreceivers:\n  - name: r\n    rocketchat_configs:\n"
     "      - channel: '#a'\n",
     UNSUPPORTED},
    {"sns-topic-arn",
     "route:\n  receiver: s\nreceivers:\n  - name: s\n    sns_configs:\n"
     "      - topic_arn: 'arn:aws:sns:eu-west-1:123456789012:alerts'\n        sigv4:\n"
     "          region: eu-west-1\n",
     UNSUPPORTED},
    {"telegram-default-bot-token",
     "global:\n  telegram_bot_token: t\n"
     "route:\n  receiver: tg\nreceivers:\n  - name: tg\n    telegram_configs:\n"
     "      - chat_id: 42\n",
     UNSUPPORTED},
    {"victorops-default-apikey",
     "global:\n  victorops_api_key: k\n"
     "route:\n  receiver: v\nreceivers:\n  - name: v\n    victorops_configs:\n"
     "      - routing_key: r\n",
     UNSUPPORTED},
    {"wechat-default-api-secret-file",
     "global:\n  wechat_api_secret_file: '/nonexistent/s'\n  wechat_api_corp_id: c\n"
     "route:\n  receiver: w\nreceivers:\n  - name: w\n    wechat_configs:\n"
     "      - agent_id: '1'\n",
     UNSUPPORTED},
};

static void test_upstream_testdata_verdicts(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row_t *r = &rows[i];
        char err[1024] = "";
        tn_buf_t warnings;
        tn_buf_init(&warnings, 0);
        /* As check-config loads: upstream reads secret files only when it sends. */
        tn_config_t *c = tn_config_load_string_ex("test.yml", r->yaml, strlen(r->yaml),
                                                  TN_CFG_CHECK_ONLY, &warnings, err, sizeof(err));
        tn_buf_free(&warnings);
        if (!r->want_err && !c) {
            print_error("conf.%s: refused, upstream loads it: %s\n", r->upstream, err);
            bad++;
        } else if (r->want_err && c) {
            print_error("conf.%s: loaded, upstream refuses it (%s)\n", r->upstream, r->want_err);
            bad++;
        } else if (r->want_err && !strstr(err, r->want_err)) {
            print_error("conf.%s: error %s\n  lacks: %s\n", r->upstream, err, r->want_err);
            bad++;
        }
        if (c)
            tn_config_unref(c);
    }
    assert_int_equal(bad, 0);
}

/* The check passes an unreadable secret file with a warning at its key; the server's load
 * refuses it, since it would run without the secret. */
static void test_unreadable_secret_file_check_only(void **state)
{
    (void)state;
    const char *yaml = "global:\n  slack_api_url_file: '/nonexistent/tocsin-secret'\n"
                       "route:\n  receiver: chat\nreceivers:\n  - name: chat\n"
                       "    slack_configs:\n      - channel: '#a'\n";
    char err[1024] = "";
    tn_buf_t w;
    tn_buf_init(&w, 0);
    tn_config_t *c = tn_config_load_string_ex("t.yml", yaml, strlen(yaml), TN_CFG_CHECK_ONLY, &w,
                                              err, sizeof(err));
    assert_non_null(c);
    tn_config_unref(c);
    tn_buf_cstr(&w);
    assert_non_null(strstr(w.data, "t.yml:2:3: unable to read secret file: open "
                                   "/nonexistent/tocsin-secret: No such file or directory\n"));
    tn_buf_free(&w);
    assert_null(tn_config_load_string("t.yml", yaml, strlen(yaml), err, sizeof(err)));
    assert_non_null(strstr(err, "t.yml:2:3: unable to read secret file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_testdata_verdicts),
        cmocka_unit_test(test_unreadable_secret_file_check_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
