/* tlsio: OpenSSL over io_uring (see tlsio.h).
 *
 * The BIO. A custom source/sink BIO whose write appends to `pend` and
 * whose read takes from `in`; it never refuses a write and asks for a
 * retry on a read only when `in` is empty and the peer has not closed.
 * So SSL_write always completes at once (encrypting into `pend`), and
 * SSL_read and the handshake wait only for ciphertext: "want read" means
 * "post a RECV".
 *
 * Copies. Sending: the cipher reads the caller's plaintext where it lies
 * (backlog blocks, a mapped RDB file) and writes ciphertext into `pend`;
 * the kernel copies that to the socket. Receiving: the kernel writes the
 * ciphertext into `in`, OpenSSL copies a record into its own buffer
 * (BIO_read) and decrypts into the caller's buffer. That one extra copy
 * of the received ciphertext is OpenSSL's record layer and cannot be
 * avoided with a BIO.
 *
 * Output buffers. `pend` collects what OpenSSL writes while `infl` is the
 * kernel's (one SEND at a time); when `infl` is all sent the two swap, so
 * OpenSSL never writes into memory a SEND is reading, and neither buffer
 * is reallocated while the kernel holds it.
 *
 * Completions. A caller's request completes from the completion of one of
 * ours, always as the last thing that completion does: the caller's done
 * may free the tlsio (once tlsio_busy is 0). When one of our requests
 * completes and no caller's request with it (a flush of an alert, of a
 * TLS 1.3 key update), the idle callback runs instead, so a caller waiting
 * for tlsio_busy to fall learns it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/mem.h"
#include "io/tlsio.h"

#define TLSIO_IN_CAP (64 * 1024) /* ciphertext received: four full records */

struct tlsio {
    SSL *ssl;
    ring *r;
    int fd;

    /* Ciphertext received, not yet taken by OpenSSL: in[in_pos, in_len). */
    char *in;
    size_t in_pos, in_len;
    int in_eof;  /* the peer closed its side */
    int in_err;  /* a recv failed: its -errno */
    int starved; /* OpenSSL wanted more than `in` holds: the next read waits for a recv */
    int in_nop;  /* in_req is a NOP (deliver what is here), not a RECV */
    ring_req in_req;

    /* Ciphertext to send: OpenSSL appends to pend; infl is the kernel's. */
    char *pend, *infl;
    size_t pend_len, pend_cap, infl_len, infl_off, infl_cap;
    unsigned long long produced, sent; /* ciphertext bytes, all time */
    int out_err;                       /* a send failed: its -errno, for every later send */
    ring_req out_req;

    /* The caller's send: completes once `sent` reaches send_mark. */
    ring_req *send_user;
    size_t send_plain;
    unsigned long long send_mark;

    /* The caller's recv or handshake. */
    ring_req *recv_user;
    char *recv_buf;
    size_t recv_len;
    int recv_hs;

    void (*idle_cb)(void *);
    void *idle_arg;
    char err[256];
};

/* ---- the BIO ------------------------------------------------------------ */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void pend_reserve(tlsio *t, size_t more) {
    if (t->pend_len + more <= t->pend_cap) return;
    size_t cap = t->pend_cap ? t->pend_cap : 16 * 1024;
    while (cap < t->pend_len + more) cap *= 2;
    t->pend = mem_realloc(t->pend, cap);
    t->pend_cap = cap;
}

static int bio_write(BIO *b, const char *data, int len) {
    tlsio *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0) return 0;
    pend_reserve(t, (size_t)len);
    memcpy(t->pend + t->pend_len, data, (size_t)len);
    t->pend_len += (size_t)len;
    t->produced += (unsigned long long)len;
    return len;
}

static int bio_read(BIO *b, char *buf, int len) {
    tlsio *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t have = t->in_len - t->in_pos;
    if (have == 0) {
        if (t->in_eof || t->in_err) return 0;
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = (size_t)len < have ? (size_t)len : have;
    memcpy(buf, t->in + t->in_pos, n);
    t->in_pos += n;
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)num;
    (void)ptr;
    tlsio *t = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_DUP:
        return 1;
    case BIO_CTRL_PENDING:
        return t ? (long)(t->in_len - t->in_pos) : 0;
    case BIO_CTRL_EOF:
        return t && t->in_pos == t->in_len && (t->in_eof || t->in_err);
    default:
        return 0;
    }
}

static int bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static int bio_destroy(BIO *b) {
    BIO_set_data(b, NULL);
    return 1;
}

static void bio_method_init(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ringmaster-tlsio");
    if (!m) return;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    BIO_meth_set_destroy(m, bio_destroy);
    bio_method = m;
}

/* ---- lifetime ----------------------------------------------------------- */

static void on_out(ring *r, ring_req *req, int res, uint32_t flags);
static void on_in(ring *r, ring_req *req, int res, uint32_t flags);

tlsio *tlsio_new(SSL *ssl) {
    pthread_once(&bio_once, bio_method_init);
    BIO *bio = bio_method ? BIO_new(bio_method) : NULL;
    if (!bio) {
        SSL_free(ssl);
        return NULL;
    }
    tlsio *t = mem_calloc(sizeof(*t));
    t->ssl = ssl;
    t->fd = -1;
    t->in = mem_alloc(TLSIO_IN_CAP);
    BIO_set_data(bio, t);
    /* One BIO for both directions: SSL_set_bio takes the one reference,
     * and frees the socket BIO a keyspace-side handshake used (created
     * with BIO_NOCLOSE by SSL_set_fd: the socket stays open). */
    SSL_set_bio(ssl, bio, bio);
    ring_req_init(&t->out_req, on_out, t);
    ring_req_init(&t->in_req, on_in, t);
    return t;
}

void tlsio_free(tlsio *t) {
    if (!t) return;
    SSL_free(t->ssl);
    ERR_clear_error();
    mem_free(t->in);
    mem_free(t->pend);
    mem_free(t->infl);
    mem_free(t);
}

int tlsio_busy(const tlsio *t) { return t && (t->out_req.busy || t->in_req.busy); }

void tlsio_set_idle_cb(tlsio *t, void (*cb)(void *), void *arg) {
    t->idle_cb = cb;
    t->idle_arg = arg;
}

const char *tlsio_error(const tlsio *t) { return t->err; }

int tlsio_ktls_available(void) {
    char buf[256];
    int fd = open("/proc/sys/net/ipv4/tcp_available_ulp", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    for (char *w = strtok(buf, " \n"); w; w = strtok(NULL, " \n"))
        if (strcmp(w, "tls") == 0) return 1;
    return 0;
}

/* OpenSSL's reason for the last failure, with the certificate check's
 * verdict when that is what failed. */
static void record_error(tlsio *t, int code) {
    char e[200] = "";
    unsigned long ev = ERR_get_error();
    if (ev) ERR_error_string_n(ev, e, sizeof(e));
    else if (code == SSL_ERROR_SYSCALL) snprintf(e, sizeof(e), "Connection closed by peer");
    else snprintf(e, sizeof(e), "TLS error %d", code);
    long v = SSL_get_verify_result(t->ssl);
    if (v != X509_V_OK)
        snprintf(t->err, sizeof(t->err), "%s (certificate: %s)", e,
                 X509_verify_cert_error_string(v));
    else
        snprintf(t->err, sizeof(t->err), "%s", e);
    ERR_clear_error();
}

/* ---- output ------------------------------------------------------------- */

static int out_pump(tlsio *t) {
    if (t->out_req.busy || t->out_err) return 0;
    if (t->infl_off == t->infl_len) {
        if (t->pend_len == 0) return 0;
        char *p = t->infl;
        size_t cap = t->infl_cap;
        t->infl = t->pend;
        t->infl_cap = t->pend_cap;
        t->infl_len = t->pend_len;
        t->infl_off = 0;
        t->pend = p;
        t->pend_cap = cap;
        t->pend_len = 0;
    }
    int rc = ring_prep_send(t->r, &t->out_req, t->fd, t->infl + t->infl_off,
                            t->infl_len - t->infl_off, 0);
    if (rc < 0) t->out_err = rc;
    return rc;
}

static void complete(tlsio *t, ring_req **slot, int res) {
    ring_req *u = *slot;
    *slot = NULL;
    u->busy = 0;
    u->done(t->r, u, res, 0);
}

static void on_out(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    tlsio *t = req->data;
    if (res <= 0) {
        t->out_err = res < 0 ? res : -EPIPE;
    } else {
        t->sent += (unsigned long long)res;
        t->infl_off += (size_t)res;
        out_pump(t);
    }
    if (t->send_user && (t->out_err || t->sent >= t->send_mark)) {
        complete(t, &t->send_user, t->out_err ? t->out_err : (int)t->send_plain);
        return;
    }
    if (!tlsio_busy(t) && t->idle_cb) t->idle_cb(t->idle_arg);
}

int tlsio_send(ring *r, tlsio *t, ring_req *req, int fd, const struct iovec *iov, int niov) {
    if (req->busy || t->send_user) return -EALREADY;
    if (t->out_err) return t->out_err;
    t->r = r;
    t->fd = fd;
    /* SSL_write stops after each record when the context allows partial
     * writes: write on until the chunk is all taken. */
    size_t taken = 0;
    for (int i = 0; i < niov && taken < TLSIO_SEND_MAX; i++) {
        size_t n = iov[i].iov_len;
        if (n > TLSIO_SEND_MAX - taken) n = TLSIO_SEND_MAX - taken;
        const char *p = iov[i].iov_base;
        for (size_t off = 0; off < n;) {
            ERR_clear_error();
            int w = SSL_write(t->ssl, p + off, (int)(n - off));
            if (w <= 0) {
                record_error(t, SSL_get_error(t->ssl, w));
                if (taken == 0) return -EPROTO;
                goto written;
            }
            off += (size_t)w;
            taken += (size_t)w;
        }
    }
written:
    if (taken == 0) return -EINVAL;
    t->send_user = req;
    t->send_plain = taken;
    t->send_mark = t->produced;
    req->kind = RING_REQ_OP;
    req->busy = 1;
    int rc = out_pump(t);
    if (rc < 0) {
        t->send_user = NULL;
        req->busy = 0;
        return rc;
    }
    return 0;
}

/* ---- input -------------------------------------------------------------- */

/* Post what delivers the next input: a NOP when what is here may already
 * be enough, else a RECV into `in`. */
static int in_arm(tlsio *t) {
    int ready = t->in_eof || t->in_err ||
                (!t->starved && (t->in_pos < t->in_len || SSL_pending(t->ssl) > 0));
    if (ready) {
        t->in_nop = 1;
        return ring_prep_nop(t->r, &t->in_req);
    }
    if (t->in_pos > 0) {
        memmove(t->in, t->in + t->in_pos, t->in_len - t->in_pos);
        t->in_len -= t->in_pos;
        t->in_pos = 0;
    }
    t->in_nop = 0;
    return ring_prep_recv(t->r, &t->in_req, t->fd, t->in + t->in_len, TLSIO_IN_CAP - t->in_len, 0);
}

/* Every byte received has been handed to OpenSSL and the socket said no
 * more will come: the peer closed (in_eof) or the recv failed (in_err). */
static int input_over(const tlsio *t) {
    return t->in_pos == t->in_len && (t->in_eof || t->in_err);
}

/* The handshake ended because the input did. With
 * SSL_OP_IGNORE_UNEXPECTED_EOF OpenSSL reports that end as a close_notify
 * (SSL_ERROR_ZERO_RETURN, "TLS error 6" if logged as is), and it cannot
 * tell a closed socket from a failed recv: say which it was. */
static int handshake_cut(tlsio *t) {
    ERR_clear_error();
    if (t->in_err) {
        snprintf(t->err, sizeof(t->err), "connection lost during TLS handshake: %s",
                 strerror(-t->in_err));
        return t->in_err;
    }
    snprintf(t->err, sizeof(t->err), "connection closed by peer during TLS handshake");
    return -ECONNRESET;
}

/* The handshake, one step: 1 done, 0 waiting (armed), < 0 failed. */
static int handshake_step(tlsio *t) {
    ERR_clear_error();
    int rc = SSL_do_handshake(t->ssl);
    int code = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, rc);
    int sent = out_pump(t);
    if (rc == 1) return sent < 0 ? sent : 1;
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
        if (t->in_eof || t->in_err) return handshake_cut(t);
        t->starved = 1;
        int arm = in_arm(t);
        return arm < 0 ? arm : 0;
    }
    /* A protocol failure (SSL_ERROR_SSL) keeps OpenSSL's reason even when
     * the peer closed right after its alert. */
    if ((code == SSL_ERROR_ZERO_RETURN || code == SSL_ERROR_SYSCALL) && input_over(t))
        return handshake_cut(t);
    record_error(t, code);
    return -EPROTO;
}

/* A read, one step: > 0 plaintext, 0 closed, -EAGAIN armed, < 0 failed. */
static int read_step(tlsio *t) {
    ERR_clear_error();
    size_t len = t->recv_len > INT_MAX ? INT_MAX : t->recv_len;
    int n = SSL_read(t->ssl, t->recv_buf, (int)len);
    int code = n > 0 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, n);
    out_pump(t); /* a read may answer the peer (a key update, an alert) */
    if (n > 0) return n;
    /* With SSL_OP_IGNORE_UNEXPECTED_EOF a failed recv (ECONNRESET) also
     * reads as a close_notify: once the input is all taken, the recv's
     * error is the answer, not an orderly end. */
    if (code == SSL_ERROR_ZERO_RETURN) return input_over(t) && t->in_err ? t->in_err : 0;
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
        if (t->in_err) return t->in_err;
        if (t->in_eof) return 0;
        t->starved = 1;
        int arm = in_arm(t);
        return arm < 0 ? arm : -EAGAIN;
    }
    if (input_over(t)) {
        /* The peer closed without close_notify: an end, as on plain TCP;
         * or the recv failed, and that is the reason. */
        ERR_clear_error();
        return t->in_err;
    }
    record_error(t, code);
    return -EPROTO;
}

static void on_in(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)r;
    (void)flags;
    tlsio *t = req->data;
    if (!t->in_nop) {
        if (res > 0) {
            t->in_len += (size_t)res;
            t->starved = 0;
        } else if (res == 0) {
            t->in_eof = 1;
        } else {
            t->in_err = res;
        }
    }
    if (!t->recv_user) {
        if (!tlsio_busy(t) && t->idle_cb) t->idle_cb(t->idle_arg);
        return;
    }
    int rc = t->recv_hs ? handshake_step(t) : read_step(t);
    if (t->recv_hs ? rc == 0 : rc == -EAGAIN) return; /* armed again */
    if (t->recv_hs && rc == 1) rc = 0;
    complete(t, &t->recv_user, rc);
}

static int start_input(ring *r, tlsio *t, ring_req *req, int fd, void *buf, size_t len, int hs) {
    if (req->busy || t->recv_user || t->in_req.busy) return -EALREADY;
    t->r = r;
    t->fd = fd;
    t->recv_buf = buf;
    t->recv_len = len;
    t->recv_hs = hs;
    /* Through the ring even when the answer is already here (a NOP): the
     * caller's done never runs inside its own call. A handshake starts with
     * a step of ours (a client's first step writes its hello). */
    int rc;
    if (hs) {
        t->in_nop = 1;
        rc = ring_prep_nop(r, &t->in_req);
    } else {
        rc = in_arm(t);
    }
    if (rc < 0) return rc;
    t->recv_user = req;
    req->kind = RING_REQ_OP;
    req->busy = 1;
    return 0;
}

int tlsio_recv(ring *r, tlsio *t, ring_req *req, int fd, void *buf, size_t len) {
    if (len == 0) return -EINVAL;
    return start_input(r, t, req, fd, buf, len, 0);
}

int tlsio_handshake(ring *r, tlsio *t, ring_req *req, int fd) {
    return start_input(r, t, req, fd, NULL, 0, 1);
}
