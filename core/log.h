/* log: operator-facing log lines in Redis's format.
 *
 *   <pid>:<role> <dd Mon yyyy hh:mm:ss.mmm> <level> <message>
 *
 * role is M (master), S (replica) or C (forked child); level is one of
 * `.` debug, `-` verbose, `*` notice, `#` warning. Tools and operators
 * grep these lines, so their wording follows Redis's where Redis has one. */
#ifndef RM_LOG_H
#define RM_LOG_H

void log_setup(int level, const char *logfile);
void log_set_level(int level);
void log_set_role(char role);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raw line without the prefix (for the config error banner). */
void log_raw(int level, const char *msg);

#endif
