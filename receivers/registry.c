/* Every receiver type tocsin knows. Adding an integration is one file in receivers/ and one
 * line here. */
#include <string.h>

#include "tocsin/receiver.h"

extern const tn_receiver_type_t tn_receiver_webhook;
extern const tn_receiver_type_t tn_receiver_slack;
extern const tn_receiver_type_t tn_receiver_pagerduty;
extern const tn_receiver_type_t tn_receiver_discord;
extern const tn_receiver_type_t tn_receiver_email;

const tn_receiver_type_t *const tn_receiver_types[] = {
    &tn_receiver_webhook, &tn_receiver_slack, &tn_receiver_pagerduty,
    &tn_receiver_discord, &tn_receiver_email, NULL,
};

const tn_receiver_type_t *tn_receiver_type_find(const char *name)
{
    for (size_t i = 0; tn_receiver_types[i]; i++)
        if (strcmp(tn_receiver_types[i]->name, name) == 0)
            return tn_receiver_types[i];
    return NULL;
}
