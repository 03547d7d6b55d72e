/* link: what crosses between the keyspace thread and the replication I/O
 * threads on a master, and the I/O threads' side of it (replica_link.c).
 *
 * A replica link is born on the keyspace thread when SYNC/PSYNC is
 * decided: the client's socket leaves the epoll set and is posted, with
 * everything the link needs (a link_adopt), to the I/O thread that
 * io_pool_assign picked. From then on only that thread touches the
 * socket. The keyspace steers the link with messages (the snapshot
 * started, here is the payload, new stream bytes were published, drop it)
 * and learns what happened from reports (ACKed offset N, went online,
 * closed). A link never vanishes silently: its last report is
 * LINK_REP_CLOSED, after which the keyspace releases its backlog reader
 * slot.
 *
 * The socket's descriptor number is the keyspace's from accept to close;
 * the I/O thread only uses the socket between ADOPT and CLOSED and never
 * closes it. LINK_REP_CLOSED hands it back (its fd field), and the keyspace
 * forgets the number, then closes it. Because the only close() of a
 * replica socket runs on the keyspace thread, and that thread is also the
 * only one that forks and prints the number (snapshot children close the
 * replicas' sockets by number, CLIENT LIST shows it), every number it
 * holds names the replica's socket: the kernel can only reuse a number
 * after a close, and no close can come between the keyspace's reads of
 * its own records. */
#ifndef RM_REPL_LINK_H
#define RM_REPL_LINK_H

#include <stdatomic.h>
#include <stdint.h>

#include "io/thread.h"
#include "repl/backlog.h"

/* keyspace -> I/O thread */
enum link_msg {
    LINK_MSG_ADOPT = 1, /* ptr: link_adopt*, the I/O thread's from now on */
    LINK_MSG_FULLSYNC,  /* id; ptr: link_fullsync* (the snapshot started) */
    LINK_MSG_BULK,      /* id; fd: the payload (a file, or a pipe framed with EOF
                           marks by the child); val: its size, or LINK_BULK_EOF */
    LINK_MSG_POKE,      /* new stream bytes were published */
    LINK_MSG_TICK,      /* once a second: keep waiting replicas alive; val:
                           repl-timeout in ms, for the payload timeout */
    LINK_MSG_DROP,      /* id: close the link */
};

/* I/O thread -> keyspace */
enum link_report {
    LINK_REP_ACK = 100, /* id; val: the offset the replica acknowledged */
    LINK_REP_STATE,     /* id; val: the link's new enum link_state */
    LINK_REP_CLOSED,    /* id; val: link_closed_val(reason, errno); fd: the
                           replica's socket, handed back for the keyspace to
                           close */
    LINK_REP_ALIVE,     /* id: a newline from a loading replica (no offset) */
};

enum link_state {
    LINK_WAIT_BGSAVE_START = 0, /* handed over, no snapshot yet */
    LINK_WAIT_BGSAVE_END,       /* +FULLRESYNC sent, the snapshot is being made */
    LINK_SEND_BULK,             /* the payload is being sent */
    LINK_WAIT_ACK,              /* EOF-framed payload sent; waiting for the first ACK */
    LINK_ONLINE,                /* streaming the backlog */
};

enum link_close_reason {
    LINK_CLOSED_EOF = 0, /* the replica closed the connection */
    LINK_CLOSED_IO,      /* a socket or payload I/O error (fd carries errno) */
    LINK_CLOSED_PROTO,   /* the replica sent something that is not a command */
    LINK_CLOSED_DROPPED, /* the keyspace asked (kill, limits, timeout) */
    LINK_CLOSED_TIMEOUT, /* the payload stalled for repl-timeout (logged) */
};

#define LINK_BULK_EOF UINT64_MAX

/* LINK_REP_CLOSED's val: the enum link_close_reason and the errno (0 if
 * none) of a socket or payload error. */
static inline uint64_t link_closed_val(int reason, int err) {
    return (uint64_t)(uint32_t)reason | (uint64_t)(uint32_t)err << 32;
}
static inline int link_closed_reason(uint64_t val) { return (int)(uint32_t)val; }
static inline int link_closed_errno(uint64_t val) { return (int)(uint32_t)(val >> 32); }

struct ssl_st;

typedef struct link_adopt {
    uint64_t id;
    int fd;
    int state;      /* LINK_WAIT_BGSAVE_START, or LINK_ONLINE after +CONTINUE */
    char name[96];  /* "ip:port", for log lines */
    backlog *bl;
    int slot;       /* ONLINE: the reader slot pinning cur */
    backlog_cursor cur;
    char *preamble; /* mem_alloc'd bytes to send first (pending replies, +CONTINUE) */
    size_t preamble_len;
    struct ssl_st *ssl; /* a client on tls-port: its TLS session (handshake done),
                           the I/O thread's from now on; NULL for plain TCP */
} link_adopt;

typedef struct link_fullsync {
    char line[128]; /* "+FULLRESYNC <id> <offset>\r\n", or "" for SYNC */
    int slot;       /* reader slot pinning the stream from the snapshot on */
    backlog_cursor cur;
    int diskless;   /* the payload will be an EOF-framed pipe */
} link_fullsync;

/* The I/O threads' side: ops for io_pool_start. ctx must point at a
 * link_threads that outlives the pool. */
typedef struct link_thread link_thread;
typedef struct link_threads {
    link_thread *per[IO_THREADS_MAX];
    /* Counters of all threads together: each adds with a relaxed atomic,
     * the keyspace reads them for INFO.
     *
     * Stream sends that went out as zero-copy requests (SEND_ZC or
     * SENDMSG_ZC) and succeeded; and, once their notifications came, how
     * many of those the kernel copied after all and how many it really
     * sent from the backlog's pages. copied + zerocopy catch up with
     * zc_sends as notifications arrive, when zc_usage_reported (the
     * kernel answers IORING_SEND_ZC_REPORT_USAGE, Linux 6.2 on); without
     * it both stay 0: the kernel does not say. */
    _Atomic unsigned long long zc_sends;
    _Atomic unsigned long long zc_copied;
    _Atomic unsigned long long zc_zerocopy;
    _Atomic int zc_usage_reported;
    /* Bytes written to the replicas' sockets (control lines, payloads, the
     * stream) and read from them (REPLCONF ACKs, newlines). */
    _Atomic unsigned long long out_bytes;
    _Atomic unsigned long long in_bytes;
} link_threads;

extern const io_thread_ops link_thread_ops;

/* ---- the keyspace side of a hand-over (handover.c) ---------------------- */

/* A reader slot pinning the stream from `from` on, and a cursor at it:
 * both, or neither. 0, -ENOSPC (every slot taken) or -ERANGE (`from` is no
 * longer, or not yet, in the backlog). Publishes the backlog first. */
int link_pin(backlog *bl, long long from, int *slot, backlog_cursor *cur);
/* The adoption of socket `fd`: its preamble is `unsent` (replies the client
 * had not received) then `line` (+CONTINUE, or nothing for a replica that
 * waits for a snapshot). A LINK_ONLINE link needs slot and cur from
 * link_pin; others pass -1 and NULL. */
link_adopt *link_adopt_new(uint64_t id, int fd, const char *name, int state, backlog *bl,
                           int slot, const backlog_cursor *cur, const char *unsent,
                           size_t unsent_len, const char *line, size_t line_len);
/* A snapshot taken at stream offset `offset` started: the message for a
 * waiting link, pinned from offset+1 (link_pin's errors; *out is NULL on
 * error). line: "+FULLRESYNC ...", or NULL for a plain SYNC. */
int link_fullsync_new(link_fullsync **out, backlog *bl, long long offset, const char *line,
                      int diskless);

#endif
