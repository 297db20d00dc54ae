/* tocsin's default notification templates. The template names are those Alertmanager's
 * defaults define, so configurations that reference them keep working. */
#include "tocsin/template.h"

const char tn_tmpl_default_text[] = "";
