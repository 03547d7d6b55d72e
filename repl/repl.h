/* repl: the replication API the keyspace thread uses. core/ includes
 * nothing else from repl/.
 *
 * On a master, every propagated write becomes bytes of the replication
 * stream (with SELECT when the db changes and a PING every
 * repl-ping-replica-period seconds while replicas are attached), appended
 * to the backlog that replicas read from. master_repl_offset counts those
 * bytes exactly as Redis does, so Redis replicas report the same offsets.
 * Replica sockets are handed to replication I/O threads right after
 * SYNC/PSYNC (client_detach_socket); the keyspace hears from them through
 * their wake eventfds, which repl/ asks core's event loop to watch
 * (server_watch_fd). */
#ifndef RM_REPL_H
#define RM_REPL_H

#include "core/rdb.h"
#include "core/server.h"

void repl_register(void);   /* commands: SYNC, PSYNC, REPLCONF, ROLE, WAIT */
void repl_init(server *s);  /* ids, stream sink */
void repl_free(server *s);
void repl_cron(server *s);        /* once per cron tick */
/* Once per event-loop pass: publish the stream; a replica loads a slice of
 * its payload. Returns 1 when work remains that must not wait for an event
 * (the loop then polls instead of sleeping). */
int repl_before_sleep(server *s);
dstr repl_info(server *s, dstr out);

/* Bytes the replication links moved since the last CONFIG RESETSTAT, for
 * INFO's network counters (counted by the I/O threads, read here).
 *
 * Redis's meaning, which INFO keeps: replication output is what a server
 * writes to its replicas (control lines, payloads, the stream), and
 * replication input is what a replica reads from its master. What a master
 * reads from its replicas (REPLCONF ACKs, newlines) is ordinary input to
 * Redis: it lands in total_net_input_bytes, not in the replication input.
 * total_net_input_bytes and total_net_output_bytes include the replication
 * bytes (checked against redis-server 7.0.15). */
typedef struct repl_net_bytes {
    long long out;           /* written to replicas */
    long long from_replicas; /* read from replicas: ordinary input */
    long long from_master;   /* read from a master: replication input */
} repl_net_bytes;
void repl_net_bytes_get(server *s, repl_net_bytes *out);
void repl_net_bytes_reset(server *s); /* CONFIG RESETSTAT */
void repl_sync_stats(server *s, long long *full, long long *partial_ok, long long *partial_err);
/* Whether min-replicas-to-write lets a write through now: 1 when it is off
 * or enough replicas are good (online, ACKed within min-replicas-max-lag). */
int repl_min_replicas_ok(server *s);
long long repl_offset(server *s);
const char *repl_id(server *s);
/* The replication aux fields (repl-stream-db, repl-id, repl-offset) of
 * every snapshot, a BGSAVE's, a SAVE's or replication's, so that a replica
 * loading it, or this server restarted from it, can continue with a
 * partial resync. Returns 1 when rsi is set; 0 while there is no backlog
 * (no replication history), when the fields are left out as Redis 7.0
 * does for an instance outside any replication chain. */
int repl_rdb_save_info(server *s, rdb_save_info *rsi);
/* repl-backpressure-lag (backpressure.c). repl_write_must_wait is asked
 * before every command: 1 while the slowest replica that counts is more
 * than the limit behind, when writes must wait as under CLIENT PAUSE WRITE
 * (a flag and a comparison, cheap enough for every command). The caller
 * then tells repl_write_held about each write it holds back; the first one
 * of a hold counts in INFO's repl_backpressure_holds. Held clients wait on
 * the paused list and are released with client_unpause_all once the
 * replica is back within reach. */
int repl_write_must_wait(server *s);
void repl_write_held(server *s);
/* Create the backlog now (normally done when the first replica attaches). */
void repl_create_backlog(server *s);

/* CLIENT LIST / CLIENT KILL for replicas, whose connections left the
 * client list for an I/O thread. list appends one line per replica
 * (filtered by ids when nids > 0); kill drops the replicas matching every
 * given filter (NULL / 0 = any) and returns how many. */
dstr repl_client_list(server *s, dstr out, const long long *ids, int nids);
long long repl_client_kill(server *s, const char *addr, const char *laddr, long long id,
                           long long maxage);

/* The replica side (replica.c). A server is a replica while `replicaof`
 * is set. repl_command_refusal is asked before every command: -LOADING
 * while a payload loads, -READONLY for writes (replica-read-only),
 * -MASTERDOWN while the link is down (replica-serve-stale-data no); the
 * master's own commands are never refused. NULL when cmd may run. */
int repl_is_replica(server *s);
const char *repl_command_refusal(server *s, const client *c, const command *cmd, int is_write);
/* CLIENT KILL TYPE master: drop the link (it comes back by PSYNC). 1 if
 * there was one. */
int replica_kill_master(server *s);
/* After the RDB loaded at startup: its repl-id / repl-offset /
 * repl-stream-db let this server continue its replication history (a
 * replica as its cached master, a master as its secondary id), so a
 * restart costs a partial resync, not a full one. */
void repl_restore_history(server *s, const rdb_load_info *li);
/* SHUTDOWN's wait: how many replicas have not acknowledged the whole
 * stream (with log, Redis's lines naming each, and how many are in sync);
 * and a REPLCONF GETACK into the stream so they say so at once. */
int repl_shutdown_lagging(server *s, int log);
void repl_shutdown_getack(server *s);
/* client_free tells replication when the master client goes. */
void repl_client_freed(server *s, client *c);
/* CLIENT UNBLOCK of a client blocked in WAIT: it is answered now, with the
 * replicas that acknowledged so far (TIMEOUT) or the UNBLOCKED error. 0
 * when c is not waiting in WAIT. */
int repl_wait_cut_short(server *s, client *c, int error);

/* A replication snapshot child is running: persistence must not fork a
 * second child (the two would double the copy-on-write cost). */
int repl_child_active(server *s);
/* FLUSHALL: kill a replication snapshot that writes dbfilename (its file
 * would bring the flushed keys back at the next start); the replicas
 * waiting for it are dropped and ask again. A diskless one is left alone:
 * the FLUSHALL follows it in the stream. */
void repl_snapshot_abort_disk(server *s, const char *why);
/* In a forked child: close the replicas' sockets (but the fds in keep),
 * so that the parent alone decides when a replica's connection ends. */
void repl_child_close_replica_sockets(server *s, const int *keep, int nkeep);

#endif
