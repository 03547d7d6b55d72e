/* log: operator-facing log lines in Redis's format.
 *
 *   <pid>:<role> <dd Mon yyyy hh:mm:ss.mmm> <level> <message>
 *
 * role is M (master), S (replica) or C (forked child); level is one of
 * `.` debug, `-` verbose, `*` notice, `#` warning. Tools and operators
 * grep these lines, so their wording follows Redis's where Redis has one.
 *
 * One message is one line: strings that come from outside (a client's
 * argument, a replica's announced address, a field of an RDB file) go
 * through log_repr() so that neither a newline can forge a line of its own
 * nor a NUL byte cut the message short. As a second line of defence,
 * log_msg() escapes any control byte left in the formatted message. */
#ifndef RM_LOG_H
#define RM_LOG_H

#include <stddef.h>

void log_setup(int level, const char *logfile);
/* Safe from any thread: the level is read by the replication threads. */
void log_set_level(int level);
void log_set_role(char role);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raw line without the prefix (for the config error banner). */
void log_raw(int level, const char *msg);

/* A printable form of p[0..len) in buf (always NUL-terminated, returned for
 * use as a %s argument): bytes ' '..'~' as they are except the backslash,
 * which is doubled; \n \r \t as those escapes, any other byte as \xHH. What
 * does not fit ends in "...". */
const char *log_repr(char *buf, size_t size, const void *p, size_t len);

#endif
