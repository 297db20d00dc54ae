/* Every receiver type tocsin knows. Adding an integration is one file in receivers/ and one
 * line here. */
#include <string.h>

#include "tocsin/receiver.h"

extern const tn_receiver_type_t tn_receiver_webhook;
extern const tn_receiver_type_t tn_receiver_slack;
extern const tn_receiver_type_t tn_receiver_pagerduty;
extern const tn_receiver_type_t tn_receiver_discord;
extern const tn_receiver_type_t tn_receiver_email;
extern const tn_receiver_type_t tn_receiver_msteams;
extern const tn_receiver_type_t tn_receiver_msteamsv2;
extern const tn_receiver_type_t tn_receiver_webex;
extern const tn_receiver_type_t tn_receiver_opsgenie;
extern const tn_receiver_type_t tn_receiver_sns;
extern const tn_receiver_type_t tn_receiver_incidentio;
extern const tn_receiver_type_t tn_receiver_wechat;
extern const tn_receiver_type_t tn_receiver_mattermost;
extern const tn_receiver_type_t tn_receiver_victorops;
extern const tn_receiver_type_t tn_receiver_rocketchat;
extern const tn_receiver_type_t tn_receiver_telegram;
extern const tn_receiver_type_t tn_receiver_pushover;
extern const tn_receiver_type_t tn_receiver_jira;

const tn_receiver_type_t *const tn_receiver_types[] = {
    &tn_receiver_webhook,
    &tn_receiver_slack,
    &tn_receiver_pagerduty,
    &tn_receiver_discord,
    &tn_receiver_email,
    &tn_receiver_msteams,
    &tn_receiver_msteamsv2,
    &tn_receiver_webex,
    &tn_receiver_opsgenie,
    &tn_receiver_sns,
    &tn_receiver_incidentio,
    &tn_receiver_wechat,
    &tn_receiver_mattermost,
    &tn_receiver_victorops,
    &tn_receiver_rocketchat,
    &tn_receiver_telegram,
    &tn_receiver_pushover,
    &tn_receiver_jira,
    NULL,
};

const tn_receiver_type_t *tn_receiver_type_find(const char *name)
{
    for (size_t i = 0; tn_receiver_types[i]; i++)
        if (strcmp(tn_receiver_types[i]->name, name) == 0)
            return tn_receiver_types[i];
    return NULL;
}
