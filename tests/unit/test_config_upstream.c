/* Alertmanager's config/testdata verdicts: each upstream file is rewritten here as an input of
 * the same shape (names and values are this file's own), with the verdict upstream's loader
 * gives it. A file upstream accepts loads; one it refuses is refused with upstream's reason in
 * the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tocsin/config.h"

typedef struct row {
    const char *upstream; /* config/testdata/conf.<name>.yml */
    const char *yaml;
    const char *want_err; /* NULL: loads */
} row_t;

/* conf.opsgenie-*.yml: two receivers, the first without a key of its own. */
#define OG_ROUTE                                                                                   \
    "route:\n  receiver: y\n  routes:\n    - match:\n        service: foo\n      receiver: x\n"
#define OG_RECEIVERS(own)                                                                          \
    "receivers:\n  - name: x\n    opsgenie_configs:\n"                                             \
    "      - responders:\n          - name: 'team-x'\n            type: 'team'\n"                  \
    "  - name: y\n    opsgenie_configs:\n"                                                         \
    "      - responders:\n          - name: 'escalation-y'\n            type: 'escalation'\n"      \
    "        " own "\n"

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
     NULL},
    {"good (its opsgenie receiver)",
     "route:\n  receiver: o\nreceivers:\n  - name: o\n    opsgenie_configs:\n      - api_key: k\n",
     NULL},
    {"good (its pushover receiver)",
     "route:\n  receiver: p\nreceivers:\n  - name: p\n    pushover_configs:\n"
     "      - token: t\n        user_key: u\n",
     NULL},
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
    {"opsgenie-both-file-and-apikey",
     "global:\n  opsgenie_api_key: g1\n  opsgenie_api_key_file: '/nonexistent/og'\n" OG_ROUTE
         OG_RECEIVERS("api_key: y1"),
     "at most one of opsgenie_api_key & opsgenie_api_key_file must be configured"},
    {"opsgenie-default-apikey",
     "global:\n  opsgenie_api_key: g1\n" OG_ROUTE OG_RECEIVERS("api_key: y1"), NULL},
    {"opsgenie-default-apikey-file",
     "global:\n  opsgenie_api_key_file: '/nonexistent/og'\n" OG_ROUTE OG_RECEIVERS(
         "api_key_file: /nonexistent/own"),
     NULL},
    {"opsgenie-default-apikey-old-team",
     "global:\n  opsgenie_api_key: g1\n" OG_ROUTE
     "receivers:\n  - name: x\n    opsgenie_configs:\n      - teams: 'team-x'\n"
     "  - name: y\n    opsgenie_configs:\n      - api_key: y1\n",
     "unknown field \"teams\" in opsgenie_configs"},
    {"opsgenie-no-apikey",
     "route:\n  receiver: x\nreceivers:\n  - name: x\n    opsgenie_configs:\n"
     "      - responders:\n          - name: 'team-x'\n            type: 'team'\n",
     "no global OpsGenie API Key set either inline or in a file"},

    {"sns-topic-arn",
     "route:\n  receiver: s\n  group_by: [alertname]\nreceivers:\n  - name: s\n"
     "    sns_configs:\n      - api_url: https://sns.eu-west-1.amazonaws.com\n"
     "        topic_arn: 'arn:aws:sns:eu-west-1:123456789012:alerts'\n        sigv4:\n"
     "          region: eu-west-1\n          access_key: key\n          secret_key: secret\n"
     "        attributes:\n          severity: page\n",
     NULL},
    {"sns-invalid",
     "route:\n  receiver: s\n  group_by: [alertname]\nreceivers:\n  - name: s\n"
     "    sns_configs:\n      - api_url: https://sns.eu-west-1.amazonaws.com\n"
     "        sigv4:\n          region: eu-west-1\n          access_key: key\n"
     "          secret_key: secret\n        attributes:\n          severity: page\n",
     "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config"},

    /* Checks that live with an integration's own config type upstream (notify/<name>/
     * config.go and its tests) rather than in config/testdata. */
    {"webhook: TestWebhookURLIsPresent",
     "route:\n  receiver: w\nreceivers:\n  - name: w\n    webhook_configs:\n"
     "      - max_alerts: 1\n",
     "one of url or url_file must be configured"},
    {"webhook: TestWebhookURLOrURLFile",
     "route:\n  receiver: w\nreceivers:\n  - name: w\n    webhook_configs:\n"
     "      - url: 'http://hook.example.net'\n        url_file: '/nonexistent/u'\n",
     "at most one of url & url_file must be configured"},
    {"webhook: payload (TestWebhookCustomPayloadMap, List, String)",
     "route:\n  receiver: w\nreceivers:\n  - name: w\n    webhook_configs:\n"
     "      - url: 'http://hook.example.net/a'\n        payload:\n"
     "          custom: some custom content\n"
     "          commonLabels: '{{ .CommonLabels | toJson }}'\n"
     "      - url: 'http://hook.example.net/b'\n        payload:\n"
     "          - foo: bar\n          - [1, 2.5, true, null]\n"
     "      - url: 'http://hook.example.net/c'\n"
     "        payload: '{{ .Alerts | toJson }}'\n"
     "      - url: 'http://hook.example.net/d'\n        payload: 42\n",
     NULL},
    {"incidentio: url and token",
     "route:\n  receiver: i\nreceivers:\n  - name: i\n    incidentio_configs:\n"
     "      - url: 'https://api.incident.example.net/v2/alert_events/http/01'\n"
     "        alert_source_token: 'tok'\n        max_alerts: 10\n        timeout: 10s\n"
     "      - url_file: '/nonexistent/u'\n"
     "        alert_source_token_file: '/nonexistent/t'\n"
     "      - url: 'https://api.incident.example.net/x'\n        http_config:\n"
     "          authorization:\n            credentials: 'tok'\n"
     "      - url: 'https://api.incident.example.net/y'\n",
     NULL},
    {"incidentio: missing url",
     "route:\n  receiver: i\nreceivers:\n  - name: i\n    incidentio_configs:\n"
     "      - alert_source_token: 'tok'\n",
     "one of url or url_file must be configured"},
    {"incidentio: url and url_file",
     "route:\n  receiver: i\nreceivers:\n  - name: i\n    incidentio_configs:\n"
     "      - url: 'https://api.incident.example.net/x'\n        url_file: '/nonexistent/u'\n"
     "        alert_source_token: 'tok'\n",
     "at most one of url & url_file must be configured"},
    {"incidentio: token and token file",
     "route:\n  receiver: i\nreceivers:\n  - name: i\n    incidentio_configs:\n"
     "      - url: 'https://api.incident.example.net/x'\n        alert_source_token: 'tok'\n"
     "        alert_source_token_file: '/nonexistent/t'\n",
     "at most one of alert_source_token & alert_source_token_file must be configured"},
    {"incidentio: token with http_config.authorization",
     "route:\n  receiver: i\nreceivers:\n  - name: i\n    incidentio_configs:\n"
     "      - url: 'https://api.incident.example.net/x'\n        alert_source_token: 'tok'\n"
     "        http_config:\n          authorization:\n            credentials: 'other'\n",
     "cannot specify alert_source_token or alert_source_token_file when using "
     "http_config.authorization"},
    {"incidentio: http_config without authorization nor token",
     "route:\n  receiver: i\nreceivers:\n  - name: i\n    incidentio_configs:\n"
     "      - url: 'https://api.incident.example.net/x'\n        http_config:\n"
     "          proxy_url: 'http://127.0.0.1:3128'\n",
     "at least one of alert_source_token, alert_source_token_file or http_config.authorization "
     "must be configured"},
    /* jira: notify/jira/config.go's checks, then config.go's for the API URL. */
    {"jira: api_url from global jira_api_url",
     "global:\n  jira_api_url: 'https://example.atlassian.net/rest/api/2'\n"
     "route:\n  receiver: j\nreceivers:\n  - name: j\n    jira_configs:\n"
     "      - project: OPS\n        issue_type: Bug\n        api_type: cloud\n"
     "        labels: [a]\n        reopen_duration: 1h\n        fields:\n"
     "          customfield_10000: '{{ .CommonLabels.team }}'\n"
     "          components: [{name: Monitoring}]\n",
     NULL},
    {"jira: no global Jira Cloud URL",
     "route:\n  receiver: j\nreceivers:\n  - name: j\n    jira_configs:\n"
     "      - project: OPS\n        issue_type: Bug\n",
     "no global Jira Cloud URL set"},
    {"jira: missing project",
     "global:\n  jira_api_url: 'https://jira.example.net/rest/api/2'\n"
     "route:\n  receiver: j\nreceivers:\n  - name: j\n    jira_configs:\n"
     "      - issue_type: Bug\n",
     "missing project in jira_config"},
    {"jira: missing issue_type",
     "global:\n  jira_api_url: 'https://jira.example.net/rest/api/2'\n"
     "route:\n  receiver: j\nreceivers:\n  - name: j\n    jira_configs:\n"
     "      - project: OPS\n",
     "missing issue_type in jira_config"},
    {"jira: unknown api_type",
     "global:\n  jira_api_url: 'https://jira.example.net/rest/api/2'\n"
     "route:\n  receiver: j\nreceivers:\n  - name: j\n    jira_configs:\n"
     "      - project: OPS\n        issue_type: Bug\n        api_type: server\n",
     "unknown api_type on jira_config, must be auto, cloud or datacenter"},

    {"telegram-default-bot-token",
     "global:\n  telegram_bot_token: t\n"
     "route:\n  receiver: tg\nreceivers:\n  - name: tg\n    telegram_configs:\n"
     "      - chat_id: 42\n  - name: tg2\n    telegram_configs:\n"
     "      - chat_id: 43\n        bot_token: own\n",
     NULL},
    {"telegram-default-bot-token-file",
     "global:\n  telegram_bot_token_file: '/nonexistent/global'\n"
     "route:\n  receiver: tg\nreceivers:\n  - name: tg\n    telegram_configs:\n"
     "      - chat_id: 42\n  - name: tg2\n    telegram_configs:\n"
     "      - chat_id: 43\n        bot_token_file: '/nonexistent/own'\n",
     NULL},
    {"telegram-both-bot-token-and-file",
     "global:\n  telegram_bot_token: t\n  telegram_bot_token_file: '/nonexistent/global'\n"
     "route:\n  receiver: tg\nreceivers:\n  - name: tg\n    telegram_configs:\n"
     "      - chat_id: 42\n  - name: tg2\n    telegram_configs:\n"
     "      - chat_id: 43\n        bot_token: own\n",
     "at most one of telegram_bot_token & telegram_bot_token_file must be configured"},
    {"telegram-valid-receiver-both-bot-token-and-file",
     "global:\n  telegram_bot_token: t\n  telegram_bot_token_file: '/nonexistent/global'\n"
     "route:\n  receiver: tg\nreceivers:\n  - name: tg\n    telegram_configs:\n"
     "      - chat_id: 42\n        bot_token_file: '/nonexistent/own'\n",
     "at most one of telegram_bot_token & telegram_bot_token_file must be configured"},
    {"telegram-no-bot-token",
     "route:\n  receiver: tg\nreceivers:\n  - name: tg\n    telegram_configs:\n"
     "      - chat_id: 42\n",
     "missing bot_token or bot_token_file on telegram_config"},
    /* Integrations tocsin does not have yet: upstream accepts or refuses these for reasons of
     * their own fields; tocsin refuses every one, naming the type. */
    {"mattermost-default-webhook-url",
     "global:\n  mattermost_webhook_url: 'https://mm.example.net/hooks/g'\n"
     "route:\n  receiver: m\nreceivers:\n  - name: m\n    mattermost_configs:\n"
     "      - channel: ops\n  - name: n\n    mattermost_configs:\n      - channel: dev\n"
     "        webhook_url: 'https://other.example.net/hooks/n'\n",
     NULL},
    {"mattermost-default-webhook-url-file",
     "global:\n  mattermost_webhook_url_file: '/nonexistent/g'\n"
     "route:\n  receiver: m\nreceivers:\n  - name: m\n    mattermost_configs:\n"
     "      - channel: ops\n  - name: n\n    mattermost_configs:\n      - channel: dev\n"
     "        webhook_url_file: '/nonexistent/n'\n",
     NULL},
    {"mattermost-both-webhook-url-and-file",
     "global:\n  mattermost_webhook_url: 'https://mm.example.net/hooks/g'\n"
     "  mattermost_webhook_url_file: '/nonexistent/g'\n"
     "route:\n  receiver: m\nreceivers:\n  - name: m\n    mattermost_configs:\n"
     "      - channel: ops\n",
     "at most one of mattermost_webhook_url & mattermost_webhook_url_file must be configured"},
    {"mattermost-valid-receiver-both-webhook-url-and-file",
     "global:\n  mattermost_webhook_url: 'https://mm.example.net/hooks/g'\n"
     "  mattermost_webhook_url_file: '/nonexistent/g'\n"
     "route:\n  receiver: m\nreceivers:\n  - name: m\n    mattermost_configs:\n"
     "      - channel: ops\n        webhook_url_file: '/nonexistent/n'\n",
     "at most one of mattermost_webhook_url & mattermost_webhook_url_file must be configured"},
    {"mattermost-no-webhook-url",
     "route:\n  receiver: m\nreceivers:\n  - name: m\n    mattermost_configs:\n"
     "      - channel: ops\n",
     "missing webhook_url or webhook_url_file on mattermost_config"},
    {"wechat-default-api-secret-file",
     "global:\n  wechat_api_secret_file: '/nonexistent/s'\n  wechat_api_corp_id: corp\n"
     "route:\n  receiver: w\nreceivers:\n  - name: w\n    wechat_configs:\n"
     "      - {}\n      - api_secret_file: '/nonexistent/o'\n      - api_secret: inline\n",
     NULL},
    {"wechat-both-file-and-secret",
     "global:\n  wechat_api_secret: 'shh'\n  wechat_api_secret_file: '/nonexistent/s'\n"
     "route:\n  receiver: w\nreceivers:\n  - name: w\n    wechat_configs:\n      - {}\n",
     "at most one of wechat_api_secret & wechat_api_secret_file must be configured"},
    {"wechat-no-api-secret",
     "route:\n  receiver: w\nreceivers:\n  - name: w\n    wechat_configs:\n      - {}\n",
     "no global Wechat Api Secret set either inline or in a file"},
    /* Integrations tocsin does not have yet: upstream accepts or refuses these for reasons of
     * their own fields; tocsin refuses every one, naming the type. */
    {"rocketchat-both-token-and-tokenfile",
     "global:\n  rocketchat_token_file: '/nonexistent/g'\n  rocketchat_token: t\n"
     "route:\n  receiver: r\nreceivers:\n  - name: r\n    rocketchat_configs:\n"
     "      - channel: '#a'\n",
     "at most one of rocketchat_token & rocketchat_token_file must be configured"},
    {"rocketchat-both-tokenid-and-tokenidfile",
     "global:\n  rocketchat_token_id_file: '/nonexistent/g'\n  rocketchat_token_id: i\n"
     "route:\n  receiver: r\nreceivers:\n  - name: r\n    rocketchat_configs:\n"
     "      - channel: '#a'\n",
     "at most one of rocketchat_token_id & rocketchat_token_id_file must be configured"},
    {"rocketchat-default-token",
     "global:\n  rocketchat_token: t\n  rocketchat_token_id: i\n"
     "route:\n  receiver: r\nreceivers:\n  - name: r\n    rocketchat_configs:\n"
     "      - channel: '#a'\n      - channel: '#b'\n        token: own\n        token_id: own\n",
     NULL},
    {"rocketchat-default-token-file",
     "global:\n  rocketchat_token_file: '/nonexistent/g'\n"
     "  rocketchat_token_id_file: '/nonexistent/gi'\n"
     "route:\n  receiver: r\nreceivers:\n  - name: r\n    rocketchat_configs:\n"
     "      - channel: '#a'\n      - channel: '#b'\n        token_file: '/nonexistent/b'\n"
     "        token_id_file: '/nonexistent/b'\n",
     NULL},
    {"rocketchat-no-token",
     "global:\n  rocketchat_token_id: i\n"
     "route:\n  receiver: r\nreceivers:\n  - name: r\n    rocketchat_configs:\n"
     "      - channel: '#a'\n",
     "no global Rocketchat Token set either inline or in a file"},
    {"victorops-both-file-and-apikey",
     "global:\n  victorops_api_key: k\n  victorops_api_key_file: '/nonexistent/g'\n"
     "route:\n  receiver: v\nreceivers:\n  - name: v\n    victorops_configs:\n"
     "      - routing_key: a\n      - routing_key: b\n        api_key: own\n",
     "at most one of victorops_api_key & victorops_api_key_file must be configured"},
    {"victorops-default-apikey",
     "global:\n  victorops_api_key: k\n"
     "route:\n  receiver: v\nreceivers:\n  - name: v\n    victorops_configs:\n"
     "      - routing_key: a\n      - routing_key: b\n        api_key: own\n",
     NULL},
    {"victorops-default-apikey-file",
     "global:\n  victorops_api_key_file: '/nonexistent/g'\n"
     "route:\n  receiver: v\nreceivers:\n  - name: v\n    victorops_configs:\n"
     "      - routing_key: a\n      - routing_key: b\n        api_key_file: '/nonexistent/b'\n",
     NULL},
    {"victorops-no-apikey",
     "route:\n  receiver: v\nreceivers:\n  - name: v\n    victorops_configs:\n"
     "      - routing_key: a\n",
     "no global VictorOps API Key set"},
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
