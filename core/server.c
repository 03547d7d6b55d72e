/* server: startup, the event loop and the cron of the keyspace thread.
 *
 * The loop is epoll-based: listeners and client sockets are registered
 * level-triggered for input; a client gets EPOLLOUT only while it has
 * output the socket would not take. Each pass: wait (bounded by the next
 * cron tick), read and execute whatever arrived, then write every client
 * with pending replies before waiting again, so replies to a pipeline go
 * out in one write. The cron runs `hz` times a second: active expiry,
 * client timeouts, incremental rehashing, pause expiry and statistics. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/blocking.h"
#include "core/commands.h"
#include "core/db.h"
#include "core/functions.h"
#include "core/lazyfree.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/persist.h"
#include "core/pubsub.h"
#include "core/propagate.h"
#include "core/reply.h"
#include "core/slowlog.h"
#include "core/latency.h"
#include "core/tracking.h"
#include "core/server.h"
#include "core/tls.h"
#include "core/types.h"
#include "core/util.h"
#include "repl/repl.h"

/* epoll data.u64 tags. A client's event carries the client pointer,
 * which never has either bit set; a listener's and a watched fd's carry
 * a tag and their slot's index. */
#define EV_LISTENER_TAG (1ULL << 63)
#define EV_WATCH_TAG (1ULL << 62)

static volatile sig_atomic_t shutdown_signal;

static void on_signal(int sig) { shutdown_signal = sig; }

static void free_dstr(void *p) { dstr_free(p); }
static const dict_type errorstats_type = {dict_dstr_hash, dict_dstr_eq, free_dstr, NULL};

/* The tls-* directives the context is built from (tls-auth-clients is
 * read per connection, tls-port only at startup). */
static int shapes_tls_context(const char *name) {
    return !strncmp(name, "tls-", 4) && strcmp(name, "tls-auth-clients") != 0 &&
           strcmp(name, "tls-port") != 0;
}

static int rebind(server *s, int tls, char *err, size_t errlen);

/* Directives whose new value needs action beyond storing it. */
static int apply_config(void *priv, const char *name, char *err, size_t errlen) {
    server *s = priv;
    if (shapes_tls_context(name)) {
        /* As Redis: only a server that serves TLS rebuilds, and a context
         * that does not build fails the CONFIG SET (the old values come
         * back, and the context in use stays). */
        if ((tls_enabled(s) || s->cfg.tls_replication) && tls_configure(s) < 0) {
            snprintf(err, errlen, "Unable to update TLS configuration. Check server logs.");
            return -1;
        }
    } else if (!strcmp(name, "port") || !strcmp(name, "tls-port")) {
        return rebind(s, !strcmp(name, "tls-port"), err, errlen);
    } else if (!strcmp(name, "loglevel")) {
        log_set_level(s->cfg.loglevel);
    } else if (!strcmp(name, "proto-max-bulk-len")) {
        for (client *c = s->clients; c; c = c->next)
            c->parser.max_bulk_len = s->cfg.proto_max_bulk_len;
    }
    return 0;
}

int server_init(server *s) {
    config_set_apply_hook(apply_config, s);
    /* A random hash seed: clients must not be able to choose keys that
     * collide in the keyspace. */
    static int seeded; /* once per process: the seed is process-wide */
    uint8_t seed[16];
    if (!seeded && getrandom(seed, sizeof(seed), 0) == (ssize_t)sizeof(seed)) {
        dict_set_hash_seed(seed);
        seeded = 1;
    }
    s->pid = getpid();
    util_random_hex(s->runid, 40);
    s->start_ms = util_ms_time();
    s->lastsave = s->start_ms / 1000;
    s->active_expire_enabled = 1;
    s->epfd = -1;
    s->errorstats = dict_create(&errorstats_type);
    slowlog_init(s);
    latency_init(s);
    tracking_init(s);
    db_init_all(s);
    pubsub_init(s);
    s->functions = fn_store_new();
    types_register();
    pubsub_register();
    persist_register();
    nocluster_register();
    repl_register();
    commands_init(s);
    repl_init(s);
    s->mem_startup = s->stat_peak_memory = mem_used();
    return 0;
}

void server_free(server *s) {
    while (s->clients) client_free(s->clients);
    for (int i = 0; i < s->nlisteners; i++) close(s->listeners[i].fd);
    if (s->epfd >= 0) close(s->epfd);
    s->epfd = -1; /* repl_free's unwatching must not reach a reused number */
    tls_release(s);
    persist_free(s);
    /* When the process is about to end, the dataset and what lazyfree
     * still holds go back to the system with it, as Redis's do: freeing
     * millions of keys one by one would hold the exit for seconds.
     * Sanitizer builds free them, to check that all of it can be. */
    int keep = s->exiting;
#ifdef RM_FREE_DATASET_AT_EXIT
    keep = 0;
#endif
    if (!keep) db_free_all(s);
    pubsub_free(s);
    fn_store_free(s->functions);
    s->functions = NULL;
    mem_free(s->shutdown_waiters);
    blocking_free(s);
    if (!keep) lazyfree_shutdown(); /* what FLUSHALL ASYNC and the like handed over */
    dict_release(s->errorstats);
    slowlog_free(s);
    latency_free(s);
    tracking_free(s);
    mem_free(s->monitors);
    dict_release(s->commands);
    propagate_flush(s);
    repl_free(s);
    propagate_free(s);
    config_free(&s->cfg);
}

/* Listener events carry a tagged pointer: the listener slot. */
static void watch_listener(server *s, int i, int op) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i | EV_LISTENER_TAG};
    epoll_ctl(s->epfd, op, s->listeners[i].fd, &ev);
}

static int listen_tcp(server *s, const char *addr, int port, int tls) {
    /* "-addr" means: skip silently if the address is unavailable (Redis's
     * optional bind, used by the default "* -::*"). */
    int optional = addr[0] == '-';
    if (optional) addr++;
    int v6 = strchr(addr, ':') != NULL;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return optional ? 0 : -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc;
    if (v6) {
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        const char *a = !strcmp(addr, "*") || !strcmp(addr, "::*") ? "::" : addr;
        if (inet_pton(AF_INET6, a, &sa.sin6_addr) != 1) {
            close(fd);
            errno = EINVAL;
            return optional ? 0 : -1;
        }
        rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        const char *a = !strcmp(addr, "*") ? "0.0.0.0" : addr;
        if (inet_pton(AF_INET, a, &sa.sin_addr) != 1) {
            close(fd);
            errno = EINVAL;
            return optional ? 0 : -1;
        }
        rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    }
    if (rc < 0 || listen(fd, s->cfg.tcp_backlog) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        if (optional && (e == EADDRNOTAVAIL || e == EAFNOSUPPORT || e == EPROTONOSUPPORT))
            return 0;
        log_msg(LL_WARNING, "Warning: Could not create server TCP listening socket %s:%d: %s",
                addr, port, strerror(e));
        return -1;
    }
    listener *l = &s->listeners[s->nlisteners++];
    l->fd = fd;
    l->is_unix = 0;
    l->is_tls = tls;
    snprintf(l->addr, sizeof(l->addr), "%s", addr);
    return 0;
}

static int listen_unix(server *s) {
    const char *path = s->cfg.unixsocket;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        /* Cut to fit, the socket would appear at another path. */
        log_msg(LL_WARNING, "Failed opening Unix socket: path longer than %zu bytes",
                sizeof(sa.sun_path) - 1);
        return -1;
    }
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, s->cfg.tcp_backlog) < 0) {
        log_msg(LL_WARNING, "Failed opening Unix socket: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (s->cfg.unixsocketperm) chmod(path, (mode_t)s->cfg.unixsocketperm);
    listener *l = &s->listeners[s->nlisteners++];
    l->fd = fd;
    l->is_unix = 1;
    l->is_tls = 0;
    snprintf(l->addr, sizeof(l->addr), "%s", path);
    return 0;
}

int server_listen(server *s) {
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) return -1;
    if (s->cfg.port != 0) {
        for (int i = 0; i < s->cfg.nbind; i++)
            if (listen_tcp(s, s->cfg.bind[i], s->cfg.port, 0) < 0) return -1;
    }
    if (s->cfg.tls_port != 0 || s->cfg.tls_replication) {
        if (tls_configure(s) < 0) {
            log_msg(LL_WARNING, "Failed to configure TLS. Check logs for more info.");
            return -1;
        }
    }
    if (s->cfg.tls_port != 0) {
        for (int i = 0; i < s->cfg.nbind; i++)
            if (listen_tcp(s, s->cfg.bind[i], s->cfg.tls_port, 1) < 0) return -1;
    }
    if (s->cfg.unixsocket && listen_unix(s) < 0) return -1;
    if (s->nlisteners == 0) {
        log_msg(LL_WARNING, "Configured to not listen anywhere, exiting.");
        return -1;
    }
    for (int i = 0; i < s->nlisteners; i++) watch_listener(s, i, EPOLL_CTL_ADD);
    s->bound_port = s->cfg.port;
    s->bound_tls_port = s->cfg.tls_port;
    return 0;
}

/* CONFIG SET port / tls-port, as Redis's changeListenPort: listen on the
 * new port on every bind address first, and only then close the old
 * listeners of that kind, so a port that cannot be bound fails the CONFIG
 * SET with the old one still serving. Clients already connected stay. 0
 * closes the kind's listeners. */
static int rebind(server *s, int tls, char *err, size_t errlen) {
    int want = tls ? s->cfg.tls_port : s->cfg.port;
    int *bound = tls ? &s->bound_tls_port : &s->bound_port;
    if (want == *bound) return 0;
    if (tls && want && !tls_enabled(s) && tls_configure(s) < 0) {
        snprintf(err, errlen, "Unable to update TLS configuration. Check server logs.");
        return -1;
    }
    int first_new = s->nlisteners;
    for (int i = 0; want && i < s->cfg.nbind; i++) {
        if (listen_tcp(s, s->cfg.bind[i], want, tls) < 0) {
            while (s->nlisteners > first_new) close(s->listeners[--s->nlisteners].fd);
            snprintf(err, errlen, "Unable to listen on this port. Check server logs.");
            return -1;
        }
    }
    /* Drop the old ones (out of epoll first: a snapshot child may still
     * hold a copy of the descriptor), then renumber the rest. */
    int n = 0;
    for (int i = 0; i < s->nlisteners; i++) {
        listener *l = &s->listeners[i];
        if (i < first_new && !l->is_unix && l->is_tls == tls) {
            epoll_ctl(s->epfd, EPOLL_CTL_DEL, l->fd, NULL);
            close(l->fd);
            continue;
        }
        s->listeners[n] = *l;
        watch_listener(s, n, i < first_new ? EPOLL_CTL_MOD : EPOLL_CTL_ADD);
        n++;
    }
    s->nlisteners = n;
    *bound = want;
    log_msg(LL_NOTICE, "%s now listening on port %d", tls ? "TLS" : "TCP", want);
    return 0;
}

int server_watch_fd(server *s, int fd, server_fd_fn fn, void *priv) {
    if (s->epfd < 0 || fd < 0 || !fn) return -1;
    for (int i = 0; i < SERVER_MAX_WATCHES; i++) {
        server_watch *w = &s->watches[i];
        if (w->fn) continue;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i | EV_WATCH_TAG};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) return -1;
        w->fd = fd;
        w->fn = fn;
        w->priv = priv;
        return 0;
    }
    return -1;
}

void server_unwatch_fd(server *s, int fd) {
    for (int i = 0; i < SERVER_MAX_WATCHES; i++) {
        server_watch *w = &s->watches[i];
        if (!w->fn || w->fd != fd) continue;
        if (s->epfd >= 0) epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
        w->fn = NULL;
        w->priv = NULL;
        w->fd = -1;
    }
}

static void format_peer(struct sockaddr_storage *ss, char *out, size_t outlen) {
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
        snprintf(out, outlen, "%s:%d", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
        snprintf(out, outlen, "%s:%d", ip, port);
    } else {
        snprintf(out, outlen, "/unixsocket:0");
    }
}

/* Redis 7.0's protected mode: while the default user has no password, a
 * TCP peer other than 127.0.0.1 or ::1 exactly (Redis compares the
 * address text; 127.0.0.2 is refused) gets this error and is closed. Unix
 * socket peers are local by construction. */
#define ERR_DENIED                                                                               \
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "      \
    "password is set for the default user. In this mode connections are only accepted from "  \
    "the loopback interface. If you want to connect from external computers to Redis you may " \
    "adopt one of the following solutions: 1) Just disable protected mode sending the command " \
    "'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from "  \
    "the same host the server is running, however MAKE SURE Redis is not publicly accessible " \
    "from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "        \
    "Alternatively you can just disable the protected mode by editing the Redis configuration " \
    "file, and setting the protected mode option to 'no', and then restarting the server. 3) " \
    "If you started the server manually just for testing, restart it with the "               \
    "'--protected-mode no' option. 4) Setup a an authentication password for the default "     \
    "user. NOTE: You only need to do one of the above things in order for the server to start " \
    "accepting connections from the outside.\r\n"

static int protected_mode_denies(server *s, const listener *l, struct sockaddr_storage *ss) {
    if (!s->cfg.protected_mode || s->cfg.requirepass || l->is_unix) return 0;
    char peer[INET6_ADDRSTRLEN + 8];
    format_peer(ss, peer, sizeof(peer));
    char *colon = strrchr(peer, ':');
    if (colon) *colon = '\0';
    return strcmp(peer, "127.0.0.1") != 0 && strcmp(peer, "::1") != 0;
}

static void accept_clients(server *s, listener *l) {
    for (int i = 0; i < 1000; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_msg(LL_WARNING, "Accepting client connection: %s", strerror(errno));
            return;
        }
        s->stat_numconnections++;
        /* On tls-port these refusals close without a word: the peer
         * expects a handshake, and plaintext would only garble it. */
        if (s->nclients >= s->cfg.maxclients) {
            static const char err[] = "-ERR max number of clients reached\r\n";
            ssize_t w = l->is_tls ? 0 : write(fd, err, sizeof(err) - 1);
            (void)w;
            close(fd);
            s->stat_rejected_conn++;
            continue;
        }
        if (protected_mode_denies(s, l, &ss)) {
            ssize_t w = l->is_tls ? 0 : write(fd, ERR_DENIED, sizeof(ERR_DENIED) - 1);
            (void)w;
            close(fd);
            s->stat_rejected_conn++;
            continue;
        }
        if (!l->is_unix) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            if (s->cfg.tcp_keepalive > 0) {
                int idle = s->cfg.tcp_keepalive;
                int intvl = idle / 3 ? idle / 3 : 1;
                int cnt = 3;
                setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
                setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
                setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
                setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
            }
        }
        struct ssl_st *ssl = NULL;
        if (l->is_tls && !(ssl = tls_conn_new(s, fd))) {
            close(fd);
            continue;
        }
        client *c = client_create(s, fd, l->is_unix ? CLIENT_UNIX_SOCKET : 0);
        if (ssl) {
            c->ssl = ssl;
            c->flags |= CLIENT_TLS_HANDSHAKE;
        }
        if (l->is_unix) {
            snprintf(c->addr, sizeof(c->addr), "%s:0", s->cfg.unixsocket);
            snprintf(c->laddr, sizeof(c->laddr), "%s:0", s->cfg.unixsocket);
        } else {
            format_peer(&ss, c->addr, sizeof(c->addr));
            struct sockaddr_storage ls;
            socklen_t ll = sizeof(ls);
            if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0)
                format_peer(&ls, c->laddr, sizeof(c->laddr));
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            client_free(c);
            continue;
        }
        log_msg(LL_VERBOSE, "Accepted %s", c->addr);
    }
}

/* One step of a TLS client's handshake, run on every event of its socket
 * until it finishes: 1 once done, 0 while it waits (the epoll interest
 * then follows what OpenSSL wants) or after it failed (the client is
 * closing, with Redis's log line). */
static int tls_accept_step(client *c) {
    int want = 0;
    char err[256];
    int rc = tls_handshake(c->ssl, &want, err, sizeof(err));
    if (rc < 0) {
        log_msg(LL_WARNING, "Error accepting a client connection: %s (addr=%s laddr=%s)", err,
                c->addr, c->laddr);
        c->flags |= CLIENT_CLOSE_ASAP;
        return 0;
    }
    client_set_write_interest(c, rc == 0 && want == TLS_WANT_WRITE);
    if (rc == 0) return 0;
    c->flags &= ~(uint32_t)CLIENT_TLS_HANDSHAKE;
    c->last_interaction_ms = util_ms_time();
    return 1;
}

static ssize_t read_socket_once(client *c, size_t want) {
    c->querybuf = dstr_grow(c->querybuf, want);
    size_t cur = dstr_len(c->querybuf);
    char *buf = c->querybuf + cur;
    size_t len = dstr_avail(c->querybuf);
    ssize_t n;
    if (!c->ssl) {
        n = read(c->fd, buf, len);
    } else {
        int tls_want = 0;
        c->flags &= ~(uint32_t)CLIENT_TLS_READ_WANTS_WRITE;
        n = tls_read(c->ssl, buf, len, &tls_want);
        if (n < 0 && errno == EAGAIN && tls_want == TLS_WANT_WRITE) {
            c->flags |= CLIENT_TLS_READ_WANTS_WRITE;
            client_set_write_interest(c, 1);
        }
    }
    if (n > 0) dstr_setlen(c->querybuf, cur + (size_t)n);
    return n;
}

/* Read into the query buffer, as read(2) answers. TLS: the plaintext
 * OpenSSL already decrypted but did not fit is taken too, since no epoll
 * event would ever announce it. */
static ssize_t read_socket(client *c, size_t want) {
    ssize_t n = read_socket_once(c, want);
    size_t more;
    while (n > 0 && c->ssl && (more = tls_pending(c->ssl)) > 0) {
        ssize_t m = read_socket_once(c, more);
        if (m <= 0) break;
        n += m;
    }
    return n;
}

static void read_from_client(client *c) {
    server *s = c->srv;
    if ((c->flags & CLIENT_TLS_HANDSHAKE) && !tls_accept_step(c)) return;
    /* Read at least 16 KiB; more when a big bulk is known to be coming, so
     * a 512 MB value does not take 32k reads of 16 KiB. */
    size_t want = 16 * 1024;
    size_t bulk = req_bytes_wanted(&c->parser);
    if (bulk > want) want = bulk > 1024 * 1024 ? 1024 * 1024 : bulk;
    ssize_t n = read_socket(c, want);
    if (n == 0) {
        log_msg(LL_VERBOSE, "Client closed connection id=%llu addr=%s",
                (unsigned long long)c->id, c->addr);
        c->flags |= CLIENT_CLOSE_ASAP;
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        log_msg(LL_VERBOSE, "Reading from client: %s", strerror(errno));
        c->flags |= CLIENT_CLOSE_ASAP;
        return;
    }
    s->stat_net_input_bytes += n;
    s->stat_io_reads++;
    c->last_interaction_ms = util_ms_time();
    size_t qlen = dstr_len(c->querybuf);
    if (qlen > c->qb_peak) c->qb_peak = qlen;
    if ((long long)qlen > s->cfg.client_query_buffer_limit) {
        dstr ci = client_info_string(c, dstr_empty());
        log_msg(LL_WARNING,
                "Closing client that reached max query buffer length: %s (qbuf initial bytes: "
                "%.64s)",
                ci, "...");
        dstr_free(ci);
        s->stat_client_qbuf_limit_disconnections++;
        c->flags |= CLIENT_CLOSE_ASAP;
        return;
    }
    if (!(c->flags & CLIENT_PAUSED)) {
        /* One clock reading for the whole batch this read brought in: a
         * pipeline's commands share "now", as they arrived together. */
        util_clock_freeze();
        s->current_client = c;
        client_process_input(c);
        s->current_client = NULL;
        util_clock_thaw();
    }
}

static void flush_pending_writes(server *s) {
    while (s->pending_writes) {
        client *c = s->pending_writes;
        s->pending_writes = c->next_pending;
        if (s->pending_writes) s->pending_writes->prev_pending = NULL;
        c->next_pending = c->prev_pending = NULL;
        c->flags &= ~(uint32_t)CLIENT_PENDING_WRITE;
        if (c->flags & CLIENT_CLOSE_ASAP) continue;
        if (client_write_pending(c) < 0) c->flags |= CLIENT_CLOSE_ASAP;
        else s->stat_io_writes++;
    }
}

static void free_closing_clients(server *s) {
    client *c = s->clients;
    while (c) {
        client *next = c->next;
        if (c->flags & CLIENT_CLOSE_ASAP) client_free(c);
        c = next;
    }
}

static void clients_cron(server *s, long long now) {
    if (s->cfg.timeout <= 0) return;
    for (client *c = s->clients; c; c = c->next) {
        if (c->flags & (CLIENT_REPLICA | CLIENT_MASTER | CLIENT_PAUSED | CLIENT_BLOCKED))
            continue;
        if (now - c->last_interaction_ms > (long long)s->cfg.timeout * 1000) {
            if (c->flags & CLIENT_TLS_HANDSHAKE)
                log_msg(LL_WARNING,
                        "Error accepting a client connection: TLS handshake timed out "
                        "(addr=%s laddr=%s)",
                        c->addr, c->laddr);
            else
                log_msg(LL_VERBOSE, "Closing idle client");
            c->flags |= CLIENT_CLOSE_ASAP;
        }
    }
}

/* Each metric's counter now. The network totals include what the
 * replication I/O threads moved, as Redis's do (repl.h). */
static void inst_readings(server *s, long long v[INST_METRICS]) {
    repl_net_bytes rb;
    repl_net_bytes_get(s, &rb);
    v[INST_OPS] = s->stat_numcommands;
    v[INST_NET_IN] = s->stat_net_input_bytes + rb.from_replicas + rb.from_master;
    v[INST_NET_OUT] = s->stat_net_output_bytes + rb.out;
    v[INST_NET_REPL_IN] = rb.from_master;
    v[INST_NET_REPL_OUT] = rb.out;
}

static void stats_cron(server *s, long long now) {
    size_t used = mem_used();
    if (used > s->stat_peak_memory) s->stat_peak_memory = used;
    long long dt = now - s->inst_last_ms;
    if (dt < 100) return;
    long long v[INST_METRICS];
    inst_readings(s, v);
    for (int m = 0; m < INST_METRICS; m++) {
        s->inst[m].samples[s->inst_idx] = (v[m] - s->inst[m].last) * 1000 / dt;
        s->inst[m].last = v[m];
    }
    s->inst_idx = (s->inst_idx + 1) % INST_SAMPLES;
    s->inst_last_ms = now;
}

void server_set_loading(server *s, int on) { s->loading = on; }

long long server_inst_rate(const server *s, int metric) {
    long long sum = 0;
    for (int i = 0; i < INST_SAMPLES; i++) sum += s->inst[metric].samples[i];
    return sum / INST_SAMPLES;
}

void server_inst_reset(server *s) {
    long long v[INST_METRICS];
    inst_readings(s, v);
    for (int m = 0; m < INST_METRICS; m++) {
        memset(s->inst[m].samples, 0, sizeof(s->inst[m].samples));
        s->inst[m].last = v[m]; /* no sample spans the reset */
    }
    s->inst_idx = 0;
    s->inst_last_ms = util_ms_time();
}

static void shutdown_cron(server *s, long long now);

void server_cron(server *s) {
    long long now = util_ms_time();
    s->cron_loops++;
    if (s->pause_mode != PAUSE_OFF && now >= s->pause_end_ms) {
        s->pause_mode = PAUSE_OFF;
        client_unpause_all(s);
    }
    db_active_expire_cycle(s, 0);
    db_cron_rehash(s);
    repl_cron(s);
    shutdown_cron(s, now);
    clients_cron(s, now);
    stats_cron(s, now);
    persist_cron(s);
}

client *server_find_client(server *s, uint64_t id) {
    for (client *c = s->clients; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

void server_hold_writes(server *s, unsigned reason, int on) {
    unsigned before = s->write_holds;
    if (on)
        s->write_holds |= reason;
    else
        s->write_holds &= ~reason;
    if (before && !s->write_holds) client_unpause_all(s);
}

/* ---- SHUTDOWN: waiting for lagging replicas, the final save ------------------ */

static void add_shutdown_waiter(server *s, client *c) {
    s->shutdown_waiters = mem_realloc(s->shutdown_waiters,
                                      sizeof(uint64_t) * (size_t)(s->nshutdown_waiters + 1));
    s->shutdown_waiters[s->nshutdown_waiters++] = c->id;
    /* No keys and no timeout of its own: the shutdown answers it, or the
     * process exits under it. */
    block_for_keys(c, NULL, 0, -1, 0, NULL);
}

/* The shutdown is off: its SHUTDOWN clients hear why, and the writes it
 * held go on (Redis's cancelShutdown). */
static void cancel_shutdown(server *s) {
    s->shutdown_asap = 0;
    s->shutdown_flags = 0;
    s->shutdown_deadline_ms = 0;
    uint64_t *ids = s->shutdown_waiters;
    int n = s->nshutdown_waiters;
    s->shutdown_waiters = NULL;
    s->nshutdown_waiters = 0;
    for (int i = 0; i < n; i++) {
        client *c = server_find_client(s, ids[i]);
        if (!c || !(c->flags & CLIENT_BLOCKED) || (c->flags & CLIENT_CLOSE_ASAP)) continue;
        blocking_unblock(c);
        reply_error(c, "ERR Errors trying to SHUTDOWN. Check logs.");
        client_reset_argv(c);
        client_process_input(c);
    }
    mem_free(ids);
    server_hold_writes(s, HOLD_SHUTDOWN, 0);
}

static int finish_shutdown(server *s, client *c) {
    repl_shutdown_lagging(s, 1);
    if (persist_shutdown(s, s->shutdown_flags & (SHUTDOWN_NOSAVE | SHUTDOWN_SAVE)) < 0 &&
        !(s->shutdown_flags & SHUTDOWN_FORCE)) {
        log_msg(LL_WARNING,
                "Errors trying to shut down the server. Check the logs for more information.");
        cancel_shutdown(s);
        if (c) reply_error(c, "ERR Errors trying to SHUTDOWN. Check logs.");
        return -1;
    }
    s->shutdown_asap = 1;
    return 1;
}

int server_begin_shutdown(server *s, int flags, client *c) {
    if (server_shutdown_waiting(s)) {
        if (c) add_shutdown_waiter(s, c); /* a second SHUTDOWN waits with the first */
        return 0;
    }
    if (s->loading) flags = (flags & ~SHUTDOWN_SAVE) | SHUTDOWN_NOSAVE;
    s->shutdown_flags = flags;
    log_msg(LL_WARNING, "User requested shutdown...");
    if (!(flags & SHUTDOWN_NOW) && s->cfg.shutdown_timeout > 0 && repl_shutdown_lagging(s, 0)) {
        s->shutdown_deadline_ms = util_ms_time() + (long long)s->cfg.shutdown_timeout * 1000;
        server_hold_writes(s, HOLD_SHUTDOWN, 1);
        repl_shutdown_getack(s);
        if (c) add_shutdown_waiter(s, c);
        log_msg(LL_NOTICE, "Waiting for replicas before shutting down.");
        return 0;
    }
    return finish_shutdown(s, c);
}

int server_abort_shutdown(server *s) {
    if (!server_shutdown_waiting(s)) return -1;
    cancel_shutdown(s);
    log_msg(LL_NOTICE, "Shutdown manually aborted.");
    return 0;
}

/* From the cron: the replicas caught up, or shutdown-timeout passed. */
static void shutdown_cron(server *s, long long now) {
    if (!server_shutdown_waiting(s)) return;
    if (repl_shutdown_lagging(s, 0) && now < s->shutdown_deadline_ms) return;
    finish_shutdown(s, NULL);
}

int server_prepare_shutdown(server *s, int flags) {
    (void)flags;
    if (s->cfg.unixsocket) unlink(s->cfg.unixsocket);
    if (s->cfg.pidfile) unlink(s->cfg.pidfile);
    return 0;
}

void server_main_loop(server *s) {
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* as Redis: a closed terminal is no reason to stop */

    struct epoll_event events[256];
    s->next_cron_ms = util_ms_time();
    while (!s->shutdown_asap) {
        long long now = util_ms_time();
        int hz = s->cfg.hz > 0 ? (s->cfg.hz > 500 ? 500 : s->cfg.hz) : 1;
        if (now >= s->next_cron_ms) {
            server_cron(s);
            s->next_cron_ms = now + 1000 / hz;
        }
        blocking_check_timeouts(s);
        blocking_handle_ready(s);
        int repl_busy = repl_before_sleep(s);
        tracking_before_sleep(s);
        flush_pending_writes(s);
        free_closing_clients(s);
        if (shutdown_signal) {
            int shutdown_signal_was_int = shutdown_signal == SIGINT;
            log_msg(LL_WARNING, "Received %s scheduling shutdown...",
                    shutdown_signal_was_int ? "SIGINT" : "SIGTERM");
            shutdown_signal = 0;
            /* Redis's prepareForShutdown: a failed final save keeps the
             * server running rather than losing the writes; lagging
             * replicas are waited for as a SHUTDOWN waits. */
            int rc = server_begin_shutdown(s,
                                           shutdown_signal_was_int ? s->cfg.shutdown_on_sigint
                                                                   : s->cfg.shutdown_on_sigterm,
                                           NULL);
            if (rc < 0)
                log_msg(LL_WARNING, "SIGTERM received but errors trying to shut down the "
                                    "server, check the logs for more information");
            if (rc == 1) break;
            continue;
        }
        long long wake = s->next_cron_ms;
        long long bt = blocking_next_timeout(s);
        if (bt && bt < wake) wake = bt;
        long long wait = wake - util_ms_time();
        if (wait < 0 || repl_busy) wait = 0;
        int n = epoll_wait(s->epfd, events, 256, (int)wait);
        if (n < 0) {
            if (errno == EINTR) continue;
            log_msg(LL_WARNING, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 & EV_LISTENER_TAG) {
                accept_clients(s, &s->listeners[events[i].data.u64 & 0xffff]);
                continue;
            }
            if (events[i].data.u64 & EV_WATCH_TAG) {
                /* An fd unwatched earlier in this batch has no fn left. */
                server_watch *w = &s->watches[events[i].data.u64 & 0xffff];
                if (w->fn) w->fn(s, w->priv);
                continue;
            }
            client *c = events[i].data.ptr;
            if (c->flags & CLIENT_CLOSE_ASAP) continue;
            /* TLS may need the socket writable to go on reading (the
             * handshake, or a read that must send first). */
            uint32_t in = EPOLLIN | EPOLLERR | EPOLLHUP;
            if (c->flags & (CLIENT_TLS_HANDSHAKE | CLIENT_TLS_READ_WANTS_WRITE)) in |= EPOLLOUT;
            if (events[i].events & in) read_from_client(c);
            if (s->shutdown_asap) break;
            if ((events[i].events & EPOLLOUT) &&
                !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_TLS_HANDSHAKE))) {
                if (client_write_pending(c) < 0) c->flags |= CLIENT_CLOSE_ASAP;
            }
            /* A client closing now (over a query or output buffer limit,
             * a dead socket) is freed before the next event of the batch,
             * as Redis frees it before serving the next client: otherwise
             * up to a whole batch of attackers, each at its limit, would
             * hold memory at once. Replica and master links keep to the
             * end of the pass, where their teardown is ordered. */
            if ((c->flags & CLIENT_CLOSE_ASAP) && !(c->flags & (CLIENT_REPLICA | CLIENT_MASTER)))
                client_free(c);
        }
    }
    flush_pending_writes(s);
    server_prepare_shutdown(s, s->shutdown_flags);
    log_msg(LL_WARNING, "%s is now ready to exit, bye bye...", "Ringmaster");
}
