/* replica_link: one replica of a master, as its I/O thread runs it.
 *
 * States (enum link_state) and what moves them:
 *
 *   WAIT_BGSAVE_START --FULLSYNC--> WAIT_BGSAVE_END --BULK--> SEND_BULK
 *   SEND_BULK --file sent--> ONLINE           ($<len> payload: the replica
 *                                              reads exactly len bytes, so
 *                                              the stream may follow at once)
 *   SEND_BULK --pipe EOF--> WAIT_ACK --first REPLCONF ACK--> ONLINE
 *                                             (EOF-framed payload: the replica
 *                                              looks for the mark at the end of
 *                                              what it read, so nothing may
 *                                              follow the mark until it has
 *                                              loaded and ACKs, as in Redis)
 *   ADOPT with state ONLINE: a partial resync; +CONTINUE is in the preamble.
 *   Any state --error, EOF, DROP--> closing --last request done--> freed.
 *
 * Writes to the socket are serialized: at most one request that writes to
 * it (or feeds the payload pipe) is in flight, `tx_busy`. What to write
 * next is decided by link_pump in this order: control bytes (the
 * preamble, +FULLRESYNC, "$<len>\r\n", keep-alive newlines), then the
 * payload, then the stream. A recv is always armed for REPLCONF ACKs.
 *
 * Stream sends read the backlog blocks in place. Each send takes a slot of
 * a small FIFO; a slot completes at the send's completion (plain SEND) or
 * at its zero-copy notification (SEND_ZC, for spans of 16 KiB and more),
 * and the reader slot's released offset advances over the completed prefix
 * of the FIFO only, so a block is never freed while the kernel may still
 * read it.
 *
 * Closing: shutdown() the socket, cancel its requests, and free the link
 * only when no request of it is in flight (zero-copy notifications
 * included); the CLOSED report is its last word. A zero-copy notification
 * only comes once the kernel lets go of the pages, which for a peer that
 * stopped reading is when the connection dies: so once nothing but
 * notifications is pending, the connection is reset (connect(AF_UNSPEC):
 * an RST, the send queue purged) instead of waiting for a peer that may
 * never read again, and the backlog blocks it pinned are released at once.
 *
 * The descriptor is never closed here. Its number belongs to the keyspace
 * thread, which forks and lists replicas by it: a close here would let the
 * kernel hand the number to the next accept, pipe or file at once, while
 * the keyspace still calls it this replica's. The socket goes back with
 * the CLOSED report (spsc_msg.fd), and the keyspace forgets the number and
 * closes it, in that order, on its own thread (master_sync.c).
 *
 * Liveness: every REPLCONF ACK, and every newline a loading replica sends,
 * is reported to the keyspace, which times out silent replicas. The
 * payload has its own timeout, checked here at each TICK: a replica that
 * has payload bytes waiting for it and takes none for repl-timeout is
 * dropped ("Disconnecting timedout replica (full sync)"), so that one
 * stuck replica cannot hold a snapshot shared with others. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "io/tlsio.h"
#include "repl/link.h"
#include "repl/link_parse.h"
#include "repl/replica_conn.h"

#define LINK_TX_SLOTS 8
#define LINK_TX_IOV 16 /* blocks one stream send may cover */
#define LINK_ZC_MIN (16 * 1024)
#define LINK_RBUF 4096
#define LINK_SPLICE_CHUNK (1u << 20)

typedef struct replica_link replica_link;

typedef struct tx_slot {
    ring_req req;
    replica_link *link;
    long long end; /* last stream byte this send covered */
    int zc;        /* went out as a real zero-copy request */
    int res;       /* its result */
    int sent;      /* its result arrived (a zero-copy send may still wait
                      for the notification) */
    int done;      /* completed and, for zero-copy, released */
    struct msghdr msg; /* a send over several blocks: the kernel's while in flight */
    struct iovec iov[LINK_TX_IOV];
} tx_slot;

struct replica_link {
    link_thread *lt;
    uint64_t id;
    int fd;
    int state;
    char name[96];
    backlog *bl;
    int slot;
    backlog_cursor cur;
    int diskless;
    int no_zc;

    /* Control bytes: `pend` collects, `infl` is the kernel's while ctl_req
     * is in flight. */
    char *pend, *infl;
    size_t pend_len, pend_cap, infl_len, infl_off;
    ring_req ctl_req;

    /* Payload. */
    int bulk_fd;
    long long bulk_size; /* -1: EOF-framed pipe */
    long long file_off;  /* disk: next file byte to feed the pipe */
    long long in_pipe;   /* disk: bytes in our pipe not yet sent */
    long long bulk_sent;
    long long bulk_progress_us; /* when the payload last moved */
    long long bulk_sent_seen;   /* bulk_sent at the last TICK */
    int bulk_outq;              /* the socket's send queue at the last TICK */
    int pipe_r, pipe_w;
    ring_req splice_in, splice_out;
    /* Payload over TLS: a disk payload is mapped and encrypted from the
     * page cache; an EOF-framed one is read from its pipe into bulk_buf
     * (the one copy a pipe forces), then encrypted from there. */
    char *bulk_map;
    char *bulk_buf;
    size_t bulk_buf_len, bulk_buf_off;

    /* A replica on tls-port: every byte to and from the socket goes
     * through its session (io/tlsio.h). NULL on plain TCP. */
    tlsio *tls;

    /* Stream. */
    tx_slot tx[LINK_TX_SLOTS];
    unsigned tx_head, tx_tail;
    int tx_busy;

    /* Input. */
    ring_req recv_req;
    char rbuf[LINK_RBUF];
    size_t rlen;
    long long acked;
    long long alive_report_us; /* last liveness report for a newline */

    int closing;
    int reset; /* the connection was reset (reset_connection) */
    int reason, err;
};

struct link_thread {
    io_thread *t;
    link_threads *all;
    replica_link **links;
    int n, cap;
    void *rconn; /* this thread's replica-side connection to a master, or NULL
                    (replica_conn.c) */
};

static void link_pump(replica_link *l);
static void link_close(replica_link *l, int reason, int err);
static void arm_recv(replica_link *l);

static ring *ring_of(replica_link *l) { return io_thread_ring(l->lt->t); }

static void report(replica_link *l, uint32_t type, uint64_t val, int fd) {
    spsc_msg m = {.type = type, .fd = fd, .id = l->id, .val = val, .ptr = NULL};
    io_thread_report(l->lt->t, &m);
}

/* Every byte a link writes or reads, for INFO's network counters. */
static void count_out(replica_link *l, int res) {
    if (res > 0)
        atomic_fetch_add_explicit(&l->lt->all->out_bytes, (unsigned)res, memory_order_relaxed);
}

static void count_in(replica_link *l, int res) {
    if (res > 0)
        atomic_fetch_add_explicit(&l->lt->all->in_bytes, (unsigned)res, memory_order_relaxed);
}

static void set_state(replica_link *l, int state) {
    l->state = state;
    report(l, LINK_REP_STATE, (uint64_t)state, -1);
}

/* ---- lifetime ----------------------------------------------------------- */

static int link_busy(const replica_link *l) {
    if (l->ctl_req.busy || l->splice_in.busy || l->splice_out.busy || l->recv_req.busy ||
        tlsio_busy(l->tls))
        return 1;
    for (int i = 0; i < LINK_TX_SLOTS; i++)
        if (l->tx[i].req.busy) return 1;
    return 0;
}

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static void unmap_payload(replica_link *l) {
    if (l->bulk_map) munmap(l->bulk_map, (size_t)l->bulk_size);
    l->bulk_map = NULL;
}

/* l->fd is not ours to close: it went back with the CLOSED report, or, at
 * shutdown, stays with the keyspace's record. */
static void link_free(replica_link *l) {
    unmap_payload(l);
    mem_free(l->bulk_buf);
    tlsio_free(l->tls);
    close_fd(&l->bulk_fd);
    close_fd(&l->pipe_r);
    close_fd(&l->pipe_w);
    mem_free(l->pend);
    mem_free(l->infl);
    mem_free(l);
}

static void unlink_from_thread(replica_link *l) {
    link_thread *lt = l->lt;
    for (int i = 0; i < lt->n; i++) {
        if (lt->links[i] == l) {
            lt->links[i] = lt->links[--lt->n];
            break;
        }
    }
}

/* Nothing in flight but zero-copy notifications. */
static int only_notifications_pending(const replica_link *l) {
    if (l->ctl_req.busy || l->splice_in.busy || l->splice_out.busy || l->recv_req.busy ||
        tlsio_busy(l->tls))
        return 0;
    for (int i = 0; i < LINK_TX_SLOTS; i++)
        if (l->tx[i].req.busy && !l->tx[i].sent) return 0;
    return 1;
}

/* Reset the connection without closing the descriptor: TCP's disconnect,
 * as a close with SO_LINGER 0 would do it, sends an RST and frees the send
 * queue, whose buffers are what the zero-copy notifications wait for. It
 * acts on the socket itself, whoever else holds a descriptor of it. */
static void reset_connection(replica_link *l) {
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    (void)connect(l->fd, &unspec, sizeof(unspec));
    l->reset = 1;
}

/* Returns 1 when the link is gone: the caller must not touch it again. */
static int maybe_finalize(replica_link *l) {
    if (!l->closing) return 0;
    if (link_busy(l)) {
        if (!l->reset && only_notifications_pending(l)) reset_connection(l);
        return 0;
    }
    /* The last word, and the socket with it: the keyspace closes it. */
    report(l, LINK_REP_CLOSED, link_closed_val(l->reason, l->err), l->fd);
    unlink_from_thread(l);
    link_free(l);
    return 1;
}

static void link_close(replica_link *l, int reason, int err) {
    if (l->closing) return;
    l->closing = 1;
    l->reason = reason;
    l->err = err;
    /* shutdown first: a splice blocked on the socket returns at once, and
     * the replica sees the end even if a snapshot child still holds a copy
     * of the descriptor. */
    shutdown(l->fd, SHUT_RDWR);
    /* Cancelling by fd names exactly this socket: the descriptor stays
     * open until the keyspace closes it after the CLOSED report, so the
     * number cannot belong to anything else meanwhile. Notifications
     * cannot be cancelled, so a link waiting only for them queues no
     * cancel at all. */
    if (link_busy(l) && !only_notifications_pending(l)) {
        ring_prep_cancel_fd(ring_of(l), l->fd);
        /* A payload request that does not address the socket: the disk
         * splice into our pipe, or (TLS, diskless) the read of the child's
         * pipe, which would otherwise wait for the child's next write, up
         * to a whole snapshot later, holding the socket and the backlog
         * reader slot. */
        if (l->splice_in.busy && l->pipe_w >= 0) ring_prep_cancel_fd(ring_of(l), l->pipe_w);
        if (l->tls && l->splice_in.busy && l->bulk_fd >= 0)
            ring_prep_cancel_fd(ring_of(l), l->bulk_fd);
    }
    maybe_finalize(l);
}

/* ---- control bytes ------------------------------------------------------ */

static void ctl_append(replica_link *l, const char *p, size_t len) {
    if (l->pend_len + len > l->pend_cap) {
        size_t cap = l->pend_cap ? l->pend_cap : 128;
        while (cap < l->pend_len + len) cap *= 2;
        l->pend = mem_realloc(l->pend, cap);
        l->pend_cap = cap;
    }
    memcpy(l->pend + l->pend_len, p, len);
    l->pend_len += len;
}

static void on_ctl_sent(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    replica_link *l = req->data;
    l->tx_busy = 0;
    count_out(l, res);
    if (l->closing) {
        maybe_finalize(l);
        return;
    }
    if (res <= 0) {
        link_close(l, LINK_CLOSED_IO, res < 0 ? -res : EPIPE);
        return;
    }
    l->infl_off += (size_t)res;
    if (l->infl_off == l->infl_len) {
        mem_free(l->infl);
        l->infl = NULL;
        l->infl_len = l->infl_off = 0;
    }
    link_pump(l);
}

/* A send of len bytes at p, in the clear or through the TLS session. */
static int link_send(replica_link *l, ring_req *req, const void *p, size_t len) {
    if (!l->tls) return ring_prep_send(ring_of(l), req, l->fd, p, len, 0);
    struct iovec iov = {.iov_base = (void *)p, .iov_len = len};
    return tlsio_send(ring_of(l), l->tls, req, l->fd, &iov, 1);
}

static int ctl_pump(replica_link *l) {
    if (!l->infl) {
        if (l->pend_len == 0) return 0;
        l->infl = l->pend;
        l->infl_len = l->pend_len;
        l->infl_off = 0;
        l->pend = NULL;
        l->pend_len = l->pend_cap = 0;
    }
    int rc = link_send(l, &l->ctl_req, l->infl + l->infl_off, l->infl_len - l->infl_off);
    if (rc < 0) {
        link_close(l, LINK_CLOSED_IO, -rc);
        return 1;
    }
    l->tx_busy = 1;
    return 1;
}

/* ---- payload ------------------------------------------------------------ */

static void bulk_finished(replica_link *l) {
    unmap_payload(l);
    close_fd(&l->bulk_fd);
    close_fd(&l->pipe_r);
    close_fd(&l->pipe_w);
    if (l->bulk_size < 0) {
        log_msg(LL_NOTICE,
                "Streamed RDB transfer with replica %s succeeded (socket). Waiting for REPLCONF "
                "ACK from slave to enable streaming",
                l->name);
        /* The replica may have loaded and ACKed before the child closed
         * the pipe (the mark is its last write, the exit comes later). */
        set_state(l, l->acked >= 0 ? LINK_ONLINE : LINK_WAIT_ACK);
    } else {
        set_state(l, LINK_ONLINE);
    }
}

/* The start of every payload request's completion: 1 when the caller
 * must stop, because the link is closing (finalized once idle) or the
 * request failed: res < 0, or 0 where 0 is an error (zero_err, its errno;
 * 0 when 0 is an end the caller handles). */
static int bulk_req_stops(replica_link *l, int res, int zero_err) {
    l->tx_busy = 0;
    if (l->closing) {
        maybe_finalize(l);
        return 1;
    }
    if (res < 0 || (res == 0 && zero_err)) {
        link_close(l, LINK_CLOSED_IO, res < 0 ? -res : zero_err);
        return 1;
    }
    return 0;
}

static void on_splice_out(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    replica_link *l = req->data;
    count_out(l, res);
    /* The child's pipe: 0 is its end, the EOF mark already went out. */
    if (bulk_req_stops(l, res, l->bulk_size < 0 ? 0 : EPIPE)) return;
    if (l->bulk_size < 0) {
        if (res == 0) bulk_finished(l);
        else l->bulk_sent += res;
    } else {
        l->in_pipe -= res;
        l->bulk_sent += res;
        if (l->bulk_sent == l->bulk_size) bulk_finished(l);
    }
    link_pump(l);
}

static void on_splice_in(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    replica_link *l = req->data;
    /* 0: the file is shorter than it was at fstat: it was replaced or
     * truncated under us, and the replica would get a torn payload. */
    if (bulk_req_stops(l, res, EIO)) return;
    l->file_off += res;
    l->in_pipe += res;
    link_pump(l);
}

/* ---- payload over TLS ---------------------------------------------------
 *
 * No splice: the bytes must pass through the cipher. A disk payload is
 * mapped and encrypted in place; an EOF-framed payload comes through its
 * pipe, which has to be read into user memory first. The same requests
 * are used (splice_in reads the pipe, splice_out sends), so lifetime and
 * cancellation are the plain path's. */

static void on_tls_bulk_in(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    replica_link *l = req->data;
    if (bulk_req_stops(l, res, 0)) return;
    if (res == 0) {
        bulk_finished(l); /* the child closed the pipe after the EOF mark */
    } else {
        l->bulk_buf_len = (size_t)res;
        l->bulk_buf_off = 0;
    }
    link_pump(l);
}

static void on_tls_bulk_out(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    replica_link *l = req->data;
    count_out(l, res);
    if (bulk_req_stops(l, res, EPIPE)) return;
    l->bulk_sent += res;
    if (l->bulk_size < 0) l->bulk_buf_off += (size_t)res;
    else if (l->bulk_sent == l->bulk_size) bulk_finished(l);
    link_pump(l);
}

static void tls_bulk_pump(replica_link *l) {
    int rc;
    if (l->bulk_size >= 0) {
        if (l->bulk_sent == l->bulk_size) {
            bulk_finished(l); /* an empty payload */
            link_pump(l);
            return;
        }
        rc = link_send(l, &l->splice_out, l->bulk_map + l->bulk_sent,
                       (size_t)(l->bulk_size - l->bulk_sent));
    } else if (l->bulk_buf_off < l->bulk_buf_len) {
        rc = link_send(l, &l->splice_out, l->bulk_buf + l->bulk_buf_off,
                       l->bulk_buf_len - l->bulk_buf_off);
    } else {
        if (!l->bulk_buf) l->bulk_buf = mem_alloc(TLSIO_SEND_MAX);
        rc = ring_prep_read(ring_of(l), &l->splice_in, l->bulk_fd, l->bulk_buf, TLSIO_SEND_MAX,
                            (uint64_t)-1);
    }
    if (rc < 0) {
        link_close(l, LINK_CLOSED_IO, -rc);
        return;
    }
    l->tx_busy = 1;
}

static void bulk_pump(replica_link *l) {
    int rc;
    if (l->tls) {
        tls_bulk_pump(l);
        return;
    }
    if (l->bulk_size < 0) {
        rc = ring_prep_splice(ring_of(l), &l->splice_out, l->bulk_fd, -1, l->fd, -1,
                              LINK_SPLICE_CHUNK, SPLICE_F_MOVE);
    } else if (l->in_pipe > 0) {
        rc = ring_prep_splice(ring_of(l), &l->splice_out, l->pipe_r, -1, l->fd, -1,
                              (unsigned)l->in_pipe, SPLICE_F_MOVE);
    } else if (l->file_off < l->bulk_size) {
        long long left = l->bulk_size - l->file_off;
        unsigned n = left < LINK_SPLICE_CHUNK ? (unsigned)left : LINK_SPLICE_CHUNK;
        rc = ring_prep_splice(ring_of(l), &l->splice_in, l->bulk_fd, l->file_off, l->pipe_w, -1, n,
                              SPLICE_F_MOVE);
    } else {
        bulk_finished(l); /* an empty payload */
        link_pump(l);
        return;
    }
    if (rc < 0) {
        link_close(l, LINK_CLOSED_IO, -rc);
        return;
    }
    l->tx_busy = 1;
}

/* ---- stream ------------------------------------------------------------- */

static void release_completed(replica_link *l) {
    long long rel = -1;
    while (l->tx_head != l->tx_tail && l->tx[l->tx_head % LINK_TX_SLOTS].done) {
        rel = l->tx[l->tx_head % LINK_TX_SLOTS].end;
        l->tx_head++;
    }
    if (rel >= 0) backlog_reader_release(l->bl, l->slot, rel);
}

/* The notification of a zero-copy send that went out says whether the
 * kernel copied it anyway (ring.h), closing link or not. */
static void count_zc_usage(replica_link *l, tx_slot *ts, int res, uint32_t flags) {
    if (!ts->zc || ts->res <= 0) return;
    switch (ring_zc_usage(ring_of(l), res, flags)) {
    case RING_ZC_COPIED:
        atomic_fetch_add_explicit(&l->lt->all->zc_copied, 1, memory_order_relaxed);
        break;
    case RING_ZC_ZEROCOPY:
        atomic_fetch_add_explicit(&l->lt->all->zc_zerocopy, 1, memory_order_relaxed);
        break;
    default:
        break;
    }
}

static void on_tx_release(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    tx_slot *ts = (tx_slot *)req;
    replica_link *l = ts->link;
    count_zc_usage(l, ts, res, flags);
    ts->done = 1;
    if (l->closing) {
        maybe_finalize(l);
        return;
    }
    release_completed(l);
    link_pump(l);
}

static void on_tx_done(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    tx_slot *ts = (tx_slot *)req;
    replica_link *l = ts->link;
    int zc = req->kind == RING_REQ_ZC;
    l->tx_busy = 0;
    if (res > 0) backlog_advance(&l->cur, (size_t)res);
    ts->end = l->cur.offset - 1;
    ts->res = res;
    ts->sent = 1;
    count_out(l, res);
    if (ts->zc && res > 0)
        atomic_fetch_add_explicit(&l->lt->all->zc_sends, 1, memory_order_relaxed);
    if (!zc) ts->done = 1;
    if (l->closing) {
        maybe_finalize(l);
        return;
    }
    if (res == -EOPNOTSUPP && zc) {
        l->no_zc = 1; /* resent with plain SEND once this slot is released */
        return;
    }
    if (res <= 0) {
        link_close(l, LINK_CLOSED_IO, res < 0 ? -res : EPIPE);
        return;
    }
    if (!zc) {
        release_completed(l);
        link_pump(l);
    } else {
        /* Keep the socket busy while the notification is pending. */
        link_pump(l);
    }
}

/* One send takes everything published, across up to LINK_TX_IOV blocks:
 * on a busy machine each completion is a wake-up of this thread that may
 * wait for a CPU, so fewer, larger sends keep the replicas closer. */
static void stream_pump(replica_link *l) {
    if (l->tx_tail - l->tx_head == LINK_TX_SLOTS) return; /* a release will pump */
    tx_slot *ts = &l->tx[l->tx_tail % LINK_TX_SLOTS];
    int niov;
    size_t n = backlog_peekv(l->bl, &l->cur, ts->iov, LINK_TX_IOV, &niov);
    if (n == 0) return;
    ring_req_init(&ts->req, on_tx_done, l);
    ts->link = l;
    ts->sent = 0;
    ts->done = 0;
    ts->end = l->cur.offset - 1;
    memset(&ts->msg, 0, sizeof(ts->msg));
    ts->msg.msg_iov = ts->iov;
    ts->msg.msg_iovlen = (size_t)niov;
    int zc = n >= LINK_ZC_MIN && !l->no_zc;
    /* Where the kernel lacks the opcode the ring sends a plain copy. */
    ts->zc = zc && ring_op_supported(ring_of(l), niov == 1 ? IORING_OP_SEND_ZC
                                                           : IORING_OP_SENDMSG_ZC);
    ts->res = 0;
    int rc;
    if (l->tls) {
        /* Encrypted from the blocks where they lie; the ciphertext is the
         * session's own buffer, so the send is a plain one and the slot
         * completes with it. */
        ts->zc = 0;
        rc = tlsio_send(ring_of(l), l->tls, &ts->req, l->fd, ts->iov, niov);
    } else if (niov == 1 && zc)
        rc = ring_prep_send_zc(ring_of(l), &ts->req, l->fd, ts->iov[0].iov_base, n, 0,
                               on_tx_release);
    else if (niov == 1)
        rc = ring_prep_send(ring_of(l), &ts->req, l->fd, ts->iov[0].iov_base, n, 0);
    else if (zc)
        rc = ring_prep_sendmsg_zc(ring_of(l), &ts->req, l->fd, &ts->msg, 0, on_tx_release);
    else
        rc = ring_prep_sendmsg(ring_of(l), &ts->req, l->fd, &ts->msg, 0);
    if (rc < 0) {
        link_close(l, LINK_CLOSED_IO, -rc);
        return;
    }
    l->tx_tail++;
    l->tx_busy = 1;
}

/* Start the next write, if any and if none is in flight. */
static void link_pump(replica_link *l) {
    if (l->closing || l->tx_busy) return;
    if (ctl_pump(l)) return;
    if (l->state == LINK_SEND_BULK) bulk_pump(l);
    else if (l->state == LINK_ONLINE) stream_pump(l);
}

/* ---- input: REPLCONF ACK ------------------------------------------------ */

static void on_ack(replica_link *l, long long off) {
    /* Every ACK is news, a repeated offset too: it is how the keyspace
     * knows the replica is alive (lag, repl-timeout, min-replicas). */
    if (off > l->acked) l->acked = off;
    report(l, LINK_REP_ACK, (uint64_t)l->acked, -1);
    if (l->state == LINK_WAIT_ACK) {
        set_state(l, LINK_ONLINE);
        link_pump(l);
    }
}

static void on_recv(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    replica_link *l = req->data;
    count_in(l, res);
    if (l->closing) {
        maybe_finalize(l);
        return;
    }
    if (res <= 0) {
        link_close(l, res == 0 ? LINK_CLOSED_EOF : LINK_CLOSED_IO, res < 0 ? -res : 0);
        return;
    }
    l->rlen += (size_t)res;
    size_t off = 0;
    for (;;) {
        char *argv[4];
        size_t lens[4];
        int argc;
        long used = link_parse_command(l->rbuf + off, l->rlen - off, argv, lens, 4, &argc);
        if (used < 0) {
            log_msg(LL_WARNING, "Protocol error from replica %s: closing the link", l->name);
            link_close(l, LINK_CLOSED_PROTO, 0);
            return;
        }
        if (used == 0) break;
        off += (size_t)used;
        if (argc >= 3 && link_word_is(argv[0], lens[0], "replconf") &&
            link_word_is(argv[1], lens[1], "ack")) {
            char num[32];
            size_t n = lens[2] < sizeof(num) - 1 ? lens[2] : sizeof(num) - 1;
            memcpy(num, argv[2], n);
            num[n] = '\0';
            on_ack(l, strtoll(num, NULL, 10));
            if (l->closing) return;
        }
        /* A newline is what a replica sends while it loads the payload
         * (Redis counts it as an ACK's liveness, without an offset); at
         * most ten reports a second, whatever a replica floods us with. */
        if (argc == 0) {
            long long now = util_us_time_real();
            if (now - l->alive_report_us >= 100000) {
                l->alive_report_us = now;
                report(l, LINK_REP_ALIVE, 0, -1);
            }
        }
        /* Anything else a replica sends (PING) needs no answer. */
    }
    memmove(l->rbuf, l->rbuf + off, l->rlen - off);
    l->rlen -= off;
    if (l->rlen == sizeof(l->rbuf)) {
        log_msg(LL_WARNING, "Protocol error from replica %s: closing the link", l->name);
        link_close(l, LINK_CLOSED_PROTO, 0);
        return;
    }
    arm_recv(l);
}

static void arm_recv(replica_link *l) {
    int rc;
    if (l->tls)
        rc = tlsio_recv(ring_of(l), l->tls, &l->recv_req, l->fd, l->rbuf + l->rlen,
                        sizeof(l->rbuf) - l->rlen);
    else
        rc = ring_prep_recv(ring_of(l), &l->recv_req, l->fd, l->rbuf + l->rlen,
                            sizeof(l->rbuf) - l->rlen, 0);
    if (rc < 0) link_close(l, LINK_CLOSED_IO, -rc);
}

/* ---- messages ----------------------------------------------------------- */

static replica_link *find_link(link_thread *lt, uint64_t id) {
    for (int i = 0; i < lt->n; i++)
        if (lt->links[i]->id == id && !lt->links[i]->closing) return lt->links[i];
    return NULL;
}

/* A flush of the session's own (an alert, a key update) completed: a
 * closing link may have been waiting for it. */
static void on_tls_idle(void *arg) { maybe_finalize(arg); }

static void adopt(link_thread *lt, link_adopt *a) {
    replica_link *l = mem_calloc(sizeof(*l));
    l->lt = lt;
    l->id = a->id;
    l->fd = a->fd;
    l->state = a->state;
    memcpy(l->name, a->name, sizeof(l->name));
    l->bl = a->bl;
    l->slot = a->slot;
    l->cur = a->cur;
    l->bulk_fd = l->pipe_r = l->pipe_w = -1;
    l->bulk_size = -1;
    l->acked = -1;
    ring_req_init(&l->ctl_req, on_ctl_sent, l);
    ring_req_init(&l->splice_in, a->ssl ? on_tls_bulk_in : on_splice_in, l);
    ring_req_init(&l->splice_out, a->ssl ? on_tls_bulk_out : on_splice_out, l);
    ring_req_init(&l->recv_req, on_recv, l);
    int a_had_ssl = a->ssl != NULL;
    if (a->ssl) {
        l->tls = tlsio_new(a->ssl);
        if (l->tls) tlsio_set_idle_cb(l->tls, on_tls_idle, l);
    }
    if (a->preamble_len) ctl_append(l, a->preamble, a->preamble_len);
    mem_free(a->preamble);
    mem_free(a);
    if (lt->n == lt->cap) {
        lt->cap = lt->cap ? lt->cap * 2 : 8;
        lt->links = mem_realloc(lt->links, sizeof(*lt->links) * (size_t)lt->cap);
    }
    lt->links[lt->n++] = l;
    if (a_had_ssl && !l->tls) {
        log_msg(LL_WARNING, "Unable to set up TLS for replica %s: closing the link", l->name);
        link_close(l, LINK_CLOSED_IO, ENOMEM);
        return;
    }
    arm_recv(l);
    if (!l->closing) link_pump(l);
}

static void fullsync(replica_link *l, link_fullsync *f) {
    l->slot = f->slot;
    l->cur = f->cur;
    l->diskless = f->diskless;
    l->state = LINK_WAIT_BGSAVE_END;
    if (f->line[0]) ctl_append(l, f->line, strlen(f->line));
    link_pump(l);
}

/* A disk payload over TLS: the file mapped, encrypted from the page cache. */
static int map_payload(replica_link *l) {
    if (l->bulk_size == 0) return 0;
    void *m = mmap(NULL, (size_t)l->bulk_size, PROT_READ, MAP_PRIVATE, l->bulk_fd, 0);
    if (m == MAP_FAILED) {
        log_msg(LL_WARNING, "Unable to map the RDB for replica %s: %s", l->name, strerror(errno));
        return -errno;
    }
    madvise(m, (size_t)l->bulk_size, MADV_SEQUENTIAL);
    l->bulk_map = m;
    return 0;
}

/* A disk payload in the clear: spliced from the file through a pipe. */
static int make_splice_pipe(replica_link *l) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -errno;
    fcntl(p[1], F_SETPIPE_SZ, (int)LINK_SPLICE_CHUNK); /* best effort */
    l->pipe_r = p[0];
    l->pipe_w = p[1];
    return 0;
}

static void bulk(replica_link *l, int fd, uint64_t size) {
    l->bulk_fd = fd;
    if (size == LINK_BULK_EOF) {
        l->bulk_size = -1;
    } else {
        l->bulk_size = (long long)size;
        int rc = l->tls ? map_payload(l) : make_splice_pipe(l);
        if (rc < 0) {
            link_close(l, LINK_CLOSED_IO, -rc);
            return;
        }
        char hdr[32];
        int n = snprintf(hdr, sizeof(hdr), "$%lld\r\n", l->bulk_size);
        ctl_append(l, hdr, (size_t)n);
    }
    l->state = LINK_SEND_BULK;
    l->bulk_progress_us = util_us_time_real();
    link_pump(l);
}

/* The replica has not taken payload bytes for timeout_us while some wait
 * for it in its socket's send queue: the peer stopped reading. A socket
 * with nothing queued means the payload itself is slow (the child, or the
 * child blocked on another replica's pipe): not this replica's fault.
 *
 * Progress is the send queue moving (the peer acknowledged bytes) or the
 * payload moving. Only the socket is asked, with SIOCOUTQ, which takes no
 * lock: FIONREAD on the payload pipe would wait for the pipe's lock, held
 * by a splice blocked on this very socket, and freeze the whole thread. */
static int payload_stalled(replica_link *l, long long timeout_us) {
    long long now = util_us_time_real();
    int outq = 0;
    if (ioctl(l->fd, SIOCOUTQ, &outq) < 0) return 0;
    if (outq != l->bulk_outq || l->bulk_sent != l->bulk_sent_seen) {
        l->bulk_outq = outq;
        l->bulk_sent_seen = l->bulk_sent;
        l->bulk_progress_us = now;
        return 0;
    }
    return outq > 0 && now - l->bulk_progress_us > timeout_us;
}

static void on_message(io_thread *t, const spsc_msg *m, void *ctx) {
    link_threads *all = ctx;
    link_thread *lt = all->per[io_thread_index(t)];
    replica_link *l;
    /* The replica side shares the threads: its messages go to replica_conn.c. */
    if (m->type >= RCONN_MSG_START && m->type < RCONN_MSG_START + 100) {
        rconn_on_message(t, &lt->rconn, m);
        return;
    }
    switch (m->type) {
    case LINK_MSG_ADOPT:
        adopt(lt, m->ptr);
        break;
    case LINK_MSG_FULLSYNC:
        l = find_link(lt, m->id);
        if (l) fullsync(l, m->ptr);
        mem_free(m->ptr);
        break;
    case LINK_MSG_BULK:
        l = find_link(lt, m->id);
        if (l) bulk(l, m->fd, m->val);
        else close(m->fd);
        break;
    case LINK_MSG_POKE:
        for (int i = 0; i < lt->n; i++)
            if (lt->links[i]->state == LINK_ONLINE) link_pump(lt->links[i]);
        break;
    case LINK_MSG_TICK:
        for (int i = 0; i < lt->n; i++) {
            l = lt->links[i];
            /* A newline is a PING for a replica that waits for +FULLRESYNC
             * or for the $<len> of a disk payload; an EOF-framed payload is
             * already flowing through its pipe. */
            int waiting = l->state == LINK_WAIT_BGSAVE_START ||
                          (l->state == LINK_WAIT_BGSAVE_END && !l->diskless);
            if (waiting && !l->closing && !l->tx_busy && l->pend_len == 0) {
                ctl_append(l, "\n", 1);
                link_pump(l);
            }
            if (!l->closing && l->state == LINK_SEND_BULK && m->val > 0 &&
                payload_stalled(l, (long long)m->val * 1000)) {
                log_msg(LL_WARNING, "Disconnecting timedout replica (full sync): %s", l->name);
                link_close(l, LINK_CLOSED_TIMEOUT, 0);
            }
        }
        break;
    case LINK_MSG_DROP:
        l = find_link(lt, m->id);
        if (l) link_close(l, LINK_CLOSED_DROPPED, 0);
        break;
    default:
        break;
    }
}

static int on_start(io_thread *t, void *ctx) {
    link_threads *all = ctx;
    link_thread *lt = mem_calloc(sizeof(*lt));
    lt->t = t;
    lt->all = all;
    all->per[io_thread_index(t)] = lt;
    atomic_store_explicit(&all->zc_usage_reported, io_thread_ring(t)->zc_report_usage,
                          memory_order_relaxed);
    return 0;
}

static void on_stop(io_thread *t, void *ctx) {
    link_threads *all = ctx;
    link_thread *lt = all->per[io_thread_index(t)];
    /* The thread cancelled and reaped every request before this, unless
     * its drain timed out. A link whose request is still in flight keeps
     * its memory (the kernel may yet write into its buffers or read the
     * backlog blocks it pins): leaked, and said, rather than freed under
     * the kernel. The others go without reports: the keyspace is shutting
     * down. */
    int kept = 0;
    for (int i = 0; i < lt->n; i++) {
        if (link_busy(lt->links[i])) kept++;
        else link_free(lt->links[i]);
    }
    if (kept)
        log_msg(LL_WARNING,
                "%d replica link(s) still had I/O in flight when the replication thread "
                "stopped: their memory is left allocated",
                kept);
    rconn_on_stop(t, &lt->rconn);
    mem_free(lt->links);
    mem_free(lt);
    all->per[io_thread_index(t)] = NULL;
}

const io_thread_ops link_thread_ops = {.start = on_start, .message = on_message, .stop = on_stop};
