/* propagate: see propagate.h. */
#include "core/propagate.h"

#include <stdarg.h>
#include <string.h>

#include "core/mem.h"
#include "core/util.h"

typedef struct prop_op {
    int dbid;
    int argc;
    dstr *argv;
} prop_op;

void propagate_set_sink(server *s, propagate_sink_fn fn, void *priv) {
    s->propagate_sink = fn;
    s->propagate_priv = priv;
}

static void push_op(server *s, int dbid, dstr *argv, int argc) {
    if (s->prop_count == s->prop_cap) {
        s->prop_cap = s->prop_cap ? s->prop_cap * 2 : 8;
        s->prop_ops = mem_realloc(s->prop_ops, sizeof(prop_op) * (size_t)s->prop_cap);
    }
    prop_op *op = &s->prop_ops[s->prop_count++];
    op->dbid = dbid;
    op->argc = argc;
    op->argv = argv;
}

void propagate_add(server *s, int dbid, dstr *argv, int argc) {
    if (!s->propagate_sink) return;
    dstr *copy = mem_alloc(sizeof(dstr) * (size_t)argc);
    for (int i = 0; i < argc; i++) copy[i] = dstr_dup(argv[i]);
    push_op(s, dbid, copy, argc);
    /* Outside any command (active expiry from the cron) each operation is
     * its own unit. */
    if (s->call_depth == 0) propagate_flush(s);
}

void propagate_addv(server *s, int dbid, int argc, ...) {
    dstr argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc && i < 16; i++) argv[i] = dstr_from(va_arg(ap, const char *));
    va_end(ap);
    propagate_add(s, dbid, argv, argc);
    for (int i = 0; i < argc && i < 16; i++) dstr_free(argv[i]);
}

static void emit_word(server *s, int dbid, const char *word) {
    dstr argv[1] = {dstr_from(word)};
    s->propagate_sink(s->propagate_priv, dbid, argv, 1);
    dstr_free(argv[0]);
}

void propagate_flush(server *s) {
    if (s->prop_count == 0) return;
    int transaction = s->prop_count > 1;
    /* MULTI goes out in the first operation's db, so a SELECT comes before
     * it rather than inside the transaction: the bytes Redis 7.0 writes
     * (its replicas and our offsets agree either way, but `redis-cli
     * --replica` users and stream diffs see the same order). EXEC needs no
     * db. */
    if (transaction) emit_word(s, s->prop_ops[0].dbid, "MULTI");
    for (int i = 0; i < s->prop_count; i++) {
        prop_op *op = &s->prop_ops[i];
        s->propagate_sink(s->propagate_priv, op->dbid, op->argv, op->argc);
        for (int j = 0; j < op->argc; j++) dstr_free(op->argv[j]);
        mem_free(op->argv);
    }
    if (transaction) emit_word(s, -1, "EXEC");
    s->prop_count = 0;
}

dstr resp_encode_command(dstr out, dstr *argv, int argc) {
    out = dstr_catfmt(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        out = dstr_catfmt(out, "$%zu\r\n", dstr_len(argv[i]));
        out = dstr_cat(out, argv[i], dstr_len(argv[i]));
        out = dstr_cat(out, "\r\n", 2);
    }
    return out;
}

void stream_encoder_init(stream_encoder *e) {
    e->last_dbid = -1;
    e->buf = dstr_empty();
}

void stream_encoder_free(stream_encoder *e) { dstr_free(e->buf); }

void stream_encoder_feed(void *priv, int dbid, dstr *argv, int argc) {
    stream_encoder *e = priv;
    if (dbid >= 0 && dbid != e->last_dbid) {
        char num[24];
        int n = util_ll_to_str(num, sizeof(num), dbid);
        dstr sel[2] = {dstr_from("SELECT"), dstr_new(num, (size_t)n)};
        e->buf = resp_encode_command(e->buf, sel, 2);
        dstr_free(sel[0]);
        dstr_free(sel[1]);
        e->last_dbid = dbid;
    }
    e->buf = resp_encode_command(e->buf, argv, argc);
}
