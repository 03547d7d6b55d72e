/* ring: io_uring helpers. The request and buffer ownership rules are in
 * ring.h; this file implements the bookkeeping behind them: which CQE ends a
 * request, how a zero-copy send's two CQEs become done + release, and what
 * to do when the kernel lacks an opcode. */
#include "io/ring.h"

#include "io/wake.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* liburing 2.3's header (Debian 12) predates Linux 6.2's usage report. */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

/* user_data of ring_init's own probe request: never a ring_req's address
 * (those are aligned), never 0 (orphans). */
#define RING_PROBE_USER_DATA UINT64_MAX

/* Completions copied out of the CQ ring per batch: the CQ slots are given
 * back before any callback runs, so callbacks may prep, submit and even
 * re-enter ring_peek without seeing a CQE twice. */
#define RING_BATCH 64

static const unsigned optional_setup_flags = IORING_SETUP_SINGLE_ISSUER |
                                             IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
                                             IORING_SETUP_DEFER_TASKRUN;

static void probe_ops(ring *r) {
    r->ops[0] = r->ops[1] = 0;
    struct io_uring_probe *p = io_uring_get_probe_ring(&r->uring);
    if (p == NULL) return; /* pre-5.6 kernel: only the basics, no extras */
    for (unsigned op = 0; op < 128; op++)
        if (io_uring_opcode_supported(p, (int)op)) r->ops[op / 64] |= UINT64_C(1) << (op % 64);
    io_uring_free_probe(p);
}

/* Does the kernel take IORING_SEND_ZC_REPORT_USAGE? Kernels before 6.2
 * refuse unknown zero-copy flags when they prepare the request (-EINVAL);
 * later ones go on to the descriptor, and -1 fails that (-EBADF). The probe
 * runs before any other request, so every CQE here is its own: the result,
 * then the notification when the result promised one (F_MORE). */
static bool probe_zc_report_usage(ring *r) {
    static const char byte = 0;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
    if (sqe == NULL) return false;
    io_uring_prep_send_zc(sqe, -1, &byte, 1, MSG_NOSIGNAL, IORING_SEND_ZC_REPORT_USAGE);
    io_uring_sqe_set_data64(sqe, RING_PROBE_USER_DATA);
    if (io_uring_submit(&r->uring) != 1) return false;
    int res = 0;
    bool got_result = false;
    for (;;) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {.tv_sec = 1};
        if (io_uring_wait_cqe_timeout(&r->uring, &cqe, &ts) < 0) break;
        uint32_t flags = cqe->flags;
        if (!(flags & IORING_CQE_F_NOTIF)) {
            res = cqe->res;
            got_result = true;
        }
        io_uring_cqe_seen(&r->uring, cqe);
        if (!(flags & IORING_CQE_F_MORE)) break;
    }
    /* A CQE that outlived the wait is skipped by dispatch. */
    return got_result && res != -EINVAL;
}

int ring_init(ring *r, unsigned entries, unsigned flags) {
    memset(r, 0, sizeof(*r));
    for (;;) {
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = flags | IORING_SETUP_CQSIZE;
        /* Room for the second CQE of zero-copy sends and for bursts of
         * completions between two reaps; the kernel also buffers overflow
         * (IORING_FEAT_NODROP) but that path is slow. */
        p.cq_entries = entries * 4;
        int rc = io_uring_queue_init_params(entries, &r->uring, &p);
        if (rc == 0) {
            r->setup_flags = flags;
            r->features = p.features;
            break;
        }
        /* An older kernel refuses setup flags it does not know with EINVAL:
         * they are optimisations, so retry without them. */
        if (rc == -EINVAL && (flags & optional_setup_flags) != 0) {
            flags &= ~optional_setup_flags;
            continue;
        }
        return rc;
    }
    probe_ops(r);
    r->zc_report_usage = ring_send_zc_supported(r) && probe_zc_report_usage(r);
    return 0;
}

void ring_exit(ring *r) { io_uring_queue_exit(&r->uring); }

int ring_fd(const ring *r) { return r->uring.ring_fd; }

bool ring_op_supported(const ring *r, unsigned opcode) {
    return opcode < 128 && (r->ops[opcode / 64] & (UINT64_C(1) << (opcode % 64))) != 0;
}

bool ring_send_zc_supported(const ring *r) { return ring_op_supported(r, IORING_OP_SEND_ZC); }

bool ring_msg_ring_supported(const ring *r) { return ring_op_supported(r, IORING_OP_MSG_RING); }

enum ring_zc_usage ring_zc_usage(const ring *r, int res, uint32_t cqe_flags) {
    /* Only a notification of a send that asked carries the answer; bit 31
     * is a flag in an int, not a negative errno. */
    if (!r->zc_report_usage || !(cqe_flags & IORING_CQE_F_NOTIF)) return RING_ZC_UNKNOWN;
    return ((uint32_t)res & IORING_NOTIF_USAGE_ZC_COPIED) ? RING_ZC_COPIED : RING_ZC_ZEROCOPY;
}

void ring_req_init(ring_req *req, ring_cb *done, void *data) {
    memset(req, 0, sizeof(*req));
    req->done = done;
    req->data = data;
    req->kind = RING_REQ_OP;
}

void ring_req_init_msg_target(ring_req *req, ring_cb *done, void *data) {
    ring_req_init(req, done, data);
    req->kind = RING_REQ_MSG;
}

/* ---- submission --------------------------------------------------------- */

/* A free SQE, submitting what is queued if the SQ is full. */
static int get_sqe(ring *r, struct io_uring_sqe **out) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
    if (sqe == NULL) {
        int rc = io_uring_submit(&r->uring);
        if (rc < 0) return rc;
        sqe = io_uring_get_sqe(&r->uring);
        if (sqe == NULL) return -EBUSY;
    }
    *out = sqe;
    return 0;
}

/* Start a request: an SQE tied to req, which is now in flight. */
static int start_req(ring *r, ring_req *req, uint8_t kind, struct io_uring_sqe **out) {
    if (req->busy) return -EALREADY;
    int rc = get_sqe(r, out);
    if (rc < 0) return rc;
    req->kind = kind;
    req->busy = 1;
    r->inflight++;
    io_uring_sqe_set_data64(*out, (uint64_t)(uintptr_t)req);
    return 0;
}

int ring_prep_send(ring *r, ring_req *req, int fd, const void *buf, size_t len, int msg_flags) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_OP, &sqe);
    if (rc < 0) return rc;
    /* buf: the kernel's until done runs. */
    io_uring_prep_send(sqe, fd, buf, len, msg_flags | MSG_NOSIGNAL);
    return 0;
}

int ring_prep_recv(ring *r, ring_req *req, int fd, void *buf, size_t len, int msg_flags) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_OP, &sqe);
    if (rc < 0) return rc;
    /* buf: the kernel writes it until done runs; its contents are only
     * meaningful then, for res bytes. */
    io_uring_prep_recv(sqe, fd, buf, len, msg_flags);
    return 0;
}

int ring_prep_send_zc(ring *r, ring_req *req, int fd, const void *buf, size_t len, int msg_flags,
                      ring_cb *release) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_ZC, &sqe);
    if (rc < 0) return rc;
    req->release = release;
    /* buf: the kernel's until release runs, which may be long after done
     * (the pages are referenced by skbs until the peer ACKs them). */
    if (ring_send_zc_supported(r))
        io_uring_prep_send_zc(sqe, fd, buf, len, msg_flags | MSG_NOSIGNAL,
                              r->zc_report_usage ? IORING_SEND_ZC_REPORT_USAGE : 0);
    else
        io_uring_prep_send(sqe, fd, buf, len, msg_flags | MSG_NOSIGNAL);
    return 0;
}

int ring_prep_sendmsg(ring *r, ring_req *req, int fd, const struct msghdr *msg, int msg_flags) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_OP, &sqe);
    if (rc < 0) return rc;
    io_uring_prep_sendmsg(sqe, fd, msg, (unsigned)(msg_flags | MSG_NOSIGNAL));
    return 0;
}

int ring_prep_sendmsg_zc(ring *r, ring_req *req, int fd, const struct msghdr *msg, int msg_flags,
                         ring_cb *release) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_ZC, &sqe);
    if (rc < 0) return rc;
    req->release = release;
    /* As ring_prep_send_zc: without the opcode, a plain sendmsg whose
     * release follows done at once. */
    if (ring_op_supported(r, IORING_OP_SENDMSG_ZC)) {
        io_uring_prep_sendmsg_zc(sqe, fd, msg, (unsigned)(msg_flags | MSG_NOSIGNAL));
        /* The zero-copy flags live in ioprio; liburing's helper sets none. */
        if (r->zc_report_usage) sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
    } else
        io_uring_prep_sendmsg(sqe, fd, msg, (unsigned)(msg_flags | MSG_NOSIGNAL));
    return 0;
}

int ring_prep_splice(ring *r, ring_req *req, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
                     unsigned nbytes, unsigned splice_flags) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_OP, &sqe);
    if (rc < 0) return rc;
    /* No user buffer: the pages move between the kernel objects. */
    io_uring_prep_splice(sqe, fd_in, off_in, fd_out, off_out, nbytes, splice_flags);
    return 0;
}

int ring_prep_tee(ring *r, ring_req *req, int fd_in, int fd_out, unsigned nbytes,
                  unsigned splice_flags) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_OP, &sqe);
    if (rc < 0) return rc;
    io_uring_prep_tee(sqe, fd_in, fd_out, nbytes, splice_flags);
    return 0;
}

int ring_prep_nop(ring *r, ring_req *req) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_OP, &sqe);
    if (rc < 0) return rc;
    io_uring_prep_nop(sqe);
    return 0;
}

int ring_prep_read(ring *r, ring_req *req, int fd, void *buf, unsigned len, uint64_t off) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_OP, &sqe);
    if (rc < 0) return rc;
    /* buf: the kernel writes it until done runs. */
    io_uring_prep_read(sqe, fd, buf, len, off);
    return 0;
}

int ring_prep_connect(ring *r, ring_req *req, int fd, const struct sockaddr *addr,
                      socklen_t addrlen) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_OP, &sqe);
    if (rc < 0) return rc;
    /* addr: read by the kernel until done runs (it may be copied late, when
     * the request goes async). */
    io_uring_prep_connect(sqe, fd, addr, addrlen);
    return 0;
}

int ring_prep_write(ring *r, ring_req *req, int fd, const void *buf, unsigned len, uint64_t off) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_OP, &sqe);
    if (rc < 0) return rc;
    /* buf: the kernel reads it until done runs. */
    io_uring_prep_write(sqe, fd, buf, len, off);
    return 0;
}

int ring_prep_fsync(ring *r, ring_req *req, int fd, bool datasync) {
    struct io_uring_sqe *sqe;
    int rc = start_req(r, req, RING_REQ_OP, &sqe);
    if (rc < 0) return rc;
    io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0);
    return 0;
}

/* Mark an SQE whose completion nobody waits for (user_data 0). Its success
 * CQE is skipped where the kernel can; a failure still posts one, counted in
 * orphan_errors by the dispatcher. */
static void make_orphan(ring *r, struct io_uring_sqe *sqe) {
    io_uring_sqe_set_data64(sqe, 0);
    if (r->features & IORING_FEAT_CQE_SKIP) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

int ring_prep_cancel_fd(ring *r, int fd) {
    struct io_uring_sqe *sqe;
    int rc = get_sqe(r, &sqe);
    if (rc < 0) return rc;
    io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
    make_orphan(r, sqe);
    return 0;
}

int ring_prep_cancel_all(ring *r) {
    struct io_uring_sqe *sqe;
    int rc = get_sqe(r, &sqe);
    if (rc < 0) return rc;
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
    make_orphan(r, sqe);
    return 0;
}

int ring_msg(ring *from, int target_ring_fd, ring_req *target, int32_t res, int wake_fd) {
    if (from != NULL && target_ring_fd >= 0 && ring_msg_ring_supported(from)) {
        struct io_uring_sqe *sqe;
        int rc = get_sqe(from, &sqe);
        if (rc < 0) return rc;
        /* The target's CQE carries `target` as user_data: the pointer is
         * only ever dereferenced by the target ring's own thread. */
        io_uring_prep_msg_ring(sqe, target_ring_fd, (unsigned)res, (uint64_t)(uintptr_t)target, 0);
        make_orphan(from, sqe);
        return 0;
    }
    return wake_signal(wake_fd);
}

int ring_submit(ring *r) { return io_uring_submit(&r->uring); }

/* ---- completion --------------------------------------------------------- */

static void dispatch(ring *r, uint64_t user_data, int res, uint32_t flags) {
    if (user_data == RING_PROBE_USER_DATA) return; /* ring_init's, late */
    if (user_data == 0) {
        /* Cancellations and MSG_RING sends: only failures get here when
         * CQE_SKIP works. -ENOENT/-EALREADY from a cancel just mean there
         * was nothing (left) to cancel. */
        if (res < 0 && res != -ENOENT && res != -EALREADY) r->orphan_errors++;
        return;
    }
    ring_req *req = (ring_req *)(uintptr_t)user_data;
    bool last = (flags & IORING_CQE_F_MORE) == 0;

    switch (req->kind) {
    case RING_REQ_MSG:
        /* Posted by another ring: nothing of ours was in flight. */
        req->done(r, req, res, flags);
        return;
    case RING_REQ_ZC:
        /* The result CQE first (done, with the request still in flight so
         * that done cannot reuse it), then, at the notification or right
         * away if none will come, release. */
        if ((flags & IORING_CQE_F_NOTIF) == 0) req->done(r, req, res, flags);
        if (last) {
            req->busy = 0;
            r->inflight--;
            req->release(r, req, (flags & IORING_CQE_F_NOTIF) ? res : 0, flags);
        }
        return;
    default:
        if (last) {
            req->busy = 0;
            r->inflight--;
        }
        req->done(r, req, res, flags);
        return;
    }
}

int ring_peek(ring *r) {
    int rc = io_uring_submit(&r->uring);
    if (rc < 0 && rc != -EBUSY && rc != -EAGAIN) return rc;
    /* Bound the work per call so that a multishot flood cannot starve the
     * caller's other duties. */
    unsigned budget = r->uring.cq.ring_entries;
    int total = 0;
    while (budget > 0) {
        struct io_uring_cqe *cqes[RING_BATCH];
        struct {
            uint64_t user_data;
            int res;
            uint32_t flags;
        } batch[RING_BATCH];
        unsigned want = budget < RING_BATCH ? budget : RING_BATCH;
        unsigned n = io_uring_peek_batch_cqe(&r->uring, cqes, want);
        if (n == 0) break;
        for (unsigned i = 0; i < n; i++) {
            batch[i].user_data = cqes[i]->user_data;
            batch[i].res = cqes[i]->res;
            batch[i].flags = cqes[i]->flags;
        }
        io_uring_cq_advance(&r->uring, n);
        for (unsigned i = 0; i < n; i++)
            dispatch(r, batch[i].user_data, batch[i].res, batch[i].flags);
        total += (int)n;
        budget -= n;
    }
    return total;
}

int ring_wait(ring *r, int timeout_ms) {
    struct __kernel_timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
        tsp = &ts;
    }
    struct io_uring_cqe *cqe;
    int rc = io_uring_submit_and_wait_timeout(&r->uring, &cqe, 1, tsp, NULL);
    /* -ETIME: timed out; -EINTR: a signal; -EBUSY/-EAGAIN: the CQ is
     * backed up and must be reaped first. All mean "go and reap". */
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) return rc;
    return ring_peek(r);
}

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ring_drain(ring *r, int timeout_ms) {
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : monotonic_ms() + timeout_ms;
    bool cancelled = false;
    while (r->inflight > 0) {
        if (!cancelled) {
            int rc = ring_prep_cancel_all(r);
            if (rc < 0) return rc;
            cancelled = true;
        }
        int64_t left = deadline - monotonic_ms();
        if (left <= 0) return -ETIME;
        int rc = ring_wait(r, (int)(left < 100 ? left : 100));
        if (rc < 0) return rc;
        /* Callbacks may have re-armed requests (a recv loop answering
         * -ECANCELED by re-arming would be a bug, but a cheap one to
         * survive): cancel again on the next pass. */
        if (rc > 0) cancelled = false;
    }
    return 0;
}
