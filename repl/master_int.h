/* master_int: the keyspace thread's replication state on a master, shared
 * by the files of repl/ that implement it (master.c: the stream, ids,
 * INFO, ROLE, REPLCONF; master_sync.c: SYNC/PSYNC, hand-over, reports,
 * limits; snapshot.c: the fork child; wait.c: WAIT). Everything here is
 * owned by the keyspace thread; the I/O threads see only the backlog and
 * the messages of link.h. */
#ifndef RM_REPL_MASTER_INT_H
#define RM_REPL_MASTER_INT_H

#include <sys/types.h>

#include "core/server.h"
#include "io/thread.h"
#include "repl/backlog.h"
#include "repl/link.h"

/* What the keyspace knows of one replica whose link lives on an I/O
 * thread. Freed when the link reports CLOSED. */
typedef struct repl_replica {
    struct repl_replica *next;
    uint64_t id;        /* the client id it had, and the link id */
    int fd;             /* the socket's number: the I/O thread uses the socket,
                           this thread closes it when the CLOSED report hands
                           it back (link.h), so it is never a stale number */
    char addr[64];      /* peer ip:port */
    char laddr[64];
    char ip[64];        /* announced (REPLCONF ip-address) or peer ip */
    int port;           /* REPLCONF listening-port, 0 if unknown */
    char name[96];      /* ip:port for log lines */
    int capa_eof, capa_psync2;
    int old_sync;       /* plain SYNC: no +FULLRESYNC line, $<len> payload */
    int state;          /* enum link_state, as last reported */
    int dropped;        /* DROP posted: no longer counted, not killed twice */
    int slot;           /* backlog reader slot, -1 before the snapshot starts */
    backlog *slot_bl;   /* the backlog that slot is in (r->bl may be replaced) */
    io_thread *thr;
    int snap_id;        /* the snapshot it waits for, 0 if none */
    long long ack_off;
    long long ack_ms;   /* last ACK, or when it went online */
    long long last_ack_ms; /* last real REPLCONF ACK (not a newline), 0 = none */
    long long ctime_ms;
    long long wait_since_ms; /* WAIT_BGSAVE_START since */
    long long soft_since_ms; /* over the soft output limit since, 0 if not */
} repl_replica;

/* REPLCONF options a client sent before its SYNC/PSYNC. */
typedef struct repl_conf_pending {
    uint64_t id;
    int port;
    char ip[46];
    int capa_eof, capa_psync2;
} repl_conf_pending;
#define REPL_CONF_PENDING_MAX 64

/* The running snapshot child, if any. */
typedef struct repl_snapshot {
    int id;            /* 0: none running */
    pid_t pid;
    int diskless;
    long long offset;  /* master_repl_offset at the fork */
    int slot;          /* pins the stream from offset+1 while it runs */
    long long start_ms;
} repl_snapshot;

typedef struct repl_waiter {
    uint64_t client_id;
    long long offset;
    long long numreplicas;
    long long deadline_ms; /* 0: forever */
} repl_waiter;

typedef struct repl_state {
    char replid[41];
    char replid2[41];
    long long second_replid_offset;
    long long master_repl_offset;
    backlog *bl;
    int stream_db; /* db the stream last selected, -1 = none */
    int good_replicas;
    long long last_ping_ms;
    long long last_tick_ms;
    long long no_replicas_since_ms;
    long long sync_full, sync_partial_ok, sync_partial_err;
    /* link_ctx's byte counters at the last CONFIG RESETSTAT: the I/O
     * threads' counters only grow, INFO shows the difference. */
    unsigned long long out_bytes_base, in_bytes_base;
    dstr scratch;

    /* replicas */
    repl_replica *replicas;
    repl_conf_pending pending[REPL_CONF_PENDING_MAX];
    int npending;
    io_pool pool;
    int pool_started;
    link_threads link_ctx;
    long long poked_end; /* the backlog end the I/O threads were told about */

    /* snapshots */
    repl_snapshot snap;
    int next_snap_id;

    /* WAIT */
    repl_waiter *waiters;
    int nwaiters, waiters_cap;
    int get_ack_requested;
    long long getack_end; /* master_repl_offset right after the last GETACK */

    /* backpressure.c: while bp_armed, writes wait once
     * master_repl_offset passes bp_until. */
    int bp_armed;
    long long bp_until;
    int bp_holding;     /* some write is waiting for it now */
    long long bp_holds; /* times writes started waiting */
    long long getack_ms;

    /* replica.c: the replica side, and the connection ids it draws */
    struct replica_state *rs;
    uint64_t next_conn_id;
    long long from_master_base; /* replica_net_in_bytes at the last RESETSTAT */
    /* Backlogs replaced (a replica's full resync) while dropped replicas
     * still read them: each is freed once its last reader slot is given
     * back, when the last of them reported CLOSED. */
    backlog **retired;
    int nretired;

    /* failover.c: FAILOVER's state and target (host "" = any replica) */
    int failover_state;
    long long failover_end_ms; /* TIMEOUT, 0 = none */
    int failover_force;
    char failover_host[256];
    int failover_port;
} repl_state;

static inline repl_state *repl_of(server *s) { return s->repl; }

/* master.c */
void repl_stream_append(repl_state *r, dstr *argv, int argc);
void repl_new_history(repl_state *r); /* new replid, replid2 cleared */
/* The REPLCONF options client `id` sent, consumed; 0 if it sent none. */
int repl_take_pending_conf(server *s, uint64_t id, repl_conf_pending *out);

/* master.c: the replica side's hooks into the stream and the backlog.
 * append_raw: bytes applied from our master, proxied unchanged (the offset
 * moves by exactly their length); reset_backlog: an empty backlog whose
 * first byte will be offset+1, and master_repl_offset = offset;
 * resume_feeding: writes feed the stream again (a replica promoted). */
void repl_stream_append_raw(repl_state *r, const char *p, size_t len);
void repl_reset_backlog(server *s, long long offset);
void repl_resume_feeding(server *s);

/* replica.c */
struct replica_state;
void replica_register(void);
void replica_init(server *s);
void replica_free(server *s);
void replica_cron(server *s);
int replica_before_sleep(server *s); /* 1: more work now, do not sleep */
void replica_on_report(server *s, const spsc_msg *m);
dstr replica_info(server *s, dstr o);
/* Whether this replica's link to its master is up (it may then serve
 * replicas of its own: chained replication). */
int replica_link_up(server *s);
/* REPLICAOF NO ONE: a master again, with a new history (the old one as
 * replid2). Logs "MASTER MODE enabled (<request> request from '<client>')"
 * when c is given. Nothing when not a replica. */
void replica_become_master(server *s, client *c, const char *request);
/* FAILOVER's last step: become the replica of host:port, whose PSYNC
 * carries FAILOVER so that it promotes itself. */
void replica_failover_to(server *s, const char *host, int port);
/* The db this replica's stream continues in: its master client's, or the
 * cached master's; 0 if neither. */
int replica_stream_db(server *s);
void replica_role(client *c);
long long replica_net_in_bytes(server *s); /* every byte ever read from a master */

/* backpressure.c: once per event-loop pass, before the stream is
 * published. */
void repl_backpressure(server *s, long long now);

/* master_sync.c */
int repl_count_replicas(repl_state *r); /* not dropped */
void repl_drop_replica(server *s, repl_replica *rr);
void repl_post(repl_replica *rr, const spsc_msg *m);
void repl_refresh_good(server *s);
void repl_limits_cron(server *s, long long now);
void repl_register_sync(void);
int repl_ensure_pool(server *s);
void repl_unwatch_pool(server *s); /* before the pool stops */
void repl_drop_all_replicas(server *s, const char *why);

/* snapshot.c: start a snapshot for the replicas waiting, if it is time */
void repl_snapshot_maybe_start(server *s, int now_forced);
void repl_snapshot_reap(server *s);
void repl_snapshot_attach(server *s, repl_replica *rr);
void repl_snapshot_kill(server *s);

/* failover.c */
enum { FAILOVER_NONE = 0, FAILOVER_WAIT_FOR_SYNC, FAILOVER_IN_PROGRESS };
void repl_failover_register(void);
const char *repl_failover_state_name(server *s); /* INFO master_failover_state */
void repl_failover_update(server *s);            /* every event-loop pass */
void repl_failover_done(server *s);              /* the target answered our PSYNC */
void repl_failover_abort(server *s, const char *why);

/* wait.c */
void repl_wait_register(void);
void repl_wait_check(server *s);
long long repl_count_acks(repl_state *r, long long offset);

#endif
