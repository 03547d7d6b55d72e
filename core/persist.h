/* persist: snapshots on disk, as Redis 7.0 runs them. SAVE, BGSAVE
 * [SCHEDULE], LASTSAVE's timestamp, `save <seconds> <changes>` points,
 * saving on shutdown, loading at startup, DEBUG RELOAD and the INFO
 * persistence section. The format itself is rdb.h's.
 *
 * The server calls in at five places:
 *   persist_register()          once, before the command table is built;
 *   persist_load_at_startup(s)  after server_init, before serving;
 *   persist_cron(s)             every cron tick: reaps the BGSAVE child,
 *                               starts scheduled saves and save points;
 *   persist_shutdown(s, flags)  before exiting (SHUTDOWN or a signal);
 *   persist_info(s, out)        for INFO persistence;
 * and persist_free(s) in server_free. The dispatcher asks
 * persist_writes_refused(s) before every write, FLUSHALL calls
 * persist_flushall(s), and replication reports its snapshot children
 * through persist_repl_child_started/done. */
#ifndef RM_PERSIST_H
#define RM_PERSIST_H

#include "core/rdb.h"
#include "core/server.h"

/* SHUTDOWN flags, as cmd_shutdown sets them. */
enum { PERSIST_SHUTDOWN_NOSAVE = 1, PERSIST_SHUTDOWN_SAVE = 2 };

void persist_register(void);
/* Load dir/dbfilename if it exists. 0 on success or no file; -1 when the
 * file exists but cannot be loaded (the server must not start, as Redis
 * refuses to). */
int persist_load_at_startup(server *s);
void persist_cron(server *s);
/* Kill a running BGSAVE child and save synchronously when the flags or
 * the save points ask for it. -1 when that save failed: the caller must
 * not exit (Redis's "Errors trying to SHUTDOWN"). */
int persist_shutdown(server *s, int flags);
dstr persist_info(server *s, dstr out);
void persist_free(server *s);

/* Start a background save now. 0 when started, -1 with err set. */
int persist_bgsave(server *s, char *err, size_t errlen);
int persist_child_active(const server *s);

/* stop-writes-on-bgsave-error: 1 while writes must be refused with
 * -MISCONF (the last background save failed and save points are set). */
int persist_writes_refused(const server *s);

/* FLUSHALL's part: kill a running BGSAVE child (its snapshot holds the
 * flushed keys) and, when save points are set, save the empty dataset
 * now. Resets the dirty counter when it saves: the caller must force its
 * own propagation. */
void persist_flushall(server *s);

/* Replication snapshot children. Call started() right after the fork
 * (to_disk: the child writes dbfilename) and done() once the child is
 * reaped or killed. A disk snapshot counts as a save, as in Redis: its
 * fork as rdb_saves, its success as LASTSAVE and a dirty counter reduced
 * by the writes it holds, its failure as rdb_last_bgsave_status:err. Any
 * snapshot child shows as rdb_bgsave_in_progress. */
enum persist_child_outcome {
    PERSIST_CHILD_OK,        /* exited 0 */
    PERSIST_CHILD_FAILED,    /* exited non-zero, or died of a signal */
    PERSIST_CHILD_CANCELLED, /* killed on purpose: not an error */
};
void persist_repl_child_started(server *s, pid_t pid, int to_disk);
void persist_repl_child_done(server *s, enum persist_child_outcome outcome);
/* Fork a snapshot child (a BGSAVE's or replication's): times the fork
 * for INFO (latest_fork_usec, total_forks), counts the keys it will save
 * and opens the pipe through which the child reports its progress and
 * copy-on-write size. Returns what fork() returns, errno set on -1. */
pid_t persist_fork(server *s);
/* In a snapshot child: the save walk's progress hook (an rdb_save_progress
 * with priv NULL), and the final report just before a successful _exit. */
void persist_child_progress(void *priv, long long keys_done);
void persist_child_finish(void);
/* INFO stats: total_forks and latest_fork_usec; CONFIG RESETSTAT zeroes them. */
void persist_fork_stats(const server *s, long long *total_forks, long long *latest_fork_usec);
void persist_reset_stats(server *s);

/* What the last load found in the file (repl-id, repl-offset...), for
 * replication to resume from; NULL before any load. */
const rdb_load_info *persist_last_load(const server *s);

#endif
