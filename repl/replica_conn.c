/* replica_conn: a replica's connection to its master, on an I/O thread.
 *
 * The protocol and the messages are in replica_conn.h; this file runs the
 * connection's life up to the payload, and its sends and ticks.
 * replica_conn_xfer.c receives the payload and the stream.
 *
 * Steps (enum rconn_step, what the next input is) and reported states:
 *
 *   CONNECT                        RCONN_CONNECTING: IORING_OP_CONNECT in
 *                                  flight, resolved addresses tried in turn
 *   PING AUTH PORT IP CAPA PSYNC   RCONN_HANDSHAKE: one command sent, its
 *                                  one reply line awaited (AUTH only with
 *                                  masterauth, IP only with an announce-ip)
 *   BULK                           RCONN_TRANSFER: the payload's "$" line
 *   PAYLOAD                        RCONN_TRANSFER: payload bytes
 *   STREAM                         RCONN_STREAMING: stream bytes, ACKs
 *
 * Input is read by one recv, always armed except while a to_disk transfer
 * writes what it read to the file, and while the keyspace holds more of
 * what was handed over than rconn_shared.read_limit (flow control, in
 * replica_conn.h: `paused` until RCONN_MSG_RESUME). Reply lines gather in
 * `in` (at most RCONN_LINE_MAX bytes: a master that sends more without a
 * newline is not speaking the protocol); bytes read past the line that
 * ends the handshake belong to the payload or the stream and are handed on.
 *
 * Output: commands, SEND messages' bytes and the ticks' ACKs queue in
 * order; one send is in flight at a time, so the master reads them in
 * the order they were queued.
 *
 * Ending: every error, timeout and STOP goes through rconn_close, once.
 * It detaches the connection from the thread's slot (a START may come
 * right after a STOP, before the old requests are back), cancels the
 * socket's requests, and rconn_finalize frees the connection once no
 * request is in flight: socket closed, partial temp file removed,
 * rconn_start freed, then exactly one RCONN_REP_CLOSED. A close often
 * happens deep inside a callback (a reply handler under the line loop
 * under the recv completion): `depth` counts the callbacks and messages
 * running on the connection, and only the outermost one's rconn_cb_leave
 * may free it, so no caller reads freed memory. When the thread
 * itself stops, the requests are cancelled by the thread and the
 * callbacks do nothing; rconn_on_stop frees without reports.
 *
 * Every failure is logged once, with the line Redis 7.0 logs for it. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "core/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/tls.h"
#include "core/util.h"
#include "io/tlsio.h"
#include "repl/replica_conn_int.h"

static void rconn_send_pump(rconn *c);
static void rconn_send_step(rconn *c, int step);
static void rconn_sent(rconn *c, int res);

static long long rconn_now_ms(void) { return util_mono_us() / 1000; }

static ring *rconn_ring(rconn *c) { return io_thread_ring(c->t); }

void rconn_report(rconn *c, uint32_t type, uint64_t val, void *ptr) {
    spsc_msg m = {.type = type, .fd = -1, .id = c->id, .val = val, .ptr = ptr};
    io_thread_report(c->t, &m);
}

void rconn_set_state(rconn *c, int state) {
    c->state = state;
    rconn_report(c, RCONN_REP_STATE, (uint64_t)state, NULL);
}

void rconn_progress(rconn *c) { c->progress_ms = rconn_now_ms(); }

/* Every byte from the master, for INFO (net input, last I/O). */
void rconn_count_in(rconn *c, int res) {
    if (res <= 0) return;
    atomic_fetch_add_explicit(&c->sh->net_in_bytes, (uint64_t)res, memory_order_relaxed);
    atomic_store_explicit(&c->sh->last_io_ms, util_ms_time(), memory_order_relaxed);
}

rconn_buf *rconn_buf_new(size_t cap) {
    rconn_buf *b = mem_alloc(sizeof(*b) + cap);
    b->next = NULL;
    b->len = 0;
    return b;
}

void rconn_hand_over(rconn *c, uint32_t type, rconn_buf *b) {
    atomic_fetch_add(&c->sh->unreleased, b->len);
    rconn_report(c, type, 0, b);
}

/* On the keyspace thread. The flag is looked at after the count went
 * down, the I/O thread looks at the count after it set the flag (both
 * sequentially consistent): one of them sees the other, and the exchange
 * gives the resume to exactly one. */
int rconn_buf_release(rconn_shared *sh, rconn_buf *b) {
    uint64_t n = b->len;
    mem_free(b);
    uint64_t left = atomic_fetch_sub(&sh->unreleased, n) - n;
    return left < sh->read_limit / 2 && atomic_load(&sh->paused) &&
           atomic_exchange(&sh->paused, 0);
}

char *rconn_ack_cmd(long long offset, size_t *len) {
    char off[UTIL_LONG_STR_SIZE];
    int n = util_ll_to_str(off, sizeof(off), offset);
    char *p = mem_alloc(64);
    *len = (size_t)snprintf(p, 64, "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%s\r\n", n, off);
    return p;
}

/* ---- lifetime ----------------------------------------------------------- */

static int rconn_busy(const rconn *c) {
    return c->conn_req.busy || c->recv_req.busy || c->send_req.busy || c->file_req.busy ||
           c->hs_req.busy || tlsio_busy(c->tls);
}

static void rconn_start_free(rconn_start *s) {
    if (s == NULL) return;
    if (s->auth_user) dstr_free(s->auth_user);
    if (s->auth_pass) dstr_free(s->auth_pass);
    tls_context_unref(s->ssl_ctx);
    mem_free(s);
}

/* Everything but the struct's own memory; no request may be in flight. */
static void rconn_release(rconn *c) {
    tlsio_free(c->tls);
    c->tls = NULL;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    rconn_drop_tmpfile(c);
    mem_free(c->in);
    mem_free(c->rbuf);
    mem_free(c->wbuf);
    mem_free(c->after);
    c->in = NULL;
    c->rbuf = c->wbuf = c->after = NULL;
    while (c->out_head) {
        rconn_out *o = c->out_head;
        c->out_head = o->next;
        mem_free(o->p);
        mem_free(o);
    }
    c->out_tail = NULL;
    rconn_start_free(c->start);
    c->start = NULL;
}

/* Returns 1 when the connection is gone: the caller must not touch it. */
int rconn_finalize(rconn *c) {
    if (!c->closing || c->depth > 0 || rconn_busy(c)) return 0;
    rconn_release(c);
    rconn_report(c, RCONN_REP_CLOSED, (uint64_t)c->reason, NULL);
    mem_free(c);
    return 1;
}

/* The one way a connection ends (the failure was logged by the caller). */
void rconn_close(rconn *c, int reason) {
    if (c->closing) return;
    c->closing = 1;
    c->reason = reason;
    if (c->slot && *c->slot == c) *c->slot = NULL;
    c->slot = NULL;
    /* The descriptor stays open until finalize, so cancelling by fd names
     * this socket only. A file write is not cancelled: it ends soon. */
    if (c->fd >= 0 && (c->conn_req.busy || c->recv_req.busy || c->send_req.busy ||
                       c->hs_req.busy || tlsio_busy(c->tls))) {
        shutdown(c->fd, SHUT_RDWR);
        ring_prep_cancel_fd(rconn_ring(c), c->fd);
    }
    rconn_finalize(c);
}

/* The start of every completion callback: 1 if the callback must stop
 * here (the connection is closing, maybe now freed, or the thread stops
 * and rconn_on_stop will free it). Otherwise the callback runs its body
 * and ends with rconn_cb_leave, which frees a connection the body closed. */
int rconn_cb_enter(rconn *c) {
    if (c->closing) {
        rconn_finalize(c);
        return 1;
    }
    if (io_thread_stopping(c->t)) return 1;
    c->depth++;
    return 0;
}

void rconn_cb_leave(rconn *c) {
    c->depth--;
    rconn_finalize(c);
}

/* ---- output ------------------------------------------------------------- */

void rconn_queue(rconn *c, char *p, size_t len, int is_ack) {
    if (len == 0) {
        mem_free(p);
        return;
    }
    rconn_out *o = mem_calloc(sizeof(*o));
    o->p = p;
    o->len = len;
    o->is_ack = is_ack;
    if (c->out_tail) c->out_tail->next = o;
    else c->out_head = o;
    c->out_tail = o;
    if (is_ack) c->queued_acks++;
    rconn_send_pump(c);
}

/* A command as a RESP multibulk, queued. */
static void rconn_send_cmd(rconn *c, int argc, const char **argv, const size_t *lens) {
    size_t cap = 16;
    for (int i = 0; i < argc; i++) cap += lens[i] + 32;
    char *p = mem_alloc(cap);
    size_t n = (size_t)snprintf(p, cap, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        n += (size_t)snprintf(p + n, cap - n, "$%zu\r\n", lens[i]);
        memcpy(p + n, argv[i], lens[i]);
        n += lens[i];
        memcpy(p + n, "\r\n", 2);
        n += 2;
    }
    rconn_queue(c, p, n, 0);
}

static void rconn_send_words(rconn *c, int argc, const char **argv) {
    size_t lens[8];
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    rconn_send_cmd(c, argc, argv, lens);
}

static void rconn_send_failed(rconn *c, int err) {
    const char *why = strerror(err);
    if (c->step == RCONN_STEP_STREAM)
        log_msg(LL_WARNING, "Connection with master lost.");
    else if (c->step == RCONN_STEP_PSYNC)
        log_msg(LL_WARNING, "Unable to send PSYNC to master: %s", why);
    else if (c->step >= RCONN_STEP_BULK)
        log_msg(LL_WARNING, "I/O error writing to MASTER: %s", why);
    else
        log_msg(LL_WARNING,
                "Sending command to master in replication handshake: -Writing to master: %s", why);
    rconn_close(c, RCONN_CLOSED_IO);
}

static void rconn_on_sent(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    rconn *c = req->data;
    if (rconn_cb_enter(c)) return;
    rconn_sent(c, res);
    rconn_cb_leave(c);
}

static void rconn_sent(rconn *c, int res) {
    if (res <= 0) {
        rconn_send_failed(c, res < 0 ? -res : EPIPE);
        return;
    }
    rconn_out *o = c->out_head;
    o->off += (size_t)res;
    if (o->off == o->len) {
        c->out_head = o->next;
        if (c->out_head == NULL) c->out_tail = NULL;
        if (o->is_ack) c->queued_acks--;
        mem_free(o->p);
        mem_free(o);
    }
    rconn_send_pump(c);
}

static void rconn_send_pump(rconn *c) {
    if (c->closing || c->send_req.busy || c->out_head == NULL || c->step == RCONN_STEP_CONNECT)
        return;
    rconn_out *o = c->out_head;
    int rc;
    if (c->tls) {
        struct iovec iov = {.iov_base = o->p + o->off, .iov_len = o->len - o->off};
        rc = tlsio_send(rconn_ring(c), c->tls, &c->send_req, c->fd, &iov, 1);
    } else {
        rc = ring_prep_send(rconn_ring(c), &c->send_req, c->fd, o->p + o->off, o->len - o->off, 0);
    }
    if (rc < 0) rconn_send_failed(c, -rc);
}

/* ---- handshake ---------------------------------------------------------- */

/* The step after `step` that applies to this connection. */
static int rconn_next_step(rconn *c, int step) {
    step++;
    if (step == RCONN_STEP_AUTH && c->start->auth_pass == NULL) step++;
    if (step == RCONN_STEP_IP && c->start->announce_ip[0] == '\0') step++;
    return step;
}

static void rconn_send_psync(rconn *c) {
    rconn_start *s = c->start;
    char off[UTIL_LONG_STR_SIZE];
    util_ll_to_str(off, sizeof(off), s->psync_offset);
    if (strcmp(s->psync_replid, "?") == 0)
        log_msg(LL_NOTICE, "Partial resynchronization not possible (no cached master)");
    else
        log_msg(LL_NOTICE, "Trying a partial resynchronization (request %s:%s).", s->psync_replid,
                off);
    const char *argv[] = {"PSYNC", s->psync_replid, off, "FAILOVER"};
    rconn_send_words(c, s->psync_failover ? 4 : 3, argv);
}

static void rconn_send_step(rconn *c, int step) {
    rconn_start *s = c->start;
    c->step = step;
    switch (step) {
    case RCONN_STEP_PING: {
        const char *argv[] = {"PING"};
        rconn_send_words(c, 1, argv);
        break;
    }
    case RCONN_STEP_AUTH: {
        const char *argv[3] = {"AUTH"};
        size_t lens[3] = {4};
        int argc = 1;
        if (s->auth_user) {
            argv[argc] = s->auth_user;
            lens[argc++] = dstr_len(s->auth_user);
        }
        argv[argc] = s->auth_pass;
        lens[argc++] = dstr_len(s->auth_pass);
        rconn_send_cmd(c, argc, argv, lens);
        break;
    }
    case RCONN_STEP_PORT: {
        char port[UTIL_LONG_STR_SIZE];
        util_ll_to_str(port, sizeof(port), s->listening_port);
        const char *argv[] = {"REPLCONF", "listening-port", port};
        rconn_send_words(c, 3, argv);
        break;
    }
    case RCONN_STEP_IP: {
        const char *argv[] = {"REPLCONF", "ip-address", s->announce_ip};
        rconn_send_words(c, 3, argv);
        break;
    }
    case RCONN_STEP_CAPA: {
        const char *argv[] = {"REPLCONF", "capa", "eof", "capa", "psync2"};
        rconn_send_words(c, 5, argv);
        break;
    }
    case RCONN_STEP_PSYNC:
        rconn_send_psync(c);
        break;
    default:
        break;
    }
}

static int rconn_starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void rconn_fullresync(rconn *c, const char *replid, long long offset) {
    rconn_psync *p = mem_calloc(sizeof(*p));
    snprintf(p->replid, sizeof(p->replid), "%s", replid);
    p->offset = offset;
    rconn_report(c, RCONN_REP_FULLRESYNC, 0, p);
    rconn_set_state(c, RCONN_TRANSFER);
    c->step = RCONN_STEP_BULK;
}

/* "+FULLRESYNC <replid> <offset>". Like Redis, a malformed one still means
 * a full sync, only without an id to resume from later. */
static void rconn_psync_full(rconn *c, const char *line) {
    const char *id = strchr(line, ' ');
    const char *off = id ? strchr(id + 1, ' ') : NULL;
    if (id == NULL || off == NULL || off - id - 1 != RCONN_MARK_LEN) {
        log_msg(LL_WARNING, "Master replied with wrong +FULLRESYNC syntax.");
        rconn_fullresync(c, "?", -1);
        return;
    }
    char replid[RCONN_MARK_LEN + 1];
    memcpy(replid, id + 1, RCONN_MARK_LEN);
    replid[RCONN_MARK_LEN] = '\0';
    long long offset = strtoll(off + 1, NULL, 10);
    log_msg(LL_NOTICE, "Full resync from master: %s:%lld", replid, offset);
    rconn_fullresync(c, replid, offset);
}

/* "+CONTINUE [<new replid>]": the stream follows. */
static void rconn_psync_continue(rconn *c, const char *line) {
    rconn_psync *p = mem_calloc(sizeof(*p));
    p->offset = -1;
    const char *id = line + 10;
    log_msg(LL_NOTICE, "Successful partial resynchronization with master.");
    if (strlen(line) >= 10 && strlen(id) == RCONN_MARK_LEN) {
        memcpy(p->replid, id, RCONN_MARK_LEN);
        if (strcmp(p->replid, c->start->psync_replid) != 0)
            log_msg(LL_WARNING, "Master replication ID changed to %s", p->replid);
    }
    rconn_report(c, RCONN_REP_CONTINUE, 0, p);
    log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
    rconn_enter_stream(c);
}

static void rconn_psync_reply(rconn *c, const char *line) {
    if (rconn_starts_with(line, "+FULLRESYNC")) {
        rconn_psync_full(c, line);
    } else if (rconn_starts_with(line, "+CONTINUE")) {
        rconn_psync_continue(c, line);
    } else if (rconn_starts_with(line, "-NOMASTERLINK") || rconn_starts_with(line, "-LOADING")) {
        log_msg(LL_NOTICE, "Master is currently unable to PSYNC but should be in the future: %s",
                line);
        rconn_close(c, RCONN_CLOSED_RETRY);
    } else if (rconn_starts_with(line, "-ERR")) {
        /* A master older than PSYNC: the plain SYNC has no reply line, the
         * payload comes straight away. */
        log_msg(LL_NOTICE, "Master does not support PSYNC or is in error state (reply: %s)", line);
        log_msg(LL_NOTICE, "Retrying with SYNC...");
        const char *argv[] = {"SYNC"};
        rconn_send_words(c, 1, argv);
        rconn_fullresync(c, "?", -1);
    } else {
        log_msg(LL_WARNING, "Unexpected reply to PSYNC from master: %s", line);
        rconn_close(c, RCONN_CLOSED_HANDSHAKE);
    }
}

/* One reply line (NUL-terminated, CRLF stripped) for the current step. */
static void rconn_line(rconn *c, const char *line, size_t len) {
    switch (c->step) {
    case RCONN_STEP_PING:
        if (line[0] == '-' && !rconn_starts_with(line, "-NOAUTH") &&
            !rconn_starts_with(line, "-NOPERM") &&
            !rconn_starts_with(line, "-ERR operation not permitted")) {
            log_msg(LL_WARNING, "Error reply to PING from master: '%s'", line);
            rconn_close(c, RCONN_CLOSED_HANDSHAKE);
            return;
        }
        log_msg(LL_NOTICE, "Master replied to PING, replication can continue...");
        break;
    case RCONN_STEP_AUTH:
        if (line[0] == '-') {
            log_msg(LL_WARNING, "Unable to AUTH to MASTER: %s", line);
            rconn_close(c, RCONN_CLOSED_HANDSHAKE);
            return;
        }
        break;
    case RCONN_STEP_PORT:
        if (line[0] == '-')
            log_msg(LL_NOTICE, "(Non critical) Master does not understand REPLCONF listening-port: %s",
                    line);
        break;
    case RCONN_STEP_IP:
        if (line[0] == '-')
            log_msg(LL_NOTICE, "(Non critical) Master does not understand REPLCONF ip-address: %s",
                    line);
        break;
    case RCONN_STEP_CAPA:
        if (line[0] == '-')
            log_msg(LL_NOTICE, "(Non critical) Master does not understand REPLCONF capa: %s", line);
        break;
    case RCONN_STEP_PSYNC:
        /* Newlines before the reply keep the link alive. */
        if (len > 0) rconn_psync_reply(c, line);
        return;
    case RCONN_STEP_BULK:
        rconn_bulk_line(c, line, len);
        return;
    default:
        return;
    }
    rconn_send_step(c, rconn_next_step(c, c->step));
}

static void rconn_line_read_failed(rconn *c, int res) {
    const char *why = res < 0 ? strerror(-res) : "connection lost";
    if (c->step == RCONN_STEP_PSYNC)
        log_msg(LL_WARNING, "Master did not reply to PSYNC, will try later");
    else if (c->step == RCONN_STEP_BULK)
        log_msg(LL_WARNING, "I/O error reading bulk count from MASTER: %s", why);
    else
        log_msg(LL_WARNING, "Failed to read response from the server: %s", why);
    rconn_close(c, res == 0 ? RCONN_CLOSED_EOF : RCONN_CLOSED_IO);
}

/* Handle every complete line in `in`; past the handshake, what follows
 * the last line is the payload's or the stream's. */
static void rconn_lines(rconn *c) {
    size_t pos = 0;
    for (;;) {
        char *nl = memchr(c->in + pos, '\n', c->in_len - pos);
        if (nl == NULL) break;
        char *line = c->in + pos;
        size_t len = (size_t)(nl - line);
        pos += len + 1;
        if (len > 0 && line[len - 1] == '\r') len--;
        line[len] = '\0';
        rconn_line(c, line, len);
        if (c->closing) return;
        if (c->step >= RCONN_STEP_PAYLOAD) {
            rconn_take_leftover(c, c->in + pos, c->in_len - pos);
            return;
        }
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    if (c->in_len == RCONN_LINE_MAX) {
        log_msg(LL_WARNING, "Bad protocol from MASTER: a reply line longer than %d bytes",
                RCONN_LINE_MAX);
        rconn_close(c, RCONN_CLOSED_PROTOCOL);
        return;
    }
    rconn_arm_recv(c);
}

static void rconn_on_recv(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    rconn *c = req->data;
    if (rconn_cb_enter(c)) return;
    rconn_count_in(c, res);
    if (c->step >= RCONN_STEP_PAYLOAD) {
        rconn_on_data(c, res);
    } else if (res <= 0) {
        rconn_line_read_failed(c, res);
    } else {
        rconn_progress(c);
        c->in_len += (size_t)res;
        rconn_lines(c);
    }
    rconn_cb_leave(c);
}

/* Flow control: 1 while no recv may be posted (replica_conn.h). */
static int rconn_hold_reading(rconn *c) {
    rconn_shared *sh = c->sh;
    if (c->paused) return 1;
    if (atomic_load(&sh->unreleased) <= sh->read_limit) return 0;
    atomic_store(&sh->paused, 1);
    /* A release between the look above and the flag saw no flag and
     * posted nothing: if the count is low already, take the flag back
     * (if the keyspace took it first, its RESUME is on the way). */
    if (atomic_load(&sh->unreleased) < sh->read_limit / 2 && atomic_exchange(&sh->paused, 0))
        return 0;
    c->paused = 1;
    return 1;
}

static void rconn_resume(rconn *c) {
    if (!c->paused) return;
    c->paused = 0;
    rconn_progress(c);
    rconn_arm_recv(c);
}

int rconn_recv(rconn *c, void *buf, size_t len) {
    if (c->tls) return tlsio_recv(rconn_ring(c), c->tls, &c->recv_req, c->fd, buf, len);
    return ring_prep_recv(rconn_ring(c), &c->recv_req, c->fd, buf, len, 0);
}

void rconn_arm_recv(rconn *c) {
    if (c->closing || c->recv_req.busy) return;
    if (c->step >= RCONN_STEP_PAYLOAD && rconn_hold_reading(c)) return;
    int rc;
    if (c->step < RCONN_STEP_PAYLOAD) {
        rc = rconn_recv(c, c->in + c->in_len, RCONN_LINE_MAX - c->in_len);
    } else {
        /* Payload: a held-back tail goes first (an EOF mark may straddle
         * two recvs), and a $<len> payload is read no further than its
         * end, as Redis does. Stream: a fresh buffer each time. */
        size_t cap = c->step == RCONN_STEP_STREAM ? RCONN_STREAM_CHUNK : RCONN_PAYLOAD_CHUNK;
        size_t want = cap;
        if (c->step == RCONN_STEP_PAYLOAD && !c->use_mark && c->left < (long long)want)
            want = (size_t)c->left;
        c->rbuf = rconn_buf_new(c->tail_len + cap);
        memcpy(c->rbuf->data, c->tail, c->tail_len);
        rc = rconn_recv(c, c->rbuf->data + c->tail_len, want);
    }
    if (rc < 0) {
        log_msg(LL_WARNING, "Unable to read from MASTER: %s", strerror(-rc));
        rconn_close(c, RCONN_CLOSED_IO);
    }
}

/* ---- connect ------------------------------------------------------------ */

static int rconn_resolve(rconn *c) {
    char port[16];
    snprintf(port, sizeof(port), "%d", c->start->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(c->start->host, port, &hints, &res);
    if (rc != 0) {
        log_msg(LL_WARNING, "Unable to connect to MASTER: %s", gai_strerror(rc));
        return -EHOSTUNREACH;
    }
    for (struct addrinfo *a = res; a && c->naddrs < RCONN_MAX_ADDRS; a = a->ai_next) {
        if (a->ai_addrlen > sizeof(c->addrs[0])) continue;
        memcpy(&c->addrs[c->naddrs], a->ai_addr, a->ai_addrlen);
        c->addrlens[c->naddrs++] = a->ai_addrlen;
    }
    freeaddrinfo(res);
    if (c->naddrs == 0) {
        log_msg(LL_WARNING, "Unable to connect to MASTER: no address for %s", c->start->host);
        return -EHOSTUNREACH;
    }
    return 0;
}

static void rconn_on_connect(ring *r, ring_req *req, int res, uint32_t flags);
static void rconn_connected(rconn *c, int res);
static void rconn_handshake_start(rconn *c);

/* ---- TLS (tls-replication) ----------------------------------------------
 *
 * The TLS handshake runs on the ring like everything else (io/tlsio.h);
 * a master whose certificate does not verify is logged with OpenSSL's
 * reason and the connection closed, and the keyspace retries a second
 * later, as after any failed connect. */

static void rconn_tls_idle(void *arg) { rconn_finalize(arg); }

static void rconn_on_tls_handshake(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    rconn *c = req->data;
    if (rconn_cb_enter(c)) return;
    if (res < 0) {
        log_msg(LL_WARNING, "Error condition on socket for SYNC: TLS handshake with MASTER "
                            "failed: %s",
                *tlsio_error(c->tls) ? tlsio_error(c->tls) : strerror(-res));
        rconn_close(c, RCONN_CLOSED_CONNECT);
    } else {
        rconn_handshake_start(c);
    }
    rconn_cb_leave(c);
}

static void rconn_tls_start(rconn *c) {
    SSL *ssl = SSL_new(c->start->ssl_ctx);
    if (ssl) {
        SSL_set_connect_state(ssl);
        c->tls = tlsio_new(ssl);
    }
    int rc = c->tls ? tlsio_handshake(rconn_ring(c), c->tls, &c->hs_req, c->fd) : -ENOMEM;
    if (c->tls) tlsio_set_idle_cb(c->tls, rconn_tls_idle, c);
    if (rc < 0) {
        log_msg(LL_WARNING, "Error condition on socket for SYNC: unable to start TLS: %s",
                strerror(-rc));
        rconn_close(c, RCONN_CLOSED_CONNECT);
    }
}

/* A non-blocking socket, connecting to addrs[cur_addr] through the ring. */
static int rconn_connect_next(rconn *c) {
    if (c->fd >= 0) close(c->fd);
    struct sockaddr *sa = (struct sockaddr *)&c->addrs[c->cur_addr];
    c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return -errno;
    int one = 1;
    if (c->start->tcp_nodelay) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    return ring_prep_connect(rconn_ring(c), &c->conn_req, c->fd, sa, c->addrlens[c->cur_addr]);
}

static void rconn_on_connect(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    rconn *c = req->data;
    if (rconn_cb_enter(c)) return;
    rconn_connected(c, res);
    rconn_cb_leave(c);
}

static void rconn_connected(rconn *c, int res) {
    if (res < 0 && c->cur_addr + 1 < c->naddrs) {
        /* As Redis's connect loop, the next address of the name. */
        c->cur_addr++;
        res = rconn_connect_next(c);
        if (res == 0) return;
    }
    if (res < 0) {
        log_msg(LL_WARNING, "Error condition on socket for SYNC: %s", strerror(-res));
        rconn_close(c, RCONN_CLOSED_CONNECT);
        return;
    }
    log_msg(LL_NOTICE, "Non blocking connect for SYNC fired the event.");
    rconn_progress(c);
    if (c->start->ssl_ctx) {
        rconn_tls_start(c);
        return;
    }
    rconn_handshake_start(c);
}

/* The replication handshake, once the connection (and its TLS session,
 * if any) is up. */
static void rconn_handshake_start(rconn *c) {
    rconn_set_state(c, RCONN_HANDSHAKE);
    c->in = mem_alloc(RCONN_LINE_MAX + 1);
    c->in_len = 0;
    rconn_send_step(c, RCONN_STEP_PING);
    rconn_arm_recv(c);
}

/* ---- messages ----------------------------------------------------------- */

static void rconn_connect_start(rconn *c);

static void rconn_begin(io_thread *t, void **slot, uint64_t id, rconn_start *s) {
    rconn *c = mem_calloc(sizeof(*c));
    c->t = t;
    c->slot = slot;
    c->id = id;
    c->start = s;
    c->sh = s->shared;
    c->fd = c->file_fd = -1;
    ring_req_init(&c->conn_req, rconn_on_connect, c);
    ring_req_init(&c->recv_req, rconn_on_recv, c);
    ring_req_init(&c->send_req, rconn_on_sent, c);
    ring_req_init(&c->file_req, rconn_on_file, c);
    ring_req_init(&c->hs_req, rconn_on_tls_handshake, c);
    *slot = c;
    c->depth++;
    rconn_connect_start(c);
    rconn_cb_leave(c);
}

static void rconn_connect_start(rconn *c) {
    rconn_start *s = c->start;
    rconn_progress(c);
    rconn_set_state(c, RCONN_CONNECTING);
    log_msg(LL_NOTICE, "Connecting to MASTER %s:%d", s->host, s->port);
    int rc = rconn_resolve(c);
    if (rc < 0) {
        rconn_close(c, RCONN_CLOSED_CONNECT);
        return;
    }
    rc = rconn_connect_next(c);
    if (rc < 0) {
        log_msg(LL_WARNING, "Unable to connect to MASTER: %s", strerror(-rc));
        rconn_close(c, RCONN_CLOSED_CONNECT);
        return;
    }
    log_msg(LL_NOTICE, "MASTER <-> REPLICA sync started");
}

static void rconn_timeout(rconn *c) {
    if (c->state == RCONN_TRANSFER)
        log_msg(LL_WARNING,
                "Timeout receiving bulk data from MASTER... If the problem persists try to set "
                "the 'repl-timeout' parameter in redis.conf to a larger value.");
    else if (c->state == RCONN_STREAMING)
        log_msg(LL_WARNING, "MASTER timeout: no data nor PING received...");
    else
        log_msg(LL_WARNING, "Timeout connecting to the MASTER...");
    rconn_close(c, RCONN_CLOSED_TIMEOUT);
}

/* "REPLCONF ACK <applied>", the offset the keyspace last published. */
static void rconn_send_ack(rconn *c) {
    if (c->queued_acks >= RCONN_MAX_QUEUED_ACKS) return; /* the master reads nothing */
    long long applied = atomic_load_explicit(&c->sh->applied, memory_order_acquire);
    if (applied < 0) return; /* a full payload is still loading: nothing to acknowledge */
    size_t len;
    char *p = rconn_ack_cmd(applied, &len);
    rconn_queue(c, p, len, 1);
}

static void rconn_tick(rconn *c, uint64_t timeout_ms) {
    /* Paused, we are the ones not reading: the master's PINGs wait in the
     * socket. */
    if (c->paused) rconn_progress(c);
    /* A to_disk transfer writing or syncing its file reads nothing
     * meanwhile: the disk's time is not the master's silence. */
    if (timeout_ms > 0 && !c->file_req.busy &&
        rconn_now_ms() - c->progress_ms > (long long)timeout_ms) {
        rconn_timeout(c);
        return;
    }
    if (c->step == RCONN_STEP_STREAM) rconn_send_ack(c);
}

void rconn_on_message(io_thread *t, void **state, const spsc_msg *m) {
    rconn *c = *state;
    switch (m->type) {
    case RCONN_MSG_START:
        if (c) rconn_close(c, RCONN_CLOSED_STOPPED); /* one connection at a time */
        rconn_begin(t, state, m->id, m->ptr);
        break;
    case RCONN_MSG_STOP:
        if (c && c->id == m->id) rconn_close(c, RCONN_CLOSED_STOPPED);
        break;
    case RCONN_MSG_SEND:
        if (c && c->id == m->id) {
            c->depth++;
            rconn_queue(c, m->ptr, (size_t)m->val, 0);
            rconn_cb_leave(c);
        } else {
            mem_free(m->ptr);
        }
        break;
    case RCONN_MSG_TICK:
        if (c) {
            c->depth++;
            rconn_tick(c, m->val);
            rconn_cb_leave(c);
        }
        break;
    case RCONN_MSG_RESUME:
        if (c && c->id == m->id) {
            c->depth++;
            rconn_resume(c);
            rconn_cb_leave(c);
        }
        break;
    default:
        break;
    }
}

void rconn_on_stop(io_thread *t, void **state) {
    (void)t;
    rconn *c = *state;
    *state = NULL;
    if (c == NULL) return;
    /* The thread drained its ring: nothing of ours is in flight, unless
     * the drain gave up, and then the kernel may still write our buffers:
     * leak them rather than free them under its feet. */
    if (rconn_busy(c)) return;
    rconn_release(c);
    mem_free(c);
}
