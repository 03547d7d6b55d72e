/* replica_conn_int: the I/O thread's record of a replica's connection to
 * its master, shared by replica_conn.c (lifetime, connect, handshake,
 * sends, ticks) and replica_conn_xfer.c (the payload and the stream).
 * Everything here runs on the one I/O thread that owns the connection. */
#ifndef RM_REPL_REPLICA_CONN_INT_H
#define RM_REPL_REPLICA_CONN_INT_H

#include <netdb.h>
#include <stdint.h>
#include <sys/socket.h>

#include "io/ring.h"
#include "io/thread.h"
#include "repl/replica_conn.h"

#define RCONN_LINE_MAX (64 * 1024)        /* longest reply line we wait for */
#define RCONN_MARK_LEN 40                 /* an EOF mark, CONFIG_RUN_ID_SIZE */
#define RCONN_PAYLOAD_CHUNK (256 * 1024)  /* one payload recv */
#define RCONN_STREAM_CHUNK (64 * 1024)    /* one stream recv */
#define RCONN_MAX_PAYLOAD (1LL << 40)     /* a "$" length past 1 TB is garbage */
#define RCONN_SYNC_EVERY (8 * 1024 * 1024) /* REPL_MAX_WRITTEN_BEFORE_FSYNC */
#define RCONN_MAX_ADDRS 4                 /* resolved addresses tried in turn */
#define RCONN_MAX_QUEUED_ACKS 16          /* ticks skip their ACK past this */

/* What the next input is (the handshake steps are Redis's repl_state). */
enum rconn_step {
    RCONN_STEP_CONNECT = 0, /* connect in flight */
    RCONN_STEP_PING,        /* waiting for the reply to PING */
    RCONN_STEP_AUTH,
    RCONN_STEP_PORT,
    RCONN_STEP_IP,
    RCONN_STEP_CAPA,
    RCONN_STEP_PSYNC,       /* the reply to PSYNC (or nothing after SYNC) */
    RCONN_STEP_BULK,        /* the payload's "$" line */
    RCONN_STEP_PAYLOAD,     /* payload bytes */
    RCONN_STEP_STREAM,      /* stream bytes */
};

/* What the file request is doing (to_disk transfers). */
enum rconn_file_op { RCONN_FILE_NONE = 0, RCONN_FILE_WRITE, RCONN_FILE_DATASYNC, RCONN_FILE_FSYNC };

/* A queued write to the socket: ours (commands, ACKs) or a SEND's bytes. */
typedef struct rconn_out {
    struct rconn_out *next;
    char *p; /* mem_alloc'd, freed once sent */
    size_t len, off;
    int is_ack; /* a tick's ACK, counted against RCONN_MAX_QUEUED_ACKS */
} rconn_out;

typedef struct rconn {
    io_thread *t;
    void **slot; /* the thread's rconn slot while this is its live connection */
    uint64_t id;
    rconn_start *start;
    rconn_shared *sh;
    int fd;
    int state;  /* enum rconn_state, as last reported */
    int step;   /* enum rconn_step */
    long long progress_ms; /* monotonic ms of the last progress (timeouts) */

    /* Connect: the resolved addresses, the one being tried. */
    struct sockaddr_storage addrs[RCONN_MAX_ADDRS];
    socklen_t addrlens[RCONN_MAX_ADDRS];
    int naddrs, cur_addr;
    ring_req conn_req;

    /* Input. Lines (handshake, "$" line) accumulate in `in`; payload and
     * stream bytes go straight into a fresh rconn_buf per recv (`rbuf`,
     * the kernel's while recv_req is in flight). */
    ring_req recv_req;
    char *in;
    size_t in_len;
    rconn_buf *rbuf;

    /* Payload. */
    int use_mark;
    char mark[RCONN_MARK_LEN];
    char tail[RCONN_MARK_LEN]; /* held back: maybe the mark */
    size_t tail_len;
    long long left;            /* $<len> payloads: bytes still due */
    int payload_done;          /* the last payload byte arrived */
    rconn_buf *after;          /* stream bytes that came with the payload's end */
    int file_fd;
    char tmpfile[64];
    ring_req file_req;
    int file_op;               /* enum rconn_file_op */
    rconn_buf *wbuf;           /* being written: the kernel's while file_req runs */
    size_t wlen, woff;
    long long file_off;
    long long since_sync;

    /* Output: at most one send in flight (send_req, the head of the queue). */
    ring_req send_req;
    rconn_out *out_head, *out_tail;
    int queued_acks;

    int paused; /* flow control: no recv until RCONN_MSG_RESUME */

    /* tls-replication: the session every byte goes through once the
     * handshake (hs_req) is done (io/tlsio.h). */
    struct tlsio *tls;
    ring_req hs_req;

    int closing;
    int reason; /* enum rconn_close_reason */
    int depth;  /* callbacks and messages running on it: it is freed only
                   once none is, so a close deep inside one cannot free the
                   memory the callers still read */
} rconn;

/* replica_conn.c */
/* A recv into buf, in the clear or through the TLS session. */
int rconn_recv(rconn *c, void *buf, size_t len);
void rconn_report(rconn *c, uint32_t type, uint64_t val, void *ptr);
void rconn_set_state(rconn *c, int state);
void rconn_close(rconn *c, int reason);
int rconn_finalize(rconn *c);
int rconn_cb_enter(rconn *c);
void rconn_cb_leave(rconn *c);
void rconn_queue(rconn *c, char *p, size_t len, int is_ack);
void rconn_progress(rconn *c);
void rconn_count_in(rconn *c, int res);
rconn_buf *rconn_buf_new(size_t cap);
/* Report payload or stream bytes, counted until the keyspace releases them. */
void rconn_hand_over(rconn *c, uint32_t type, rconn_buf *b);
void rconn_arm_recv(rconn *c);

/* replica_conn_xfer.c */
/* The payload's "$" line (or a keep-alive newline); may close. */
void rconn_bulk_line(rconn *c, const char *line, size_t len);
/* Bytes already read past the last line, in the new step. */
void rconn_take_leftover(rconn *c, const char *p, size_t len);
/* A recv of payload or stream bytes completed into c->rbuf. */
void rconn_on_data(rconn *c, int res);
void rconn_on_file(ring *r, ring_req *req, int res, uint32_t flags);
void rconn_enter_stream(rconn *c);
/* Remove a transfer's temp file, if any, and close it. */
void rconn_drop_tmpfile(rconn *c);

#endif
