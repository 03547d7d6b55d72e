/* replica_conn_xfer: the payload and the stream of a replica's connection
 * to its master (replica_conn.c runs the rest).
 *
 * The "$" line says how the payload is framed:
 *   "$<len>"        exactly len bytes follow; recvs ask for no more than
 *                   what is left (as Redis reads), but bytes already read
 *                   with the "$" line may run past the end: those are the
 *                   stream's, kept in `after` until the payload is done.
 *   "$EOF:<mark>"   bytes up to and including the 40-byte mark follow. As
 *                   in Redis, the mark is looked for at the end of what has
 *                   been read so far; the last 40 bytes read are held back
 *                   in `tail` (they may be the mark, which is not RDB) and
 *                   are copied in front of the next recv's buffer.
 *
 * Each recv reads into a fresh rconn_buf, and the payload bytes in it go:
 *   - not to_disk: to the keyspace as it is (RCONN_REP_PAYLOAD_DATA), then
 *     RCONN_REP_PAYLOAD_END after the last;
 *   - to_disk: to temp-<unixtime>.<pid>.rdb through io_uring writes, one
 *     at a time, with no recv in flight meanwhile (the socket buffers what
 *     the master sends), and with load_as_received, once written, to the
 *     keyspace as well (PAYLOAD_DATA); an fdatasync every RCONN_SYNC_EVERY bytes, so the
 *     kernel never has gigabytes of dirty pages to flush at once; at the
 *     end an fsync, the rename over dbfilename, an fsync of the directory,
 *     then RCONN_REP_PAYLOAD_FILE. Until the rename the temp file is the
 *     connection's: any end before it removes the file.
 *
 * Then the stream: every recv's bytes go to the keyspace as they are
 * (RCONN_REP_STREAM), a fresh buffer per recv; nothing here parses them.
 *
 * Malformed framing (a "$" line that is neither, a length past 1 TB, a
 * mark that is not 40 bytes) closes with RCONN_CLOSED_PROTOCOL; a master
 * that goes away mid-payload with RCONN_CLOSED_EOF. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/durable.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "repl/replica_conn_int.h"

static void rconn_payload_emit(rconn *c, rconn_buf *b);
static void rconn_file_step(rconn *c, int res);

void rconn_drop_tmpfile(rconn *c) {
    if (c->file_fd >= 0) close(c->file_fd);
    c->file_fd = -1;
    if (c->tmpfile[0]) unlink(c->tmpfile);
    c->tmpfile[0] = '\0';
}

static int rconn_open_tmpfile(rconn *c) {
    for (int tries = 0; tries < 2; tries++) {
        snprintf(c->tmpfile, sizeof(c->tmpfile), "temp-%d.%ld.rdb", (int)time(NULL),
                 (long)getpid());
        c->file_fd = open(c->tmpfile, O_CREAT | O_WRONLY | O_EXCL | O_CLOEXEC, 0644);
        if (c->file_fd >= 0) return 0;
        /* Our pid is in the name: a leftover of an earlier attempt. */
        if (errno != EEXIST || unlink(c->tmpfile) < 0) break;
    }
    int err = errno;
    c->tmpfile[0] = '\0';
    log_msg(LL_WARNING, "Opening the temp file needed for MASTER <-> REPLICA synchronization: %s",
            strerror(err));
    return -err;
}

void rconn_enter_stream(rconn *c) {
    c->step = RCONN_STEP_STREAM;
    rconn_set_state(c, RCONN_STREAMING);
    if (c->after) {
        rconn_hand_over(c, RCONN_REP_STREAM, c->after);
        c->after = NULL;
    }
}

/* ---- the "$" line ------------------------------------------------------- */

static void rconn_bad_bulk(rconn *c, const char *what, const char *line, size_t len) {
    char repr[128];
    log_msg(LL_WARNING, "Bad protocol from MASTER: %s ('%s')", what,
            log_repr(repr, sizeof(repr), line, len));
    rconn_close(c, RCONN_CLOSED_PROTOCOL);
}

void rconn_bulk_line(rconn *c, const char *line, size_t len) {
    const char *where = c->start->to_disk ? "to disk" : "to parser";
    if (len == 0) return; /* a newline: the master is still making the payload */
    if (line[0] == '-') {
        log_msg(LL_WARNING, "MASTER aborted replication with an error: %s", line + 1);
        rconn_close(c, RCONN_CLOSED_HANDSHAKE);
        return;
    }
    if (line[0] != '$') {
        char repr[128];
        log_msg(LL_WARNING,
                "Bad protocol from MASTER, the first byte is not '$' (we received '%s'), are you "
                "sure the host and port are right?",
                log_repr(repr, sizeof(repr), line, len));
        rconn_close(c, RCONN_CLOSED_PROTOCOL);
        return;
    }
    if (len >= 5 && memcmp(line + 1, "EOF:", 4) == 0) {
        if (len - 5 != RCONN_MARK_LEN) {
            rconn_bad_bulk(c, "an EOF mark that is not 40 bytes", line, len);
            return;
        }
        c->use_mark = 1;
        memcpy(c->mark, line + 5, RCONN_MARK_LEN);
        log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF %s",
                where);
        rconn_report(c, RCONN_REP_PAYLOAD_SIZE, RCONN_SIZE_EOF_MARK, NULL);
    } else {
        long long n;
        if (!util_str_to_ll(line + 1, len - 1, &n) || n < 0 || n > RCONN_MAX_PAYLOAD) {
            rconn_bad_bulk(c, "invalid bulk length", line, len);
            return;
        }
        c->left = n;
        log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: receiving %lld bytes from master %s", n, where);
        rconn_report(c, RCONN_REP_PAYLOAD_SIZE, (uint64_t)n, NULL);
    }
    if (c->start->to_disk && rconn_open_tmpfile(c) < 0) {
        rconn_close(c, RCONN_CLOSED_IO);
        return;
    }
    c->step = RCONN_STEP_PAYLOAD;
}

/* ---- payload bytes ------------------------------------------------------ */

/* b->data[0..total): the held-back tail, then what was just read (fresh
 * bytes: `fresh` of them). Splits it into RDB bytes, the mark, and bytes
 * past a $<len> payload. */
static void rconn_payload_bytes(rconn *c, rconn_buf *b, size_t total, size_t fresh) {
    if (c->use_mark) {
        atomic_fetch_add_explicit(&c->sh->read_bytes, fresh, memory_order_relaxed);
        c->tail_len = 0;
        if (total < RCONN_MARK_LEN) {
            memcpy(c->tail, b->data, total);
            c->tail_len = total;
            b->len = 0;
        } else {
            const char *last = b->data + total - RCONN_MARK_LEN;
            if (memcmp(last, c->mark, RCONN_MARK_LEN) == 0) {
                c->payload_done = 1;
            } else {
                memcpy(c->tail, last, RCONN_MARK_LEN);
                c->tail_len = RCONN_MARK_LEN;
            }
            b->len = total - RCONN_MARK_LEN;
        }
    } else {
        size_t plen = total;
        if ((long long)plen > c->left) {
            plen = (size_t)c->left;
            c->after = rconn_buf_new(total - plen);
            c->after->len = total - plen;
            memcpy(c->after->data, b->data + plen, total - plen);
        }
        atomic_fetch_add_explicit(&c->sh->read_bytes, plen, memory_order_relaxed);
        c->left -= (long long)plen;
        c->payload_done = c->left == 0;
        b->len = plen;
    }
    rconn_payload_emit(c, b);
}

void rconn_take_leftover(rconn *c, const char *p, size_t len) {
    rconn_buf *b = rconn_buf_new(len);
    memcpy(b->data, p, len);
    b->len = len;
    mem_free(c->in);
    c->in = NULL;
    c->in_len = 0;
    if (c->step == RCONN_STEP_STREAM) {
        if (len > 0) rconn_hand_over(c, RCONN_REP_STREAM, b);
        else mem_free(b);
        rconn_arm_recv(c);
        return;
    }
    rconn_payload_bytes(c, b, len, len);
}

static void rconn_stream_data(rconn *c, int res) {
    rconn_buf *b = c->rbuf;
    c->rbuf = NULL;
    if (res <= 0) {
        mem_free(b);
        log_msg(LL_WARNING, "Connection with master lost.");
        rconn_close(c, res == 0 ? RCONN_CLOSED_EOF : RCONN_CLOSED_IO);
        return;
    }
    rconn_progress(c); /* the master's PINGs are what keep a quiet link alive */
    b->len = (size_t)res;
    /* A PING or a small write would pin a whole chunk while it waits in
     * the keyspace's queue. */
    if (b->len < RCONN_STREAM_CHUNK / 4) b = mem_realloc(b, sizeof(*b) + b->len);
    rconn_hand_over(c, RCONN_REP_STREAM, b);
    rconn_arm_recv(c);
}

void rconn_on_data(rconn *c, int res) {
    if (c->step == RCONN_STEP_STREAM) {
        rconn_stream_data(c, res);
        return;
    }
    rconn_buf *b = c->rbuf;
    c->rbuf = NULL;
    if (res <= 0) {
        mem_free(b);
        log_msg(LL_WARNING, "I/O error trying to sync with MASTER: %s",
                res < 0 ? strerror(-res) : "connection lost");
        rconn_close(c, res == 0 ? RCONN_CLOSED_EOF : RCONN_CLOSED_IO);
        return;
    }
    rconn_progress(c);
    rconn_payload_bytes(c, b, c->tail_len + (size_t)res, (size_t)res);
}

/* ---- where payload bytes go --------------------------------------------- */

static void rconn_file_failed(rconn *c, const char *fmt, int err) {
    log_msg(LL_WARNING, fmt, strerror(err));
    rconn_close(c, RCONN_CLOSED_IO);
}

static void rconn_write_more(rconn *c) {
    size_t n = c->wlen - c->woff;
    if (n > (1u << 30)) n = 1u << 30;
    c->file_op = RCONN_FILE_WRITE;
    int rc = ring_prep_write(io_thread_ring(c->t), &c->file_req, c->file_fd,
                             c->wbuf->data + c->woff, (unsigned)n, (uint64_t)c->file_off);
    if (rc < 0)
        rconn_file_failed(c,
                          "Write error or short write writing to the DB dump file needed for "
                          "MASTER <-> REPLICA synchronization: %s",
                          -rc);
}

static void rconn_file_sync(rconn *c, int op) {
    c->file_op = op;
    int rc = ring_prep_fsync(io_thread_ring(c->t), &c->file_req, c->file_fd,
                             op == RCONN_FILE_DATASYNC);
    if (rc < 0)
        rconn_file_failed(
            c, "Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: %s",
            -rc);
}

/* The file holds every payload byte and is on disk: it becomes dbfilename. */
static void rconn_file_done(rconn *c) {
    close(c->file_fd);
    c->file_fd = -1;
    if (rename(c->tmpfile, c->start->dbfilename) < 0) {
        int err = errno;
        log_msg(LL_WARNING,
                "Failed trying to rename the temp DB into %s in MASTER <-> REPLICA "
                "synchronization: %s",
                c->start->dbfilename, strerror(err));
        rconn_close(c, RCONN_CLOSED_IO);
        return;
    }
    c->tmpfile[0] = '\0'; /* no longer ours to remove */
    /* The rename itself must survive a crash. dbfilename is a plain name
     * (Redis 7.0 refuses paths), so its directory is the working one. */
    int rc = durable_fsync_dir_of(c->start->dbfilename);
    if (rc < 0) {
        log_msg(LL_WARNING,
                "Failed trying to sync DB directory %s in MASTER <-> REPLICA synchronization: %s",
                c->start->dbfilename, strerror(-rc));
        rconn_close(c, RCONN_CLOSED_IO);
        return;
    }
    rconn_report(c, RCONN_REP_PAYLOAD_FILE, 0, NULL);
    rconn_enter_stream(c);
    rconn_arm_recv(c);
}

/* After a write (or when there was nothing to write): sync, finish, or
 * read on. */
static void rconn_file_next(rconn *c) {
    if (c->payload_done) {
        rconn_file_sync(c, RCONN_FILE_FSYNC);
    } else if (c->since_sync >= RCONN_SYNC_EVERY) {
        c->since_sync = 0;
        rconn_file_sync(c, RCONN_FILE_DATASYNC);
    } else {
        rconn_arm_recv(c);
    }
}

void rconn_on_file(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    rconn *c = req->data;
    if (rconn_cb_enter(c)) return;
    rconn_file_step(c, res);
    rconn_cb_leave(c);
}

static void rconn_file_step(rconn *c, int res) {
    int op = c->file_op;
    c->file_op = RCONN_FILE_NONE;
    if (op == RCONN_FILE_WRITE) {
        if (res <= 0) {
            rconn_file_failed(c,
                              "Write error or short write writing to the DB dump file needed for "
                              "MASTER <-> REPLICA synchronization: %s",
                              res < 0 ? -res : ENOSPC);
            return;
        }
        c->woff += (size_t)res;
        c->file_off += res;
        c->since_sync += res;
        if (c->woff < c->wlen) {
            rconn_write_more(c);
            return;
        }
        if (c->start->load_as_received)
            rconn_hand_over(c, RCONN_REP_PAYLOAD_DATA, c->wbuf);
        else
            mem_free(c->wbuf);
        c->wbuf = NULL;
        rconn_file_next(c);
    } else if (res < 0) {
        rconn_file_failed(
            c, "Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: %s",
            -res);
    } else if (op == RCONN_FILE_FSYNC) {
        rconn_file_done(c);
    } else {
        rconn_arm_recv(c);
    }
}

/* b->len RDB bytes (maybe none), the last ones if payload_done. */
static void rconn_payload_emit(rconn *c, rconn_buf *b) {
    if (c->start->to_disk) {
        if (b->len == 0) {
            mem_free(b);
            rconn_file_next(c);
            return;
        }
        c->wbuf = b;
        c->wlen = b->len;
        c->woff = 0;
        rconn_write_more(c);
        return;
    }
    if (b->len > 0) rconn_hand_over(c, RCONN_REP_PAYLOAD_DATA, b);
    else mem_free(b);
    if (c->payload_done) {
        rconn_report(c, RCONN_REP_PAYLOAD_END, 0, NULL);
        rconn_enter_stream(c);
    }
    rconn_arm_recv(c);
}
