/* test_repl_thread_link: a replica link on a real I/O thread, driven the
 * way the keyspace drives it (repl/link.h), with the test thread playing
 * both the keyspace and the replica at the far end of a socketpair.
 *
 *  - streaming: the "keyspace" appends a pattern to the backlog in many
 *    small publishes and pokes; the "replica" must read exactly the stream,
 *    in order, while its REPLCONF ACKs come back as LINK_REP_ACK reports
 *    and the reader slot's released offset follows what was sent;
 *  - diskless full sync: +FULLRESYNC, then an EOF-framed payload from a
 *    pipe, LINK_WAIT_ACK at the pipe's end, ONLINE at the first ACK, then
 *    the stream from the snapshot's offset;
 *  - DROP ends in exactly one LINK_REP_CLOSED.
 *
 * AF_UNIX sockets refuse SEND_ZC, so the socketpair run covers the fallback
 * to plain sends; the same stream over loopback TCP must go out as
 * zero-copy requests, each of which the kernel then says it copied or not
 * (on loopback it copies). Threaded: run under ThreadSanitizer in CI. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <liburing.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/mem.h"
#include "io/wake.h"
#include "repl/link.h"
#include "test_support.h"

#define STREAM_BYTES (3 * 1024 * 1024)

typedef struct reports {
    long long acked;
    int state;
    int closed;
} reports;

/* A CLOSED report hands the socket back: the keyspace closes it. */
static void on_report(void *ctx, const spsc_msg *m) {
    reports *r = ctx;
    if (m->type == LINK_REP_ACK) r->acked = (long long)m->val;
    else if (m->type == LINK_REP_STATE) r->state = (int)m->val;
    else if (m->type == LINK_REP_CLOSED) {
        r->closed++;
        ck_assert_int_ge(m->fd, 0);
        close(m->fd);
    }
}

static void collect(io_thread *t, reports *r, int ms) {
    struct pollfd p = {.fd = io_thread_wake_fd(t), .events = POLLIN};
    poll(&p, 1, ms);
    io_thread_collect(t, on_report, r);
}

static char pattern(long long off) { return (char)('a' + off % 23); }

/* Read what the link sent, check it against the pattern. */
static long long read_stream(int fd, long long next, long long upto) {
    char buf[65536];
    while (next <= upto) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0) break;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) ck_assert_int_eq(buf[i], pattern(next + i));
        next += n;
    }
    return next;
}

static void send_ack(int fd, long long off) {
    char num[32], cmd[96];
    int nl = snprintf(num, sizeof(num), "%lld", off);
    int n = snprintf(cmd, sizeof(cmd), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%s\r\n", nl, num);
    ck_assert_int_eq(write(fd, cmd, (size_t)n), n);
}

static void poke(io_thread *t) {
    spsc_msg m = {.type = LINK_MSG_POKE, .fd = -1};
    io_thread_post(t, &m);
}

static link_adopt *adoption(uint64_t id, int fd, int state, backlog *bl, int slot,
                            long long from) {
    link_adopt *a = mem_calloc(sizeof(*a));
    a->id = id;
    a->fd = fd;
    a->state = state;
    snprintf(a->name, sizeof(a->name), "test:%llu", (unsigned long long)id);
    a->bl = bl;
    a->slot = slot;
    if (state == LINK_ONLINE) ck_assert_int_eq(backlog_seek(bl, from, &a->cur), 0);
    return a;
}

/* A connected TCP pair over loopback: the path real replicas take, where
 * SEND_ZC is accepted. */
static void tcp_pair(int sv[2]) {
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(ls, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(ls, 1), 0);
    ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&a, &alen), 0);
    sv[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(connect(sv[1], (struct sockaddr *)&a, sizeof(a)), 0);
    sv[0] = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(sv[0], 0);
    close(ls);
}

/* Stream through a link on socket pair sv, in rounds of round_bytes; its
 * counters (zero-copy sends and what the kernel did with them) go to
 * *counted once the link has closed: every notification has come then. */
static void stream_and_ack(int sv[2], long long round_bytes, link_threads *counted) {
    link_threads ctx = {0};
    io_thread *t;
    ck_assert_int_eq(io_thread_start(&t, NULL, &link_thread_ops, &ctx), 0);
    backlog *bl = backlog_create(0, 1 << 20, 64 * 1024);
    int slot = backlog_reader_add(bl, 1);
    spsc_msg m = {.type = LINK_MSG_ADOPT, .fd = -1, .id = 7,
                  .ptr = adoption(7, sv[0], LINK_ONLINE, bl, slot, 1)};
    io_thread_post(t, &m);

    reports rep = {.acked = -1};
    long long next = 1;
    while (backlog_end(bl) < STREAM_BYTES) {
        test_append_pattern(bl, round_bytes + (backlog_end(bl) % 5000), pattern);
        backlog_publish(bl);
        poke(t);
        next = read_stream(sv[1], next, next); /* at least some bytes each round */
        send_ack(sv[1], next - 1);
        io_thread_collect(t, on_report, &rep);
        backlog_trim(bl);
    }
    next = read_stream(sv[1], next, backlog_end(bl));
    ck_assert_int_eq(next, backlog_end(bl) + 1);
    send_ack(sv[1], backlog_end(bl));
    for (int i = 0; i < 100 && rep.acked != backlog_end(bl); i++) collect(t, &rep, 50);
    ck_assert_int_eq(rep.acked, backlog_end(bl));
    /* Everything sent was released: the keyspace may trim behind it. */
    for (int i = 0; i < 100; i++) {
        if (atomic_load(&bl->readers[slot].released) == backlog_end(bl)) break;
        collect(t, &rep, 20);
    }
    ck_assert_int_eq(atomic_load(&bl->readers[slot].released), backlog_end(bl));

    spsc_msg drop = {.type = LINK_MSG_DROP, .fd = -1, .id = 7};
    io_thread_post(t, &drop);
    for (int i = 0; i < 100 && !rep.closed; i++) collect(t, &rep, 50);
    ck_assert_int_eq(rep.closed, 1);
    io_thread_stop(t, on_report, &rep);
    ck_assert_int_eq(rep.closed, 1);
    close(sv[1]);
    backlog_free(bl);
    *counted = ctx;
}

START_TEST(test_streaming_and_acks) {
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    /* AF_UNIX refuses SEND_ZC: every send falls back to a plain one. */
    link_threads c;
    stream_and_ack(sv, 1000, &c);
    ck_assert_uint_eq(c.zc_sends, 0);
    ck_assert_uint_eq(c.zc_copied + c.zc_zerocopy, 0);
}
END_TEST

START_TEST(test_streaming_over_tcp_zero_copy) {
    int sv[2];
    tcp_pair(sv);
    /* Rounds of 64 KB and more: spans past LINK_ZC_MIN go out as SEND_ZC
     * where the kernel has it (5.19 and later). */
    link_threads c;
    stream_and_ack(sv, 64 * 1024, &c);
    struct io_uring_probe *probe = io_uring_get_probe();
    int have_zc = probe && io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
    if (probe) io_uring_free_probe(probe);
    printf("loopback stream: %llu zero-copy sends, %llu copied by the kernel, %llu not "
           "(usage reported: %d)\n",
           (unsigned long long)c.zc_sends, (unsigned long long)c.zc_copied,
           (unsigned long long)c.zc_zerocopy, c.zc_usage_reported);
    if (!have_zc) {
        ck_assert_uint_eq(c.zc_sends, 0);
        return;
    }
    ck_assert_uint_gt(c.zc_sends, 0);
    if (c.zc_usage_reported) {
        /* Every notification answered, and loopback delivery copies. */
        ck_assert_uint_eq(c.zc_copied + c.zc_zerocopy, c.zc_sends);
        ck_assert_uint_gt(c.zc_copied, 0);
    } else {
        ck_assert_uint_eq(c.zc_copied + c.zc_zerocopy, 0);
    }
}
END_TEST

START_TEST(test_diskless_full_sync) {
    link_threads ctx = {0};
    io_thread *t;
    ck_assert_int_eq(io_thread_start(&t, NULL, &link_thread_ops, &ctx), 0);
    backlog *bl = backlog_create(100, 1 << 20, 16 * 1024);
    int sv[2], p[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    spsc_msg m = {.type = LINK_MSG_ADOPT, .fd = -1, .id = 9,
                  .ptr = adoption(9, sv[0], LINK_WAIT_BGSAVE_START, bl, -1, 0)};
    io_thread_post(t, &m);

    /* Keep-alive newline while nothing happens. */
    spsc_msg tick = {.type = LINK_MSG_TICK, .fd = -1};
    io_thread_post(t, &tick);
    char c;
    ck_assert_int_eq(read(sv[1], &c, 1), 1);
    ck_assert_int_eq(c, '\n');

    link_fullsync *f = mem_calloc(sizeof(*f));
    snprintf(f->line, sizeof(f->line), "+FULLRESYNC x 100\r\n");
    f->slot = backlog_reader_add(bl, 101);
    ck_assert_int_eq(backlog_seek(bl, 101, &f->cur), 0);
    f->diskless = 1;
    int slot = f->slot;
    spsc_msg fs = {.type = LINK_MSG_FULLSYNC, .fd = -1, .id = 9, .ptr = f};
    io_thread_post(t, &fs);
    spsc_msg bulk = {.type = LINK_MSG_BULK, .fd = p[0], .id = 9, .val = LINK_BULK_EOF};
    io_thread_post(t, &bulk);
    /* The stream moves on while the payload flows; it must wait behind it. */
    test_append_pattern(bl, 5000, pattern);
    backlog_publish(bl);
    poke(t);
    const char payload[] = "$EOF:0123\r\nRDB-BYTES0123";
    ck_assert_int_eq(write(p[1], payload, sizeof(payload) - 1), (ssize_t)sizeof(payload) - 1);
    close(p[1]);

    char want[128];
    int wl = snprintf(want, sizeof(want), "+FULLRESYNC x 100\r\n%s", payload);
    char got[128];
    int have = 0;
    while (have < wl) {
        struct pollfd pf = {.fd = sv[1], .events = POLLIN};
        ck_assert_int_gt(poll(&pf, 1, 5000), 0);
        ssize_t n = read(sv[1], got + have, (size_t)(wl - have));
        ck_assert_int_gt(n, 0);
        have += (int)n;
    }
    ck_assert_int_eq(memcmp(got, want, (size_t)wl), 0);
    reports rep = {.acked = -1};
    for (int i = 0; i < 100 && rep.state != LINK_WAIT_ACK; i++) collect(t, &rep, 50);
    ck_assert_int_eq(rep.state, LINK_WAIT_ACK);
    /* Nothing follows the EOF mark until the replica ACKs. */
    struct pollfd pf = {.fd = sv[1], .events = POLLIN};
    ck_assert_int_eq(poll(&pf, 1, 100), 0);
    send_ack(sv[1], 100);
    long long next = read_stream(sv[1], 101, backlog_end(bl));
    ck_assert_int_eq(next, backlog_end(bl) + 1);
    for (int i = 0; i < 100 && rep.state != LINK_ONLINE; i++) collect(t, &rep, 50);
    ck_assert_int_eq(rep.state, LINK_ONLINE);

    close(sv[1]); /* the replica goes away */
    for (int i = 0; i < 100 && !rep.closed; i++) collect(t, &rep, 50);
    ck_assert_int_eq(rep.closed, 1);
    backlog_reader_remove(bl, slot);
    io_thread_stop(t, on_report, &rep);
    backlog_free(bl);
}
END_TEST

int main(void) {
    Suite *s = suite_create("repl_thread_link");
    TCase *tc = tcase_create("link");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_streaming_and_acks);
    tcase_add_test(tc, test_streaming_over_tcp_zero_copy);
    tcase_add_test(tc, test_diskless_full_sync);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
