/* Logging: logfmt (default) or JSON lines on stderr, Alertmanager's keys (ts, level, caller-less
 * msg). Values are passed as key/value string pairs so both formats can quote them. */
#ifndef TOCSIN_LOG_H
#define TOCSIN_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum tn_log_level { TN_LOG_DEBUG = 0, TN_LOG_INFO, TN_LOG_WARN, TN_LOG_ERROR };
enum tn_log_format { TN_LOG_LOGFMT = 0, TN_LOG_JSON };

void tn_log_setup(enum tn_log_level min, enum tn_log_format fmt);
/* Parses "debug|info|warn|error"; returns -1 if unknown. */
int tn_log_level_parse(const char *s);
bool tn_log_enabled(enum tn_log_level lvl);

/* tn_log(TN_LOG_INFO, "Notify success", "receiver", name, "attempts", "3", NULL):
 * pairs of const char * key and value, ended by NULL. A NULL value prints as empty. */
void tn_log(enum tn_log_level lvl, const char *msg, ...) __attribute__((sentinel));
void tn_logv(enum tn_log_level lvl, const char *msg, va_list ap);

/* Formats an URL for logs with userinfo, query and fragment removed: they carry secrets
 * (Slack and Discord tokens live in the path too, so only scheme://host/ is kept). */
void tn_log_redact_url(const char *url, char *out, size_t outlen);

#endif
