/* uring_pong: the same PING/PONG server as epoll_pong.c, on io_uring.
 *   - one multishot accept on the listener (re-armed if it terminates);
 *   - per client one multishot recv that picks 16 KiB buffers from a
 *     provided buffer ring (buffer group 0); each buffer goes back to the
 *     ring right after its requests are answered. A recv that terminates
 *     without IORING_CQE_F_MORE (e.g. -ENOBUFS when the ring ran dry) is
 *     re-armed;
 *   - replies accumulate per client exactly as in epoll_pong; after all
 *     completions of a pass are handled, each client with replies and no
 *     send in flight gets one IORING_OP_SEND (short sends are re-issued for
 *     the rest); the buffer being sent is swapped out so new replies never
 *     move it;
 *   - one io_uring_submit_and_wait(ring, 1) per loop pass.
 * Setup flags: IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
 * falling back to COOP_TASKRUN alone, then to no flags. With -d,
 * IORING_SETUP_DEFER_TASKRUN is added (extra variant, not the default).
 * liburing 2.3 has no io_uring_setup_buf_ring(), so the buffer ring is
 * mmap'd and registered by hand (io_uring_register_buf_ring), then filled
 * with io_uring_buf_ring_add()/io_uring_buf_ring_advance().
 * Usage: uring_pong [-d] [-b NBUFS] PORT   (NBUFS a power of two, default 512) */
#include <errno.h>
#include <liburing.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pong_proto.h"

#define BUF_SIZE (16 * 1024)
#define BGID 0
#define MAX_CONNS 65536

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_CANCEL };

typedef struct conn {
    int fd;
    uint32_t gen;
    int used, closing, pending;
    int recv_armed, send_inflight;
    char *in; /* partial request carried between recvs */
    size_t inlen, incap;
    obuf out;     /* replies being accumulated */
    obuf sending; /* replies owned by the in-flight send */
    size_t sent;
    struct conn *next_pending;
} conn;

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufbase;
static unsigned nbufs = 512;
static int bufmask;
static int buf_returned; /* buffers added since the last advance */
static conn *conns;
static uint32_t *free_slots;
static uint32_t nfree;
static conn *pending;
static unsigned long total_req, enobufs, rearm_recv;
static volatile sig_atomic_t stop;
static int lfd;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static inline uint64_t ud(int op, uint32_t slot, uint32_t gen) {
    return ((uint64_t)gen << 32) | ((uint64_t)slot << 8) | (uint64_t)op;
}

static struct io_uring_sqe *get_sqe(void) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe) {
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
        if (!sqe) {
            fprintf(stderr, "uring_pong: no SQE\n");
            abort();
        }
    }
    return sqe;
}

static void arm_accept(void) {
    struct io_uring_sqe *sqe = get_sqe();
    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, ud(OP_ACCEPT, 0, 0));
}

static void arm_recv(conn *c) {
    uint32_t slot = (uint32_t)(c - conns);
    struct io_uring_sqe *sqe = get_sqe();
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, ud(OP_RECV, slot, c->gen));
    c->recv_armed = 1;
}

static void issue_send(conn *c) {
    uint32_t slot = (uint32_t)(c - conns);
    struct io_uring_sqe *sqe = get_sqe();
    io_uring_prep_send(sqe, c->fd, c->sending.p + c->sent, c->sending.len - c->sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, ud(OP_SEND, slot, c->gen));
    c->send_inflight = 1;
}

static void maybe_free(conn *c) {
    if (!c->closing || c->recv_armed || c->send_inflight) return;
    close(c->fd);
    free(c->in);
    obuf_free(&c->out);
    obuf_free(&c->sending);
    uint32_t gen = c->gen + 1;
    memset(c, 0, sizeof(*c));
    c->gen = gen;
    c->fd = -1;
    free_slots[nfree++] = (uint32_t)(c - conns);
}

static void conn_close(conn *c) {
    if (c->closing) {
        maybe_free(c);
        return;
    }
    c->closing = 1;
    if (c->recv_armed) {
        struct io_uring_sqe *sqe = get_sqe();
        io_uring_prep_cancel64(sqe, ud(OP_RECV, (uint32_t)(c - conns), c->gen), 0);
        io_uring_sqe_set_data64(sqe, ud(OP_CANCEL, 0, 0));
    }
    maybe_free(c);
}

static void return_buffer(unsigned bid) {
    io_uring_buf_ring_add(br, bufbase + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
                          bufmask, buf_returned);
    buf_returned++;
}

static void mark_pending(conn *c) {
    if (c->out.len && !c->pending && !c->send_inflight) {
        c->pending = 1;
        c->next_pending = pending;
        pending = c;
    }
}

static void handle_data(conn *c, const char *data, size_t len) {
    ssize_t used;
    if (c->inlen == 0) {
        /* common case: parse straight from the ring buffer */
        used = proto_process(data, len, &c->out, &total_req);
        if (used < 0) goto bad;
        size_t rest = len - (size_t)used;
        if (rest) {
            if (c->incap < rest) {
                c->incap = rest < BUF_SIZE ? BUF_SIZE : rest;
                c->in = realloc(c->in, c->incap);
            }
            memcpy(c->in, data + used, rest);
            c->inlen = rest;
        }
    } else {
        if (c->incap < c->inlen + len) {
            c->incap = c->inlen + len;
            c->in = realloc(c->in, c->incap);
        }
        memcpy(c->in + c->inlen, data, len);
        c->inlen += len;
        used = proto_process(c->in, c->inlen, &c->out, &total_req);
        if (used < 0) goto bad;
        c->inlen -= (size_t)used;
        if (c->inlen) memmove(c->in, c->in + used, c->inlen);
    }
    mark_pending(c);
    return;
bad:
    conn_close(c);
}

static void new_conn(int fd) {
    if (nfree == 0) {
        close(fd);
        return;
    }
    pong_client_opts(fd);
    conn *c = &conns[free_slots[--nfree]];
    c->used = 1;
    c->fd = fd;
    arm_recv(c);
}

static void handle_cqe(struct io_uring_cqe *cqe) {
    uint64_t u = cqe->user_data;
    int op = (int)(u & 0xff);
    uint32_t slot = (uint32_t)((u >> 8) & 0xffffff);
    uint32_t gen = (uint32_t)(u >> 32);
    int res = cqe->res;

    if (op == OP_ACCEPT) {
        if (res >= 0) new_conn(res);
        else if (res != -EINTR && res != -EAGAIN) fprintf(stderr, "accept: %s\n", strerror(-res));
        if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
        return;
    }
    if (op == OP_CANCEL) return;

    conn *c = &conns[slot];
    if (c->gen != gen || !c->used) {
        /* stale completion: still give a selected buffer back */
        if (cqe->flags & IORING_CQE_F_BUFFER) return_buffer(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        return;
    }

    if (op == OP_RECV) {
        int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
        if (!more) c->recv_armed = 0;
        if (res > 0) {
            unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
            if (!c->closing) handle_data(c, bufbase + (size_t)bid * BUF_SIZE, (size_t)res);
            return_buffer(bid);
            if (!more && !c->closing) {
                rearm_recv++;
                arm_recv(c);
            }
        } else if (res == -ENOBUFS) {
            /* ring ran dry; buffers are returned at the end of this pass,
             * so just re-arm (the new SQE is submitted after the advance) */
            enobufs++;
            if (!more && !c->closing) arm_recv(c);
        } else if (res == 0 || (res < 0 && res != -EINTR && res != -EAGAIN)) {
            /* EOF, error or -ECANCELED */
            if (cqe->flags & IORING_CQE_F_BUFFER) return_buffer(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
            conn_close(c);
        } else if (!more && !c->closing) {
            arm_recv(c);
        }
        if (c->closing) maybe_free(c);
        return;
    }

    if (op == OP_SEND) {
        c->send_inflight = 0;
        if (c->closing) {
            maybe_free(c);
            return;
        }
        if (res < 0) {
            if (res == -EAGAIN || res == -EINTR) {
                issue_send(c);
                return;
            }
            conn_close(c);
            return;
        }
        c->sent += (size_t)res;
        if (c->sent < c->sending.len) {
            issue_send(c); /* short send: the rest, in the next submit */
            return;
        }
        c->sending.len = 0;
        c->sent = 0;
        mark_pending(c);
    }
}

static void flush_pending_sends(void) {
    while (pending) {
        conn *c = pending;
        pending = c->next_pending;
        c->next_pending = NULL;
        c->pending = 0;
        if (c->closing || c->send_inflight || c->out.len == 0) continue;
        obuf t = c->sending; /* empty, keeps its allocation */
        c->sending = c->out;
        c->out = t;
        c->out.len = 0;
        c->sent = 0;
        issue_send(c);
    }
}

static int setup_ring(int defer) {
    struct io_uring_params p;
    unsigned tries[3] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
                         IORING_SETUP_COOP_TASKRUN, 0};
    if (defer) tries[0] = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    for (int i = 0; i < 3; i++) {
        memset(&p, 0, sizeof(p));
        p.flags = tries[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = 8192;
        int r = io_uring_queue_init_params(1024, &ring, &p);
        if (r == 0) {
            fprintf(stderr, "uring_pong: ring flags 0x%x%s%s%s, features 0x%x\n", p.flags,
                    (p.flags & IORING_SETUP_SINGLE_ISSUER) ? " SINGLE_ISSUER" : "",
                    (p.flags & IORING_SETUP_COOP_TASKRUN) ? " COOP_TASKRUN" : "",
                    (p.flags & IORING_SETUP_DEFER_TASKRUN) ? " DEFER_TASKRUN" : "", p.features);
            return 0;
        }
        fprintf(stderr, "uring_pong: setup flags 0x%x refused: %s\n", tries[i], strerror(-r));
    }
    return -1;
}

static int setup_buf_ring(void) {
    size_t rsz = nbufs * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, rsz, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return -1;
    br = mem;
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br, .ring_entries = nbufs,
                                   .bgid = BGID};
    int r = io_uring_register_buf_ring(&ring, &reg, 0);
    if (r) {
        fprintf(stderr, "io_uring_register_buf_ring: %s\n", strerror(-r));
        return -1;
    }
    bufbase = malloc((size_t)nbufs * BUF_SIZE);
    bufmask = io_uring_buf_ring_mask(nbufs);
    for (unsigned i = 0; i < nbufs; i++)
        io_uring_buf_ring_add(br, bufbase + (size_t)i * BUF_SIZE, BUF_SIZE, (unsigned short)i,
                              bufmask, (int)i);
    io_uring_buf_ring_advance(br, (int)nbufs);
    return 0;
}

int main(int argc, char **argv) {
    int defer = 0, ai = 1;
    while (ai < argc && argv[ai][0] == '-') {
        if (!strcmp(argv[ai], "-d")) defer = 1;
        else if (!strcmp(argv[ai], "-b") && ai + 1 < argc) nbufs = (unsigned)atoi(argv[++ai]);
        ai++;
    }
    if (ai >= argc || nbufs == 0 || (nbufs & (nbufs - 1)) || nbufs > 32768) {
        fprintf(stderr, "usage: %s [-d] [-b NBUFS(pow2)] PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    lfd = pong_listen(atoi(argv[ai]), 0);
    if (setup_ring(defer) < 0 || setup_buf_ring() < 0) return 1;
    conns = calloc(MAX_CONNS, sizeof(conn));
    free_slots = malloc(MAX_CONNS * sizeof(uint32_t));
    for (uint32_t i = 0; i < MAX_CONNS; i++) {
        conns[i].fd = -1;
        free_slots[nfree++] = MAX_CONNS - 1 - i;
    }
    arm_accept();
    fprintf(stderr, "uring_pong: listening on 127.0.0.1:%s (%u x %d KiB provided buffers)\n",
            argv[ai], nbufs, BUF_SIZE / 1024);

    while (!stop) {
        flush_pending_sends();
        if (buf_returned) {
            io_uring_buf_ring_advance(br, buf_returned);
            buf_returned = 0;
        }
        int r = io_uring_submit_and_wait(&ring, 1);
        if (r < 0 && r != -EINTR && r != -EBUSY && r != -ETIME) {
            fprintf(stderr, "io_uring_submit_and_wait: %s\n", strerror(-r));
            break;
        }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            handle_cqe(cqe);
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
    }
    fprintf(stderr, "uring_pong: exiting, %lu requests answered, %lu ENOBUFS, %lu recv re-arms\n",
            total_req, enobufs, rearm_recv);
    return 0;
}
