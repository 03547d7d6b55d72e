/* repl: the replication API the keyspace thread uses. core/ includes
 * nothing else from repl/.
 *
 * On a master, every propagated write becomes bytes of the replication
 * stream (with SELECT when the db changes and a PING every
 * repl-ping-replica-period seconds while replicas are attached), appended
 * to the backlog that replicas read from. master_repl_offset counts those
 * bytes exactly as Redis does, so Redis replicas report the same offsets. */
#ifndef RM_REPL_H
#define RM_REPL_H

#include "core/server.h"

void repl_register(void);   /* commands: REPLCONF, ROLE, WAIT */
void repl_init(server *s);  /* ids, stream sink */
void repl_free(server *s);
void repl_cron(server *s);        /* once per cron tick */
void repl_before_sleep(server *s); /* once per event-loop pass: publish */
dstr repl_info(server *s, dstr out);
/* -NOREPLICAS check for writes under min-replicas-to-write. Returns 0 when
 * the write may go ahead, else replies the error and returns -1. */
int repl_check_write_allowed(client *c);
long long repl_offset(server *s);
const char *repl_id(server *s);
/* Create the backlog now (normally done when the first replica attaches). */
void repl_create_backlog(server *s);

#endif
