/* monitor: MONITOR, every command the server runs streamed to the clients
 * that asked, one line each, in Redis 7.0's format:
 *
 *   +<unix seconds>.<microseconds> [<db> <client addr>] "arg" "arg" ...
 *
 * A line is sent once the command ran (so SELECT shows its new db and the
 * commands of a transaction come before its EXEC), with the argv the
 * client sent and its secrets redacted, as SLOWLOG shows it. Commands
 * flagged admin (CONFIG, DEBUG, SLOWLOG...) are never shown, nor commands
 * refused before they ran. A replica shows what its master's stream makes
 * it run, with the master's address. A monitor client may not touch the
 * keyspace any more (Redis flags it a replica); RESET ends monitoring. */
#ifndef RM_MONITOR_H
#define RM_MONITOR_H

#include "core/server.h"

/* Send cmd, run by c, to every monitor. Cheap when there is none. */
void monitor_feed(server *s, client *c, const command *cmd, dstr *argv, int argc);
/* c stops monitoring (RESET, or the client goes away). */
void monitor_remove(client *c);
/* The error refusing cmd to a monitor client, or NULL. */
const char *monitor_refusal(const client *c, const command *cmd);

void cmd_monitor(client *c);

#endif
