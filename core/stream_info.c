/* stream_info: XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS,
 * with Redis 7.0's fields in its order.
 *
 * radix-tree-nodes counts the nodes of Redis's radix tree over the 16-byte
 * big-endian master IDs, a structure Ringmaster does not have (its nodes
 * are a sorted array). It is computed as the node count of the compressed
 * trie those keys form, the shape Redis's rax keeps: the root, every
 * branching point, every child of a branching point (a chain of bytes up
 * to the next branch or the end of the key is one node), and the leaves. */
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/reply.h"
#include "core/stream_cmds.h"
#include "core/util.h"

static void subcommand_syntax(client *c) {
    reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try "
                    "XINFO HELP.",
                 c->argv[1]);
}

static void field(client *c, const char *name) { reply_bulk_cstr(c, name); }

static void reply_lag(client *c, const stream *s, const stream_group *g) {
    int valid;
    long long lag = stream_group_lag(s, g, &valid);
    if (valid) reply_int(c, lag);
    else reply_null(c);
}

static void reply_entries_read(client *c, const stream_group *g) {
    if (g->entries_read != STREAM_ENTRIES_READ_INVALID) reply_int(c, g->entries_read);
    else reply_null(c);
}

/* The first or last entry, or a null. */
static void reply_edge(client *c, stream *s, int rev) {
    stream_iter it;
    stream_id id;
    int64_t nf;
    stream_iter_start(&it, s, NULL, NULL, rev);
    if (stream_iter_next(&it, &id, &nf)) xs_reply_entry(c, &it, &id, nf);
    else reply_null(c);
}

static void encode_key(unsigned char out[16], const stream_id *id) {
    for (int i = 0; i < 8; i++) {
        out[i] = (unsigned char)(id->ms >> (56 - 8 * i));
        out[8 + i] = (unsigned char)(id->seq >> (56 - 8 * i));
    }
}

static int key_byte(const stream *s, size_t i, int d) {
    unsigned char k[16];
    encode_key(k, &s->nodes[i].master);
    return k[d];
}

/* Rax nodes for the keys [lo, hi) that share their first d bytes; the node
 * at that prefix is the root or a child of a branching point. */
static long long rax_nodes(const stream *s, size_t lo, size_t hi, int d) {
    if (d == 16) return 1;
    if (hi - lo == 1) return 2; /* the rest of the key as one chain, then the leaf */
    unsigned char a[16], b[16];
    encode_key(a, &s->nodes[lo].master);
    encode_key(b, &s->nodes[hi - 1].master);
    int split = d;
    while (split < 16 && a[split] == b[split]) split++;
    long long n = 1 + (split > d);
    for (size_t i = lo; i < hi;) {
        size_t j = i + 1;
        while (j < hi && key_byte(s, j, split) == key_byte(s, i, split)) j++;
        n += rax_nodes(s, i, j, split + 1);
        i = j;
    }
    return n;
}

static void reply_header(client *c, const stream *s) {
    field(c, "length");
    reply_int(c, (long long)s->length);
    field(c, "radix-tree-keys");
    reply_int(c, (long long)s->nnodes);
    field(c, "radix-tree-nodes");
    reply_int(c, s->nnodes ? rax_nodes(s, 0, s->nnodes, 0) : 1);
    field(c, "last-generated-id");
    xs_reply_id(c, &s->last_id);
    field(c, "max-deleted-entry-id");
    xs_reply_id(c, &s->max_deleted_id);
    field(c, "entries-added");
    reply_int(c, (long long)s->entries_added);
    field(c, "recorded-first-entry-id");
    xs_reply_id(c, &s->first_id);
}

/* XINFO STREAM FULL's "pending" of a group (with_consumer: id, consumer,
 * delivery time, count) or of a consumer (without it): the first `count`
 * entries, all of them when count is 0. */
static void reply_pending(client *c, const ptrvec *pel, long long count, int with_consumer) {
    size_t n = count && (size_t)count < pel->n ? (size_t)count : pel->n;
    reply_array(c, (long long)n);
    for (size_t i = 0; i < n; i++) {
        const stream_nack *nack = pel->v[i];
        reply_array(c, with_consumer ? 4 : 3);
        xs_reply_id(c, &nack->id);
        if (with_consumer) reply_bulk_dstr(c, nack->consumer->name);
        reply_int(c, nack->delivery_time);
        reply_int(c, (long long)nack->delivery_count);
    }
}

static void reply_group_full(client *c, stream *s, const stream_group *g, long long count) {
    reply_map(c, 7);
    field(c, "name");
    reply_bulk_dstr(c, g->name);
    field(c, "last-delivered-id");
    xs_reply_id(c, &g->last_id);
    field(c, "entries-read");
    reply_entries_read(c, g);
    field(c, "lag");
    reply_lag(c, s, g);
    field(c, "pel-count");
    reply_int(c, (long long)g->pel.n);
    field(c, "pending");
    reply_pending(c, &g->pel, count, 1);
    field(c, "consumers");
    reply_array(c, (long long)g->consumers.n);
    for (size_t i = 0; i < g->consumers.n; i++) {
        const stream_consumer *cons = g->consumers.v[i];
        reply_map(c, 4);
        field(c, "name");
        reply_bulk_dstr(c, cons->name);
        field(c, "seen-time");
        reply_int(c, cons->seen_time);
        field(c, "pel-count");
        reply_int(c, (long long)cons->pel.n);
        field(c, "pending");
        reply_pending(c, &cons->pel, count, 0);
    }
}

void cmd_xinfo_stream(client *c) {
    int full = 0;
    long long count = 10;
    if (c->argc > 3) {
        if (!arg_is(c->argv[3], "full")) {
            subcommand_syntax(c);
            return;
        }
        full = 1;
        if (c->argc > 4) {
            if (c->argc != 6 || !arg_is(c->argv[4], "count")) {
                subcommand_syntax(c);
                return;
            }
            if (arg_ll(c, c->argv[5], &count) < 0) return;
            if (count < 0) count = 10;
        }
    }
    stream *s = xs_lookup_read(c, c->argv[2], "-ERR no such key\r\n");
    if (!s) return;
    if (!full) {
        reply_map(c, 10);
        reply_header(c, s);
        field(c, "groups");
        reply_int(c, (long long)s->groups.n);
        field(c, "first-entry");
        reply_edge(c, s, 0);
        field(c, "last-entry");
        reply_edge(c, s, 1);
        return;
    }
    reply_map(c, 9);
    reply_header(c, s);
    field(c, "entries");
    xs_reply_range(c, s, NULL, NULL, (size_t)count, 0, NULL);
    field(c, "groups");
    reply_array(c, (long long)s->groups.n);
    for (size_t i = 0; i < s->groups.n; i++) reply_group_full(c, s, s->groups.v[i], count);
}

void cmd_xinfo_groups(client *c) {
    stream *s = xs_lookup_read(c, c->argv[2], "-ERR no such key\r\n");
    if (!s) return;
    reply_array(c, (long long)s->groups.n);
    for (size_t i = 0; i < s->groups.n; i++) {
        const stream_group *g = s->groups.v[i];
        reply_map(c, 6);
        field(c, "name");
        reply_bulk_dstr(c, g->name);
        field(c, "consumers");
        reply_int(c, (long long)g->consumers.n);
        field(c, "pending");
        reply_int(c, (long long)g->pel.n);
        field(c, "last-delivered-id");
        xs_reply_id(c, &g->last_id);
        field(c, "entries-read");
        reply_entries_read(c, g);
        field(c, "lag");
        reply_lag(c, s, g);
    }
}

void cmd_xinfo_consumers(client *c) {
    stream *s = xs_lookup_read(c, c->argv[2], "-ERR no such key\r\n");
    if (!s) return;
    stream_group *g = stream_group_find(s, c->argv[3], dstr_len(c->argv[3]));
    if (!g) {
        reply_errorf(c, "NOGROUP No such consumer group '%s' for key name '%s'", c->argv[3],
                     c->argv[2]);
        return;
    }
    long long now = util_ms_time();
    reply_array(c, (long long)g->consumers.n);
    for (size_t i = 0; i < g->consumers.n; i++) {
        const stream_consumer *cons = g->consumers.v[i];
        reply_map(c, 3);
        field(c, "name");
        reply_bulk_dstr(c, cons->name);
        field(c, "pending");
        reply_int(c, (long long)cons->pel.n);
        field(c, "idle");
        long long idle = now - cons->seen_time;
        reply_int(c, idle < 0 ? 0 : idle);
    }
}

void cmd_xinfo_help(client *c) {
    static const char *lines[] = {
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}
