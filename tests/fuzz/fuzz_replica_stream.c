/* libFuzzer harness for a replica's parsing of its master's stream: the
 * real apply_stream/run_commands of repl/replica.c (lines 265-352), which
 * run on the keyspace thread over the buffers the I/O thread reads.
 *
 * Those functions are static and live in a server, so this file includes
 * repl/replica.c itself (build.sh links no other copy of it) and drives
 * apply_stream on a replica_state set up as create_master_client leaves it,
 * with a real master client of an in-process server and a real backlog.
 * Two calls are redirected, before the include, so that the stream is only
 * parsed and accounted, not executed (arbitrary commands as the master
 * would mean DEBUG, SHUTDOWN, CONFIG SET dir...):
 *   client_run_master_command  records the command and plays MULTI's state
 *                              (MULTI sets it, EXEC and DISCARD clear it);
 *   io_thread_post             records GETACK replies and the STOP a
 *                              protocol error asks for.
 * What is covered for real: the req_parser driven across buffers, the
 * `pending` tail and `parsed` resumption, the transaction buffer `txn`,
 * GETACK detection, the offset accounting through repl_stream_append_raw
 * and the backlog, and client_prefetch_commands over the raw bytes.
 *
 * Input: byte 0 picks the chunking (0: one buffer; n: buffers of pseudo-
 * random sizes 1..n), the rest is the stream. Each buffer is a separate
 * allocation freed right after apply_stream, as the I/O thread's buffers
 * are released, so a pointer kept into one is a use-after-free. Small
 * inputs are also fed as two buffers split at every position. Every run is
 * checked against a reference parse of the whole stream in one call:
 * the same commands and GETACKs in the same order, a STOP exactly when the
 * reference met a protocol error, the offset advanced by the bytes up to
 * the end of the last command outside a transaction, and (without an
 * error) offset + txn + pending accounting for every byte, which is what
 * INFO's master_repl_offset estimate on line 815 relies on. */
#define client_run_master_command fuzz_run_master_command
#define io_thread_post fuzz_io_thread_post
#include "repl/replica.c"
#undef client_run_master_command
#undef io_thread_post

#include <stdlib.h>

#include "tests/fuzz/fuzz_util.h"

typedef struct trace {
    uint64_t hash;
    size_t commands, acks;
    int stopped;
    int multi; /* the played MULTI state */
} trace;

static trace cur;

static int word(const dstr a, const char *w) {
    return dstr_len(a) == strlen(w) && !strcasecmp(a, w);
}

/* Record a command; returns the MULTI state after it. Frees argv. */
static int play(trace *t, dstr *argv, int argc) {
    t->commands++;
    t->hash = fuzz_hash(t->hash, &argc, sizeof(argc));
    for (int i = 0; i < argc; i++) t->hash = fuzz_hash(t->hash, argv[i], dstr_len(argv[i]) + 1);
    if (word(argv[0], "multi")) t->multi = 1;
    else if (word(argv[0], "exec") || word(argv[0], "discard")) t->multi = 0;
    for (int i = 0; i < argc; i++) dstr_free(argv[i]);
    mem_free(argv);
    return t->multi;
}

int fuzz_run_master_command(client *c, dstr *argv, int argc, char *err, size_t errlen) {
    (void)c;
    if (errlen) err[0] = '\0';
    return play(&cur, argv, argc);
}

int fuzz_io_thread_post(io_thread *t, const spsc_msg *m) {
    (void)t;
    if (m->type == RCONN_MSG_SEND) {
        cur.acks++;
        cur.hash = fuzz_hash(cur.hash, "ack", 3);
        mem_free(m->ptr);
    } else if (m->type == RCONN_MSG_STOP) {
        cur.stopped = 1;
    }
    return 0;
}

static server srv;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    log_setup(LL_NOTHING, NULL);
    config_defaults(&srv.cfg);
    server_init(&srv);
    repl_create_backlog(&srv); /* what makes the stream count in the offset */
    return 0;
}

/* The reference: the whole stream in one req_parse loop, replica.c's rules
 * for what a command's bytes count toward applied inline. */
static void reference(const uint8_t *data, size_t size, trace *t, size_t *committed) {
    req_parser p;
    req_parser_init(&p, 0);
    size_t pos = 0;
    *committed = 0;
    memset(t, 0, sizeof(*t));
    t->hash = FUZZ_HASH_INIT;
    while (pos < size) {
        size_t used;
        req_status st = req_parse(&p, (const char *)data + pos, size - pos, &used);
        pos += used;
        if (st == REQ_NEED_MORE) break;
        if (st == REQ_ERROR) {
            t->stopped = 1;
            break;
        }
        int argc, in_multi = 0;
        dstr *argv = req_take_argv(&p, &argc);
        if (is_getack(argv, argc)) {
            t->acks++;
            t->hash = fuzz_hash(t->hash, "ack", 3);
            for (int i = 0; i < argc; i++) dstr_free(argv[i]);
            mem_free(argv);
        } else {
            in_multi = play(t, argv, argc);
        }
        if (!in_multi) *committed = pos;
    }
    req_parser_free(&p);
}

/* Feed the stream as buffers of the given sizes (sizes[] sums to size). */
static void run(server *s, const uint8_t *data, size_t size, const size_t *sizes, size_t n,
                const trace *want, size_t committed) {
    repl_state *r = repl_of(s);
    rconn_shared shared;
    memset(&shared, 0, sizeof(shared));
    replica_state rs;
    memset(&rs, 0, sizeof(rs));
    rs.state = RS_CONNECTED;
    rs.conn_id = 1;
    rs.shared = &shared;
    rs.master = client_create_master(s, "fuzz:6379", 0);
    req_parser_init(&rs.parser, 0);
    rs.pending = dstr_empty();
    rs.txn = dstr_empty();
    memset(&cur, 0, sizeof(cur));
    cur.hash = FUZZ_HASH_INIT;

    long long start = r->master_repl_offset;
    size_t off = 0;
    for (size_t i = 0; i < n && !cur.stopped; i++) {
        char *b = malloc(sizes[i] ? sizes[i] : 1);
        memcpy(b, data + off, sizes[i]);
        apply_stream(s, &rs, b, sizes[i]);
        free(b);
        off += sizes[i];
        CHECK(rs.parsed <= dstr_len(rs.pending));
        CHECK(atomic_load(&shared.applied) == r->master_repl_offset);
    }
    if (size <= REQ_INLINE_MAX_SIZE) {
        CHECK(cur.commands == want->commands && cur.acks == want->acks);
        CHECK(cur.hash == want->hash);
        CHECK(cur.stopped == want->stopped);
        CHECK(r->master_repl_offset - start == (long long)committed);
        if (!cur.stopped)
            CHECK(committed + dstr_len(rs.txn) + dstr_len(rs.pending) == size);
    }
    CHECK(r->master_repl_offset - start <= (long long)size);

    client_free(rs.master);
    req_parser_free(&rs.parser);
    dstr_free(rs.pending);
    dstr_free(rs.txn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    server *s = &srv;
    unsigned mode = data[0];
    data++;
    size--;

    trace want;
    size_t committed;
    reference(data, size, &want, &committed);

    size_t *sizes = malloc(sizeof(size_t) * (size + 2));
    size_t n = 0;
    if (mode == 0) {
        sizes[n++] = size;
    } else {
        uint32_t rng = mode * 2654435761u + 1;
        for (size_t off = 0; off < size;) {
            rng = rng * 1103515245u + 12345u;
            size_t k = 1 + (rng >> 16) % mode;
            if (k > size - off) k = size - off;
            sizes[n++] = k;
            off += k;
        }
    }
    run(s, data, size, sizes, n, &want, committed);
    if (size <= 128) {
        for (size_t cut = 1; cut < size; cut++) {
            sizes[0] = cut;
            sizes[1] = size - cut;
            run(s, data, size, sizes, 2, &want, committed);
        }
    }
    free(sizes);
    return 0;
}
