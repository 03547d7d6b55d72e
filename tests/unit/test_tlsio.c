/* test_tlsio: OpenSSL over io_uring, both ends in one ring.
 *
 * A server session and a client session run over the two ends of a
 * socketpair, each driven by tlsio on the test's ring: the handshake,
 * megabytes each way in sends of several buffers compared byte for byte,
 * plaintext the session already holds delivered without a recv, the peer
 * closing, a peer whose socket resets (an error, not an end), a peer
 * closing mid-handshake, and a client that refuses the server's
 * certificate with the reason in tlsio_error. The contexts take the
 * server's options that matter here (SSL_OP_IGNORE_UNEXPECTED_EOF, partial
 * writes). The certificate is made in memory for the run. */
#include "io/tlsio.h"

#include <check.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test_certs.h"
#include "tests/unit/test_support.h"

#define DEADLINE_MS 20000

static EVP_PKEY *key;
static X509 *cert;

/* A self-signed certificate for CN=tlsio-test, valid for a day. */
static void make_identity(void) {
    if (!cert) test_self_signed("tlsio-test", &key, &cert);
}

static SSL_CTX *server_ctx(void) {
    make_identity();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    ck_assert_int_eq(SSL_CTX_use_certificate(ctx, cert), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
    /* As the server's own context: SSL_write returns after each record. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    return ctx;
}

/* trust: the client trusts the test certificate; else it trusts nothing
 * and must refuse the server. */
static SSL_CTX *client_ctx(int trust) {
    make_identity();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (trust) ck_assert_int_eq(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), cert), 1);
    return ctx;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One end: its session, its socket and what its requests reported. */
typedef struct end {
    tlsio *t;
    int fd;
    ring_req hs, tx, rx;
    int hs_res, tx_res, rx_res;
    int hs_done, tx_done, rx_done;
} end;

static void on_hs(ring *r, ring_req *req, int res, uint32_t f) {
    (void)r, (void)f;
    end *e = req->data;
    e->hs_res = res;
    e->hs_done = 1;
}

static void on_tx(ring *r, ring_req *req, int res, uint32_t f) {
    (void)r, (void)f;
    end *e = req->data;
    e->tx_res = res;
    e->tx_done = 1;
}

static void on_rx(ring *r, ring_req *req, int res, uint32_t f) {
    (void)r, (void)f;
    end *e = req->data;
    e->rx_res = res;
    e->rx_done = 1;
}

static void end_init(end *e, SSL_CTX *ctx, int fd, int server) {
    memset(e, 0, sizeof(*e));
    SSL *ssl = SSL_new(ctx);
    if (server) SSL_set_accept_state(ssl);
    else SSL_set_connect_state(ssl);
    e->t = tlsio_new(ssl);
    ck_assert_ptr_nonnull(e->t);
    e->fd = fd;
    ring_req_init(&e->hs, on_hs, e);
    ring_req_init(&e->tx, on_tx, e);
    ring_req_init(&e->rx, on_rx, e);
}

static void until(ring *r, int *flag_a, int *flag_b) {
    long long deadline = now_ms() + DEADLINE_MS;
    while (!(*flag_a && (!flag_b || *flag_b))) {
        ck_assert_msg(now_ms() < deadline, "tlsio: no completion before the deadline");
        ring_wait(r, 100);
    }
}

static void drain(ring *r, end *a, end *b) {
    long long deadline = now_ms() + DEADLINE_MS;
    while (tlsio_busy(a->t) || tlsio_busy(b->t)) {
        ck_assert(now_ms() < deadline);
        ring_wait(r, 100);
    }
}

typedef struct pair {
    ring r;
    SSL_CTX *sctx, *cctx;
    end srv, cli;
} pair;

/* The two ends on a socketpair, no handshake yet. */
static void pair_init(pair *p, int trust) {
    int fds[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    ck_assert_int_eq(ring_init(&p->r, 64, RING_SETUP_THREAD), 0);
    p->sctx = server_ctx();
    p->cctx = client_ctx(trust);
    end_init(&p->srv, p->sctx, fds[0], 1);
    end_init(&p->cli, p->cctx, fds[1], 0);
}

/* Both handshakes, run together on one ring; returns the client's result. */
static int pair_open(pair *p, int trust) {
    pair_init(p, trust);
    ck_assert_int_eq(tlsio_handshake(&p->r, p->srv.t, &p->srv.hs, p->srv.fd), 0);
    ck_assert_int_eq(tlsio_handshake(&p->r, p->cli.t, &p->cli.hs, p->cli.fd), 0);
    /* A refused handshake ends the client's at once; the server's then
     * fails on the alert or the closed socket. */
    until(&p->r, &p->cli.hs_done, NULL);
    if (p->cli.hs_res != 0) shutdown(p->cli.fd, SHUT_RDWR);
    until(&p->r, &p->srv.hs_done, NULL);
    return p->cli.hs_res;
}

static void pair_close(pair *p) {
    shutdown(p->srv.fd, SHUT_RDWR);
    shutdown(p->cli.fd, SHUT_RDWR);
    drain(&p->r, &p->srv, &p->cli);
    tlsio_free(p->srv.t);
    tlsio_free(p->cli.t);
    close(p->srv.fd);
    close(p->cli.fd);
    SSL_CTX_free(p->sctx);
    SSL_CTX_free(p->cctx);
    ring_exit(&p->r);
}

/* len bytes from a to b: a sends in pieces of three buffers each (as a
 * stream send spans backlog blocks), b reads into small buffers. */
static void transfer(pair *p, end *a, end *b, size_t len) {
    unsigned char *src = mem_alloc(len), *dst = mem_alloc(len);
    for (size_t i = 0; i < len; i++) src[i] = (unsigned char)((i * 31 + (i >> 9)) & 0xff);
    size_t sent = 0, got = 0;
    int rx_armed = 0;
    long long deadline = now_ms() + DEADLINE_MS;
    while (got < len) {
        ck_assert(now_ms() < deadline);
        if (sent < len && !a->tx.busy) {
            if (a->tx_done) {
                ck_assert_int_gt(a->tx_res, 0);
                sent += (size_t)a->tx_res;
                a->tx_done = 0;
            }
            if (sent < len) {
                size_t left = len - sent, third = left / 3 + 1;
                struct iovec iov[3];
                int n = 0;
                for (size_t off = 0; off < left && n < 3; n++) {
                    size_t k = left - off < third ? left - off : third;
                    iov[n] = (struct iovec){.iov_base = src + sent + off, .iov_len = k};
                    off += k;
                }
                ck_assert_int_eq(tlsio_send(&p->r, a->t, &a->tx, a->fd, iov, n), 0);
            }
        }
        if (!rx_armed) {
            size_t want = len - got < 5000 ? len - got : 5000;
            ck_assert_int_eq(tlsio_recv(&p->r, b->t, &b->rx, b->fd, dst + got, want), 0);
            rx_armed = 1;
        }
        ring_wait(&p->r, 100);
        if (b->rx_done) {
            ck_assert_int_gt(b->rx_res, 0);
            got += (size_t)b->rx_res;
            b->rx_done = 0;
            rx_armed = 0;
        }
    }
    /* The receiver has everything, so the last send has completed or is
     * about to (its completion may have been taken in the loop). */
    while (a->tx.busy) {
        ck_assert(now_ms() < deadline);
        ring_wait(&p->r, 100);
    }
    if (a->tx_done) sent += (size_t)a->tx_res;
    a->tx_done = 0;
    ck_assert_uint_eq(sent, len);
    ck_assert(memcmp(src, dst, len) == 0);
    mem_free(src);
    mem_free(dst);
}

START_TEST(test_handshake_and_both_directions) {
    pair p;
    ck_assert_int_eq(pair_open(&p, 1), 0);
    ck_assert_int_eq(p.srv.hs_res, 0);
    transfer(&p, &p.cli, &p.srv, 3 * 1024 * 1024 + 17);
    transfer(&p, &p.srv, &p.cli, 1024 * 1024 + 3);
    transfer(&p, &p.cli, &p.srv, 1);
    pair_close(&p);
}
END_TEST

START_TEST(test_peer_close_reads_as_end) {
    pair p;
    ck_assert_int_eq(pair_open(&p, 1), 0);
    char buf[64];
    ck_assert_int_eq(tlsio_recv(&p.r, p.srv.t, &p.srv.rx, p.srv.fd, buf, sizeof(buf)), 0);
    shutdown(p.cli.fd, SHUT_RDWR);
    until(&p.r, &p.srv.rx_done, NULL);
    ck_assert_int_eq(p.srv.rx_res, 0);
    ck_assert(!p.srv.rx.busy);
    pair_close(&p);
}
END_TEST

/* A unix socket closed with unread input resets its peer: the server's
 * next recv fails with ECONNRESET. That is a failure to report, not the
 * peer's orderly end, although OpenSSL (ignoring an unexpected EOF) sees
 * the same empty input in both cases. */
START_TEST(test_peer_reset_reads_as_error) {
    pair p;
    ck_assert_int_eq(pair_open(&p, 1), 0);
    drain(&p.r, &p.srv, &p.cli);
    ck_assert_int_eq(write(p.srv.fd, "unread", 6), 6);
    close(p.cli.fd);
    p.cli.fd = -1;
    char buf[64];
    ck_assert_int_eq(tlsio_recv(&p.r, p.srv.t, &p.srv.rx, p.srv.fd, buf, sizeof(buf)), 0);
    until(&p.r, &p.srv.rx_done, NULL);
    ck_assert_int_eq(p.srv.rx_res, -ECONNRESET);
    pair_close(&p);
}
END_TEST

/* The client hangs up before its hello: the server's handshake fails as
 * a closed connection, with a reason an operator can read. */
START_TEST(test_peer_close_during_handshake) {
    pair p;
    pair_init(&p, 1);
    ck_assert_int_eq(tlsio_handshake(&p.r, p.srv.t, &p.srv.hs, p.srv.fd), 0);
    shutdown(p.cli.fd, SHUT_RDWR);
    until(&p.r, &p.srv.hs_done, NULL);
    ck_assert_int_eq(p.srv.hs_res, -ECONNRESET);
    ck_assert_msg(strstr(tlsio_error(p.srv.t), "closed by peer during TLS handshake") != NULL,
                  "%s", tlsio_error(p.srv.t));
    pair_close(&p);
}
END_TEST

/* How callers close (tlsio.h): shutdown, then cancel by fd. A recv whose
 * input request is a RECV, and one whose input request is a NOP (the
 * session already holds plaintext; a NOP addresses no fd and is not
 * cancelled), both complete, and the session goes idle. */
START_TEST(test_shutdown_then_cancel_ends_a_pending_recv) {
    pair p;
    ck_assert_int_eq(pair_open(&p, 1), 0);
    char msg[100] = "plaintext the server takes ten bytes at a time", buf[10];
    struct iovec iov = {.iov_base = msg, .iov_len = sizeof(msg)};
    ck_assert_int_eq(tlsio_send(&p.r, p.cli.t, &p.cli.tx, p.cli.fd, &iov, 1), 0);
    until(&p.r, &p.cli.tx_done, NULL);
    ck_assert_int_eq(tlsio_recv(&p.r, p.srv.t, &p.srv.rx, p.srv.fd, buf, sizeof(buf)), 0);
    until(&p.r, &p.srv.rx_done, NULL);
    ck_assert_int_eq(p.srv.rx_res, (int)sizeof(buf));
    /* The rest is the session's: this recv is a NOP. */
    p.srv.rx_done = 0;
    ck_assert_int_eq(tlsio_recv(&p.r, p.srv.t, &p.srv.rx, p.srv.fd, buf, sizeof(buf)), 0);
    shutdown(p.srv.fd, SHUT_RDWR);
    ck_assert_int_eq(ring_prep_cancel_fd(&p.r, p.srv.fd), 0);
    until(&p.r, &p.srv.rx_done, NULL);
    drain(&p.r, &p.srv, &p.cli);
    /* Nothing pending in the session now: a RECV, cancelled or ended. */
    p.srv.rx_done = 0;
    do {
        ck_assert_int_eq(tlsio_recv(&p.r, p.srv.t, &p.srv.rx, p.srv.fd, buf, sizeof(buf)), 0);
        ck_assert_int_eq(ring_prep_cancel_fd(&p.r, p.srv.fd), 0);
        until(&p.r, &p.srv.rx_done, NULL);
        p.srv.rx_done = 0;
    } while (p.srv.rx_res > 0);
    ck_assert_int_le(p.srv.rx_res, 0);
    drain(&p.r, &p.srv, &p.cli);
    pair_close(&p);
}
END_TEST

START_TEST(test_untrusted_certificate_refused_with_reason) {
    pair p;
    int rc = pair_open(&p, 0);
    ck_assert_int_eq(rc, -EPROTO);
    ck_assert_msg(strstr(tlsio_error(p.cli.t), "certificate verify failed") != NULL, "%s",
                  tlsio_error(p.cli.t));
    ck_assert_int_lt(p.srv.hs_res, 0);
    pair_close(&p);
}
END_TEST

START_TEST(test_send_after_failure_is_refused) {
    pair p;
    ck_assert_int_eq(pair_open(&p, 1), 0);
    shutdown(p.srv.fd, SHUT_RDWR);
    /* The first send fails at the socket; every later one at once. */
    char big[4096] = {0};
    struct iovec iov = {.iov_base = big, .iov_len = sizeof(big)};
    int failed = 0;
    for (int i = 0; i < 50 && !failed; i++) {
        int rc = tlsio_send(&p.r, p.cli.t, &p.cli.tx, p.cli.fd, &iov, 1);
        if (rc < 0) {
            failed = 1;
            break;
        }
        until(&p.r, &p.cli.tx_done, NULL);
        p.cli.tx_done = 0;
        if (p.cli.tx_res < 0) failed = 1;
    }
    ck_assert(failed);
    ck_assert_int_lt(tlsio_send(&p.r, p.cli.t, &p.cli.tx, p.cli.fd, &iov, 1), 0);
    pair_close(&p);
}
END_TEST

static void no_setup(void) {}

int main(void) {
    const TTest *const tests[] = {test_handshake_and_both_directions,
                                         test_peer_close_reads_as_end,
                                         test_peer_reset_reads_as_error,
                                         test_peer_close_during_handshake,
                                         test_shutdown_then_cancel_ends_a_pending_recv,
                                         test_untrusted_certificate_refused_with_reason,
                                         test_send_after_failure_is_refused, NULL};
    return test_run_case("tlsio", tests, no_setup, no_setup, 60);
}
