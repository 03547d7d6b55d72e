/* cmd_memory: MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP,
 * shaped as Redis 7.0 answers them (field names, order, reply types), with
 * Ringmaster's own figures.
 *
 * MEMORY USAGE estimates a value the way Redis's objectComputeSize does:
 * exact for a string, and for a collection the average cost of up to
 * SAMPLES elements (5 by default, 0 for all) times the element count, plus
 * the key and its table entry. The per-element costs are those of this
 * server's encodings (a listpack entry's header and bytes, a table entry
 * with its member string, a skiplist node), not Redis's, so the numbers
 * are comparable in size but not equal. A stream is measured by its
 * serialized size. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/dict.h"
#include "core/mem.h"
#include "core/rdb.h"
#include "core/reply.h"
#include "core/t_hash.h"
#include "core/t_list.h"
#include "core/t_set.h"
#include "core/t_zset.h"

/* Approximate fixed costs of one element, by encoding. */
#define PACKED_ENTRY_OVERHEAD 2   /* listpack header + back length */
#define TABLE_ENTRY_OVERHEAD 48   /* dict entry, bucket slot, dstr header */
#define SKIPLIST_NODE_OVERHEAD 80 /* node, average levels, dict entry */
#define QUICKLIST_OVERHEAD 72     /* the list and one node */

static size_t string_size(size_t len) { return len + 9; }

/* Average element cost of the first `samples` elements, times `count`. */
static size_t scale(size_t sampled_bytes, long long sampled, size_t count) {
    return sampled ? (size_t)((double)sampled_bytes / (double)sampled * (double)count) : 0;
}

static size_t value_size(server *s, const obj *o, long long samples) {
    size_t size = sizeof(obj), bytes = 0;
    long long n = 0;
    switch (o->type) {
    case OBJ_STRING: {
        if (o->enc != ENC_INT) size += dstr_alloc_size(o->ptr);
        return size;
    }
    case OBJ_LIST: {
        list_iter li;
        lpl_elem e;
        list_iter_init(&li, o);
        while (n < samples && list_iter_next(&li, &e)) {
            bytes += (e.str ? e.len : 8) + PACKED_ENTRY_OVERHEAD;
            n++;
        }
        return size + QUICKLIST_OVERHEAD + scale(bytes, n, list_obj_length(o));
    }
    case OBJ_SET: {
        int packed = set_intset(o) != NULL;
        set_iter it;
        set_elem e;
        set_iter_init(o, &it);
        while (n < samples && set_iter_next(&it, &e)) {
            bytes += packed ? 8 : string_size(e.len) + TABLE_ENTRY_OVERHEAD;
            n++;
        }
        set_iter_done(&it);
        return size + scale(bytes, n, set_size(o));
    }
    case OBJ_ZSET: {
        int packed = o->enc == ENC_LISTPACK;
        zset_iter it;
        zentry e;
        zset_iter_init(&it, o);
        while (n < samples && zset_iter_next(&it, &e)) {
            bytes += packed ? e.len + 8 + 2 * PACKED_ENTRY_OVERHEAD
                            : string_size(e.len) + SKIPLIST_NODE_OVERHEAD;
            n++;
        }
        return size + scale(bytes, n, zset_length(o));
    }
    case OBJ_HASH: {
        int packed = o->enc == ENC_LISTPACK;
        hash_iter it;
        hash_pair p;
        hash_iter_init(o, &it);
        while (n < samples && hash_iter_next(&it, &p)) {
            bytes += packed ? p.flen + p.vlen + 2 * PACKED_ENTRY_OVERHEAD
                            : string_size(p.flen) + string_size(p.vlen) + TABLE_ENTRY_OVERHEAD;
            n++;
        }
        return size + scale(bytes, n, hash_len(o));
    }
    default: {
        dstr d = rdb_dump_payload(s, o);
        size += dstr_len(d);
        dstr_free(d);
        return size;
    }
    }
}

void cmd_memory_usage(client *c) {
    long long samples = 5;
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c->argv[j], "samples") && j + 1 < c->argc) {
            if (arg_ll(c, c->argv[j + 1], &samples) < 0) return;
            if (samples < 0) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
            if (samples == 0) samples = LLONG_MAX;
            j++;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    obj *o = db_peek(c->db, c->argv[2]);
    if (!o) {
        reply_null(c);
        return;
    }
    size_t usage = value_size(c->srv, o, samples);
    usage += dstr_alloc_size(c->argv[2]) + TABLE_ENTRY_OVERHEAD - 8;
    reply_int(c, (long long)usage);
}

void mem_overview_get(server *s, mem_overview *m) {
    memset(m, 0, sizeof(*m));
    m->total = mem_used();
    if (m->total > s->stat_peak_memory) s->stat_peak_memory = m->total;
    m->peak = s->stat_peak_memory;
    m->startup = s->mem_startup;
    for (client *c = s->clients; c; c = c->next) {
        size_t n = sizeof(client) + dstr_alloc_size(c->querybuf) + dstr_alloc_size(c->reply);
        if (client_get_type(c) == CLIENT_TYPE_REPLICA)
            m->clients_replicas += n;
        else
            m->clients_normal += n;
    }
    m->overhead = m->startup + m->clients_replicas + m->clients_normal;
    for (int j = 0; j < s->dbnum; j++) {
        m->overhead += (dict_buckets(s->dbs[j].keys) + dict_buckets(s->dbs[j].expires)) *
                       sizeof(void *);
        m->keys += (long long)dict_size(s->dbs[j].keys);
    }
    m->dataset = m->total > m->overhead ? m->total - m->overhead : 0;
    mem_allocator_sizes(&m->active, &m->resident);
    m->rss = mem_rss();
}

static void field_int(client *c, const char *name, long long v) {
    reply_bulk_cstr(c, name);
    reply_int(c, v);
}

static void field_double(client *c, const char *name, double v) {
    reply_bulk_cstr(c, name);
    reply_double(c, v);
}

static double ratio(size_t a, size_t b) { return b ? (double)a / (double)b : 0; }

void cmd_memory_stats(client *c) {
    server *s = c->srv;
    mem_overview m;
    mem_overview_get(s, &m);
    int dbs = 0;
    for (int j = 0; j < s->dbnum; j++)
        if (dict_size(s->dbs[j].keys)) dbs++;
    reply_map(c, 27 + dbs);
    field_int(c, "peak.allocated", (long long)m.peak);
    field_int(c, "total.allocated", (long long)m.total);
    field_int(c, "startup.allocated", (long long)m.startup);
    field_int(c, "replication.backlog", 0);
    field_int(c, "clients.slaves", (long long)m.clients_replicas);
    field_int(c, "clients.normal", (long long)m.clients_normal);
    field_int(c, "cluster.links", 0);
    field_int(c, "aof.buffer", 0);
    field_int(c, "lua.caches", 0);
    field_int(c, "functions.caches", 0);
    for (int j = 0; j < s->dbnum; j++) {
        db *d = &s->dbs[j];
        if (!dict_size(d->keys)) continue;
        char name[32];
        snprintf(name, sizeof(name), "db.%d", j);
        reply_bulk_cstr(c, name);
        reply_map(c, 3);
        field_int(c, "overhead.hashtable.main", (long long)(dict_buckets(d->keys) * sizeof(void *)));
        field_int(c, "overhead.hashtable.expires",
                  (long long)(dict_buckets(d->expires) * sizeof(void *)));
        field_int(c, "overhead.hashtable.slot-to-keys", 0);
    }
    size_t net = m.total > m.startup ? m.total - m.startup : 0;
    field_int(c, "overhead.total", (long long)m.overhead);
    field_int(c, "keys.count", m.keys);
    field_int(c, "keys.bytes-per-key", m.keys ? (long long)(net / (size_t)m.keys) : 0);
    field_int(c, "dataset.bytes", (long long)m.dataset);
    field_double(c, "dataset.percentage", net ? 100.0 * (double)m.dataset / (double)net : 0);
    field_double(c, "peak.percentage", 100.0 * ratio(m.total, m.peak));
    field_int(c, "allocator.allocated", (long long)m.total);
    field_int(c, "allocator.active", (long long)m.active);
    field_int(c, "allocator.resident", (long long)m.resident);
    field_double(c, "allocator-fragmentation.ratio", ratio(m.active, m.total));
    field_int(c, "allocator-fragmentation.bytes", (long long)m.active - (long long)m.total);
    field_double(c, "allocator-rss.ratio", ratio(m.resident, m.active));
    field_int(c, "allocator-rss.bytes", (long long)m.resident - (long long)m.active);
    field_double(c, "rss-overhead.ratio", ratio(m.rss, m.resident));
    field_int(c, "rss-overhead.bytes", (long long)m.rss - (long long)m.resident);
    field_double(c, "fragmentation", ratio(m.rss, m.total));
    field_int(c, "fragmentation.bytes", (long long)m.rss - (long long)m.total);
}

static void reply_text(client *c, const char *text) { reply_verbatim(c, text, strlen(text)); }

/* Redis's doctor speaks to "Sam"; under 5 MB it declines to judge. The
 * checks are the ones our figures support: a past peak, fragmentation,
 * and large client buffers. */
void cmd_memory_doctor(client *c) {
    mem_overview m;
    mem_overview_get(c->srv, &m);
    if (m.total < 5 * 1024 * 1024) {
        reply_text(c, "Hi Sam, this instance is empty or is using very little memory, my "
                               "issues detector can't be used in these conditions. Please, leave "
                               "for your mission on Earth and fill it with some data. The new Sam "
                               "and I will be back to our programming as soon as I finished "
                               "rebooting.\n");
        return;
    }
    dstr r = dstr_empty();
    if (ratio(m.peak, m.total) > 1.5)
        r = dstr_catfmt(r, " * Peak memory: In the past this instance used more than 150%% the "
                           "memory that is currently using. The allocator is normally not able "
                           "to release memory after a peak; MEMORY PURGE may give some of it "
                           "back.\n\n");
    if (ratio(m.rss, m.total) > 1.4)
        r = dstr_catfmt(r, " * High total RSS: This instance has a memory fragmentation and RSS "
                           "overhead greater than 1.4 (this means that the Resident Set Size of "
                           "the Ringmaster process is much larger than the sum of the logical "
                           "allocations Ringmaster performed).\n\n");
    if (m.clients_normal > 200 * 1024 * 1024)
        r = dstr_catfmt(r, " * Big client buffers: The clients output buffers are in general "
                           "too big, over 200 MB.\n\n");
    if (dstr_len(r) == 0) {
        reply_text(c, "Hi Sam, I can't find any memory issue in your instance. I can "
                               "only account for what occurs on this base.\n");
    } else {
        dstr full = dstr_from("Sam, I detected a few issues in this Ringmaster instance memory "
                              "implants:\n\n");
        full = dstr_cat(full, r, dstr_len(r));
        full = dstr_catfmt(full, "I'm here to keep you safe, Sam. I want to help you.\n");
        reply_verbatim(c, full, dstr_len(full));
        dstr_free(full);
    }
    dstr_free(r);
}

static void stats_text(const char *text, void *arg) {
    dstr *out = arg;
    *out = dstr_cat(*out, text, strlen(text));
}

void cmd_memory_malloc_stats(client *c) {
    dstr text = dstr_empty();
    if (!mem_allocator_stats(stats_text, &text))
        text = dstr_catfmt(text, "Stats not supported for the current allocator");
    reply_verbatim(c, text, dstr_len(text));
    dstr_free(text);
}

void cmd_memory_purge(client *c) {
    mem_purge();
    reply_ok(c);
}

void cmd_memory_help(client *c) {
    static const char *lines[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}
