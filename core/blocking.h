/* blocking: clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...).
 *
 * A blocking command that finds nothing to pop calls block_for_keys().
 * The client then waits, FIFO per key, until one of the keys is added to
 * the keyspace holding the awaited type (every key creation goes through
 * db_add, which signals it), or its timeout passes. When a key is ready
 * the client's command is simply executed again, with the same argv: a
 * command that now finds data serves it (and rewrites its argv into the
 * non-blocking form for propagation); one that finds nothing calls
 * block_for_keys() again, which keeps its place in the queue. */
#ifndef RM_BLOCKING_H
#define RM_BLOCKING_H

#include "core/server.h"

/* Block on keys of c->db. `type` is the value type awaited (OBJ_LIST or
 * OBJ_ZSET); a key created with another type does not wake the client.
 * timeout_ms is an absolute unix time in ms, 0 = forever. On timeout the
 * client gets `timeout_reply`, raw RESP such as "*-1\r\n". */
void block_for_keys(client *c, dstr *keys, int nkeys, int type, long long timeout_ms,
                    const char *timeout_reply);
/* While a blocked client's command is re-executed: the key that became
 * ready (serve from it first), else NULL. */
dstr blocking_ready_key(const client *c);
/* A blocking command must not block inside MULTI/EXEC (nor for fake
 * clients): it then replies its timeout reply at once. */
int client_may_block(const client *c);
/* Parse a BLPOP-style timeout in seconds (decimals allowed) into an
 * absolute unix time in ms (0 when the timeout is 0). Replies Redis's error
 * and returns -1 when invalid. */
int parse_block_timeout(client *c, const dstr arg, long long *abs_ms);

/* Server side (blocking.c). */
void blocking_signal_key(server *s, db *d, const dstr key);
void blocking_handle_ready(server *s);
void blocking_check_timeouts(server *s);
void blocking_unblock(client *c);
/* CLIENT UNBLOCK of a client blocked on keys: it gets its timeout reply,
 * or the UNBLOCKED error, at once, then runs what it pipelined. 0 when c
 * is not blocked. */
#define BLOCKING_UNBLOCKED_ERROR "UNBLOCKED client unblocked via CLIENT UNBLOCK"
int blocking_cut_short(client *c, int error);
/* A released client whose pipeline must run later, at the top level (the
 * next blocking_handle_ready), not inside the command that released it. */
void blocking_queue_resume(client *c);
long long blocking_next_timeout(server *s);
int blocking_count(server *s);
/* At exit: the ready keys and the resume queue. */
void blocking_free(server *s);

#endif
