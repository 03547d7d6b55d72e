/* test_handover: a replica handed from the keyspace thread to a real
 * replication I/O thread, with the keyspace side's own building blocks
 * (psync_decide, link_pin, link_adopt_new, link_fullsync_new: what
 * master_sync.c and snapshot.c call) and the I/O side's link_thread_ops.
 *
 * The test thread plays the keyspace (it owns the backlog, posts the
 * messages, collects the reports through the thread's wake fd as the epoll
 * loop does) and the replica, at the far end of a socketpair. For each
 * PSYNC outcome the replica must read exactly, and in order:
 *
 *   +CONTINUE: the replies it was still owed, the +CONTINUE line, then the
 *              backlog from the offset it asked for, then new stream bytes;
 *   FULLRESYNC: the replies owed, nothing more until the snapshot starts,
 *              then +FULLRESYNC <id> <offset> (nothing for plain SYNC),
 *              $<len> and the payload, then the stream from the snapshot's
 *              offset on (written meanwhile, held back behind the payload);
 *
 * and the link's end comes back as exactly one LINK_REP_CLOSED, which hands
 * the socket back still open: the I/O thread never closes a replica's
 * descriptor, so its number cannot be reused (by a pipe the keyspace opens
 * before it reads the report, say) while the keyspace still holds it.
 * Refusals (no free reader slot, an offset already trimmed) leave nothing
 * behind.
 *
 * Threaded: run under ThreadSanitizer in CI. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "repl/link.h"
#include "repl/psync.h"
#include "test_support.h"

#define DEADLINE_MS 10000
#define REPLID "0123456789abcdef0123456789abcdef01234567"
#define OWED "+OK\r\n+OK\r\n" /* REPLCONF replies still in the client's buffer */

typedef struct reports {
    long long acked;
    int state;
    int closed;
    int close_reason;
    int close_fd;
} reports;

static void on_report(void *ctx, const spsc_msg *m) {
    reports *r = ctx;
    if (m->id != 7) ck_abort_msg("report for unknown link %llu", (unsigned long long)m->id);
    if (m->type == LINK_REP_ACK) {
        r->acked = (long long)m->val;
    } else if (m->type == LINK_REP_STATE) {
        r->state = (int)m->val;
    } else if (m->type == LINK_REP_CLOSED) {
        r->closed++;
        r->close_reason = link_closed_reason(m->val);
        r->close_fd = m->fd;
    }
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One keyspace event-loop pass: sleep on the wake fd, collect. */
static void collect(io_thread *t, reports *r, int ms) {
    struct pollfd p = {.fd = io_thread_wake_fd(t), .events = POLLIN};
    poll(&p, 1, ms);
    io_thread_collect(t, on_report, r);
}

#define WAIT_REPORT(t, r, cond)                                                                    \
    do {                                                                                           \
        long long deadline_ = now_ms() + DEADLINE_MS;                                              \
        while (!(cond) && now_ms() < deadline_) collect(t, r, 50);                                 \
        ck_assert_msg((cond), "timed out waiting for " #cond);                                     \
    } while (0)

static char pattern(long long off) { return (char)('A' + off % 26); }

static void post(io_thread *t, uint32_t type, void *ptr, int fd, uint64_t val) {
    spsc_msg m = {.type = type, .fd = fd, .id = 7, .val = val, .ptr = ptr};
    ck_assert_int_eq(io_thread_post(t, &m), 0);
}

/* Exactly len bytes from the replica's end, or fail. */
static void read_exactly(int fd, char *buf, size_t len) {
    size_t got = 0;
    long long deadline = now_ms() + DEADLINE_MS;
    while (got < len && now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        ssize_t n = read(fd, buf + got, len - got);
        ck_assert_msg(n > 0, "the link closed after %zu of %zu bytes", got, len);
        got += (size_t)n;
    }
    ck_assert_uint_eq(got, len);
}

static void expect_bytes(int fd, const char *want, size_t len) {
    char *got = malloc(len);
    read_exactly(fd, got, len);
    ck_assert_msg(memcmp(got, want, len) == 0, "expected \"%.*s\", got \"%.*s\"", (int)len, want,
                  (int)len, got);
    free(got);
}

/* The stream's bytes [from, to], in order. */
static void expect_stream(int fd, long long from, long long to) {
    size_t len = (size_t)(to - from + 1);
    char *got = malloc(len);
    read_exactly(fd, got, len);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(got[i] == pattern(from + (long long)i), "stream byte %lld is wrong",
                      from + (long long)i);
    free(got);
}

static void expect_silence(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, ms), 0);
}

static void expect_eof(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, DEADLINE_MS), 1);
    char c;
    ck_assert_int_eq(read(fd, &c, 1), 0);
}

static void send_ack(int fd, long long off) {
    char num[32], cmd[96];
    int nl = snprintf(num, sizeof(num), "%lld", off);
    int n = snprintf(cmd, sizeof(cmd), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%s\r\n", nl,
                     num);
    ck_assert_int_eq(write(fd, cmd, (size_t)n), n);
}

static psync_state decision_state(backlog *bl) {
    psync_state st = {REPLID, "0000000000000000000000000000000000000000", -1, 1,
                      backlog_first(bl), backlog_end(bl)};
    return st;
}

static void new_pair(int sv[2]) {
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* The CLOSED report handed `fd` back, and it still is the socket that was
 * adopted (`was`): then the keyspace closes it. */
static void take_back(const reports *rep, int fd, const struct stat *was) {
    ck_assert_int_eq(rep->close_fd, fd);
    struct stat now;
    ck_assert_msg(fstat(fd, &now) == 0, "the I/O thread closed the socket: %s", strerror(errno));
    ck_assert(now.st_dev == was->st_dev && now.st_ino == was->st_ino);
    close(fd);
}

/* PSYNC <replid> <offset> inside the backlog: +CONTINUE. */
START_TEST(test_continue) {
    link_threads ctx = {0};
    io_thread *t;
    ck_assert_int_eq(io_thread_start(&t, NULL, &link_thread_ops, &ctx), 0);
    backlog *bl = backlog_create(1000, 1 << 20, 16 * 1024);
    test_append_pattern(bl, 40000, pattern); /* 1001..41000, several blocks */
    backlog_publish(bl);

    /* The replica has everything up to 3000 and asks for 3001. */
    psync_state st = decision_state(bl);
    char why[256];
    ck_assert_int_eq(psync_decide(&st, REPLID, 3001, why, sizeof(why)), PSYNC_CONTINUE);
    int slot;
    backlog_cursor cur;
    ck_assert_int_eq(link_pin(bl, 3001, &slot, &cur), 0);
    char line[128];
    int n = psync_continue_reply(line, sizeof(line), REPLID, 1);
    int sv[2];
    new_pair(sv);
    struct stat adopted;
    ck_assert_int_eq(fstat(sv[0], &adopted), 0);
    link_adopt *a = link_adopt_new(7, sv[0], "test:7", LINK_ONLINE, bl, slot, &cur, OWED,
                                   strlen(OWED), line, (size_t)n);
    post(t, LINK_MSG_ADOPT, a, -1, 0);

    expect_bytes(sv[1], OWED "+CONTINUE " REPLID "\r\n", strlen(OWED) + 10 + 40 + 2);
    expect_stream(sv[1], 3001, 41000);
    /* New writes follow once published and poked. */
    test_append_pattern(bl, 5000, pattern);
    backlog_publish(bl);
    post(t, LINK_MSG_POKE, NULL, -1, 0);
    expect_stream(sv[1], 41001, 46000);
    expect_silence(sv[1], 50);

    reports rep = {.acked = -1, .close_fd = -1};
    send_ack(sv[1], 46000);
    WAIT_REPORT(t, &rep, rep.acked == 46000);
    /* Everything sent is released: the keyspace could trim behind it. */
    long long deadline = now_ms() + DEADLINE_MS;
    while (atomic_load(&bl->readers[slot].released) != 46000 && now_ms() < deadline)
        collect(t, &rep, 10);
    ck_assert_int_eq(atomic_load(&bl->readers[slot].released), 46000);

    close(sv[1]); /* the replica goes away */
    /* The wake fd fires once the link has finished and reported. The
     * keyspace may open files before it reads the report: none of them
     * may get the number it still knows the replica by. */
    struct pollfd wake = {.fd = io_thread_wake_fd(t), .events = POLLIN};
    ck_assert_int_eq(poll(&wake, 1, DEADLINE_MS), 1);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_ne(p[0], sv[0]);
    ck_assert_int_ne(p[1], sv[0]);
    WAIT_REPORT(t, &rep, rep.closed == 1);
    ck_assert_int_eq(rep.close_reason, LINK_CLOSED_EOF);
    take_back(&rep, sv[0], &adopted);
    close(p[0]);
    close(p[1]);
    backlog_reader_remove(bl, slot);
    io_thread_stop(t, on_report, &rep);
    ck_assert_int_eq(rep.closed, 1);
    backlog_free(bl);
}
END_TEST

/* PSYNC ? -1 (or plain SYNC): a full resync from a disk snapshot. */
static void full_resync(int old_sync) {
    link_threads ctx = {0};
    io_thread *t;
    ck_assert_int_eq(io_thread_start(&t, NULL, &link_thread_ops, &ctx), 0);
    backlog *bl = backlog_create(0, 1 << 20, 16 * 1024);
    test_append_pattern(bl, 2000, pattern);
    backlog_publish(bl);

    if (!old_sync) {
        psync_state st = decision_state(bl);
        char why[256];
        ck_assert_int_eq(psync_decide(&st, "?", -1, why, sizeof(why)), PSYNC_FULL);
        ck_assert_str_eq(why, ""); /* asked for, not a failed partial */
    }
    int sv[2];
    new_pair(sv);
    struct stat adopted;
    ck_assert_int_eq(fstat(sv[0], &adopted), 0);
    link_adopt *a = link_adopt_new(7, sv[0], "test:7", LINK_WAIT_BGSAVE_START, bl, -1, NULL, OWED,
                                   strlen(OWED), NULL, 0);
    post(t, LINK_MSG_ADOPT, a, -1, 0);
    expect_bytes(sv[1], OWED, strlen(OWED));
    expect_silence(sv[1], 50); /* no snapshot yet: nothing to say */

    /* The snapshot starts at offset 2000; the stream goes on meanwhile. */
    char line[128];
    int n = psync_fullresync_reply(line, sizeof(line), REPLID, 2000);
    link_fullsync *f;
    ck_assert_int_eq(link_fullsync_new(&f, bl, 2000, old_sync ? NULL : line, 0), 0);
    int slot = f->slot;
    post(t, LINK_MSG_FULLSYNC, f, -1, 0);
    if (!old_sync) expect_bytes(sv[1], line, (size_t)n);
    test_append_pattern(bl, 30000, pattern);
    backlog_publish(bl);
    post(t, LINK_MSG_POKE, NULL, -1, 0);
    expect_silence(sv[1], 50); /* the stream waits behind the payload */

    /* The payload: a file the child wrote, bigger than one splice chunk
     * would need to be for the socket to push back. */
    char path[] = "/tmp/test_handover_XXXXXX";
    int pf = mkstemp(path);
    ck_assert_int_ge(pf, 0);
    unlink(path);
    size_t plen = 200000;
    char *payload = malloc(plen);
    for (size_t i = 0; i < plen; i++) payload[i] = (char)(i * 131 + 7);
    ck_assert_int_eq(write(pf, payload, plen), (ssize_t)plen);
    post(t, LINK_MSG_BULK, NULL, pf, plen); /* the link owns pf now */

    char hdr[32];
    int hl = snprintf(hdr, sizeof(hdr), "$%zu\r\n", plen);
    expect_bytes(sv[1], hdr, (size_t)hl);
    expect_bytes(sv[1], payload, plen);
    free(payload);
    reports rep = {.acked = -1, .close_fd = -1};
    WAIT_REPORT(t, &rep, rep.state == LINK_ONLINE);
    expect_stream(sv[1], 2001, 32000);
    expect_silence(sv[1], 50);

    post(t, LINK_MSG_DROP, NULL, -1, 0);
    WAIT_REPORT(t, &rep, rep.closed == 1);
    ck_assert_int_eq(rep.close_reason, LINK_CLOSED_DROPPED);
    expect_eof(sv[1]); /* shut down, although the descriptor is still open */
    take_back(&rep, sv[0], &adopted);
    close(sv[1]);
    backlog_reader_remove(bl, slot);
    io_thread_stop(t, on_report, &rep);
    ck_assert_int_eq(rep.closed, 1);
    backlog_free(bl);
}

START_TEST(test_fullresync) { full_resync(0); }
END_TEST

START_TEST(test_plain_sync) { full_resync(1); }
END_TEST

/* The keyspace's half refuses what it can not pin, and holds nothing then. */
START_TEST(test_refusals_leave_nothing) {
    backlog *bl = backlog_create(0, 1024, 1024);
    test_append_pattern(bl, 10000, pattern);
    backlog_publish(bl);
    backlog_trim(bl);
    long long first = backlog_first(bl);
    int slot = 99;
    backlog_cursor cur = {NULL, 0};
    ck_assert_int_eq(link_pin(bl, first - 1, &slot, &cur), -ERANGE);
    link_fullsync unset, *f = &unset;
    ck_assert_int_eq(link_fullsync_new(&f, bl, first - 2, NULL, 0), -ERANGE);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(slot, 99);
    ck_assert_ptr_null(cur.block);
    ck_assert_int_eq(backlog_readers_free(bl), BACKLOG_MAX_READERS);

    int slots[BACKLOG_MAX_READERS];
    for (int i = 0; i < BACKLOG_MAX_READERS; i++)
        ck_assert_int_eq(link_pin(bl, backlog_end(bl) + 1, &slots[i], &cur), 0);
    ck_assert_int_eq(link_pin(bl, first, &slot, &cur), -ENOSPC);
    ck_assert_int_eq(link_fullsync_new(&f, bl, backlog_end(bl), NULL, 0), -ENOSPC);
    ck_assert_ptr_null(f);
    backlog_reader_remove(bl, slots[3]);
    ck_assert_int_eq(link_fullsync_new(&f, bl, backlog_end(bl), "+FULLRESYNC x 1\r\n", 1), 0);
    ck_assert_int_eq(f->slot, slots[3]);
    ck_assert_str_eq(f->line, "+FULLRESYNC x 1\r\n");
    ck_assert_int_eq(f->diskless, 1);
    mem_free(f);
    backlog_free(bl);
}
END_TEST

int main(void) {
    Suite *s = suite_create("handover");
    TCase *tc = tcase_create("handover");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_continue);
    tcase_add_test(tc, test_fullresync);
    tcase_add_test(tc, test_plain_sync);
    tcase_add_test(tc, test_refusals_leave_nothing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
