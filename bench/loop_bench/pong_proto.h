/* pong_proto.h: the request scanner and reply buffer shared by
 * epoll_pong.c and uring_pong.c, so both loops pay exactly the same
 * protocol cost and the benchmark measures only the I/O loop.
 *
 * Requests: inline ("PING\r\n") or multibulk ("*1\r\n$4\r\nPING\r\n").
 * Every complete request appends one reply to the output buffer:
 * "+PONG\r\n" for PING (any case), an error otherwise. A trailing partial
 * request is left in place for the caller to keep. */
#ifndef PONG_PROTO_H
#define PONG_PROTO_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

typedef struct {
    char *p;
    size_t len, cap;
} obuf;

static inline void obuf_reserve(obuf *o, size_t extra) {
    if (o->len + extra <= o->cap) return;
    size_t nc = o->cap ? o->cap : 256;
    while (nc < o->len + extra) nc *= 2;
    char *np = realloc(o->p, nc);
    if (!np) {
        perror("realloc");
        abort();
    }
    o->p = np;
    o->cap = nc;
}

static inline void obuf_append(obuf *o, const char *s, size_t n) {
    obuf_reserve(o, n);
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static inline void obuf_free(obuf *o) {
    free(o->p);
    o->p = NULL;
    o->len = o->cap = 0;
}

#define PONG_REPLY "+PONG\r\n"
#define PONG_ERR "-ERR unknown command (pong server answers PING only)\r\n"
#define PONG_MAX_INLINE (64 * 1024)

/* Parse a non-negative decimal terminated by "\r\n" starting at p (< end).
 * Returns pointer after "\r\n", NULL if incomplete, (char*)1 on error. */
static inline const char *proto_num(const char *p, const char *end, long *out) {
    long v = 0;
    const char *q = p;
    while (q < end && *q >= '0' && *q <= '9') {
        v = v * 10 + (*q - '0');
        if (v > (1L << 40)) return (const char *)1;
        q++;
    }
    if (q == end) return NULL;
    if (*q != '\r' || q == p) return (const char *)1;
    if (q + 1 == end) return NULL;
    if (q[1] != '\n') return (const char *)1;
    *out = v;
    return q + 2;
}

/* Scan buf[0..len): reply to every complete request into o.
 * Returns bytes consumed (complete requests), or -1 on a protocol error.
 * *nreq is incremented by the number of requests answered. */
static inline ssize_t proto_process(const char *buf, size_t len, obuf *o, unsigned long *nreq) {
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *req = p;
        int is_ping = 0;
        if (*p == '*') {
            long n;
            const char *q = proto_num(p + 1, end, &n);
            if (q == NULL) break;
            if (q == (const char *)1 || n > 1024 * 1024) return -1;
            int complete = 1;
            for (long i = 0; i < n; i++) {
                if (q == end) { complete = 0; break; }
                if (*q != '$') return -1;
                long bl;
                const char *d = proto_num(q + 1, end, &bl);
                if (d == NULL) { complete = 0; break; }
                if (d == (const char *)1) return -1;
                if ((size_t)(end - d) < (size_t)bl + 2) { complete = 0; break; }
                if (d[bl] != '\r' || d[bl + 1] != '\n') return -1;
                if (i == 0) is_ping = (bl == 4 && strncasecmp(d, "PING", 4) == 0);
                q = d + bl + 2;
            }
            if (!complete) { p = req; break; }
            if (n == 0) { p = q; continue; } /* "*0\r\n": no reply, like Redis */
            p = q;
        } else {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (nl == NULL) {
                if ((size_t)(end - p) > PONG_MAX_INLINE) return -1;
                break;
            }
            const char *e = nl;
            if (e > p && e[-1] == '\r') e--;
            /* skip leading spaces; an empty line gets no reply */
            const char *s = p;
            while (s < e && *s == ' ') s++;
            p = nl + 1;
            if (s == e) continue;
            const char *w = s;
            while (w < e && *w != ' ') w++;
            is_ping = (w - s == 4 && strncasecmp(s, "PING", 4) == 0);
        }
        if (is_ping)
            obuf_append(o, PONG_REPLY, sizeof(PONG_REPLY) - 1);
        else
            obuf_append(o, PONG_ERR, sizeof(PONG_ERR) - 1);
        (*nreq)++;
    }
    return p - buf;
}

/* Shared listener setup: 127.0.0.1:port, blocking or not. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static inline int pong_listen(int port, int nonblock) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 511) < 0) {
        perror("bind/listen");
        exit(1);
    }
    return fd;
}

static inline void pong_client_opts(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

#endif
