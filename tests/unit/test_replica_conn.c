/* test_replica_conn: a replica's connection to its master (repl/
 * replica_conn.h) on a real I/O thread, with the test thread playing the
 * keyspace (posting messages, collecting reports) and a fake master on a
 * loopback listening socket: it checks the exact bytes of the handshake
 * and answers with scripted replies, payloads and stream bytes, including
 * malformed ones. One test runs against a real redis-server 7.0 master.
 *
 * Every test runs in a fresh temporary working directory (the to_disk
 * payloads land there) with the log in a file, so that the lines Redis
 * writes can be checked too. Threaded: run under ThreadSanitizer in CI. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "repl/link.h"
#include "repl/replica_conn.h"
#include "test_support.h"

#define MAXREP 256
#define REPLID "0123456789abcdef0123456789abcdef01234567"
#define MARK "MARKMARKMARKMARKMARKMARKMARKMARKMARK1234"
#define CMD_PSYNC_FULL "*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n"

typedef struct col {
    uint32_t types[MAXREP];
    int ntypes;
    int states[16];
    int nstates;
    int closed, reason;
    int fullresync, cont;
    char replid[41];
    long long offset;
    uint64_t size;
    int got_size, payload_end, payload_file;
    dstr data;   /* PAYLOAD_DATA bytes */
    dstr stream; /* STREAM bytes */
    int keep;    /* a slow keyspace: STREAM buffers are kept, not released */
    rconn_buf *kept, *kept_tail;
    size_t kept_bytes;
} col;

typedef struct fx {
    link_threads ctx;
    io_thread *t;
    int ls, port;
    uint64_t id;
    rconn_shared sh;
    col c;
    char dir[64];
} fx;

static void post(fx *f, uint32_t type, uint64_t val, void *ptr) {
    spsc_msg m = {.type = type, .fd = -1, .id = f->id, .val = val, .ptr = ptr};
    ck_assert_int_eq(io_thread_post(f->t, &m), 0);
}

/* Done with a handed-over buffer, as replica.c's release_buf. */
static void release(fx *f, rconn_buf *b) {
    if (rconn_buf_release(&f->sh, b)) post(f, RCONN_MSG_RESUME, 0, NULL);
}

static void keep(col *c, rconn_buf *b) {
    if (c->kept_tail) c->kept_tail->next = b;
    else c->kept = b;
    c->kept_tail = b;
    c->kept_bytes += b->len;
}

static void release_kept(fx *f) {
    while (f->c.kept) {
        rconn_buf *next = f->c.kept->next;
        release(f, f->c.kept);
        f->c.kept = next;
    }
    f->c.kept_tail = NULL;
    f->c.kept_bytes = 0;
}

static void on_report(void *ctx, const spsc_msg *m) {
    fx *f = ctx;
    col *c = &f->c;
    if (c->ntypes < MAXREP) c->types[c->ntypes++] = m->type;
    switch (m->type) {
    case RCONN_REP_STATE:
        if (c->nstates < 16) c->states[c->nstates++] = (int)m->val;
        break;
    case RCONN_REP_FULLRESYNC:
    case RCONN_REP_CONTINUE: {
        rconn_psync *p = m->ptr;
        if (m->type == RCONN_REP_FULLRESYNC) c->fullresync++;
        else c->cont++;
        memcpy(c->replid, p->replid, sizeof(c->replid));
        c->offset = p->offset;
        mem_free(p);
        break;
    }
    case RCONN_REP_PAYLOAD_SIZE:
        c->size = m->val;
        c->got_size = 1;
        break;
    case RCONN_REP_PAYLOAD_DATA:
    case RCONN_REP_STREAM: {
        rconn_buf *b = m->ptr;
        ck_assert_uint_gt(b->len, 0);
        if (m->type == RCONN_REP_STREAM) c->stream = dstr_cat(c->stream, b->data, b->len);
        else c->data = dstr_cat(c->data, b->data, b->len);
        if (c->keep && m->type == RCONN_REP_STREAM) keep(c, b);
        else release(f, b);
        break;
    }
    case RCONN_REP_PAYLOAD_END:
        c->payload_end++;
        break;
    case RCONN_REP_PAYLOAD_FILE:
        c->payload_file++;
        break;
    case RCONN_REP_CLOSED:
        c->closed++;
        c->reason = (int)m->val;
        break;
    default:
        ck_abort_msg("unexpected report %u", m->type);
    }
}

static void collect(fx *f, int ms) {
    struct pollfd p = {.fd = io_thread_wake_fd(f->t), .events = POLLIN};
    poll(&p, 1, ms);
    io_thread_collect(f->t, on_report, f);
}

#define WAIT(f, cond)                                                                              \
    do {                                                                                           \
        for (int i_ = 0; i_ < 400 && !(cond); i_++) collect(f, 25);                                \
        ck_assert_msg(cond, "timed out waiting for " #cond);                                       \
    } while (0)

static void fx_init(fx *f) {
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/rm-rconn-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    ck_assert_int_eq(chdir(f->dir), 0);
    log_setup(LL_NOTICE, "test.log");
    f->c.data = dstr_empty();
    f->c.stream = dstr_empty();
    f->sh.read_limit = RCONN_READ_LIMIT;
    ck_assert_int_eq(io_thread_start(&f->t, NULL, &link_thread_ops, &f->ctx), 0);
    f->ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    ck_assert_int_eq(bind(f->ls, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(f->ls, 8), 0);
    ck_assert_int_eq(getsockname(f->ls, (struct sockaddr *)&a, &alen), 0);
    f->port = ntohs(a.sin_port);
}

/* The temp-*.rdb files in the working directory. */
static int count_temp_files(void) {
    DIR *d = opendir(".");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "temp-", 5) == 0) n++;
    closedir(d);
    return n;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int log_has(const char *line) {
    dstr text = test_read_file("test.log");
    int found = strstr(text, line) != NULL;
    dstr_free(text);
    return found;
}

/* Stop the thread: no report may follow the connection's CLOSED. */
static void fx_done(fx *f) {
    int closed = f->c.closed;
    io_thread_stop(f->t, on_report, f);
    ck_assert_ptr_null(f->c.kept);
    ck_assert_int_eq(f->c.closed, closed);
    close(f->ls);
    dstr_free(f->c.data);
    dstr_free(f->c.stream);
    ck_assert_int_eq(count_temp_files(), 0);
    log_setup(LL_NOTICE, NULL);
    ck_assert_int_eq(chdir("/"), 0);
    ck_assert_int_eq(nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static rconn_start *mk_start(fx *f, int to_disk) {
    rconn_start *s = mem_calloc(sizeof(*s));
    snprintf(s->host, sizeof(s->host), "127.0.0.1");
    s->port = f->port;
    s->listening_port = 6380;
    snprintf(s->psync_replid, sizeof(s->psync_replid), "?");
    s->psync_offset = -1;
    s->to_disk = to_disk;
    snprintf(s->dbfilename, sizeof(s->dbfilename), "dump.rdb");
    s->tcp_nodelay = 1;
    s->shared = &f->sh;
    return s;
}

/* START a connection and accept it as the master. */
static int fx_connect(fx *f, rconn_start *s) {
    f->id++;
    post(f, RCONN_MSG_START, 0, s);
    struct pollfd p = {.fd = f->ls, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    int fd = accept4(f->ls, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static void m_send(int fd, const void *p, size_t len) {
    ck_assert_int_eq(write(fd, p, len), (ssize_t)len);
}

static void m_sends(int fd, const char *s) { m_send(fd, s, strlen(s)); }

/* The master reads exactly `want` (its length), which must come next. */
static void m_expect(int fd, const char *want) {
    size_t n = strlen(want), have = 0;
    char *got = malloc(n + 1);
    while (have < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ck_assert_msg(poll(&p, 1, 5000) == 1, "master waited for %s", want);
        ssize_t r = read(fd, got + have, n - have);
        ck_assert_int_gt(r, 0);
        have += (size_t)r;
    }
    got[n] = '\0';
    ck_assert_str_eq(got, want);
    free(got);
}

static void m_nothing_more(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, ms), 0);
}

/* PING .. CAPA, answered like a master. */
static void m_handshake(int fd) {
    m_expect(fd, "*1\r\n$4\r\nPING\r\n");
    m_sends(fd, "+PONG\r\n");
    m_expect(fd, "*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n6380\r\n");
    m_sends(fd, "+OK\r\n");
    m_expect(fd, "*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n");
    m_sends(fd, "+OK\r\n");
}

static void check_states(col *c, int n, const int *want) {
    ck_assert_int_eq(c->nstates, n);
    for (int i = 0; i < n; i++) ck_assert_int_eq(c->states[i], want[i]);
}

static int type_index(col *c, uint32_t type) {
    for (int i = 0; i < c->ntypes; i++)
        if (c->types[i] == type) return i;
    return -1;
}

static void stop_and_check(fx *f, int mfd) {
    post(f, RCONN_MSG_STOP, 0, NULL);
    WAIT(f, f->c.closed == 1);
    ck_assert_int_eq(f->c.reason, RCONN_CLOSED_STOPPED);
    /* The master sees the end. */
    char b[64];
    struct pollfd p = {.fd = mfd, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    while (read(mfd, b, sizeof(b)) > 0) {
    }
    close(mfd);
    /* A STOP for a connection that already ended is ignored. */
    post(f, RCONN_MSG_STOP, 0, NULL);
    collect(f, 50);
    ck_assert_int_eq(f->c.closed, 1);
}

START_TEST(test_full_sync_to_disk_then_stream) {
    fx f;
    fx_init(&f);
    int m = fx_connect(&f, mk_start(&f, 1));
    m_handshake(m);
    m_expect(m, CMD_PSYNC_FULL);
    /* Keep-alive newlines before the reply and before the "$" line; the
     * stream's first command comes in the same write as the payload. */
    m_sends(m, "\n\n+FULLRESYNC " REPLID " 1234\r\n\n\n");
    WAIT(&f, f.c.fullresync == 1);
    m_sends(m, "$10\r\n0123456789*1\r\n$4\r\nPING\r\n");
    WAIT(&f, f.c.payload_file == 1 && dstr_len(f.c.stream) == 14);
    ck_assert_str_eq(f.c.replid, REPLID);
    ck_assert_int_eq(f.c.offset, 1234);
    ck_assert_uint_eq(f.c.size, 10);
    ck_assert_str_eq(f.c.stream, "*1\r\n$4\r\nPING\r\n");
    dstr rdb = test_read_file("dump.rdb");
    ck_assert_str_eq(rdb, "0123456789");
    dstr_free(rdb);
    ck_assert_uint_eq(atomic_load(&f.sh.read_bytes), 10);
    ck_assert_uint_ge(atomic_load(&f.sh.net_in_bytes), 10 + 14);
    ck_assert_int_gt(atomic_load(&f.sh.last_io_ms), 0);
    int states[] = {RCONN_CONNECTING, RCONN_HANDSHAKE, RCONN_TRANSFER, RCONN_STREAMING};
    check_states(&f.c, 4, states);
    /* FILE, then STREAMING, then the stream. */
    ck_assert_int_lt(type_index(&f.c, RCONN_REP_PAYLOAD_FILE), type_index(&f.c, RCONN_REP_STREAM));
    ck_assert_int_eq(type_index(&f.c, RCONN_REP_PAYLOAD_DATA), -1);
    /* More stream, in separate writes. */
    m_sends(m, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
    WAIT(&f, dstr_len(f.c.stream) == 14 + 23);
    ck_assert(log_has("Non blocking connect for SYNC fired the event."));
    ck_assert(log_has("Master replied to PING, replication can continue..."));
    ck_assert(log_has("Partial resynchronization not possible (no cached master)"));
    ck_assert(log_has("Full resync from master: " REPLID ":1234"));
    ck_assert(log_has("MASTER <-> REPLICA sync: receiving 10 bytes from master to disk"));
    stop_and_check(&f, m);
    fx_done(&f);
}
END_TEST

START_TEST(test_handshake_auth_ip_and_continue) {
    fx f;
    fx_init(&f);
    rconn_start *s = mk_start(&f, 0);
    s->auth_user = dstr_from("repl");
    s->auth_pass = dstr_new("se\0cret", 7); /* binary safe */
    snprintf(s->announce_ip, sizeof(s->announce_ip), "10.1.2.3");
    snprintf(s->psync_replid, sizeof(s->psync_replid), REPLID);
    s->psync_offset = 101;
    int m = fx_connect(&f, s);
    m_expect(m, "*1\r\n$4\r\nPING\r\n");
    m_sends(m, "-NOAUTH Authentication required.\r\n");
    m_expect(m, "*3\r\n$4\r\nAUTH\r\n$4\r\nrepl\r\n$7\r\n");
    char pass[9];
    ck_assert_int_eq(read(m, pass, 9), 9);
    ck_assert_int_eq(memcmp(pass, "se\0cret\r\n", 9), 0);
    m_sends(m, "+OK\r\n");
    m_expect(m, "*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n6380\r\n");
    m_sends(m, "-ERR unknown subcommand\r\n"); /* not critical */
    m_expect(m, "*3\r\n$8\r\nREPLCONF\r\n$10\r\nip-address\r\n$8\r\n10.1.2.3\r\n");
    m_sends(m, "+OK\r\n");
    m_expect(m, "*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n");
    m_sends(m, "+OK\r\n");
    m_expect(m, "*3\r\n$5\r\nPSYNC\r\n$40\r\n" REPLID "\r\n$3\r\n101\r\n");
    m_sends(m, "+CONTINUE\r\n");
    WAIT(&f, f.c.cont == 1);
    ck_assert_str_eq(f.c.replid, "");
    m_sends(m, "*1\r\n$4\r\nPING\r\n");
    WAIT(&f, dstr_len(f.c.stream) == 14);
    int states[] = {RCONN_CONNECTING, RCONN_HANDSHAKE, RCONN_STREAMING};
    check_states(&f.c, 3, states);
    ck_assert(log_has("(Non critical) Master does not understand REPLCONF listening-port"));
    ck_assert(log_has("Trying a partial resynchronization (request " REPLID ":101)."));
    ck_assert(log_has("Successful partial resynchronization with master."));
    stop_and_check(&f, m);
    fx_done(&f);
}
END_TEST

START_TEST(test_continue_with_new_replid) {
    fx f;
    fx_init(&f);
    rconn_start *s = mk_start(&f, 0);
    snprintf(s->psync_replid, sizeof(s->psync_replid), REPLID);
    s->psync_offset = 7;
    int m = fx_connect(&f, s);
    m_handshake(m);
    m_expect(m, "*3\r\n$5\r\nPSYNC\r\n$40\r\n" REPLID "\r\n$1\r\n7\r\n");
    /* The stream follows in the same write. */
    m_sends(m, "+CONTINUE ffffffffffffffffffffffffffffffffffffffff\r\n*1\r\n$4\r\nPING\r\n");
    WAIT(&f, f.c.cont == 1 && dstr_len(f.c.stream) == 14);
    ck_assert_str_eq(f.c.replid, "ffffffffffffffffffffffffffffffffffffffff");
    ck_assert_int_lt(type_index(&f.c, RCONN_REP_CONTINUE), type_index(&f.c, RCONN_REP_STREAM));
    ck_assert(log_has("Master replication ID changed to ffffffffffffffffffffffffffffffffffffffff"));
    stop_and_check(&f, m);
    fx_done(&f);
}
END_TEST

/* An EOF-framed payload of n pattern bytes that contains the mark's first
 * 39 bytes on the way; the master writes it `step` bytes at a time. */
static void eof_payload(int to_disk, size_t n, size_t step) {
    fx f;
    fx_init(&f);
    int m = fx_connect(&f, mk_start(&f, to_disk));
    m_handshake(m);
    m_expect(m, CMD_PSYNC_FULL);
    m_sends(m, "+FULLRESYNC " REPLID " 0\r\n$EOF:" MARK "\r\n");
    char *rdb = malloc(n + 40);
    for (size_t i = 0; i < n; i++) rdb[i] = (char)('a' + (i * 7) % 26);
    if (n > 100) memcpy(rdb + n / 2, MARK, 39);
    memcpy(rdb + n, MARK, 40);
    for (size_t off = 0; off < n + 40; off += step) {
        size_t k = n + 40 - off < step ? n + 40 - off : step;
        m_send(m, rdb + off, k);
        if (step == 1 && off % 64 == 0) collect(&f, 0);
    }
    if (to_disk) {
        WAIT(&f, f.c.payload_file == 1);
        dstr got = test_read_file("dump.rdb");
        ck_assert_uint_eq(dstr_len(got), n);
        ck_assert_int_eq(memcmp(got, rdb, n), 0);
        dstr_free(got);
        ck_assert(log_has("receiving streamed RDB from master with EOF to disk"));
    } else {
        WAIT(&f, f.c.payload_end == 1);
        ck_assert_uint_eq(dstr_len(f.c.data), n);
        ck_assert_int_eq(memcmp(f.c.data, rdb, n), 0);
        ck_assert_int_lt(type_index(&f.c, RCONN_REP_PAYLOAD_DATA),
                         type_index(&f.c, RCONN_REP_PAYLOAD_END));
        ck_assert(log_has("receiving streamed RDB from master with EOF to parser"));
    }
    ck_assert_uint_eq(f.c.size, RCONN_SIZE_EOF_MARK);
    WAIT(&f, f.c.nstates == 4);
    ck_assert_int_eq(f.c.states[3], RCONN_STREAMING);
    /* After the load the master streams. */
    m_sends(m, "*1\r\n$4\r\nPING\r\n");
    WAIT(&f, dstr_len(f.c.stream) == 14);
    free(rdb);
    stop_and_check(&f, m);
    fx_done(&f);
}

START_TEST(test_eof_payload_bytewise_diskless) { eof_payload(0, 3000, 1); }
END_TEST

START_TEST(test_eof_payload_chunks_diskless) { eof_payload(0, 3 * 1024 * 1024 + 17, 100000); }
END_TEST

START_TEST(test_eof_payload_tiny_and_to_disk) {
    eof_payload(0, 0, 1);
    eof_payload(1, 5, 3);
    eof_payload(1, 9 * 1024 * 1024 + 3, 1 << 20); /* crosses an fdatasync */
}
END_TEST

START_TEST(test_len_payload_diskless) {
    fx f;
    fx_init(&f);
    int m = fx_connect(&f, mk_start(&f, 0));
    m_handshake(m);
    m_expect(m, CMD_PSYNC_FULL);
    m_sends(m, "+FULLRESYNC " REPLID " 5\r\n$6\r\nab");
    m_sends(m, "cd");
    m_sends(m, "ef*1\r\n$4\r\nPING\r\n");
    WAIT(&f, f.c.payload_end == 1 && dstr_len(f.c.stream) == 14);
    ck_assert_str_eq(f.c.data, "abcdef");
    ck_assert_str_eq(f.c.stream, "*1\r\n$4\r\nPING\r\n");
    ck_assert(log_has("MASTER <-> REPLICA sync: receiving 6 bytes from master to parser"));
    stop_and_check(&f, m);
    fx_done(&f);
}
END_TEST

START_TEST(test_nomasterlink_retry) {
    fx f;
    fx_init(&f);
    int m = fx_connect(&f, mk_start(&f, 1));
    m_handshake(m);
    m_expect(m, CMD_PSYNC_FULL);
    m_sends(m, "-NOMASTERLINK Can't SYNC while not connected with my master\r\n");
    WAIT(&f, f.c.closed == 1);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_RETRY);
    ck_assert(log_has("Master is currently unable to PSYNC but should be in the future"));
    close(m);
    fx_done(&f);
}
END_TEST

START_TEST(test_psync_unknown_falls_back_to_sync) {
    fx f;
    fx_init(&f);
    int m = fx_connect(&f, mk_start(&f, 0));
    m_handshake(m);
    m_expect(m, CMD_PSYNC_FULL);
    m_sends(m, "-ERR unknown command 'PSYNC'\r\n");
    m_expect(m, "*1\r\n$4\r\nSYNC\r\n");
    WAIT(&f, f.c.fullresync == 1);
    ck_assert_str_eq(f.c.replid, "?");
    ck_assert_int_eq(f.c.offset, -1);
    m_sends(m, "$3\r\nabc");
    WAIT(&f, f.c.payload_end == 1);
    ck_assert_str_eq(f.c.data, "abc");
    ck_assert(log_has("Retrying with SYNC..."));
    stop_and_check(&f, m);
    fx_done(&f);
}
END_TEST

/* A connection in STREAMING after +CONTINUE. */
static int streaming(fx *f) {
    int base = f->c.nstates;
    rconn_start *s = mk_start(f, 0);
    snprintf(s->psync_replid, sizeof(s->psync_replid), REPLID);
    s->psync_offset = 1;
    int m = fx_connect(f, s);
    m_handshake(m);
    m_expect(m, "*3\r\n$5\r\nPSYNC\r\n$40\r\n" REPLID "\r\n$1\r\n1\r\n");
    m_sends(m, "+CONTINUE\r\n");
    WAIT(f, f->c.nstates == base + 3);
    ck_assert_int_eq(f->c.states[base + 2], RCONN_STREAMING);
    return m;
}

START_TEST(test_tick_acks_and_sends) {
    fx f;
    fx_init(&f);
    int m = streaming(&f);
    atomic_store(&f.sh.applied, 12345);
    post(&f, RCONN_MSG_TICK, 60000, NULL);
    m_expect(m, "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$5\r\n12345\r\n");
    char *p = mem_alloc(5);
    memcpy(p, "hello", 5);
    post(&f, RCONN_MSG_SEND, 5, p);
    atomic_store(&f.sh.applied, 99);
    post(&f, RCONN_MSG_TICK, 60000, NULL);
    m_expect(m, "hello*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$2\r\n99\r\n");
    /* A SEND for another connection is dropped (and freed). */
    p = mem_alloc(3);
    memcpy(p, "old", 3);
    spsc_msg old = {.type = RCONN_MSG_SEND, .fd = -1, .id = f.id + 100, .val = 3, .ptr = p};
    io_thread_post(f.t, &old);
    m_nothing_more(m, 100);
    stop_and_check(&f, m);
    fx_done(&f);
}
END_TEST

START_TEST(test_timeouts) {
    fx f;
    fx_init(&f);
    /* Streaming with a PING every 50 ms, ticks at 100 ms: the link lives,
     * however long it has been up. */
    int m = streaming(&f);
    for (int i = 0; i < 6; i++) {
        usleep(50 * 1000);
        m_sends(m, "*1\r\n$4\r\nPING\r\n");
        WAIT(&f, dstr_len(f.c.stream) == 14 * (size_t)(i + 1));
        post(&f, RCONN_MSG_TICK, 100, NULL);
    }
    collect(&f, 50);
    ck_assert_int_eq(f.c.closed, 0);
    /* Then no byte any more. */
    usleep(150 * 1000);
    post(&f, RCONN_MSG_TICK, 100, NULL);
    WAIT(&f, f.c.closed == 1);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_TIMEOUT);
    ck_assert(log_has("MASTER timeout: no data nor PING received..."));
    close(m);
    /* A handshake step without a reply. */
    m = fx_connect(&f, mk_start(&f, 0));
    m_expect(m, "*1\r\n$4\r\nPING\r\n");
    post(&f, RCONN_MSG_TICK, 100, NULL); /* not yet */
    usleep(150 * 1000);
    post(&f, RCONN_MSG_TICK, 100, NULL);
    WAIT(&f, f.c.closed == 2);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_TIMEOUT);
    ck_assert(log_has("Timeout connecting to the MASTER..."));
    close(m);
    /* A transfer without a byte: the temp file goes. */
    m = fx_connect(&f, mk_start(&f, 1));
    m_handshake(m);
    m_expect(m, CMD_PSYNC_FULL);
    m_sends(m, "+FULLRESYNC " REPLID " 0\r\n$100\r\nabc");
    WAIT(&f, atomic_load(&f.sh.read_bytes) == 3);
    ck_assert_int_eq(count_temp_files(), 1);
    usleep(150 * 1000);
    post(&f, RCONN_MSG_TICK, 100, NULL);
    WAIT(&f, f.c.closed == 3);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_TIMEOUT);
    ck_assert(log_has("Timeout receiving bulk data from MASTER... If the problem persists try to "
                      "set the 'repl-timeout' parameter in redis.conf to a larger value."));
    ck_assert_int_eq(count_temp_files(), 0);
    close(m);
    fx_done(&f);
}
END_TEST

/* The master writes what its socket takes of data[*sent..total) without
 * blocking, and the keyspace collects once. */
static void m_write_some(fx *f, int m, const char *data, size_t total, size_t *sent) {
    while (*sent < total) {
        ssize_t n = write(m, data + *sent, total - *sent);
        if (n < 0 && errno == EAGAIN) break;
        ck_assert_int_gt(n, 0);
        *sent += (size_t)n;
    }
    collect(f, 10);
}

/* Flow control: a keyspace that holds on to what it was handed stops the
 * reading past the limit (the master's writes back up in the socket, and
 * the link does not time out meanwhile), and once it lets go the reading
 * resumes, with no byte lost or out of order. */
START_TEST(test_flow_control_pauses_and_resumes) {
    fx f;
    fx_init(&f);
    const size_t limit = 256 * 1024, total = 24 * 1024 * 1024;
    f.sh.read_limit = limit;
    f.c.keep = 1;
    int m = streaming(&f);
    ck_assert_int_eq(fcntl(m, F_SETFL, O_NONBLOCK), 0);
    char *data = malloc(total);
    for (size_t i = 0; i < total; i++) data[i] = (char)(i * 13 % 251);
    size_t sent = 0;
    for (int i = 0; i < 40; i++) m_write_some(&f, m, data, total, &sent);
    /* One 64 KB recv (RCONN_STREAM_CHUNK) may land past the limit. */
    ck_assert_uint_gt(f.c.kept_bytes, limit);
    ck_assert_uint_le(f.c.kept_bytes, limit + 64 * 1024);
    ck_assert_uint_eq(dstr_len(f.c.stream), f.c.kept_bytes);
    ck_assert_uint_eq(atomic_load(&f.sh.unreleased), f.c.kept_bytes);
    ck_assert_int_eq(atomic_load(&f.sh.paused), 1);
    ck_assert_uint_lt(sent, total); /* TCP holds the master back */
    /* Our own pause is not the master's silence. */
    for (int i = 0; i < 2; i++) {
        usleep(150 * 1000);
        post(&f, RCONN_MSG_TICK, 100, NULL);
        collect(&f, 50);
    }
    ck_assert_int_eq(f.c.closed, 0);
    ck_assert_uint_eq(dstr_len(f.c.stream), f.c.kept_bytes);
    /* A keyspace that releases as it goes gets everything, pausing the
     * reader again and again on the way. */
    for (int i = 0; i < 20000 && dstr_len(f.c.stream) < total; i++) {
        release_kept(&f);
        m_write_some(&f, m, data, total, &sent);
    }
    ck_assert_uint_eq(dstr_len(f.c.stream), total);
    ck_assert_int_eq(memcmp(f.c.stream, data, total), 0);
    release_kept(&f);
    ck_assert_uint_eq(atomic_load(&f.sh.unreleased), 0);
    f.c.keep = 0;
    free(data);
    stop_and_check(&f, m);
    fx_done(&f);
}
END_TEST

/* The master answers PSYNC with +FULLRESYNC and then `bulk`. */
static void bad_bulk(fx *f, const char *bulk, int reason) {
    int closed = f->c.closed;
    int m = fx_connect(f, mk_start(f, 1));
    m_handshake(m);
    m_expect(m, CMD_PSYNC_FULL);
    m_sends(m, "+FULLRESYNC " REPLID " 0\r\n");
    m_sends(m, bulk);
    WAIT(f, f->c.closed == closed + 1);
    ck_assert_msg(f->c.reason == reason, "%s: reason %d", bulk, f->c.reason);
    ck_assert_int_eq(count_temp_files(), 0);
    close(m);
}

START_TEST(test_malformed_master) {
    fx f;
    fx_init(&f);
    bad_bulk(&f, "$-1\r\n", RCONN_CLOSED_PROTOCOL);
    bad_bulk(&f, "$abc\r\n", RCONN_CLOSED_PROTOCOL);
    bad_bulk(&f, "$\r\n", RCONN_CLOSED_PROTOCOL);
    bad_bulk(&f, "$12 \r\n", RCONN_CLOSED_PROTOCOL);
    bad_bulk(&f, "$99999999999999999999999\r\n", RCONN_CLOSED_PROTOCOL);
    bad_bulk(&f, "$1099511627777\r\n", RCONN_CLOSED_PROTOCOL); /* 1 TB + 1 */
    bad_bulk(&f, "$EOF:short\r\n", RCONN_CLOSED_PROTOCOL);
    bad_bulk(&f, "$EOF:" MARK "X\r\n", RCONN_CLOSED_PROTOCOL);
    bad_bulk(&f, "+OK\r\n", RCONN_CLOSED_PROTOCOL);
    bad_bulk(&f, "-ERR no payload for you\r\n", RCONN_CLOSED_HANDSHAKE);
    ck_assert(log_has("MASTER aborted replication with an error: ERR no payload for you"));
    ck_assert(log_has("Bad protocol from MASTER, the first byte is not '$' (we received '+OK')"));
    fx_done(&f);
}
END_TEST

START_TEST(test_eof_and_garbage_mid_way) {
    fx f;
    fx_init(&f);
    /* EOF in the middle of a payload to disk. */
    int m = fx_connect(&f, mk_start(&f, 1));
    m_handshake(m);
    m_expect(m, CMD_PSYNC_FULL);
    m_sends(m, "+FULLRESYNC " REPLID " 0\r\n$100\r\n0123456789");
    WAIT(&f, atomic_load(&f.sh.read_bytes) == 10);
    close(m);
    WAIT(&f, f.c.closed == 1);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_EOF);
    ck_assert(log_has("I/O error trying to sync with MASTER: connection lost"));
    ck_assert_int_eq(count_temp_files(), 0);
    /* A reply line of more than 64 KB. */
    m = fx_connect(&f, mk_start(&f, 0));
    m_expect(m, "*1\r\n$4\r\nPING\r\n");
    char *big = malloc(70000);
    memset(big, 'x', 70000);
    big[0] = '+';
    m_send(m, big, 70000);
    free(big);
    WAIT(&f, f.c.closed == 2);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_PROTOCOL);
    close(m);
    /* An error reply to PING; the master's end in the handshake. */
    m = fx_connect(&f, mk_start(&f, 0));
    m_expect(m, "*1\r\n$4\r\nPING\r\n");
    m_sends(m, "-DENIED go away\r\n");
    WAIT(&f, f.c.closed == 3);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_HANDSHAKE);
    ck_assert(log_has("Error reply to PING from master: '-DENIED go away'"));
    close(m);
    m = fx_connect(&f, mk_start(&f, 0));
    m_expect(m, "*1\r\n$4\r\nPING\r\n");
    close(m);
    WAIT(&f, f.c.closed == 4);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_EOF);
    /* The stream's end. */
    m = streaming(&f);
    close(m);
    WAIT(&f, f.c.closed == 5);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_EOF);
    ck_assert(log_has("Connection with master lost."));
    fx_done(&f);
}
END_TEST

START_TEST(test_stop_mid_transfer_and_restart) {
    fx f;
    fx_init(&f);
    int m = fx_connect(&f, mk_start(&f, 1));
    m_handshake(m);
    m_expect(m, CMD_PSYNC_FULL);
    m_sends(m, "+FULLRESYNC " REPLID " 0\r\n$1000000\r\n");
    char buf[1000];
    memset(buf, 'r', sizeof(buf));
    m_send(m, buf, sizeof(buf));
    WAIT(&f, atomic_load(&f.sh.read_bytes) == 1000);
    ck_assert_int_eq(count_temp_files(), 1);
    post(&f, RCONN_MSG_STOP, 0, NULL);
    /* A new START right behind the STOP, while the old one may still be
     * cancelling its requests. */
    int m2 = fx_connect(&f, mk_start(&f, 0));
    WAIT(&f, f.c.closed == 1);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_STOPPED);
    ck_assert_int_eq(count_temp_files(), 0);
    close(m);
    m_expect(m2, "*1\r\n$4\r\nPING\r\n");
    /* A START while one runs ends the old one first. */
    int m3 = fx_connect(&f, mk_start(&f, 0));
    WAIT(&f, f.c.closed == 2);
    close(m2);
    m_expect(m3, "*1\r\n$4\r\nPING\r\n");
    /* The thread stops with the connection live: no report, no leak. */
    fx_done(&f);
    close(m3);
}
END_TEST

START_TEST(test_connect_refused) {
    fx f;
    fx_init(&f);
    rconn_start *s = mk_start(&f, 0);
    close(f.ls); /* nobody listens there now */
    f.ls = socket(AF_INET, SOCK_STREAM, 0);
    f.id++;
    post(&f, RCONN_MSG_START, 0, s);
    WAIT(&f, f.c.closed == 1);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_CONNECT);
    ck_assert(log_has("Error condition on socket for SYNC: Connection refused"));
    /* An unknown name. */
    s = mk_start(&f, 0);
    snprintf(s->host, sizeof(s->host), "no-such-host.invalid");
    f.id++;
    post(&f, RCONN_MSG_START, 0, s);
    WAIT(&f, f.c.closed == 2);
    ck_assert_int_eq(f.c.reason, RCONN_CLOSED_CONNECT);
    fx_done(&f);
}
END_TEST

/* ---- a real master ------------------------------------------------------ */

static int tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static pid_t start_redis(int port, const char *dir) {
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* A failed check ends the test process: the master goes with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char p[16];
        snprintf(p, sizeof(p), "%d", port);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
               "--daemonize", "no", "--dir", dir, "--repl-diskless-sync", "yes",
               "--repl-diskless-sync-delay", "0", (char *)NULL);
        _exit(127);
    }
    return pid;
}

START_TEST(test_real_redis_master) {
    if (system("redis-server --version >/dev/null 2>&1") != 0) {
        printf("redis-server not installed: skipped\n");
        return;
    }
    fx f;
    fx_init(&f);
    int port = 20000 + (int)(getpid() % 20000);
    char mdir[80];
    snprintf(mdir, sizeof(mdir), "%s/master", f.dir);
    ck_assert_int_eq(mkdir(mdir, 0700), 0);
    pid_t pid = start_redis(port, mdir);
    int cl = -1;
    for (int i = 0; i < 200 && cl < 0; i++) {
        usleep(25 * 1000);
        cl = tcp_connect(port);
    }
    ck_assert_int_ge(cl, 0);
    const char set1[] = "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$2\r\nv1\r\n";
    m_send(cl, set1, sizeof(set1) - 1);
    m_expect(cl, "+OK\r\n");

    rconn_start *s = mk_start(&f, 1);
    s->port = port;
    f.id++;
    post(&f, RCONN_MSG_START, 0, s);
    WAIT(&f, f.c.payload_file == 1);
    ck_assert_int_eq(f.c.fullresync, 1);
    ck_assert_uint_eq(strlen(f.c.replid), 40);
    ck_assert_uint_eq(f.c.size, RCONN_SIZE_EOF_MARK); /* diskless master */
    dstr rdb = test_read_file("dump.rdb");
    ck_assert_int_eq(memcmp(rdb, "REDIS", 5), 0);
    ck_assert_ptr_nonnull(memmem(rdb, dstr_len(rdb), "k1", 2));
    dstr_free(rdb);
    const char set2[] = "*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$5\r\nhello\r\n";
    m_send(cl, set2, sizeof(set2) - 1);
    m_expect(cl, "+OK\r\n");
    /* The master streams to a replica fed an EOF-framed payload after its
     * first ACK, and only ACKs that come after it noticed its child's end
     * count: tick as the keyspace does, faster. */
    atomic_store(&f.sh.applied, f.c.offset);
    for (int i = 0; i < 50 && strstr(f.c.stream, "hello") == NULL; i++) {
        post(&f, RCONN_MSG_TICK, 60000, NULL);
        for (int k = 0; k < 8; k++) collect(&f, 25);
    }
    ck_assert_ptr_nonnull(strstr(f.c.stream, "hello"));
    ck_assert_ptr_nonnull(strstr(f.c.stream, "SELECT"));
    ck_assert(log_has("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk"));
    post(&f, RCONN_MSG_STOP, 0, NULL);
    WAIT(&f, f.c.closed == 1);
    close(cl);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fx_done(&f);
}
END_TEST

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("replica_conn");
    TCase *tc = tcase_create("conn");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_full_sync_to_disk_then_stream);
    tcase_add_test(tc, test_handshake_auth_ip_and_continue);
    tcase_add_test(tc, test_continue_with_new_replid);
    tcase_add_test(tc, test_eof_payload_bytewise_diskless);
    tcase_add_test(tc, test_eof_payload_chunks_diskless);
    tcase_add_test(tc, test_eof_payload_tiny_and_to_disk);
    tcase_add_test(tc, test_len_payload_diskless);
    tcase_add_test(tc, test_nomasterlink_retry);
    tcase_add_test(tc, test_psync_unknown_falls_back_to_sync);
    tcase_add_test(tc, test_tick_acks_and_sends);
    tcase_add_test(tc, test_timeouts);
    tcase_add_test(tc, test_flow_control_pauses_and_resumes);
    tcase_add_test(tc, test_malformed_master);
    tcase_add_test(tc, test_eof_and_garbage_mid_way);
    tcase_add_test(tc, test_stop_mid_transfer_and_restart);
    tcase_add_test(tc, test_connect_refused);
    tcase_add_test(tc, test_real_redis_master);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
