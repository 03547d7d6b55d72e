/* conn: see conn.h. */
#include "conn.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK (16 * 1024) /* what hiredis reads at a time */

struct rmb_conn {
    int fd;
    SSL *ssl;                /* NULL over plain TCP */
    int read_wants_write;    /* SSL_read last asked for a writable socket */
    int write_wants_read;    /* SSL_write last asked for a readable socket */
    redisReader *reader;
    char *out;               /* formatted commands; [out_pos, out_len) unsent */
    size_t out_pos, out_len, out_cap;
    int timeout_ms;
    char err[256];
};

/* ---- OpenSSL's reasons ---------------------------------------------------- */

/* The oldest error on this thread's OpenSSL queue, or `fallback`. */
static const char *ssl_reason(char *buf, size_t len, const char *fallback) {
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (e && ERR_SYSTEM_ERROR(e)) { /* a file that cannot be opened: its errno */
        snprintf(buf, len, "%s", strerror(ERR_GET_REASON(e)));
        r = buf;
    } else if (e && !r) {
        ERR_error_string_n(e, buf, len);
        r = buf;
    }
    ERR_clear_error();
    return r ? r : fallback;
}

/* An SSL call failed with code (SSL_get_error): say why in c->err. A
 * certificate that did not verify gets the check that failed. */
static void ssl_failed(rmb_conn *c, int code, const char *during) {
    char buf[200];
    unsigned long e = ERR_peek_error();
    if (code == SSL_ERROR_ZERO_RETURN) {
        snprintf(c->err, sizeof(c->err), "Server closed the connection");
    } else if (code == SSL_ERROR_SYSCALL && !e) {
        snprintf(c->err, sizeof(c->err), "%s: %s", during,
                 errno ? strerror(errno) : "Server closed the connection");
    } else if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        snprintf(c->err, sizeof(c->err), "%s: certificate verify failed: %s", during,
                 X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
    } else {
        snprintf(c->err, sizeof(c->err), "%s: %s", during, ssl_reason(buf, sizeof(buf), "TLS error"));
    }
    ERR_clear_error();
}

SSL_CTX *rmb_tls_context(const rmb_opts *o, char *err, size_t len) {
    char buf[200];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    const char *what = NULL, *arg = NULL;
    if (!ctx) {
        snprintf(err, len, "TLS: %s", ssl_reason(buf, sizeof(buf), "cannot create a context"));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, o->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    if (o->cacert || o->cacertdir) {
        if (!SSL_CTX_load_verify_locations(ctx, o->cacert, o->cacertdir))
            what = o->cacert ? "--cacert" : "--cacertdir", arg = o->cacert ? o->cacert : o->cacertdir;
    } else if (!SSL_CTX_set_default_verify_paths(ctx)) {
        what = "the system's CA certificates", arg = "";
    }
    if (!what && o->cert && !SSL_CTX_use_certificate_chain_file(ctx, o->cert))
        what = "--cert", arg = o->cert;
    if (!what && o->key && !SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM))
        what = "--key", arg = o->key;
    if (!what && o->key && !SSL_CTX_check_private_key(ctx))
        what = "--key", arg = o->key;
    if (!what && o->ciphers && !SSL_CTX_set_cipher_list(ctx, o->ciphers))
        what = "--tls-ciphers", arg = o->ciphers;
    if (!what && o->ciphersuites && !SSL_CTX_set_ciphersuites(ctx, o->ciphersuites))
        what = "--tls-ciphersuites", arg = o->ciphersuites;
    if (what) {
        snprintf(err, len, "%s %s: %s", what, arg, ssl_reason(buf, sizeof(buf), "rejected by OpenSSL"));
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* ---- waiting -------------------------------------------------------------- */

/* Poll c's socket for events, at most the connection's timeout: 0 when it
 * is ready, -1 with c->err (prefixed with `during`) on a timeout or an
 * error. */
static int wait_fd(rmb_conn *c, short events, const char *during) {
    struct pollfd p = {c->fd, events, 0};
    int n;
    while ((n = poll(&p, 1, c->timeout_ms)) < 0 && errno == EINTR) {
    }
    if (n > 0) return 0;
    if (n == 0)
        snprintf(c->err, sizeof(c->err), "%stimed out after %.1f s", during, c->timeout_ms / 1000.0);
    else snprintf(c->err, sizeof(c->err), "%spoll: %s", during, strerror(errno));
    return -1;
}

/* ---- connecting ----------------------------------------------------------- */

static int connect_addr(rmb_conn *c, const struct addrinfo *ai) {
    c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (c->fd < 0) return snprintf(c->err, sizeof(c->err), "socket: %s", strerror(errno)), -1;
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS)
            return snprintf(c->err, sizeof(c->err), "%s", strerror(errno)), -1;
        if (wait_fd(c, POLLOUT, "connect: ") < 0) return -1;
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) return snprintf(c->err, sizeof(c->err), "%s", strerror(soerr)), -1;
    }
    int one = 1; /* as hiredis does: requests go out when written */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

/* IPv4 addresses first, IPv6 when the name has none: what hiredis does,
 * so "localhost" means 127.0.0.1 as it did. */
static int connect_tcp(rmb_conn *c, const rmb_addr *a) {
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res, *ai;
    char port[16];
    snprintf(port, sizeof(port), "%d", a->port);
    int rc = getaddrinfo(a->host, port, &hints, &res);
    if (rc) {
        hints.ai_family = AF_INET6;
        rc = getaddrinfo(a->host, port, &hints, &res);
    }
    if (rc) return snprintf(c->err, sizeof(c->err), "%s", gai_strerror(rc)), -1;
    for (ai = res; ai; ai = ai->ai_next) {
        if (connect_addr(c, ai) == 0) break;
        if (c->fd >= 0) close(c->fd);
        c->fd = -1;
    }
    freeaddrinfo(res);
    return c->fd >= 0 ? 0 : -1;
}

/* The usual mistake behind a handshake that times out (a plaintext port
 * reads the ClientHello as the start of an inline command and waits for
 * its end) or gets "wrong version number" (it answered in RESP). */
static void hint_tls_port(rmb_conn *c, const rmb_addr *a) {
    size_t n = strlen(c->err);
    snprintf(c->err + n, sizeof(c->err) - n, " (is %d the server's tls-port?)", a->port);
}

static int handshake(rmb_conn *c, const rmb_addr *a, SSL_CTX *tls, const char *sni) {
    c->ssl = SSL_new(tls);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || (sni && !SSL_set_tlsext_host_name(c->ssl, sni))) {
        char buf[200];
        snprintf(c->err, sizeof(c->err), "TLS setup: %s", ssl_reason(buf, sizeof(buf), "failed"));
        return -1;
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int rc = SSL_connect(c->ssl);
        if (rc == 1) return 0;
        int code = SSL_get_error(c->ssl, rc);
        if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(c, code == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, "TLS handshake: ") == 0)
                continue;
            hint_tls_port(c, a);
            return -1;
        }
        int plaintext = ERR_GET_REASON(ERR_peek_error()) == SSL_R_WRONG_VERSION_NUMBER;
        ssl_failed(c, code, "TLS handshake failed");
        if (plaintext) hint_tls_port(c, a);
        return -1;
    }
}

rmb_conn *rmb_conn_open(const rmb_addr *a, SSL_CTX *tls, const char *sni, double timeout,
                        char *err, size_t len) {
    rmb_conn *c = calloc(1, sizeof(*c));
    if (!c || !(c->reader = redisReaderCreate())) {
        snprintf(err, len, "out of memory");
        free(c);
        return NULL;
    }
    c->fd = -1;
    c->timeout_ms = (int)(timeout * 1000);
    if (connect_tcp(c, a) < 0 || (tls && handshake(c, a, tls, sni) < 0)) {
        snprintf(err, len, "%s", c->err);
        rmb_conn_close(c);
        return NULL;
    }
    return c;
}

void rmb_conn_close(rmb_conn *c) {
    if (!c) return;
    if (c->ssl) SSL_free(c->ssl); /* no close_notify: the servers do not need one */
    if (c->fd >= 0) close(c->fd);
    redisReaderFree(c->reader);
    free(c->out);
    free(c);
}

int rmb_conn_fd(const rmb_conn *c) { return c->fd; }

const char *rmb_conn_error(const rmb_conn *c) { return c->err; }

/* ---- output ----------------------------------------------------------------- */

static int append_formatted(rmb_conn *c, const char *cmd, size_t len) {
    if (c->out_pos == c->out_len) c->out_pos = c->out_len = 0;
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len) cap *= 2;
        char *out = realloc(c->out, cap);
        if (!out) return snprintf(c->err, sizeof(c->err), "out of memory"), -1;
        c->out = out;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, cmd, len);
    c->out_len += len;
    return 0;
}

static int vappend(rmb_conn *c, const char *fmt, va_list ap) {
    char *cmd;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    if (len < 0) return snprintf(c->err, sizeof(c->err), "cannot format a command"), -1;
    int rc = append_formatted(c, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return rc < 0 ? -1 : len;
}

int rmb_conn_append(rmb_conn *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int len = vappend(c, fmt, ap);
    va_end(ap);
    return len;
}

size_t rmb_conn_unsent(const rmb_conn *c) { return c->out_len - c->out_pos; }

/* A write the peer reset: a server that refuses the client (TLS 1.3
 * tells a client without the certificate it wants only after the
 * handshake) sent an alert and closed, and the alert waits unread before
 * the reset. One read, on a connection that is given up anyway, turns it
 * into c->err; 0 when there was none. */
static int peer_alert(rmb_conn *c) {
    char buf[64];
    int saved = errno;
    ERR_clear_error();
    int n = SSL_read(c->ssl, buf, sizeof(buf));
    if (n <= 0 && SSL_get_error(c->ssl, n) == SSL_ERROR_SSL) {
        ssl_failed(c, SSL_ERROR_SSL, "TLS read");
        return 1;
    }
    ERR_clear_error();
    errno = saved;
    return 0;
}

/* One write, as hiredis's redisBufferWrite: n bytes taken, 0 when the
 * socket is full, -1 on an error. */
static ssize_t write_some(rmb_conn *c) {
    size_t left = rmb_conn_unsent(c);
    if (!c->ssl) {
        ssize_t n = write(c->fd, c->out + c->out_pos, left);
        if (n >= 0) return n;
        if (errno == EAGAIN || errno == EINTR) return 0;
        snprintf(c->err, sizeof(c->err), "%s", strerror(errno));
        return -1;
    }
    ERR_clear_error();
    errno = 0;
    int n = SSL_write(c->ssl, c->out + c->out_pos, left > INT32_MAX ? INT32_MAX : (int)left);
    int code = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);
    c->write_wants_read = code == SSL_ERROR_WANT_READ;
    if (n > 0) return n;
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return 0;
    if (code == SSL_ERROR_SYSCALL && peer_alert(c)) return -1;
    ssl_failed(c, code, "TLS write");
    return -1;
}

int rmb_conn_flush(rmb_conn *c) {
    if (!rmb_conn_unsent(c)) return 1;
    /* SSL_write in partial-write mode returns after each record: go on
     * until the socket is full, as one plain write() does. */
    ssize_t n;
    do {
        if ((n = write_some(c)) < 0) return -1;
        c->out_pos += (size_t)n;
    } while (c->ssl && n > 0 && c->out_pos < c->out_len);
    if (c->out_pos == c->out_len) {
        c->out_pos = c->out_len = 0;
        return 1;
    }
    if (c->out_pos > c->out_cap / 2) { /* keep the buffer from creeping */
        memmove(c->out, c->out + c->out_pos, c->out_len - c->out_pos);
        c->out_len -= c->out_pos;
        c->out_pos = 0;
    }
    return 0;
}

/* ---- input ------------------------------------------------------------------ */

static int feed(rmb_conn *c, const char *buf, size_t n) {
    if (redisReaderFeed(c->reader, buf, n) == REDIS_OK) return 0;
    snprintf(c->err, sizeof(c->err), "protocol error: %s", c->reader->errstr);
    return -1;
}

static int read_plain(rmb_conn *c) {
    char buf[READ_CHUNK];
    ssize_t n = read(c->fd, buf, sizeof(buf));
    if (n > 0) return feed(c, buf, (size_t)n);
    if (n == 0) return snprintf(c->err, sizeof(c->err), "Server closed the connection"), -1;
    if (errno == EAGAIN || errno == EINTR) return 0;
    snprintf(c->err, sizeof(c->err), "%s", strerror(errno));
    return -1;
}

/* Until OpenSSL wants the socket again: nothing stays decrypted and
 * unseen while the caller sleeps in poll. */
static int read_tls(rmb_conn *c) {
    char buf[READ_CHUNK];
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(c->ssl, buf, sizeof(buf));
        int code = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);
        c->read_wants_write = code == SSL_ERROR_WANT_WRITE;
        if (n > 0) {
            if (feed(c, buf, (size_t)n) < 0) return -1;
            continue;
        }
        if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return 0;
        ssl_failed(c, code, "TLS read");
        return -1;
    }
}

int rmb_conn_read(rmb_conn *c) { return c->ssl ? read_tls(c) : read_plain(c); }

int rmb_conn_reply(rmb_conn *c, redisReply **reply) {
    void *r = NULL;
    *reply = NULL;
    if (redisReaderGetReply(c->reader, &r) != REDIS_OK) {
        snprintf(c->err, sizeof(c->err), "protocol error: %s", c->reader->errstr);
        return -1;
    }
    *reply = r;
    return 0;
}

/* ---- polling ---------------------------------------------------------------- */

short rmb_conn_events(const rmb_conn *c, int want_read) {
    short ev = 0;
    if (want_read) ev |= c->read_wants_write ? POLLOUT : POLLIN;
    if (rmb_conn_unsent(c)) ev |= c->write_wants_read ? POLLIN : POLLOUT;
    return ev;
}

int rmb_conn_buffered(const rmb_conn *c) { return c->ssl && SSL_pending(c->ssl) > 0; }

int rmb_conn_ready(const rmb_conn *c, short revents) {
    int what = 0;
    short rd = c->read_wants_write ? POLLOUT : POLLIN;
    short wr = c->write_wants_read ? POLLIN : POLLOUT;
    /* An error or a hangup is found out by reading. */
    if ((revents & (rd | POLLERR | POLLHUP)) || rmb_conn_buffered(c)) what |= RMB_CONN_READ;
    if (rmb_conn_unsent(c) && (revents & wr)) what |= RMB_CONN_WRITE;
    return what;
}

/* ---- request and reply ------------------------------------------------------ */

static redisReply *await_reply(rmb_conn *c) {
    redisReply *r;
    for (;;) {
        int flushed = rmb_conn_flush(c);
        if (flushed < 0) return NULL;
        if (rmb_conn_reply(c, &r) < 0) return NULL;
        if (r) return r;
        if (!rmb_conn_buffered(c) && wait_fd(c, rmb_conn_events(c, 1), "") < 0) return NULL;
        if (rmb_conn_read(c) < 0) return NULL;
    }
}

redisReply *rmb_conn_command(rmb_conn *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int len = vappend(c, fmt, ap);
    va_end(ap);
    return len < 0 ? NULL : await_reply(c);
}
