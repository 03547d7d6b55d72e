/* test_ring: the io_uring helpers against real file descriptors.
 *
 * Each test owns one ring (two for MSG_RING) on the test's own thread and
 * drives it with ring_wait until its callbacks have seen what they should:
 * send/recv on a socketpair, a zero-copy send on TCP loopback whose buffer
 * is only reused after the notification (which, on a kernel that reports
 * it, says the loopback copied the bytes), splice file -> pipe -> socket, tee
 * pipe -> pipe, a read armed on an eventfd, MSG_RING between two rings (and
 * its eventfd fallback), cancellation at shutdown. Operations the kernel
 * lacks are skipped with a message naming them, never failed. */
#include "io/ring.h"
#include "io/wake.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_MS 10000

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void new_ring(ring *r) {
    int rc = ring_init(r, 64, RING_SETUP_THREAD);
    ck_assert_msg(rc == 0, "io_uring setup failed: %s", strerror(-rc));
}

static void fill_pattern(unsigned char *buf, size_t len, unsigned seed) {
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)((i * 31 + seed * 17 + (i >> 8)) & 0xff);
}

static void set_nonblock(int fd) {
    ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

/* A connected TCP pair over loopback: fds[0] the client, fds[1] the
 * accepted side. */
static void tcp_pair(int fds[2]) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(l, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    socklen_t alen = sizeof(a);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fds[0], 0);
    ck_assert_int_eq(connect(fds[0], (struct sockaddr *)&a, sizeof(a)), 0);
    fds[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(fds[1], 0);
    close(l);
    int one = 1;
    setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* What a callback saw, for the test to check afterwards. */
typedef struct seen {
    int calls;
    int res;
    uint32_t flags;
    int order; /* global sequence number of the last call */
} seen;

static int call_seq;

static void note(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    seen *s = req->data;
    s->calls++;
    s->res = res;
    s->flags = flags;
    s->order = ++call_seq;
}

/* Run the ring until *count reaches want or the deadline passes. */
static void wait_calls(ring *r, const int *count, int want) {
    int64_t deadline = now_ms() + DEADLINE_MS;
    while (*count < want && now_ms() < deadline) ck_assert_int_ge(ring_wait(r, 100), 0);
    ck_assert_msg(*count >= want, "callback did not run within %d ms", DEADLINE_MS);
}

/* ---- basics ------------------------------------------------------------- */

START_TEST(test_init_and_probe) {
    ring r;
    new_ring(&r);
    ck_assert_int_ge(ring_fd(&r), 0);
    ck_assert_uint_eq(r.inflight, 0);
    printf("io_uring features 0x%x, setup flags 0x%x; SEND_ZC %s (usage report %s), MSG_RING %s, "
           "SPLICE %s, TEE %s\n",
           r.features, r.setup_flags, ring_send_zc_supported(&r) ? "yes" : "NO",
           r.zc_report_usage ? "yes" : "NO", ring_msg_ring_supported(&r) ? "yes" : "NO",
           ring_op_supported(&r, IORING_OP_SPLICE) ? "yes" : "NO",
           ring_op_supported(&r, IORING_OP_TEE) ? "yes" : "NO");
    /* IORING_SEND_ZC_REPORT_USAGE came with Linux 6.2: the probe must find
     * it there, and only where SEND_ZC exists at all. */
    struct utsname u;
    int major = 0, minor = 0;
    ck_assert_int_eq(uname(&u), 0);
    ck_assert_int_eq(sscanf(u.release, "%d.%d", &major, &minor), 2);
    if (ring_send_zc_supported(&r) && (major > 6 || (major == 6 && minor >= 2)))
        ck_assert_msg(r.zc_report_usage, "kernel %s should take IORING_SEND_ZC_REPORT_USAGE",
                      u.release);
    if (!ring_send_zc_supported(&r)) ck_assert(!r.zc_report_usage);
    /* The probe's own request left nothing in flight or in the CQ. */
    ck_assert_uint_eq(r.inflight, 0);
    ck_assert_int_eq(ring_peek(&r), 0);
    /* Every kernel with a probe has these. */
    ck_assert(ring_op_supported(&r, IORING_OP_NOP));
    ck_assert(!ring_op_supported(&r, 200));
    /* Nothing to do: a timed wait returns 0 after about the timeout. */
    int64_t t0 = now_ms();
    ck_assert_int_eq(ring_wait(&r, 50), 0);
    ck_assert_int_ge(now_ms() - t0, 40);
    ck_assert_int_eq(ring_peek(&r), 0);
    ring_exit(&r);
}
END_TEST

START_TEST(test_send_recv_socketpair) {
    ring r;
    new_ring(&r);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    char out[] = "*1\r\n$4\r\nPING\r\n";
    char in[64] = {0};
    seen s_send = {0}, s_recv = {0};
    ring_req send_req, recv_req;
    ring_req_init(&send_req, note, &s_send);
    ring_req_init(&recv_req, note, &s_recv);

    /* The recv goes in first and waits in the kernel for data. */
    ck_assert_int_eq(ring_prep_recv(&r, &recv_req, sv[1], in, sizeof(in), 0), 0);
    ck_assert_int_eq(ring_submit(&r), 1);
    ck_assert_int_eq(ring_peek(&r), 0);
    ck_assert_uint_eq(r.inflight, 1);
    /* A request in flight cannot be prepped again. */
    ck_assert_int_eq(ring_prep_recv(&r, &recv_req, sv[1], in, sizeof(in), 0), -EALREADY);

    ck_assert_int_eq(ring_prep_send(&r, &send_req, sv[0], out, strlen(out), 0), 0);
    wait_calls(&r, &s_recv.calls, 1);
    wait_calls(&r, &s_send.calls, 1);
    ck_assert_int_eq(s_send.res, (int)strlen(out));
    ck_assert_int_eq(s_recv.res, (int)strlen(out));
    ck_assert_mem_eq(in, out, strlen(out));
    ck_assert_uint_eq(r.inflight, 0);
    ck_assert(!send_req.busy && !recv_req.busy);

    /* Errors arrive as -errno in res: a send to a closed peer. Without
     * MSG_NOSIGNAL (which ring adds) this would kill the test with SIGPIPE. */
    close(sv[1]);
    ck_assert_int_eq(ring_prep_send(&r, &send_req, sv[0], out, strlen(out), 0), 0);
    wait_calls(&r, &s_send.calls, 2);
    ck_assert_int_eq(s_send.res, -EPIPE);
    close(sv[0]);
    ring_exit(&r);
}
END_TEST

/* ---- zero-copy send ----------------------------------------------------- */

typedef struct zc_state {
    unsigned char *buf; /* the buffer handed to the kernel */
    size_t len;
    int done_calls, release_calls;
    int done_res, release_res;
    uint32_t done_flags, release_flags;
    bool done_before_release;
    bool buffer_released; /* the test may now overwrite buf */
} zc_state;

static void zc_done(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    zc_state *z = req->data;
    z->done_calls++;
    z->done_res = res;
    z->done_flags = flags;
    /* The request is still in flight until release: it cannot be reused. */
    ck_assert(req->busy || (flags & IORING_CQE_F_MORE) == 0);
}

static void zc_release(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    zc_state *z = req->data;
    z->release_calls++;
    z->release_res = res;
    z->release_flags = flags;
    z->done_before_release = z->done_calls == 1;
    z->buffer_released = true;
    ck_assert(!req->busy);
}

/* Send z->buf with SEND_ZC and read it on `peer` while the ring runs, until
 * every byte has arrived and the buffer has been released. */
static void zc_send_and_receive(ring *r, ring_req *req, zc_state *z, int fd, int peer,
                                unsigned char *got) {
    z->done_calls = z->release_calls = 0;
    z->buffer_released = false;
    ck_assert_int_eq(ring_prep_send_zc(r, req, fd, z->buf, z->len, 0, zc_release), 0);
    size_t received = 0;
    int64_t deadline = now_ms() + DEADLINE_MS;
    while ((received < z->len || !z->buffer_released) && now_ms() < deadline) {
        ck_assert_int_ge(ring_wait(r, 10), 0);
        ssize_t n;
        while (received < z->len && (n = recv(peer, got + received, z->len - received, 0)) > 0)
            received += (size_t)n;
    }
    ck_assert_msg(z->buffer_released, "no zero-copy notification within %d ms", DEADLINE_MS);
    ck_assert_uint_eq(received, z->len);
    ck_assert_int_eq(z->done_calls, 1);
    ck_assert_int_eq(z->release_calls, 1);
    ck_assert(z->done_before_release);
    ck_assert_uint_eq(r->inflight, 0);
}

START_TEST(test_send_zc_notification) {
    ring r;
    new_ring(&r);
    if (!ring_send_zc_supported(&r)) {
        printf("SKIP test_send_zc_notification: kernel lacks IORING_OP_SEND_ZC (falls back to "
               "SEND)\n");
        ring_exit(&r);
        return;
    }
    int fds[2];
    tcp_pair(fds);
    set_nonblock(fds[1]);
    /* Larger than the loopback socket buffers' first window, so the kernel
     * holds on to the pages for a while. */
    enum { LEN = 1 << 20 };
    zc_state z = {.buf = malloc(LEN), .len = LEN};
    unsigned char *got = malloc(LEN), *want = malloc(LEN);
    ck_assert(z.buf && got && want);
    ring_req req;
    ring_req_init(&req, zc_done, &z);

    fill_pattern(z.buf, LEN, 1);
    memcpy(want, z.buf, LEN);
    zc_send_and_receive(&r, &req, &z, fds[0], fds[1], got);
    ck_assert_int_eq(z.done_res, LEN);
    /* The kernel promised a notification and delivered it as such. */
    ck_assert(z.done_flags & IORING_CQE_F_MORE);
    ck_assert(z.release_flags & IORING_CQE_F_NOTIF);
    ck_assert_mem_eq(got, want, LEN);
    /* Loopback hands the bytes to a local socket, which cannot keep the
     * sender's pages: the kernel copies, and says so when asked. */
    enum ring_zc_usage usage = ring_zc_usage(&r, z.release_res, z.release_flags);
    printf("SEND_ZC over loopback: notification res 0x%x: %s\n", (unsigned)z.release_res,
           usage == RING_ZC_COPIED     ? "copied"
           : usage == RING_ZC_ZEROCOPY ? "zero-copy"
                                       : "usage not reported");
    if (r.zc_report_usage) ck_assert_int_eq(usage, RING_ZC_COPIED);
    else ck_assert_int_eq(usage, RING_ZC_UNKNOWN);
    /* A release that was no notification says nothing either way. */
    ck_assert_int_eq(ring_zc_usage(&r, 0, 0), RING_ZC_UNKNOWN);

    /* Only now is the buffer ours again: refill it and send it once more.
     * Had the kernel still referenced the first pages, the peer would see a
     * mix of both patterns. */
    fill_pattern(z.buf, LEN, 2);
    memcpy(want, z.buf, LEN);
    zc_send_and_receive(&r, &req, &z, fds[0], fds[1], got);
    ck_assert_mem_eq(got, want, LEN);

    free(z.buf);
    free(got);
    free(want);
    close(fds[0]);
    close(fds[1]);
    ring_exit(&r);
}
END_TEST

/* On a socket without zero-copy support the send fails with -EOPNOTSUPP (or,
 * on a kernel that copies instead, succeeds), and the buffer is released
 * exactly once either way. */
START_TEST(test_send_zc_unsupported_socket) {
    ring r;
    new_ring(&r);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    set_nonblock(sv[1]);
    unsigned char buf[4096], got[4096];
    fill_pattern(buf, sizeof(buf), 3);
    zc_state z = {.buf = buf, .len = sizeof(buf)};
    ring_req req;
    ring_req_init(&req, zc_done, &z);
    ck_assert_int_eq(ring_prep_send_zc(&r, &req, sv[0], buf, sizeof(buf), 0, zc_release), 0);
    wait_calls(&r, &z.release_calls, 1);
    ck_assert_int_eq(z.done_calls, 1);
    ck_assert(z.done_before_release);
    ck_assert_msg(z.done_res == -EOPNOTSUPP || z.done_res == (int)sizeof(buf), "res %d",
                  z.done_res);
    if (z.done_res == -EOPNOTSUPP) {
        printf("SEND_ZC on AF_UNIX: -EOPNOTSUPP, resending with SEND\n");
        seen s = {0};
        ring_req plain;
        ring_req_init(&plain, note, &s);
        ck_assert_int_eq(ring_prep_send(&r, &plain, sv[0], buf, sizeof(buf), 0), 0);
        wait_calls(&r, &s.calls, 1);
        ck_assert_int_eq(s.res, (int)sizeof(buf));
    }
    ck_assert_int_eq(recv(sv[1], got, sizeof(got), 0), (int)sizeof(got));
    ck_assert_mem_eq(got, buf, sizeof(buf));
    close(sv[0]);
    close(sv[1]);
    ring_exit(&r);
}
END_TEST

/* ---- splice and tee ----------------------------------------------------- */

/* The disk-mode snapshot path: file -> pipe -> socket, no user-space copy. */
START_TEST(test_splice_file_pipe_socket) {
    ring r;
    new_ring(&r);
    if (!ring_op_supported(&r, IORING_OP_SPLICE)) {
        printf("SKIP test_splice_file_pipe_socket: kernel lacks IORING_OP_SPLICE\n");
        ring_exit(&r);
        return;
    }
    enum { LEN = 300 * 1000 }; /* several pipe-fulls, not a multiple of a page */
    unsigned char *data = malloc(LEN), *got = malloc(LEN);
    ck_assert(data && got);
    fill_pattern(data, LEN, 4);
    char path[] = "/tmp/rm-test-ring-XXXXXX";
    int file = mkstemp(path);
    ck_assert_int_ge(file, 0);
    unlink(path);
    ck_assert_int_eq(write(file, data, LEN), LEN);

    int pipefd[2], sv[2];
    ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    set_nonblock(sv[1]);

    seen in = {0}, out = {0};
    ring_req to_pipe, to_sock;
    ring_req_init(&to_pipe, note, &in);
    ring_req_init(&to_sock, note, &out);
    size_t file_off = 0, sent = 0, received = 0;
    int handled_in = 0, handled_out = 0; /* completions acted upon so far */
    int64_t deadline = now_ms() + DEADLINE_MS;
    while (received < LEN && now_ms() < deadline) {
        /* One hop at a time: file -> pipe, then the same bytes pipe -> socket. */
        if (!to_pipe.busy && !to_sock.busy && file_off == sent && file_off < LEN) {
            ck_assert_int_eq(ring_prep_splice(&r, &to_pipe, file, (int64_t)file_off, pipefd[1], -1,
                                              (unsigned)(LEN - file_off), 0),
                             0);
        }
        ck_assert_int_ge(ring_wait(&r, 10), 0);
        if (in.calls > handled_in) {
            handled_in = in.calls;
            ck_assert_int_gt(in.res, 0);
            file_off += (size_t)in.res;
            ck_assert_int_eq(
                ring_prep_splice(&r, &to_sock, pipefd[0], -1, sv[0], -1, (unsigned)in.res, 0), 0);
        }
        if (out.calls > handled_out) {
            handled_out = out.calls;
            ck_assert_int_gt(out.res, 0);
            sent += (size_t)out.res;
            if (sent < file_off) /* a short splice into the socket: the rest is still in the pipe */
                ck_assert_int_eq(ring_prep_splice(&r, &to_sock, pipefd[0], -1, sv[0], -1,
                                                  (unsigned)(file_off - sent), 0),
                                 0);
        }
        ssize_t n;
        while ((n = recv(sv[1], got + received, LEN - received, 0)) > 0) received += (size_t)n;
    }
    ck_assert_uint_eq(received, LEN);
    ck_assert_mem_eq(got, data, LEN);
    ck_assert_uint_eq(r.inflight, 0);
    printf("splice: %d file->pipe and %d pipe->socket hops for %d bytes\n", in.calls, out.calls,
           LEN);
    close(file);
    close(pipefd[0]);
    close(pipefd[1]);
    close(sv[0]);
    close(sv[1]);
    free(data);
    free(got);
    ring_exit(&r);
}
END_TEST

/* The diskless fan-out path: tee duplicates a pipe's bytes into another
 * pipe without consuming them. */
START_TEST(test_tee_pipe_pipe) {
    ring r;
    new_ring(&r);
    if (!ring_op_supported(&r, IORING_OP_TEE)) {
        printf("SKIP test_tee_pipe_pipe: kernel lacks IORING_OP_TEE\n");
        ring_exit(&r);
        return;
    }
    int a[2], b[2];
    ck_assert_int_eq(pipe2(a, O_CLOEXEC | O_NONBLOCK), 0);
    ck_assert_int_eq(pipe2(b, O_CLOEXEC | O_NONBLOCK), 0);
    unsigned char data[10000], got[10000];
    fill_pattern(data, sizeof(data), 5);
    ck_assert_int_eq(write(a[1], data, sizeof(data)), (int)sizeof(data));

    seen s = {0};
    ring_req req;
    ring_req_init(&req, note, &s);
    ck_assert_int_eq(ring_prep_tee(&r, &req, a[0], b[1], sizeof(data), 0), 0);
    wait_calls(&r, &s.calls, 1);
    ck_assert_int_eq(s.res, (int)sizeof(data));
    /* b has a copy... */
    ck_assert_int_eq(read(b[0], got, sizeof(got)), (int)sizeof(got));
    ck_assert_mem_eq(got, data, sizeof(data));
    /* ...and a still has the original. */
    memset(got, 0, sizeof(got));
    ck_assert_int_eq(read(a[0], got, sizeof(got)), (int)sizeof(got));
    ck_assert_mem_eq(got, data, sizeof(data));
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
    ring_exit(&r);
}
END_TEST

/* ---- eventfd, MSG_RING, cancellation ------------------------------------ */

START_TEST(test_read_on_eventfd) {
    ring r;
    new_ring(&r);
    int efd = wake_open();
    ck_assert_int_ge(efd, 0);
    uint64_t counter = 0; /* the kernel's while the read is armed */
    seen s = {0};
    ring_req req;
    ring_req_init(&req, note, &s);
    ck_assert_int_eq(ring_prep_read(&r, &req, efd, &counter, sizeof(counter), 0), 0);
    /* Non-blocking eventfd, yet the armed read waits instead of -EAGAIN. */
    ck_assert_int_eq(ring_wait(&r, 20), 0);
    ck_assert_int_eq(s.calls, 0);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(wake_signal(efd), 0);
    wait_calls(&r, &s.calls, 1);
    ck_assert_int_eq(s.res, 8);
    /* The read may run at the first signal or after all three; it takes
     * what the counter held then and resets it. */
    ck_assert(counter >= 1 && counter <= 3);
    ck_assert_int_eq(wake_drain(efd), counter < 3 ? 1 : 0);
    ck_assert_int_eq(wake_drain(efd), 0);
    wake_close(efd);
    ring_exit(&r);
}
END_TEST

START_TEST(test_msg_ring) {
    ring from, to;
    new_ring(&from);
    new_ring(&to);
    int efd = wake_open();
    ck_assert_int_ge(efd, 0);
    seen got = {0}, woke = {0};
    ring_req target, wake_read;
    uint64_t counter;
    ring_req_init_msg_target(&target, note, &got);
    ring_req_init(&wake_read, note, &woke);
    /* The eventfd fallback path, armed on the target as a thread would. */
    ck_assert_int_eq(ring_prep_read(&to, &wake_read, efd, &counter, sizeof(counter), 0), 0);
    ck_assert_int_eq(ring_submit(&to), 1);

    if (ring_msg_ring_supported(&from)) {
        ck_assert_int_eq(ring_msg(&from, ring_fd(&to), &target, 12345, efd), 0);
        ck_assert_int_ge(ring_submit(&from), 0);
        wait_calls(&to, &got.calls, 1);
        ck_assert_int_eq(got.res, 12345);
        ck_assert_int_eq(woke.calls, 0);
        /* The sender's own success CQE is skipped (or ignored). */
        ck_assert_int_eq(ring_peek(&from), 0);
        ck_assert_uint_eq(from.orphan_errors, 0);
        ck_assert_uint_eq(to.inflight, 1); /* only the eventfd read */
    } else {
        printf("SKIP MSG_RING part of test_msg_ring: kernel lacks IORING_OP_MSG_RING\n");
    }
    /* No source ring: the eventfd carries the wake-up. */
    ck_assert_int_eq(ring_msg(NULL, ring_fd(&to), &target, 1, efd), 0);
    wait_calls(&to, &woke.calls, 1);
    ck_assert_int_eq(woke.res, 8);
    ck_assert_uint_eq(counter, 1);
    wake_close(efd);
    ring_exit(&from);
    ring_exit(&to);
}
END_TEST

START_TEST(test_drain_cancels) {
    ring r;
    new_ring(&r);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    char buf[2][16];
    seen s[2] = {{0}, {0}};
    ring_req req[2];
    for (int i = 0; i < 2; i++) {
        ring_req_init(&req[i], note, &s[i]);
        ck_assert_int_eq(ring_prep_recv(&r, &req[i], sv[i], buf[i], sizeof(buf[i]), 0), 0);
    }
    ck_assert_int_eq(ring_submit(&r), 2);
    ck_assert_uint_eq(r.inflight, 2);
    /* Cancel by fd first, then everything. */
    ck_assert_int_eq(ring_prep_cancel_fd(&r, sv[0]), 0);
    wait_calls(&r, &s[0].calls, 1);
    ck_assert_int_eq(s[0].res, -ECANCELED);
    ck_assert_int_eq(s[1].calls, 0);
    ck_assert_int_eq(ring_drain(&r, 2000), 0);
    ck_assert_int_eq(s[1].calls, 1);
    ck_assert_int_eq(s[1].res, -ECANCELED);
    ck_assert_uint_eq(r.inflight, 0);
    ck_assert_uint_eq(r.orphan_errors, 0);
    close(sv[0]);
    close(sv[1]);
    ring_exit(&r);
}
END_TEST

/* More requests than SQ slots: prepping past a full SQ submits on the way. */
START_TEST(test_sq_overflow_submits) {
    ring r;
    ck_assert_int_eq(ring_init(&r, 4, 0), 0);
    int efd = wake_open();
    ck_assert_int_ge(efd, 0);
    enum { N = 40 };
    seen s[N];
    ring_req req[N];
    uint64_t counters[N];
    for (int i = 0; i < N; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        ring_req_init(&req[i], note, &s[i]);
        ck_assert_int_eq(ring_prep_read(&r, &req[i], efd, &counters[i], 8, 0), 0);
    }
    ck_assert_uint_eq(r.inflight, N);
    int done = 0;
    int64_t deadline = now_ms() + DEADLINE_MS;
    while (done < N && now_ms() < deadline) {
        wake_signal(efd);
        int n = ring_wait(&r, 10);
        ck_assert_int_ge(n, 0);
        done += n;
    }
    ck_assert_int_eq(done, N);
    for (int i = 0; i < N; i++) ck_assert_int_eq(s[i].res, 8);
    wake_close(efd);
    ring_exit(&r);
}
END_TEST

static Suite *ring_suite(void) {
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("ring");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_init_and_probe);
    tcase_add_test(tc, test_send_recv_socketpair);
    tcase_add_test(tc, test_send_zc_notification);
    tcase_add_test(tc, test_send_zc_unsupported_socket);
    tcase_add_test(tc, test_splice_file_pipe_socket);
    tcase_add_test(tc, test_tee_pipe_pipe);
    tcase_add_test(tc, test_read_on_eventfd);
    tcase_add_test(tc, test_msg_ring);
    tcase_add_test(tc, test_drain_cancels);
    tcase_add_test(tc, test_sq_overflow_submits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(ring_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
