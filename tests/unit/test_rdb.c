/* Unit tests of the RDB module: the checksum and LZF primitives, writer and
 * reader round trips (same DEBUG DIGEST after save + load, whatever the
 * chunking of the input), the corpus written by a real Redis 7.0, refusal
 * of unsupported types without touching the dataset, and malformed input:
 * every truncation and many single-byte flips of a real file must end in a
 * clean error (run under ASan in the sanitizer build). */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/crc64.h"
#include "core/db.h"
#include "core/debug.h"
#include "core/log.h"
#include "core/lzf.h"
#include "core/mem.h"
#include "core/rdb.h"
#include "core/server.h"
#include "core/util.h"

static server srv, srv2;
static client *cli;

static void setup(void) {
    log_setup(LL_WARNING, NULL);
    memset(&srv, 0, sizeof(srv));
    memset(&srv2, 0, sizeof(srv2));
    config_defaults(&srv.cfg);
    config_defaults(&srv2.cfg);
    /* server_init reseeds the process-wide hash function: the server whose
     * own dicts are used for lookups (srv, through commands) goes last.
     * srv2 only receives keys through loaders, whose dicts come later. */
    server_init(&srv2);
    server_init(&srv);
    cli = client_create(&srv, -1, CLIENT_FAKE);
}

static void teardown(void) {
    client_free(cli);
    server_free(&srv);
    server_free(&srv2);
}

static void run(int argc, ...) {
    va_list ap;
    va_start(ap, argc);
    dstr *argv = mem_alloc(sizeof(dstr) * (size_t)argc);
    for (int i = 0; i < argc; i++) argv[i] = dstr_from(va_arg(ap, const char *));
    va_end(ap);
    client_set_argv(cli, argv, argc);
    process_command(cli);
    client_reset_argv(cli);
    dstr_clear(cli->reply);
}

static dstr run_reply(int argc, ...) {
    va_list ap;
    va_start(ap, argc);
    dstr *argv = mem_alloc(sizeof(dstr) * (size_t)argc);
    for (int i = 0; i < argc; i++) argv[i] = dstr_from(va_arg(ap, const char *));
    va_end(ap);
    client_set_argv(cli, argv, argc);
    process_command(cli);
    client_reset_argv(cli);
    dstr r = dstr_dup(cli->reply);
    dstr_clear(cli->reply);
    return r;
}

static void expect_reply(const char *want, dstr got) {
    ck_assert_msg(!strcmp(want, got), "want %s got %s", want, got);
    dstr_free(got);
}

/* Every type in every encoding, expires, several dbs. */
static void populate(void) {
    char k[64], v[256];
    run(3, "SET", "s:small", "hello");
    run(3, "SET", "s:int", "12345");
    run(3, "SET", "s:neg", "-9007199254740993");
    run(3, "SET", "s:empty", "");
    memset(v, 'x', 200);
    v[200] = '\0';
    run(3, "SET", "s:long", v);
    run(6, "RPUSH", "l:small", "a", "1", "-2", "3.5");
    for (int i = 0; i < 2000; i++) {
        snprintf(v, sizeof(v), "item-%d-%.*s", i, i % 60, "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp");
        run(3, "RPUSH", "l:big", v);
    }
    run(6, "SADD", "set:int", "1", "2", "-7", "1099511627776");
    run(5, "SADD", "set:str", "a", "b", "c");
    for (int i = 0; i < 700; i++) {
        snprintf(v, sizeof(v), "%d", i * 3);
        run(3, "SADD", "set:bigint", v);
    }
    run(6, "HSET", "h:small", "f1", "v1", "f2", "2");
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof(k), "field-%d", i);
        snprintf(v, sizeof(v), "%d", i * 7);
        run(4, "HSET", "h:big", k, v);
    }
    run(8, "ZADD", "z:small", "1.5", "a", "-2", "b", "30000000000", "c");
    run(4, "ZADD", "z:small", "inf", "d");
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof(k), "m%d", i);
        snprintf(v, sizeof(v), "%.3f", i * 1.25 - 100);
        run(4, "ZADD", "z:big", v, k);
    }
    run(5, "SET", "ttl:s", "v", "PX", "3600000");
    run(4, "HSET", "ttl:h", "a", "1");
    run(3, "PEXPIRE", "ttl:h", "7200000");
    run(2, "SELECT", "7");
    run(3, "SET", "db7", "seven");
    run(2, "SELECT", "0");
}

static dstr save_mem(server *s) {
    dstr buf = dstr_empty();
    rdb_sink sk;
    rdb_sink_mem(&sk, &buf);
    char err[256];
    ck_assert_int_eq(rdb_save_to_sink(s, &sk, NULL, NULL, NULL, err, sizeof(err)), 0);
    return buf;
}

/* Feed `buf` in chunks of `chunk` bytes (0: random sizes); returns the
 * final status. On DONE the data is committed into s. */
static int load_chunked(server *s, const void *buf, size_t len, size_t chunk, int flags,
                        char *err, size_t errlen) {
    rdb_loader *ld = rdb_loader_new(s, flags);
    const unsigned char *p = buf;
    size_t off = 0;
    int rc = RDB_LOAD_MORE;
    unsigned seed = 12345;
    while (off < len && rc == RDB_LOAD_MORE) {
        size_t n = chunk ? chunk : (size_t)(rand_r(&seed) % 300) + 1;
        if (n > len - off) n = len - off;
        rc = rdb_loader_feed(ld, p + off, n);
        off += n;
    }
    if (rc == RDB_LOAD_MORE) rc = rdb_loader_finish(ld);
    if (rc == RDB_LOAD_DONE) rdb_loader_commit(ld);
    if (err) snprintf(err, errlen, "%s", rdb_loader_error(ld));
    rdb_loader_free(ld);
    return rc;
}

static void digest_hex(server *s, char out[41]) {
    unsigned char d[20];
    digest_dataset(s, d);
    util_hex(out, d, 20);
}

static dstr read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    dstr out = dstr_empty();
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out = dstr_cat(out, buf, n);
    fclose(f);
    return out;
}

static const char *corpus_dir(void) {
    static char dir[1024];
    const char *env = getenv("RM_RDB_CORPUS");
    if (env) return env;
    /* tests/unit/test_rdb.c -> <repo>/../shared/rdb-corpus */
    snprintf(dir, sizeof(dir), "%s", __FILE__);
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
    }
    strncat(dir, "/../shared/rdb-corpus", sizeof(dir) - strlen(dir) - 1);
    return dir;
}

static dstr corpus_file(const char *name) {
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", corpus_dir(), name);
    return read_file(path);
}

static long long count_substr(const char *hay, const char *needle) {
    long long n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static long long total_keys(server *s, long long *expires) {
    long long n = 0, e = 0;
    for (int j = 0; j < s->dbnum; j++) {
        n += (long long)dict_size(s->dbs[j].keys);
        e += (long long)dict_size(s->dbs[j].expires);
    }
    if (expires) *expires = e;
    return n;
}

/* ---- primitives --------------------------------------------------------- */

START_TEST(crc64_jones_vector) {
    ck_assert_uint_eq(crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
    char buf[1000];
    for (int i = 0; i < 1000; i++) buf[i] = (char)(i * 31);
    uint64_t whole = crc64(0, buf, 1000);
    for (int cut = 0; cut < 1000; cut += 37)
        ck_assert_uint_eq(crc64(crc64(0, buf, (size_t)cut), buf + cut, 1000 - (size_t)cut), whole);
}
END_TEST

START_TEST(lzf_round_trip_and_rejects_garbage) {
    static lzf_state st;
    unsigned seed = 1;
    for (int t = 0; t < 2000; t++) {
        size_t n = (size_t)(rand_r(&seed) % 3000) + 1;
        unsigned char *a = mem_alloc(n), *c = mem_alloc(n + 64), *d = mem_alloc(n);
        int mode = t % 5;
        size_t period = 2 + (size_t)t % 11; /* mode 4: overlapping references */
        for (size_t i = 0; i < n; i++) {
            if (mode == 4) {
                /* A short pattern repeated: references that overlap what
                 * they produce, at every distance from 2 to 12. */
                a[i] = i < period ? (unsigned char)rand_r(&seed) : a[i - period];
                continue;
            }
            if (mode == 3 && i >= 40) {
                /* Repeats broken at every byte position of a word, so the
                 * word-wise match extension stops everywhere. */
                a[i] = rand_r(&seed) % 23 == 0 ? (unsigned char)rand_r(&seed) : a[i - 40 + i % 7];
                continue;
            }
            a[i] = mode == 0   ? (unsigned char)rand_r(&seed)
                   : mode == 1 ? 'q'
                               : "abc"[rand_r(&seed) % 3];
        }
        size_t cl = lzf_compress(&st, a, n, c, n + 64);
        if (cl) {
            ck_assert_int_eq(lzf_decompress(c, cl, d, n), 0);
            ck_assert(memcmp(a, d, n) == 0);
            /* A wrong output size is an error, never an overrun. */
            ck_assert_int_eq(lzf_decompress(c, cl, d, n - 1), -1);
        }
        mem_free(a);
        mem_free(c);
        mem_free(d);
    }
}
END_TEST

/* ---- round trips ---------------------------------------------------------- */

START_TEST(round_trip_keeps_digest_any_chunking) {
    populate();
    char want[41], got[41], err[512];
    digest_hex(&srv, want);
    dstr file = save_mem(&srv);
    ck_assert(memcmp(file, "REDIS0010", 9) == 0);
    size_t chunks[] = {1, 7, 0, 4096, dstr_len(file)};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        db_flush(&srv2, -1);
        int rc = load_chunked(&srv2, file, dstr_len(file), chunks[i], 0, err, sizeof(err));
        ck_assert_msg(rc == RDB_LOAD_DONE, "chunk %zu: %s", chunks[i], err);
        digest_hex(&srv2, got);
        ck_assert_str_eq(want, got);
    }
    /* And the copy saves to the very same bytes but for ctime/used-mem:
     * compare digests of a second generation instead. */
    dstr again = save_mem(&srv2);
    db_flush(&srv, -1);
    ck_assert_int_eq(load_chunked(&srv, again, dstr_len(again), 0, 0, err, sizeof(err)),
                     RDB_LOAD_DONE);
    digest_hex(&srv, got);
    ck_assert_str_eq(want, got);
    dstr_free(again);
    dstr_free(file);
}
END_TEST

/* Values bigger than the writer's buffer go to the sink directly: they must
 * still land after the bytes buffered before them (a 150 KB incompressible
 * string once came out ahead of its own key and type byte). */
START_TEST(big_values_keep_byte_order) {
    size_t n = 150000;
    char *big = mem_alloc(n + 1);
    unsigned x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)('!' + (x >> 16) % 90);
    }
    big[n] = '\0';
    run(3, "SET", "a", "x");
    run(3, "SET", "big", big);
    run(3, "RPUSH", "biglist", big);
    run(4, "HSET", "bighash", "f", big);
    char want[41], got[41], err[512];
    digest_hex(&srv, want);
    for (int compress = 0; compress <= 1; compress++) {
        srv.cfg.rdbcompression = compress;
        dstr file = save_mem(&srv);
        db_flush(&srv2, -1);
        int rc = load_chunked(&srv2, file, dstr_len(file), 0, 0, err, sizeof(err));
        ck_assert_msg(rc == RDB_LOAD_DONE, "compress %d: %s", compress, err);
        digest_hex(&srv2, got);
        ck_assert_str_eq(want, got);
        dstr_free(file);
    }
    mem_free(big);
}
END_TEST

START_TEST(no_compression_no_checksum) {
    populate();
    srv.cfg.rdbcompression = 0;
    srv.cfg.rdbchecksum = 0;
    dstr file = save_mem(&srv);
    ck_assert(memcmp(file + dstr_len(file) - 8, "\0\0\0\0\0\0\0\0", 8) == 0);
    char want[41], got[41], err[512];
    digest_hex(&srv, want);
    ck_assert_int_eq(load_chunked(&srv2, file, dstr_len(file), 0, 0, err, sizeof(err)),
                     RDB_LOAD_DONE);
    digest_hex(&srv2, got);
    ck_assert_str_eq(want, got);
    dstr_free(file);
}
END_TEST

START_TEST(expired_keys_skipped_unless_replica) {
    run(5, "SET", "gone", "v", "PX", "1");
    run(3, "SET", "kept", "v");
    usleep(5000);
    /* Save without triggering lazy expiry: the key is still in the dict. */
    dstr file = save_mem(&srv);
    char err[256];
    ck_assert_int_eq(load_chunked(&srv2, file, dstr_len(file), 0, 0, err, sizeof(err)),
                     RDB_LOAD_DONE);
    ck_assert_int_eq(total_keys(&srv2, NULL), 1);
    db_flush(&srv2, -1);
    ck_assert_int_eq(load_chunked(&srv2, file, dstr_len(file), 0, RDB_LOAD_KEEP_EXPIRED, err,
                                  sizeof(err)),
                     RDB_LOAD_DONE);
    ck_assert_int_eq(total_keys(&srv2, NULL), 2);
    dstr_free(file);
}
END_TEST

START_TEST(trailing_bytes_are_excess) {
    run(3, "SET", "a", "b");
    dstr file = save_mem(&srv);
    size_t n = dstr_len(file);
    file = dstr_cat(file, "+FULLRESYNC tail", 16);
    rdb_loader *ld = rdb_loader_new(&srv2, 0);
    ck_assert_int_eq(rdb_loader_feed(ld, file, dstr_len(file)), RDB_LOAD_DONE);
    ck_assert_uint_eq(rdb_loader_excess(ld), dstr_len(file) - n);
    rdb_loader_free(ld);
    dstr_free(file);
}
END_TEST

/* ---- old encodings, built by hand ------------------------------------------ */

/* A ziplist of strings; an element starting with '#' is stored as the
 * 4-bit immediate integer that follows it (0..12). */
static dstr ziplist(int n, const char **el) {
    dstr body = dstr_empty();
    size_t prev = 0, last = 10;
    for (int i = 0; i < n; i++) {
        unsigned char e[80];
        size_t k = 0;
        e[k++] = (unsigned char)prev;
        if (el[i][0] == '#') {
            e[k++] = (unsigned char)(0xF1 + atoi(el[i] + 1));
        } else {
            size_t l = strlen(el[i]);
            e[k++] = (unsigned char)l;
            memcpy(e + k, el[i], l);
            k += l;
        }
        last = 10 + dstr_len(body);
        body = dstr_cat(body, e, k);
        prev = k;
    }
    unsigned char hdr[10];
    size_t total = 10 + dstr_len(body) + 1;
    for (int i = 0; i < 4; i++) hdr[i] = (unsigned char)(total >> (8 * i));
    for (int i = 0; i < 4; i++) hdr[4 + i] = (unsigned char)(last >> (8 * i));
    hdr[8] = (unsigned char)n;
    hdr[9] = 0;
    dstr z = dstr_new(hdr, 10);
    z = dstr_catd(z, body);
    z = dstr_cat(z, "\xff", 1);
    dstr_free(body);
    return z;
}

static dstr rdb_str(dstr out, const void *p, size_t len) {
    unsigned char l = (unsigned char)len; /* short strings only */
    out = dstr_cat(out, &l, 1);
    return dstr_cat(out, p, len);
}

static dstr rdb_key(dstr out, int type, const char *key) {
    unsigned char t = (unsigned char)type;
    out = dstr_cat(out, &t, 1);
    return rdb_str(out, key, strlen(key));
}

START_TEST(old_encodings_load) {
    dstr f = dstr_from("REDIS0009");
    f = dstr_cat(f, "\xfe\x00", 2); /* SELECTDB 0 */
    const char *l[] = {"a", "#5", "bcd"};
    dstr z = ziplist(3, l);
    f = rdb_key(f, RDB_TYPE_LIST_ZIPLIST, "zl:list");
    f = rdb_str(f, z, dstr_len(z));
    dstr_free(z);
    const char *h[] = {"f1", "v1", "f2", "#7"};
    z = ziplist(4, h);
    f = rdb_key(f, RDB_TYPE_HASH_ZIPLIST, "zl:hash");
    f = rdb_str(f, z, dstr_len(z));
    dstr_free(z);
    const char *zs[] = {"m1", "#3", "m0", "1.5"};
    z = ziplist(4, zs);
    f = rdb_key(f, RDB_TYPE_ZSET_ZIPLIST, "zl:zset");
    f = rdb_str(f, z, dstr_len(z));
    dstr_free(z);
    const char *q[] = {"x", "y"};
    z = ziplist(2, q);
    f = rdb_key(f, RDB_TYPE_LIST_QUICKLIST, "ql1");
    f = dstr_cat(f, "\x01", 1); /* one node */
    f = rdb_str(f, z, dstr_len(z));
    dstr_free(z);
    static const unsigned char zm[] = {1, 1, 'f', 1, 0, 'v', 0xFF};
    f = rdb_key(f, RDB_TYPE_HASH_ZIPMAP, "zipmap");
    f = rdb_str(f, zm, sizeof(zm));
    f = rdb_key(f, RDB_TYPE_ZSET, "oldzset");
    f = dstr_cat(f, "\x02", 1);
    f = rdb_str(f, "a", 1);
    f = rdb_str(f, "2.5", 3);
    f = rdb_str(f, "b", 1);
    f = dstr_cat(f, "\xfe", 1); /* +inf */
    unsigned char exp[5] = {RDB_OPCODE_EXPIRETIME};
    unsigned long long when = (unsigned long long)(util_ms_time() / 1000 + 3600);
    for (int i = 0; i < 4; i++) exp[1 + i] = (unsigned char)(when >> (8 * i));
    f = dstr_cat(f, exp, 5);
    f = rdb_key(f, RDB_TYPE_STRING, "secs");
    f = dstr_cat(f, "\xc0\x2a", 2); /* int8 42 */
    f = dstr_cat(f, "\xff", 1);
    uint64_t crc = crc64(0, f, dstr_len(f));
    unsigned char c[8];
    for (int i = 0; i < 8; i++) c[i] = (unsigned char)(crc >> (8 * i));
    f = dstr_cat(f, c, 8);
    char err[512];
    ck_assert_msg(load_chunked(&srv, f, dstr_len(f), 3, 0, err, sizeof(err)) == RDB_LOAD_DONE,
                  "%s", err);
    expect_reply("*3\r\n$1\r\na\r\n$1\r\n5\r\n$3\r\nbcd\r\n",
                 run_reply(4, "LRANGE", "zl:list", "0", "-1"));
    expect_reply("$1\r\n7\r\n", run_reply(3, "HGET", "zl:hash", "f2"));
    expect_reply("$2\r\nv1\r\n", run_reply(3, "HGET", "zl:hash", "f1"));
    expect_reply("*4\r\n$2\r\nm0\r\n$3\r\n1.5\r\n$2\r\nm1\r\n$1\r\n3\r\n",
                 run_reply(5, "ZRANGE", "zl:zset", "0", "-1", "WITHSCORES"));
    expect_reply("*2\r\n$1\r\nx\r\n$1\r\ny\r\n", run_reply(4, "LRANGE", "ql1", "0", "-1"));
    expect_reply("$1\r\nv\r\n", run_reply(3, "HGET", "zipmap", "f"));
    expect_reply("$3\r\ninf\r\n", run_reply(3, "ZSCORE", "oldzset", "b"));
    expect_reply("$3\r\n2.5\r\n", run_reply(3, "ZSCORE", "oldzset", "a"));
    expect_reply("$2\r\n42\r\n", run_reply(2, "GET", "secs"));
    dstr ttl = run_reply(2, "TTL", "secs");
    ck_assert_msg(ttl[0] == ':' && atoi(ttl + 1) > 3500, "ttl %s", ttl);
    dstr_free(ttl);
    dstr_free(f);
}
END_TEST

/* ---- duplicated keys ---------------------------------------------------- */

/* EOF opcode and checksum trailer. */
static dstr rdb_end(dstr f) {
    f = dstr_cat(f, "\xff", 1);
    uint64_t crc = crc64(0, f, dstr_len(f));
    unsigned char c[8];
    for (int i = 0; i < 8; i++) c[i] = (unsigned char)(crc >> (8 * i));
    return dstr_cat(f, c, 8);
}

static dstr rdb_string_key(dstr f, const char *key, const char *val) {
    f = rdb_key(f, RDB_TYPE_STRING, key);
    return rdb_str(f, val, strlen(val));
}

/* A file of n string keys k0..k(n-1) in db 0 where key `dup` comes again
 * right after key `at`; `tail` (may be NULL) is what follows the keys, or
 * the EOF and checksum when tail is NULL. */
static dstr file_with_dup(int n, int at, int dup, const char *tail, size_t tail_len) {
    dstr f = dstr_from("REDIS0009");
    f = dstr_cat(f, "\xfe\x00", 2);
    char k[32];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        f = rdb_string_key(f, k, "v");
        if (i == at) {
            snprintf(k, sizeof(k), "k%d", dup);
            f = rdb_string_key(f, k, "again");
        }
    }
    return tail ? dstr_cat(f, tail, tail_len) : rdb_end(f);
}

static void expect_dup_error(const dstr f, const char *key) {
    char err[512], want[128];
    snprintf(want, sizeof(want), "RDB has duplicated key '%s' in DB 0", key);
    static const size_t chunks[] = {1, 7, 0, 1 << 20};
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        int rc = load_chunked(&srv, f, dstr_len(f), chunks[c], 0, err, sizeof(err));
        ck_assert_int_eq(rc, RDB_LOAD_ERR);
        ck_assert_msg(!strcmp(err, want), "chunk %zu: %s", chunks[c], err);
        ck_assert_int_eq(total_keys(&srv, NULL), 1); /* "previous" only */
    }
}

/* Keys reach the keyspace a few keys after they are parsed (rdb_keyq.h):
 * a duplicate must still be refused wherever it sits, and reported ahead
 * of any problem later in the file. */
START_TEST(duplicated_key_is_the_error_reported) {
    run(3, "SET", "previous", "data");
    dstr f = file_with_dup(3, 0, 0, NULL, 0); /* k0 k0 k1 k2: near the end */
    expect_dup_error(f, "k0");
    dstr_free(f);
    f = file_with_dup(40, 30, 2, NULL, 0); /* far apart */
    expect_dup_error(f, "k2");
    dstr_free(f);
    f = file_with_dup(40, 20, 20, NULL, 0); /* back to back, mid-file */
    expect_dup_error(f, "k20");
    dstr_free(f);
    /* Followed by an unknown type byte, then by a truncation. */
    f = file_with_dup(5, 1, 1, "\x0f\x01x", 3);
    expect_dup_error(f, "k1");
    dstr_free(f);
    f = file_with_dup(5, 1, 1, "\x00\x01", 2);
    expect_dup_error(f, "k1");
    dstr_free(f);
    /* Followed by a bad checksum. */
    f = file_with_dup(5, 3, 0, NULL, 0);
    f[dstr_len(f) - 1] ^= 1;
    expect_dup_error(f, "k0");
    dstr_free(f);
    /* The same name in two dbs is no duplicate. */
    f = dstr_from("REDIS0009");
    f = dstr_cat(f, "\xfe\x00", 2);
    f = rdb_string_key(f, "same", "zero");
    f = dstr_cat(f, "\xfe\x01", 2);
    f = rdb_string_key(f, "same", "one");
    f = rdb_end(f);
    char err[512];
    ck_assert_msg(load_chunked(&srv, f, dstr_len(f), 1, 0, err, sizeof(err)) == RDB_LOAD_DONE,
                  "%s", err);
    expect_reply("$4\r\nzero\r\n", run_reply(2, "GET", "same"));
    run(2, "SELECT", "1");
    expect_reply("$3\r\none\r\n", run_reply(2, "GET", "same"));
    run(2, "SELECT", "0");
    ck_assert_int_eq(total_keys(&srv, NULL), 2);
    dstr_free(f);
}
END_TEST

/* ---- the corpus written by Redis 7.0 ----------------------------------- */

static void check_corpus(const char *name) {
    char rdbname[128], jsonname[128], err[512];
    snprintf(rdbname, sizeof(rdbname), "%s.rdb", name);
    snprintf(jsonname, sizeof(jsonname), "%s.json", name);
    dstr file = corpus_file(rdbname), json = corpus_file(jsonname);
    if (!file || !json) {
        fprintf(stderr, "corpus %s not found in %s: skipped\n", name, corpus_dir());
        dstr_free(file);
        dstr_free(json);
        return;
    }
    /* A replica-style load keeps keys whose TTL passed since the corpus
     * was generated, so every key of the JSON must be there. */
    int rc = load_chunked(&srv2, file, dstr_len(file), 4096, RDB_LOAD_KEEP_EXPIRED, err,
                          sizeof(err));
    ck_assert_msg(rc == RDB_LOAD_DONE, "%s: %s", name, err);
    long long expires;
    ck_assert_int_eq(total_keys(&srv2, &expires), count_substr(json, "\"type\""));
    ck_assert_int_eq(expires, count_substr(json, "\"has_expire\": true"));
    char whole[41], bytewise[41];
    digest_hex(&srv2, whole);
    db_flush(&srv2, -1);
    rc = load_chunked(&srv2, file, dstr_len(file), 1, RDB_LOAD_KEEP_EXPIRED, err, sizeof(err));
    ck_assert_msg(rc == RDB_LOAD_DONE, "%s bytewise: %s", name, err);
    digest_hex(&srv2, bytewise);
    ck_assert_str_eq(whole, bytewise);
    db_flush(&srv2, -1);
    dstr_free(file);
    dstr_free(json);
}

START_TEST(corpus_loads) {
    check_corpus("small-encodings");
    check_corpus("big-encodings");
    check_corpus("nocompress-nochecksum");
    check_corpus("empty");
}
END_TEST

START_TEST(stream_corpus_loads) {
    dstr file = corpus_file("with-stream.rdb");
    if (!file) return;
    run(3, "SET", "previous", "data");
    char err[512];
    int rc = load_chunked(&srv, file, dstr_len(file), 0, 0, err, sizeof(err));
    ck_assert_msg(rc == RDB_LOAD_DONE, "error: %s", err);
    ck_assert_int_eq(total_keys(&srv, NULL), 2);
    dstr k = dstr_from("stream:1");
    obj *o = db_peek(&srv.dbs[0], k);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(o->type, OBJ_STREAM);
    dstr_free(k);
    dstr_free(file);
}
END_TEST

/* ---- malformed input ----------------------------------------------------- */

START_TEST(every_truncation_is_an_error) {
    dstr file = corpus_file("small-encodings.rdb");
    if (!file) return;
    char err[512];
    for (size_t n = 0; n < dstr_len(file); n++) {
        int rc = load_chunked(&srv2, file, n, 0, RDB_LOAD_KEEP_EXPIRED, err, sizeof(err));
        ck_assert_msg(rc == RDB_LOAD_ERR, "truncation at %zu loaded", n);
        ck_assert(err[0] != '\0');
    }
    ck_assert_int_eq(total_keys(&srv2, NULL), 0);
    dstr_free(file);
}
END_TEST

START_TEST(byte_flips_never_crash) {
    dstr file = corpus_file("small-encodings.rdb");
    if (!file) return;
    char err[512];
    static const unsigned char masks[] = {0x01, 0x10, 0x80, 0xFF};
    size_t len = dstr_len(file);
    dstr copy = dstr_dup(file);
    for (int checksum = 1; checksum >= 0; checksum--) {
        srv2.cfg.rdbchecksum = checksum;
        for (size_t i = 0; i < len; i++) {
            for (size_t m = 0; m < sizeof(masks); m++) {
                copy[i] = (char)(file[i] ^ masks[m]);
                int rc = load_chunked(&srv2, copy, len, 0, RDB_LOAD_KEEP_EXPIRED, err,
                                      sizeof(err));
                copy[i] = file[i];
                /* With the checksum verified, only a flip in the unused
                 * parts of the trailer could pass: none can. */
                if (checksum) ck_assert_msg(rc == RDB_LOAD_ERR, "flip at %zu loaded", i);
                if (rc == RDB_LOAD_DONE) db_flush(&srv2, -1);
            }
        }
    }
    dstr_free(copy);
    dstr_free(file);
}
END_TEST

int main(void) {
    Suite *s = suite_create("rdb");
    TCase *tc = tcase_create("rdb");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, crc64_jones_vector);
    tcase_add_test(tc, lzf_round_trip_and_rejects_garbage);
    tcase_add_test(tc, round_trip_keeps_digest_any_chunking);
    tcase_add_test(tc, big_values_keep_byte_order);
    tcase_add_test(tc, no_compression_no_checksum);
    tcase_add_test(tc, expired_keys_skipped_unless_replica);
    tcase_add_test(tc, trailing_bytes_are_excess);
    tcase_add_test(tc, old_encodings_load);
    tcase_add_test(tc, duplicated_key_is_the_error_reported);
    tcase_add_test(tc, corpus_loads);
    tcase_add_test(tc, stream_corpus_loads);
    tcase_add_test(tc, every_truncation_is_an_error);
    tcase_add_test(tc, byte_flips_never_crash);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
