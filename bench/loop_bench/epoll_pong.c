/* epoll_pong: single-threaded PING/PONG server whose loop is shaped like
 * Ringmaster's keyspace thread (core/server.c server_main_loop):
 *   - level-triggered epoll, non-blocking listener, accept4 in a loop;
 *   - on EPOLLIN: one read() of up to 16 KiB, all complete requests in it
 *     are answered into the client's reply buffer;
 *   - before sleeping: every client with pending replies gets one write
 *     (per loop pass); EPOLLOUT is armed only when a write is short and
 *     disarmed once the buffer drains;
 *   - closed clients are freed at the top of the loop, never mid-event.
 * Usage: epoll_pong PORT */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "pong_proto.h"

#define READ_CHUNK (16 * 1024)

typedef struct conn {
    int fd;
    int closing, pending, write_armed;
    char *in;
    size_t inlen, incap;
    obuf out;
    size_t sent;
    struct conn *next_pending;
    struct conn *next, *prev; /* all clients */
} conn;

static int epfd;
static conn *clients, *pending;
static unsigned long total_req;
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static void conn_free(conn *c) {
    if (c->prev) c->prev->next = c->next;
    else clients = c->next;
    if (c->next) c->next->prev = c->prev;
    close(c->fd); /* also removes it from the epoll set */
    free(c->in);
    obuf_free(&c->out);
    free(c);
}

static void accept_clients(int lfd) {
    for (int i = 0; i < 1000; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) perror("accept4");
            return;
        }
        pong_client_opts(fd);
        conn *c = calloc(1, sizeof(*c));
        c->fd = fd;
        c->next = clients;
        if (clients) clients->prev = c;
        clients = c;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            conn_free(c);
            continue;
        }
    }
}

static void read_from_client(conn *c) {
    if (c->incap - c->inlen < READ_CHUNK) {
        c->incap = c->inlen + READ_CHUNK;
        c->in = realloc(c->in, c->incap);
    }
    ssize_t n = read(c->fd, c->in + c->inlen, READ_CHUNK);
    if (n == 0) {
        c->closing = 1;
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        c->closing = 1;
        return;
    }
    c->inlen += (size_t)n;
    ssize_t used = proto_process(c->in, c->inlen, &c->out, &total_req);
    if (used < 0) {
        c->closing = 1;
        return;
    }
    if (used > 0) {
        c->inlen -= (size_t)used;
        if (c->inlen) memmove(c->in, c->in + used, c->inlen);
    }
    if (c->out.len > c->sent && !c->pending) {
        c->pending = 1;
        c->next_pending = pending;
        pending = c;
    }
}

/* Ringmaster's client_write_pending(): write until done or EAGAIN. */
static int write_pending(conn *c) {
    while (c->sent < c->out.len) {
        ssize_t n = write(c->fd, c->out.p + c->sent, c->out.len - c->sent);
        if (n > 0) {
            c->sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    if (c->sent == c->out.len) {
        c->out.len = 0;
        c->sent = 0;
        if (c->write_armed) {
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
            c->write_armed = 0;
        }
    } else if (!c->write_armed) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        c->write_armed = 1;
    }
    return 0;
}

static void flush_pending_writes(void) {
    while (pending) {
        conn *c = pending;
        pending = c->next_pending;
        c->next_pending = NULL;
        c->pending = 0;
        if (c->closing) continue;
        if (write_pending(c) < 0) c->closing = 1;
    }
}

static void free_closing_clients(void) {
    conn *c = clients;
    while (c) {
        conn *next = c->next;
        if (c->closing) conn_free(c);
        c = next;
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int lfd = pong_listen(atoi(argv[1]), 1);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.u64 = 1ULL << 63};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
    fprintf(stderr, "epoll_pong: listening on 127.0.0.1:%s\n", argv[1]);

    struct epoll_event events[256];
    while (!stop) {
        flush_pending_writes();
        free_closing_clients();
        int n = epoll_wait(epfd, events, 256, 100);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 == (1ULL << 63)) {
                accept_clients(lfd);
                continue;
            }
            conn *c = events[i].data.ptr;
            if (c->closing) continue;
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_from_client(c);
            if ((events[i].events & EPOLLOUT) && !c->closing) {
                if (write_pending(c) < 0) c->closing = 1;
            }
        }
    }
    fprintf(stderr, "epoll_pong: exiting, %lu requests answered\n", total_req);
    return 0;
}
