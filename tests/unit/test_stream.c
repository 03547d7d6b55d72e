/* Unit tests for streams: the node layout (what stream_append writes and
 * the iterator reads back, both directions), trimming, the RDB form
 * (save, load in any chunking, and every truncation and many corruptions
 * of a stream value refused without a crash or a half-loaded key), and
 * XREADGROUP's propagation. */
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/debug.h"
#include "core/log.h"
#include "core/propagate.h"
#include "core/rdb.h"
#include "core/stream.h"
#include "core/util.h"
#include "test_support.h"

static server srv, srv2;
static client *cli;

static void setup(void) {
    log_setup(LL_WARNING, NULL);
    memset(&srv, 0, sizeof(srv));
    memset(&srv2, 0, sizeof(srv2));
    config_defaults(&srv.cfg);
    config_defaults(&srv2.cfg);
    server_init(&srv2);
    server_init(&srv);
    cli = client_create(&srv, -1, CLIENT_FAKE);
}

static void teardown(void) {
    client_free(cli);
    server_free(&srv);
    server_free(&srv2);
}

static dstr cmd(int argc, ...) {
    va_list ap;
    va_start(ap, argc);
    dstr r = test_vcommand(cli, argc, ap);
    va_end(ap);
    return r;
}

static void expect(const char *want, dstr got) {
    ck_assert_msg(!strcmp(want, got), "want %s got %s", want, got);
    dstr_free(got);
}

static stream *stream_at(server *s, const char *key) {
    dstr k = dstr_from(key);
    obj *o = db_peek(&s->dbs[0], k);
    dstr_free(k);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(o->type, OBJ_STREAM);
    return o->ptr;
}

/* 250 entries over 3 nodes, a field change (no SAMEFIELDS), deletions. */
static void populate(void) {
    char id[32], v[32];
    for (int i = 1; i <= 250; i++) {
        snprintf(id, sizeof(id), "%d-%d", 100 + i, i % 4);
        snprintf(v, sizeof(v), "%d", i * 37);
        if (i % 50 == 0)
            dstr_free(cmd(7, "XADD", "s", id, "other", v, "x", "y"));
        else
            dstr_free(cmd(7, "XADD", "s", id, "f", v, "g", "text"));
    }
    expect(":2\r\n", cmd(4, "XDEL", "s", "110-2", "300-0"));
    expect("+OK\r\n", cmd(5, "XGROUP", "CREATE", "s", "grp", "0"));
    dstr_free(cmd(9, "XREADGROUP", "GROUP", "grp", "alice", "COUNT", "7", "STREAMS", "s", ">"));
    dstr_free(cmd(5, "XGROUP", "CREATECONSUMER", "s", "grp", "bob"));
}

START_TEST(nodes_and_iteration) {
    populate();
    stream *s = stream_at(&srv, "s");
    ck_assert_uint_eq(s->length, 248);
    ck_assert_uint_eq(s->nnodes, 3); /* 100 entries per node by default */
    /* Forward and reverse walks see the same entries in opposite order. */
    stream_id fwd[300], rev[300], id;
    int64_t nf;
    int n = 0, m = 0;
    stream_iter it;
    stream_iter_start(&it, s, NULL, NULL, 0);
    while (stream_iter_next(&it, &id, &nf)) {
        const char *f, *v;
        size_t fl, vl;
        ck_assert_int_eq(nf, 2);
        stream_iter_field(&it, &f, &fl, &v, &vl);
        ck_assert(fl == 1 || fl == 5);
        stream_iter_field(&it, &f, &fl, &v, &vl);
        fwd[n++] = id;
    }
    stream_iter_start(&it, s, NULL, NULL, 1);
    while (stream_iter_next(&it, &id, &nf)) rev[m++] = id;
    ck_assert_int_eq(n, 248);
    ck_assert_int_eq(m, 248);
    for (int i = 0; i < n; i++) ck_assert(stream_id_cmp(&fwd[i], &rev[n - 1 - i]) == 0);
    for (int i = 1; i < n; i++) ck_assert(stream_id_cmp(&fwd[i - 1], &fwd[i]) < 0);
    /* Every node is a well-formed stream listpack. */
    uint64_t live = 0;
    for (size_t i = 0; i < s->nnodes; i++) {
        uint64_t l;
        ck_assert(stream_node_validate(s->nodes[i].lp, slp_bytes(s->nodes[i].lp), &l));
        live += l;
    }
    ck_assert_uint_eq(live, s->length);
}
END_TEST

START_TEST(trim_exact_and_approx) {
    populate();
    stream *s = stream_at(&srv, "s");
    /* ~ drops whole nodes only: the first node (99 live entries) goes. */
    expect(":99\r\n", cmd(5, "XTRIM", "s", "MAXLEN", "~", "120"));
    ck_assert_uint_eq(s->nnodes, 2);
    expect(":29\r\n", cmd(5, "XTRIM", "s", "MAXLEN", "=", "120"));
    ck_assert_uint_eq(s->length, 120);
    stream_id first;
    ck_assert(stream_edge_id(s, 1, &first));
    ck_assert(stream_id_cmp(&first, &s->first_id) == 0);
    expect(":0\r\n", cmd(4, "XTRIM", "s", "MINID", "0"));
}
END_TEST

static dstr save_mem(server *s) {
    dstr buf = dstr_empty();
    rdb_sink sk;
    rdb_sink_mem(&sk, &buf);
    char err[256];
    ck_assert_int_eq(rdb_save_to_sink(s, &sk, NULL, NULL, NULL, err, sizeof(err)), 0);
    return buf;
}

static int load(server *s, const char *p, size_t len, size_t chunk) {
    rdb_loader *ld = rdb_loader_new(s, 0);
    size_t off = 0;
    int rc = RDB_LOAD_MORE;
    while (off < len && rc == RDB_LOAD_MORE) {
        size_t n = chunk < len - off ? chunk : len - off;
        rc = rdb_loader_feed(ld, p + off, n);
        off += n;
    }
    if (rc == RDB_LOAD_MORE) rc = rdb_loader_finish(ld);
    if (rc == RDB_LOAD_DONE) rdb_loader_commit(ld);
    rdb_loader_free(ld);
    return rc;
}

START_TEST(rdb_round_trip_any_chunking) {
    populate();
    unsigned char want[20], got[20];
    digest_dataset(&srv, want);
    dstr file = save_mem(&srv);
    size_t chunks[] = {1, 7, 4096, 1 << 20};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        ck_assert_int_eq(load(&srv2, file, dstr_len(file), chunks[i]), RDB_LOAD_DONE);
        digest_dataset(&srv2, got);
        ck_assert(!memcmp(want, got, 20));
        stream *a = stream_at(&srv, "s"), *b = stream_at(&srv2, "s");
        ck_assert_uint_eq(a->nnodes, b->nnodes);
        ck_assert_uint_eq(a->entries_added, b->entries_added);
        ck_assert(stream_id_cmp(&a->max_deleted_id, &b->max_deleted_id) == 0);
        ck_assert_uint_eq(a->groups.n, 1);
        const stream_group *ga = a->groups.v[0], *gb = b->groups.v[0];
        ck_assert_uint_eq(ga->pel.n, gb->pel.n);
        ck_assert_uint_eq(gb->consumers.n, 2);
        ck_assert_uint_eq(((stream_consumer *)gb->consumers.v[0])->pel.n, 7);
        for (size_t j = 0; j < a->nnodes; j++)
            ck_assert(!memcmp(a->nodes[j].lp, b->nodes[j].lp, slp_bytes(a->nodes[j].lp)));
    }
    dstr_free(file);
}
END_TEST

START_TEST(rdb_corruption_refused) {
    populate();
    dstr file = save_mem(&srv);
    size_t len = dstr_len(file);
    /* Every truncation: an error, and nothing loaded. */
    for (size_t cut = 9; cut < len - 8; cut += 3) {
        ck_assert_int_eq(load(&srv2, file, cut, 512), RDB_LOAD_ERR);
        ck_assert_int_eq(dict_size(srv2.dbs[0].keys), 0);
    }
    /* Flipped bytes with the checksum off: refused or loaded, never a
     * crash, and a loaded stream walks cleanly both ways. */
    srv2.cfg.rdbchecksum = 0;
    unsigned seed = 7;
    dstr bad = dstr_dup(file);
    for (int round = 0; round < 3000; round++) {
        memcpy(bad, file, len);
        for (int k = 0; k < 1 + round % 3; k++) {
            size_t at = 9 + (size_t)rand_r(&seed) % (len - 17);
            bad[at] = (char)(rand_r(&seed) & 0xFF);
        }
        if (load(&srv2, bad, len, 4096) != RDB_LOAD_DONE) continue;
        dstr k = dstr_from("s");
        obj *o = db_peek(&srv2.dbs[0], k);
        dstr_free(k);
        if (!o || o->type != OBJ_STREAM) continue;
        stream_iter it;
        stream_id id;
        int64_t nf;
        for (int rev = 0; rev < 2; rev++) {
            stream_iter_start(&it, o->ptr, NULL, NULL, rev);
            while (stream_iter_next(&it, &id, &nf)) {
                const char *f, *v;
                size_t fl, vl;
                while (nf-- > 0) stream_iter_field(&it, &f, &fl, &v, &vl);
            }
        }
    }
    dstr_free(bad);
    dstr_free(file);
}
END_TEST

/* RDB length encoding (6-bit, 14-bit, 32-bit). */
static dstr put_len(dstr out, uint64_t n) {
    unsigned char b[5];
    if (n < 64) {
        b[0] = (unsigned char)n;
        return dstr_cat(out, (const char *)b, 1);
    }
    if (n < 16384) {
        b[0] = (unsigned char)(0x40 | (n >> 8));
        b[1] = (unsigned char)(n & 0xFF);
        return dstr_cat(out, (const char *)b, 2);
    }
    b[0] = 0x80;
    for (int i = 0; i < 4; i++) b[1 + i] = (unsigned char)(n >> (24 - 8 * i));
    return dstr_cat(out, (const char *)b, 5);
}

static dstr put_str(dstr out, const void *p, size_t len) {
    return dstr_cat(put_len(out, len), p, len);
}

static dstr put_id(dstr out, uint64_t ms, uint64_t seq) {
    unsigned char k[16];
    for (int i = 0; i < 8; i++) {
        k[i] = (unsigned char)(ms >> (56 - 8 * i));
        k[8 + i] = (unsigned char)(seq >> (56 - 8 * i));
    }
    return dstr_cat(out, (const char *)k, 16);
}

/* Redis 5/6's RDB_TYPE_STREAM_LISTPACKS (15): no first ID, max deleted ID,
 * entries added or per-group entries read. The node comes from a stream
 * built here; the rest is written by hand. */
START_TEST(rdb_type_15_is_read) {
    dstr_free(cmd(5, "XADD", "s", "1-1", "f", "a"));
    dstr_free(cmd(5, "XADD", "s", "2-1", "f", "b"));
    dstr_free(cmd(5, "XADD", "s", "3-1", "f", "c"));
    expect(":1\r\n", cmd(3, "XDEL", "s", "1-1"));
    stream *src = stream_at(&srv, "s");
    dstr f = dstr_from("REDIS0009");
    f = dstr_cat(f, "\xfe\x00\x0f", 3); /* SELECTDB 0, type 15 */
    f = put_str(f, "k", 1);
    f = put_len(f, 1);
    unsigned char key[16];
    for (int i = 0; i < 16; i++) key[i] = (unsigned char)(i == 7 || i == 15 ? 1 : 0);
    f = put_str(f, key, 16);
    f = put_str(f, src->nodes[0].lp, slp_bytes(src->nodes[0].lp));
    f = put_len(put_len(put_len(f, 2), 3), 1); /* length 2, last ID 3-1 */
    f = put_len(f, 1);                         /* one group */
    f = put_str(f, "g", 1);
    f = put_len(put_len(f, 2), 1);             /* last delivered 2-1 */
    f = put_len(f, 1);                         /* PEL: 2-1, time, count 3 */
    f = put_id(f, 2, 1);
    f = dstr_cat(f, "\x10\x27\x00\x00\x00\x00\x00\x00", 8);
    f = put_len(f, 3);
    f = put_len(f, 1);                         /* one consumer owning it */
    f = put_str(f, "alice", 5);
    f = dstr_cat(f, "\x20\x4e\x00\x00\x00\x00\x00\x00", 8);
    f = put_len(f, 1);
    f = put_id(f, 2, 1);
    f = dstr_cat(f, "\xff\x00\x00\x00\x00\x00\x00\x00\x00", 9); /* EOF, no checksum */
    for (size_t chunk = 1; chunk <= 64; chunk *= 4) {
        ck_assert_int_eq(load(&srv2, f, dstr_len(f), chunk), RDB_LOAD_DONE);
        stream *s = stream_at(&srv2, "k");
        ck_assert_uint_eq(s->length, 2);
        ck_assert_uint_eq(s->entries_added, 2); /* derived: the length */
        ck_assert(s->first_id.ms == 2 && s->first_id.seq == 1);
        ck_assert(s->last_id.ms == 3 && s->last_id.seq == 1);
        ck_assert(s->max_deleted_id.ms == 0 && s->max_deleted_id.seq == 0);
        const stream_group *g = s->groups.v[0];
        ck_assert_int_eq(g->entries_read, 1); /* estimated from the first entry */
        const stream_nack *n = g->pel.v[0];
        ck_assert_int_eq(n->delivery_time, 10000);
        ck_assert_uint_eq(n->delivery_count, 3);
        ck_assert_int_eq(((stream_consumer *)g->consumers.v[0])->seen_time, 20000);
        ck_assert_ptr_eq(n->consumer, g->consumers.v[0]);
    }
    /* A consumer PEL naming an ID the group does not have is corruption. */
    dstr bad = dstr_dup(f);
    bad[dstr_len(bad) - 9 - 1] = 9; /* the consumer's ID becomes 2-9 */
    ck_assert_int_eq(load(&srv2, bad, dstr_len(bad), 4096), RDB_LOAD_ERR);
    dstr_free(bad);
    dstr_free(f);
}
END_TEST

static dstr propagated;
static void capture(void *priv, int dbid, const char *p, size_t len) {
    (void)priv;
    (void)dbid;
    propagated = dstr_cat(propagated, p, len);
}

START_TEST(xreadgroup_propagates_claims_not_itself) {
    dstr_free(cmd(5, "XADD", "s", "1-1", "f", "v"));
    dstr_free(cmd(6, "XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"));
    propagated = dstr_empty();
    propagate_set_sink(&srv, capture, NULL);
    dstr_free(cmd(7, "XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"));
    ck_assert_ptr_null(strstr(propagated, "XREADGROUP"));
    ck_assert_ptr_nonnull(strstr(propagated, "MULTI"));
    ck_assert_ptr_nonnull(strstr(propagated, "CREATECONSUMER"));
    ck_assert_ptr_nonnull(strstr(propagated, "$6\r\nXCLAIM\r\n$1\r\ns\r\n$1\r\ng\r\n$5\r\nalice"));
    ck_assert_ptr_nonnull(strstr(propagated, "$6\r\nLASTID\r\n$3\r\n1-1\r\n"));
    dstr_clear(propagated);
    /* An automatic ID goes out as the concrete ID it became. */
    dstr_free(cmd(5, "XADD", "s", "7-*", "f", "v"));
    ck_assert_ptr_nonnull(strstr(propagated, "$3\r\n7-0\r\n"));
    propagate_set_sink(&srv, NULL, NULL);
    dstr_free(propagated);
}
END_TEST

int main(void) {
    const TTest *tests[] = {nodes_and_iteration, trim_exact_and_approx, rdb_round_trip_any_chunking,
                            rdb_corruption_refused, rdb_type_15_is_read,
                            xreadgroup_propagates_claims_not_itself, NULL};
    return test_run_case("stream", tests, setup, teardown, 120);
}
