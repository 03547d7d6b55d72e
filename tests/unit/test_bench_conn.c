/* test_bench_conn: ringmaster-bench's connection (bench/ringmaster-bench/
 * conn.c) against a small server on a thread of the test, plain and TLS.
 *
 * The server's socket takes 4 KB at a time (SO_RCVBUF) and it waits before
 * reading, so the client's megabytes of SETs fill the socket: flushes come
 * back unfinished (over TLS, SSL_write wanting the socket writable), the
 * poll loop the load threads use resumes them, and every byte arrives in
 * order; the megabyte replies come back in 16 KB reads. Verification:
 * a certificate signed by nobody the client trusts is refused with
 * OpenSSL's reason, trusted through --cacert it connects, --insecure
 * skips the check; a server that never answers times a command out. */
#include "conn.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/test_certs.h"
#include "tests/unit/test_support.h"

#define MB (1024 * 1024)

static EVP_PKEY *key, *other_key;
static X509 *cert, *other_cert;
static char cert_path[64], other_path[64];

static void write_pem(char *path, X509 *x) {
    strcpy(path, "/tmp/test_bench_conn-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_int_eq(PEM_write_X509(f, x), 1);
    fclose(f);
}

static void setup(void) {
    test_self_signed("bench-conn-test", &key, &cert);
    test_self_signed("somebody-else", &other_key, &other_cert);
    write_pem(cert_path, cert);
    write_pem(other_path, other_cert);
}

static void teardown(void) {
    unlink(cert_path);
    unlink(other_path);
    X509_free(cert);
    X509_free(other_cert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other_key);
}

/* ---- the server ------------------------------------------------------------ */

typedef struct fake_server {
    int lfd, port;
    SSL_CTX *ctx;      /* NULL: plain TCP */
    int delay_ms;      /* before the first read */
    size_t expect;     /* request bytes to read before answering */
    const char *reply; /* sent nreply times once they are in */
    size_t reply_len;
    int nreply;
    size_t got;
    pthread_t tid;
} fake_server;

static ssize_t srv_read(SSL *ssl, int fd, char *buf, size_t len) {
    return ssl ? SSL_read(ssl, buf, (int)len) : read(fd, buf, len);
}

static int srv_write_all(SSL *ssl, int fd, const char *buf, size_t len) {
    while (len) {
        ssize_t n = ssl ? SSL_write(ssl, buf, (int)len) : write(fd, buf, len);
        if (n <= 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *server_main(void *arg) {
    fake_server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    SSL *ssl = NULL;
    if (fd < 0) return NULL;
    if (s->ctx) {
        ssl = SSL_new(s->ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1) goto out; /* the client refused us */
    }
    usleep((useconds_t)s->delay_ms * 1000);
    char buf[65536];
    ssize_t n;
    while (s->got < s->expect && (n = srv_read(ssl, fd, buf, sizeof(buf))) > 0) s->got += (size_t)n;
    for (int i = 0; s->got >= s->expect && i < s->nreply; i++)
        if (srv_write_all(ssl, fd, s->reply, s->reply_len) < 0) break;
    while (srv_read(ssl, fd, buf, sizeof(buf)) > 0) {
    } /* until the client closes */
out:
    SSL_free(ssl);
    close(fd);
    return NULL;
}

static void server_start(fake_server *s, SSL_CTX *ctx) {
    s->ctx = ctx;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096; /* inherited by the accepted socket */
    setsockopt(s->lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(s->lfd, 4), 0);
    getsockname(s->lfd, (struct sockaddr *)&sa, &sl);
    s->port = ntohs(sa.sin_port);
    pthread_create(&s->tid, NULL, server_main, s);
}

static void server_join(fake_server *s) {
    pthread_join(s->tid, NULL);
    close(s->lfd);
}

static SSL_CTX *server_ctx(void) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    ck_assert_int_eq(SSL_CTX_use_certificate(ctx, cert), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
    return ctx;
}

/* The client's context as the bench makes it from its options. */
static SSL_CTX *client_ctx(const char *cacert, int insecure) {
    rmb_opts o;
    memset(&o, 0, sizeof(o));
    o.tls = 1;
    o.cacert = cacert;
    o.insecure = insecure;
    char err[256];
    SSL_CTX *ctx = rmb_tls_context(&o, err, sizeof(err));
    ck_assert_msg(ctx != NULL, "%s", err);
    return ctx;
}

static rmb_conn *open_to(const fake_server *s, SSL_CTX *ctx, double timeout, char *err, size_t len) {
    rmb_addr a = {.host = "127.0.0.1", .port = s->port};
    return rmb_conn_open(&a, ctx, NULL, timeout, err, len);
}

/* ---- the tests ------------------------------------------------------------- */

/* Eight 1 MB SETs against a server that holds back, then eight 1 MB
 * replies, driven as load.c drives its connections. */
static void pipeline_through_a_full_socket(SSL_CTX *cctx, SSL_CTX *sctx) {
    enum { N = 8 };
    char *value = malloc(MB), *reply = malloc(MB + 32);
    memset(value, 'v', MB);
    int hdr = snprintf(reply, 32, "$%d\r\n", MB);
    memset(reply + hdr, 'r', MB);
    memcpy(reply + hdr + MB, "\r\n", 2);
    fake_server s = {.delay_ms = 300, .reply = reply, .reply_len = (size_t)hdr + MB + 2, .nreply = N};
    server_start(&s, sctx);
    char err[256];
    rmb_conn *c = open_to(&s, cctx, 10, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    for (int i = 0; i < N; i++) {
        int len = rmb_conn_append(c, "SET key:%d %b", i, value, (size_t)MB);
        ck_assert_int_gt(len, MB);
        s.expect += (size_t)len;
    }
    int unfinished = 0, replies = 0;
    while (replies < N) {
        int f = rmb_conn_flush(c);
        ck_assert_msg(f >= 0, "%s", rmb_conn_error(c));
        unfinished += f == 0;
        struct pollfd p = {rmb_conn_fd(c), rmb_conn_events(c, 1), 0};
        ck_assert_int_ge(poll(&p, 1, rmb_conn_buffered(c) ? 0 : 5000), 0);
        int ready = rmb_conn_ready(c, p.revents);
        if (ready & RMB_CONN_WRITE) ck_assert_int_ge(rmb_conn_flush(c), 0);
        if (!(ready & RMB_CONN_READ)) continue;
        ck_assert_msg(rmb_conn_read(c) == 0, "%s", rmb_conn_error(c));
        redisReply *r;
        while (rmb_conn_reply(c, &r) == 0 && r) {
            ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
            ck_assert_uint_eq(r->len, MB);
            ck_assert(r->str[0] == 'r' && r->str[MB - 1] == 'r');
            freeReplyObject(r);
            replies++;
        }
    }
    /* The socket did fill: a flush left bytes (over TLS, only when
     * SSL_write wanted the socket writable). */
    ck_assert_int_gt(unfinished, 0);
    ck_assert_uint_eq(rmb_conn_unsent(c), 0);
    rmb_conn_close(c);
    server_join(&s);
    ck_assert_uint_eq(s.got, s.expect);
    free(value);
    free(reply);
}

START_TEST(test_plain_pipeline_through_full_socket) { pipeline_through_a_full_socket(NULL, NULL); }
END_TEST

START_TEST(test_tls_pipeline_through_full_socket) {
    SSL_CTX *sctx = server_ctx(), *cctx = client_ctx(cert_path, 0);
    pipeline_through_a_full_socket(cctx, sctx);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}
END_TEST

/* One PING through rmb_conn_command, or the error opening failed with. */
static void ping(SSL_CTX *cctx, char *err, size_t len, int *ok) {
    SSL_CTX *sctx = server_ctx();
    fake_server s = {.expect = 14, .reply = "+PONG\r\n", .reply_len = 7, .nreply = 1};
    server_start(&s, sctx);
    rmb_conn *c = open_to(&s, cctx, 5, err, len);
    *ok = 0;
    if (c) {
        redisReply *r = rmb_conn_command(c, "PING");
        ck_assert_msg(r != NULL, "%s", rmb_conn_error(c));
        *ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        freeReplyObject(r);
        rmb_conn_close(c);
    }
    server_join(&s);
    SSL_CTX_free(sctx);
}

START_TEST(test_verification) {
    char err[256];
    int ok;
    SSL_CTX *untrusting = client_ctx(other_path, 0);
    ping(untrusting, err, sizeof(err), &ok);
    ck_assert_int_eq(ok, 0);
    ck_assert_str_eq(err, "TLS handshake failed: certificate verify failed: self-signed certificate");
    SSL_CTX *trusting = client_ctx(cert_path, 0);
    ping(trusting, err, sizeof(err), &ok);
    ck_assert_int_eq(ok, 1);
    SSL_CTX *insecure = client_ctx(other_path, 1);
    ping(insecure, err, sizeof(err), &ok);
    ck_assert_int_eq(ok, 1);
    SSL_CTX_free(untrusting);
    SSL_CTX_free(trusting);
    SSL_CTX_free(insecure);
}
END_TEST

START_TEST(test_command_times_out) {
    /* The server reads the PING and waits for bytes that never come. */
    fake_server s = {.expect = 1000};
    server_start(&s, NULL);
    char err[256];
    rmb_conn *c = open_to(&s, NULL, 0.3, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_ptr_null(rmb_conn_command(c, "PING"));
    ck_assert_str_eq(rmb_conn_error(c), "timed out after 0.3 s");
    rmb_conn_close(c);
    server_join(&s);
}
END_TEST

START_TEST(test_bad_files_named_with_reason) {
    rmb_opts o;
    memset(&o, 0, sizeof(o));
    o.tls = 1;
    o.cacert = "/nonexistent/ca.crt";
    char err[256];
    ck_assert_ptr_null(rmb_tls_context(&o, err, sizeof(err)));
    ck_assert_str_eq(err, "--cacert /nonexistent/ca.crt: No such file or directory");
    o.cacert = cert_path;
    o.cert = cert_path;
    o.key = other_path; /* a certificate, not a key */
    ck_assert_ptr_null(rmb_tls_context(&o, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "--key "));
}
END_TEST

int main(void) {
    const TTest *const tests[] = {test_plain_pipeline_through_full_socket,
                                  test_tls_pipeline_through_full_socket, test_verification,
                                  test_command_times_out, test_bad_files_named_with_reason, NULL};
    return test_run_case("bench_conn", tests, setup, teardown, 60);
}
