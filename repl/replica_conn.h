/* replica_conn: a replica's connection to its master, as a replication I/O
 * thread runs it, and what crosses between it and the keyspace thread.
 *
 * The keyspace thread (repl/replica.c) decides WHAT to do: which master,
 * with which credentials, whether to PSYNC from a cached master, where the
 * payload goes, what offset the replica has applied. The I/O thread
 * (repl/replica_conn.c) does all the socket I/O, through its io_uring: the
 * non-blocking connect, the handshake, the payload transfer and the live
 * stream. One connection exists at a time; each has an id (an epoch the
 * keyspace draws), and every message and report names it, so reports of an
 * old connection that arrive after a new one started are recognised and
 * dropped.
 *
 * The handshake is Redis 7.0's (syncWithMaster), each step a line sent and
 * one reply read:
 *   PING                        +PONG; -NOAUTH / -ERR operation not permitted
 *                               are fine (AUTH follows); any other error ends
 *                               the attempt ("Error reply to PING from master")
 *   AUTH [<user>] <pass>        only with masterauth; an error ends it
 *   REPLCONF listening-port <p> an error is logged and ignored
 *   REPLCONF ip-address <ip>    only with replica-announce-ip; idem
 *   REPLCONF capa eof capa psync2   an error is logged and ignored
 *   PSYNC <replid> <offset>     (or "PSYNC ? -1")
 *       +FULLRESYNC <replid> <offset>   -> RCONN_REP_FULLRESYNC, then payload
 *       +CONTINUE [<new replid>]        -> RCONN_REP_CONTINUE, then stream
 *       -NOMASTERLINK / -LOADING        -> closed, retried (RCONN_CLOSED_RETRY)
 *       -ERR unknown command ...        -> SYNC instead (no offset: the master
 *                                          is older than PSYNC; FULLRESYNC is
 *                                          reported with replid "?" offset -1)
 *       other error                     -> closed, retried
 * Before the reply to PSYNC, and before the payload's "$" line, a master
 * sends newlines to keep the link alive: they are skipped.
 *
 * The payload: "$<len>\r\n" then exactly len bytes, or "$EOF:<40 bytes>\r\n"
 * then bytes up to and including the same 40 bytes (those 40 are not RDB).
 *   to_disk: the I/O thread writes the RDB bytes to temp-<time>.<pid>.rdb
 *            in the working directory, fdatasync every 8 MB
 *            (REPL_MAX_WRITTEN_BEFORE_FSYNC), and at the end fsyncs and
 *            renames it over the file named in rconn_start.dbfilename:
 *            RCONN_REP_PAYLOAD_FILE. The keyspace loads that file.
 *   else:    the RDB bytes go to the keyspace as they arrive, in rconn_buf
 *            chunks (RCONN_REP_PAYLOAD_DATA), then RCONN_REP_PAYLOAD_END.
 * Bytes after the payload belong to the stream.
 *
 * The stream: every byte read after the payload (or after +CONTINUE) goes
 * to the keyspace in rconn_buf chunks (RCONN_REP_STREAM), in order. The
 * keyspace parses and applies them; the I/O thread never parses the stream.
 *
 * ACKs: once a second (RCONN_MSG_TICK) while streaming, the I/O thread sends
 * "REPLCONF ACK <applied>" with `applied` read from rconn_shared (the
 * keyspace publishes it with a release store after each batch it applied).
 * An ACK the keyspace wants sent at a precise point (the answer to REPLCONF
 * GETACK) goes as RCONN_MSG_SEND, in order with the ticks' ACKs.
 *
 * Timeouts (RCONN_MSG_TICK carries repl-timeout in ms): no progress for that
 * long while connecting or in a handshake step, no payload byte for that
 * long during the transfer, or no byte at all for that long while streaming
 * (the master PINGs every repl-ping-replica-period) closes the connection
 * with the line Redis logs, and the keyspace connects again a second later.
 * Time spent not reading on purpose (flow control, below) is not the
 * master's silence: a tick while paused counts as progress, so the clock
 * starts again when reading resumes. last_io_ms stays the time of the last
 * byte actually read (INFO's master_last_io_seconds_ago tells the truth).
 *
 * Buffers: an rconn_buf is allocated by the I/O thread (mem_alloc), filled
 * by a recv, and handed over with its report; from then on it is the
 * keyspace's, which releases it with rconn_buf_release (mimalloc frees
 * across threads). Nothing is copied between the threads.
 *
 * Flow control: the bytes of the PAYLOAD_DATA and STREAM buffers handed
 * over and not yet released are counted in rconn_shared.unreleased (the
 * I/O thread adds as it reports, the keyspace subtracts as it releases).
 * Past read_limit the I/O thread posts no recv: the socket fills, and TCP
 * slows the master down, as a Redis replica that is busy loading does.
 * Reading resumes once the count falls below half the limit. The keyspace
 * sees that as it releases; rconn_shared.paused says whether the I/O
 * thread waits for it, and whichever thread clears the flag (an exchange)
 * resumes: the keyspace by posting RCONN_MSG_RESUME, the I/O thread itself
 * when a release came between its look at the count and its setting the
 * flag. So no wake-up is lost, and only one is ever sent. At most one recv
 * more than the limit is held (RCONN_STREAM_CHUNK, or a payload chunk).
 *
 * Every connection ends with exactly one RCONN_REP_CLOSED, after which the
 * I/O thread has forgotten it (the socket is closed, any temp file of an
 * unfinished transfer removed, rconn_start freed). RCONN_MSG_STOP asks for
 * that end; a STOP for a connection that already ended is ignored. */
#ifndef RM_REPL_REPLICA_CONN_H
#define RM_REPL_REPLICA_CONN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dstr.h"
#include "io/spsc.h"
#include "io/thread.h"

/* keyspace -> I/O thread. Numbered apart from link.h's master-side ones:
 * both kinds share the I/O threads' inboxes. */
enum rconn_msg {
    RCONN_MSG_START = 200, /* id; ptr: rconn_start* (the I/O thread's from now on) */
    RCONN_MSG_STOP,        /* id: end the connection (reported CLOSED, reason STOPPED) */
    RCONN_MSG_SEND,        /* id; ptr: mem_alloc'd bytes, val: their length (the I/O
                              thread frees them) */
    RCONN_MSG_TICK,        /* once a second; val: repl-timeout in ms */
    RCONN_MSG_RESUME,      /* id: read again (flow control: the keyspace released
                              enough, see rconn_buf_release) */
};

/* I/O thread -> keyspace. */
enum rconn_report {
    RCONN_REP_STATE = 300, /* id; val: enum rconn_state */
    RCONN_REP_FULLRESYNC,  /* id; ptr: rconn_psync* (keyspace frees) */
    RCONN_REP_CONTINUE,    /* id; ptr: rconn_psync* (replid "" when the master
                              kept its id) */
    RCONN_REP_PAYLOAD_SIZE,/* id; val: the payload's length, or RCONN_SIZE_EOF_MARK */
    RCONN_REP_PAYLOAD_DATA,/* id; ptr: rconn_buf* of RDB bytes (diskless load) */
    RCONN_REP_PAYLOAD_END, /* id: the last RDB byte was in the previous DATA */
    RCONN_REP_PAYLOAD_FILE,/* id: the payload is on disk under dbfilename */
    RCONN_REP_STREAM,      /* id; ptr: rconn_buf* of stream bytes */
    RCONN_REP_CLOSED,      /* id; val: enum rconn_close_reason (already logged) */
};

/* Where the connection is, for INFO (master_link_status, the handshake
 * states Redis names in its log). */
enum rconn_state {
    RCONN_CONNECTING = 0, /* connect() in flight */
    RCONN_HANDSHAKE,      /* PING .. PSYNC */
    RCONN_TRANSFER,       /* receiving the payload */
    RCONN_STREAMING,      /* the payload was received (or +CONTINUE): live stream */
};

enum rconn_close_reason {
    RCONN_CLOSED_STOPPED = 0, /* RCONN_MSG_STOP */
    RCONN_CLOSED_CONNECT,     /* resolve or connect failed */
    RCONN_CLOSED_HANDSHAKE,   /* an error reply, or a reply that makes no sense */
    RCONN_CLOSED_RETRY,       /* -NOMASTERLINK / -LOADING: try again later */
    RCONN_CLOSED_EOF,         /* the master closed the connection */
    RCONN_CLOSED_IO,          /* a socket or file error */
    RCONN_CLOSED_TIMEOUT,     /* repl-timeout passed without progress */
    RCONN_CLOSED_PROTOCOL,    /* a bad "$" line, a payload over its length... */
};

#define RCONN_SIZE_EOF_MARK UINT64_MAX

/* rconn_shared.read_limit as the server sets it: handed-over bytes the
 * keyspace may hold before the I/O thread stops reading. Far above what a
 * keyspace that keeps up holds (a few 64 KB buffers), and a small price in
 * memory for a replica that loads a payload for seconds while its master
 * writes on (Redis's replica reads nothing meanwhile). */
#define RCONN_READ_LIMIT (64ULL * 1024 * 1024)

/* What the keyspace publishes and the I/O thread reads. Allocated by the
 * keyspace, which frees it only after RCONN_REP_CLOSED. */
typedef struct rconn_shared {
    _Atomic long long applied;        /* the replica's offset: stream bytes applied; -1
                                         while a full payload loads (no ACK is sent then:
                                         the old offset belongs to another history) */
    _Atomic uint64_t read_bytes;      /* I/O: payload bytes received so far */
    _Atomic long long last_io_ms;     /* I/O: unix ms of the last byte from the master */
    _Atomic uint64_t net_in_bytes;    /* I/O: every byte read from the master */
    /* Flow control (above). read_limit is set before START and never
     * changes (RCONN_READ_LIMIT; tests set less). */
    uint64_t read_limit;
    _Atomic uint64_t unreleased;      /* bytes handed over, not released yet */
    _Atomic int paused;               /* the I/O thread waits for a RESUME */
} rconn_shared;

struct ssl_ctx_st;

typedef struct rconn_start {
    char host[256];
    int port;
    dstr auth_user;   /* masteruser, or NULL */
    dstr auth_pass;   /* masterauth (binary safe), or NULL for no AUTH */
    int listening_port;     /* REPLCONF listening-port: replica-announce-port or port */
    char announce_ip[64];   /* REPLCONF ip-address, "" for none */
    char psync_replid[41];  /* "?" for a full sync */
    long long psync_offset; /* the first byte wanted, -1 with "?" */
    int to_disk;            /* payload into a file (repl-diskless-load disabled) */
    int load_as_received;   /* to_disk, and each written buffer is then handed over
                               too (PAYLOAD_DATA), before PAYLOAD_FILE */
    char dbfilename[256];   /* the file the payload is renamed to when to_disk */
    int tcp_nodelay;        /* !repl-disable-tcp-nodelay */
    int psync_failover;     /* PSYNC ... FAILOVER: the master is our FAILOVER target */
    struct ssl_ctx_st *ssl_ctx; /* tls-replication: the client context (a reference
                                   this start owns), NULL for plain TCP */
    rconn_shared *shared;
} rconn_start;

typedef struct rconn_psync {
    char replid[41];
    long long offset; /* FULLRESYNC: the payload's offset; CONTINUE: unused */
} rconn_psync;

typedef struct rconn_buf {
    struct rconn_buf *next; /* the keyspace's, to queue it (NULL when handed over) */
    size_t len;
    char data[];
} rconn_buf;

/* The keyspace is done with a PAYLOAD_DATA or STREAM buffer: frees it and
 * takes its bytes off the count. Returns 1 when the I/O thread waits for
 * this release: the caller must then post RCONN_MSG_RESUME. */
int rconn_buf_release(rconn_shared *sh, rconn_buf *b);

/* "REPLCONF ACK <offset>" as the master reads it, in a mem_alloc'd buffer
 * of *len bytes: the ticks' ACKs and the keyspace's own (the answer to
 * GETACK, the first ACK after a load) are the same bytes. Either thread. */
char *rconn_ack_cmd(long long offset, size_t *len);

/* The I/O thread's side. `state` is the thread's own slot for its replica
 * connection (link_thread.rconn, NULL while there is none): the master-side
 * dispatcher in replica_link.c forwards every enum rconn_msg message here,
 * and calls rconn_on_stop from its stop hook to end (without reports) a
 * connection the thread still runs. */
void rconn_on_message(io_thread *t, void **state, const spsc_msg *m);
void rconn_on_stop(io_thread *t, void **state);

#endif
