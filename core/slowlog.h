/* slowlog: the commands that took longer than slowlog-log-slower-than, as
 * Redis 7.0 keeps them for SLOWLOG GET.
 *
 * call_command() measures each command and offers it here with the argv
 * the client sent (before any rewrite for propagation). An entry keeps
 * its own copy, cut the way Redis cuts it so that a huge MSET costs a
 * bounded amount: at most 32 arguments (the last saying how many more
 * there were) and 128 bytes per argument (with how many more bytes). */
#ifndef RM_SLOWLOG_H
#define RM_SLOWLOG_H

#include "core/server.h"

/* The most arguments and bytes per argument an entry keeps. */
#define SLOWLOG_ENTRY_MAX_ARGC 32
#define SLOWLOG_ENTRY_MAX_STRING 128

void slowlog_init(server *s);
void slowlog_free(server *s);
/* Record argv[0..argc), cmd run by c in duration_us, if it was slow
 * enough; its secrets (command_arg_redacted) are not kept. */
void slowlog_push(server *s, client *c, const command *cmd, dstr *argv, int argc,
                  long long duration_us);
/* The log's length now (SLOWLOG LEN). */
long long slowlog_len(const server *s);

void cmd_slowlog_get(client *c);
void cmd_slowlog_len(client *c);
void cmd_slowlog_reset(client *c);
void cmd_slowlog_help(client *c);

#endif
