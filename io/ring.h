/* ring: io_uring helpers, one verb each.
 *
 * A `ring` is one io_uring owned by one thread: only that thread preps,
 * submits and reaps on it, and that thread must be the one that ran
 * ring_init (IORING_SETUP_SINGLE_ISSUER ties the ring to its creator; the
 * I/O threads create theirs after they start). Another thread may only
 * address it from outside: IORING_OP_MSG_RING from its own ring, or the
 * owner's eventfd.
 *
 * Requests. Every operation is described by a `ring_req` that the caller
 * owns and embeds in its own state (a replica link, a snapshot stream). The
 * CQE's user_data is the address of the ring_req; user_data 0 marks requests
 * whose completions nobody wants (cancellations, the sending side of a
 * MSG_RING). When a CQE arrives, ring_peek/ring_wait call req->done with the
 * CQE's res (bytes, 0, or a negative errno: io_uring never sets errno) and
 * flags. A request is in flight from its ring_prep_* until its last CQE (one
 * without IORING_CQE_F_MORE); during that time the ring_req must stay alive
 * and must not be prepped again (ring_prep_* refuses with -EALREADY). The
 * done callback may re-arm the same ring_req.
 *
 * Buffers. A buffer given to a ring_prep_* belongs to the kernel from the
 * prep until the request's last CQE: the caller must neither free nor touch
 * it (for a recv or read: nor read it) until done runs. Zero-copy sends
 * extend that, see below.
 *
 * Zero-copy sends (IORING_OP_SEND_ZC). The kernel posts two CQEs with the
 * same user_data: first the result (bytes sent or -errno), carrying
 * IORING_CQE_F_MORE when a notification will follow; then, possibly much
 * later (after the peer's TCP ACK, or after loopback delivery), the
 * notification, flagged IORING_CQE_F_NOTIF, saying the kernel no longer
 * references the pages. The ring turns that into two callbacks: req->done
 * with the result, then req->release once the buffer is free (at the
 * notification, or right after done when the result CQE has no F_MORE: even
 * errors may or may not produce a notification). Until release runs the
 * buffer must not be modified or freed and the ring_req must not be reused;
 * a replication stream block therefore stays pinned until every zero-copy
 * send from it has been released. Where the kernel lacks SEND_ZC,
 * ring_prep_send_zc sends with plain SEND and release follows done at once,
 * so callers have one code path. A socket type without zero-copy support
 * (AF_UNIX) completes with -EOPNOTSUPP: send the same bytes with
 * ring_prep_send.
 *
 * Whether the copy was really avoided: "zero-copy" is a request, and the
 * kernel copies anyway where it must (loopback delivers to a local socket,
 * whose receive queue may not keep user pages; a device without
 * scatter-gather). Since Linux 6.2 a send flagged
 * IORING_SEND_ZC_REPORT_USAGE says so in its notification: res has
 * IORING_NOTIF_USAGE_ZC_COPIED set when the kernel copied (any part). The
 * ring asks for it on every zero-copy send when the kernel accepts the flag
 * (probed at ring_init: older kernels fail such a send with -EINVAL), and
 * ring_zc_usage reads the answer in a release callback.
 *
 * Sends always carry MSG_NOSIGNAL. Splicing into a socket whose peer is gone
 * can still raise SIGPIPE: the server ignores SIGPIPE.
 *
 * Errors from these functions are negative errno values: -EALREADY (the
 * ring_req is in flight), -EBUSY (the submission queue is full even after a
 * submit), or what io_uring_enter returned. */
#ifndef RM_IO_RING_H
#define RM_IO_RING_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct ring ring;
typedef struct ring_req ring_req;

/* A completion: res is the CQE's result, cqe_flags its flags. */
typedef void ring_cb(ring *r, ring_req *req, int res, uint32_t cqe_flags);

enum ring_req_kind {
    RING_REQ_OP,  /* an ordinary request: done per CQE */
    RING_REQ_ZC,  /* a zero-copy send: done, then release */
    RING_REQ_MSG, /* a target for MSG_RING posts from other rings */
};

struct ring_req {
    ring_cb *done;    /* every CQE (the result, for zero-copy sends) */
    ring_cb *release; /* zero-copy sends: the kernel let go of the buffer */
    void *data;       /* the owner's context */
    uint8_t kind;     /* enum ring_req_kind, set by the ring */
    uint8_t busy;     /* in flight: set by ring_prep_*, cleared at the last CQE */
};

struct ring {
    struct io_uring uring;
    unsigned setup_flags;   /* the IORING_SETUP_* flags the kernel accepted */
    uint32_t features;      /* IORING_FEAT_* */
    uint64_t ops[2];        /* supported opcodes (bit per IORING_OP_*), from the probe */
    bool zc_report_usage;   /* zero-copy sends ask the kernel whether it copied */
    unsigned inflight;      /* requests whose last CQE has not arrived */
    uint64_t orphan_errors; /* failed requests that had no ring_req (user_data 0) */
};

/* Flags worth asking for on a thread-owned ring; ring_init drops the ones
 * an older kernel refuses. */
#define RING_SETUP_THREAD                                                                          \
    (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG)

/* Set up a ring with `entries` submission slots (the completion queue gets
 * four times as many) and IORING_SETUP_* `flags`; probes supported ops.
 * Must run on the thread that will own the ring. 0 or -errno. */
int ring_init(ring *r, unsigned entries, unsigned flags);
/* Tear down. Requests still in flight are abandoned: callers that own
 * buffers in flight must ring_drain first. */
void ring_exit(ring *r);
int ring_fd(const ring *r);

/* Probe results. */
bool ring_op_supported(const ring *r, unsigned opcode);
bool ring_send_zc_supported(const ring *r);
bool ring_msg_ring_supported(const ring *r);

/* What a zero-copy send's release callback learned (its res and flags). */
enum ring_zc_usage {
    RING_ZC_UNKNOWN = 0, /* no notification (no SEND_ZC, or none was due), or a
                            kernel that does not report usage */
    RING_ZC_ZEROCOPY,    /* the kernel sent from the pages themselves */
    RING_ZC_COPIED,      /* the kernel copied the bytes after all */
};
enum ring_zc_usage ring_zc_usage(const ring *r, int res, uint32_t cqe_flags);

/* Prepare a request with its callback and owner context (kind OP). */
void ring_req_init(ring_req *req, ring_cb *done, void *data);
/* Prepare a request that only ever receives MSG_RING posts from other rings
 * (never prepped; its done runs on the owning thread with the poster's res). */
void ring_req_init_msg_target(ring_req *req, ring_cb *done, void *data);

/* Submission: each preps one SQE (submitting first if the SQ is full). The
 * request reaches the kernel at the next ring_submit or ring_wait. */
int ring_prep_send(ring *r, ring_req *req, int fd, const void *buf, size_t len, int msg_flags);
int ring_prep_recv(ring *r, ring_req *req, int fd, void *buf, size_t len, int msg_flags);
/* `release` runs once the kernel no longer references buf (see above). */
int ring_prep_send_zc(ring *r, ring_req *req, int fd, const void *buf, size_t len, int msg_flags,
                      ring_cb *release);
/* Vectored sends: msg (and its iovecs) are the kernel's until done runs,
 * and for the zero-copy form the iovecs' bytes until release runs. */
int ring_prep_sendmsg(ring *r, ring_req *req, int fd, const struct msghdr *msg, int msg_flags);
int ring_prep_sendmsg_zc(ring *r, ring_req *req, int fd, const struct msghdr *msg, int msg_flags,
                         ring_cb *release);
/* off_in/off_out: a file offset, or -1 for a pipe or the file position. */
int ring_prep_splice(ring *r, ring_req *req, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
                     unsigned nbytes, unsigned splice_flags);
/* Duplicate up to nbytes from pipe fd_in into pipe fd_out without consuming. */
int ring_prep_tee(ring *r, ring_req *req, int fd_in, int fd_out, unsigned nbytes,
                  unsigned splice_flags);
/* A request that does nothing: its completion comes at the next reap. */
int ring_prep_nop(ring *r, ring_req *req);
/* A read; for an eventfd, buf is a uint64_t the kernel fills with the
 * counter (which it resets) when the eventfd is signalled. */
int ring_prep_read(ring *r, ring_req *req, int fd, void *buf, unsigned len, uint64_t off);
/* A connect of a non-blocking socket; addr is the kernel's until done runs
 * (res 0 once connected, or -errno). */
int ring_prep_connect(ring *r, ring_req *req, int fd, const struct sockaddr *addr,
                      socklen_t addrlen);
/* A write of len bytes at file offset off (-1: the file position); may be
 * short. buf is the kernel's until done runs. */
int ring_prep_write(ring *r, ring_req *req, int fd, const void *buf, unsigned len, uint64_t off);
/* fsync(2), or fdatasync(2) when datasync is true. */
int ring_prep_fsync(ring *r, ring_req *req, int fd, bool datasync);
/* Cancel every request in flight on fd / on the ring. Each cancelled
 * request still completes (usually -ECANCELED) through its callback. */
int ring_prep_cancel_fd(ring *r, int fd);
int ring_prep_cancel_all(ring *r);

/* Wake another ring's thread: with MSG_RING (prepped on `from`, sent at its
 * next submit) the target's `target` request (a msg target living on the
 * other thread) completes there with res = `res`. Without MSG_RING, or with
 * no `from` ring, signals `wake_fd`, the eventfd the target has armed a read
 * on. Either way the target's thread runs a callback; the payload proper
 * travels through an spsc ring. 0 or -errno. */
int ring_msg(ring *from, int target_ring_fd, ring_req *target, int32_t res, int wake_fd);

/* Hand prepped SQEs to the kernel. Number submitted or -errno. */
int ring_submit(ring *r);
/* Submit, then dispatch every completion ready now. Number dispatched or
 * -errno. Never blocks. */
int ring_peek(ring *r);
/* Submit, wait for at least one completion (or timeout_ms, -1: forever; or a
 * signal), dispatch what is ready. Number dispatched (0 on timeout) or
 * -errno. */
int ring_wait(ring *r, int timeout_ms);
/* Cancel everything in flight and dispatch until no request is left or
 * timeout_ms passes. 0, -ETIME if requests remain, or -errno. */
int ring_drain(ring *r, int timeout_ms);

#endif
