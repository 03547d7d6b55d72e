/* stream_cmds: helpers shared by the stream command files (stream_cmds.c:
 * XADD, XDEL, XTRIM, XSETID, XLEN, XRANGE, XREVRANGE; stream_group.c:
 * XGROUP, XREAD, XREADGROUP, XACK, XCLAIM, XAUTOCLAIM, XPENDING;
 * stream_info.c: XINFO). Internal to those files. */
#ifndef RM_STREAM_CMDS_H
#define RM_STREAM_CMDS_H

#include "core/server.h"
#include "core/stream.h"

#define ERR_INVALID_ID "ERR Invalid stream ID specified as stream command argument"

/* The stream at `key` for a read; NULL with `missing` (raw RESP, may be
 * NULL for no reply) when absent, NULL with WRONGTYPE when of another
 * type. */
stream *xs_lookup_read(client *c, const dstr key, const char *missing);
stream *xs_lookup_write_or_reply(client *c, const dstr key, const char *missing);
/* For a write; NULL (nothing replied) when absent, NULL with WRONGTYPE. */
obj *xs_lookup_write(client *c, const dstr key, int *wrongtype);
/* Parse an ID argument; replies the Redis error and returns -1. */
int xs_parse_id(client *c, const dstr arg, stream_id *id, uint64_t missing_seq, int strict,
                int *seq_given);
/* A range bound: "(" before an ID makes it exclusive (not with - or +). */
int xs_parse_interval(client *c, const dstr arg, stream_id *id, int *excl, uint64_t miss);
void xs_reply_id(client *c, const stream_id *id);
/* One entry as [id, [f, v, ...]] (the entry the iterator just returned). */
void xs_reply_entry(client *c, stream_iter *it, const stream_id *id, int64_t nf);
/* After a write to a stream key. */
void xs_modified(client *c, const dstr key, const char *event, long long dirty);
/* Whether the command comes from our master (replication applies it as
 * sent: no LIMIT enforcement). */
int xs_from_master(const client *c);

/* XREADGROUP/XREAD range reply (streamReplyWithRange): entries from start
 * to end (count 0 = all); with a group, delivered entries move its last ID
 * and (unless noack) create or reassign NACKs, each propagated as XCLAIM. */
typedef struct xs_group_ctx {
    stream_group *group;
    stream_consumer *consumer;
    int noack;
    dstr key, groupname;
} xs_group_ctx;
size_t xs_reply_range(client *c, stream *s, const stream_id *start, const stream_id *end,
                      size_t count, int rev, xs_group_ctx *g);

void xs_propagate_xclaim(client *c, const dstr key, const stream_group *g, const dstr groupname,
                         const stream_id *id, const stream_nack *n);
void xs_propagate_setid(client *c, const dstr key, const stream_group *g, const dstr groupname);
int xs_reply_one(client *c, stream *s, const stream_id *id);
int xs_entry_exists(stream *s, const stream_id *id);
void xs_reply_nogroup(client *c, const dstr key, const dstr group);
size_t xs_reply_history(client *c, stream *s, const stream_id *start, size_t count,
                        stream_consumer *cons);
/* A consumer, created (and notified) when missing. */
stream_consumer *xs_consumer_get(client *c, stream_group *g, const dstr name, const dstr key,
                                 int *created);

#endif
