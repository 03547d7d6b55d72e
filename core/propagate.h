/* propagate: the single point through which every write leaves the
 * keyspace thread for replication.
 *
 * A command's effects are collected as operations (dbid + argv) while it
 * runs: the command itself, in the form Redis 7.0 propagates it (SET ...
 * PXAT, PEXPIREAT, DEL for expired keys, SET ... KEEPTTL for
 * INCRBYFLOAT), plus any extra ones it caused (a lazily expired key's
 * DEL). When the execution unit ends (one command, or a whole EXEC) the
 * operations are handed to the sink; more than one is wrapped in MULTI /
 * EXEC, exactly like Redis 7.0's propagatePendingCommands. MULTI carries
 * the first operation's db, so a SELECT comes before it, as in the stream
 * Redis 7.0 writes; EXEC carries none (-1). */
#ifndef RM_PROPAGATE_H
#define RM_PROPAGATE_H

#include "core/server.h"

/* Queue an operation (encoded at once: argv may change afterwards). */
void propagate_add(server *s, int dbid, dstr *argv, int argc);
void propagate_addv(server *s, int dbid, int argc, ...); /* const char* args */
/* Hand queued operations to the sink (called at the end of each unit). */
void propagate_flush(server *s);
/* Flush, then free the queue (server teardown). */
void propagate_free(server *s);
/* Set where operations go. */
void propagate_set_sink(server *s, propagate_sink_fn fn, void *priv);

/* The RESP form of one command, as it appears in the replication
 * stream. */
dstr resp_encode_command(dstr out, dstr *argv, int argc);

/* A stream encoder: turns (dbid, command) into replication stream bytes,
 * adding SELECT when the db changes. Replication owns one; unit tests use
 * one directly. */
typedef struct stream_encoder {
    int last_dbid;
    dstr buf;
} stream_encoder;
void stream_encoder_init(stream_encoder *e);
void stream_encoder_free(stream_encoder *e);
void stream_encoder_feed(void *priv, int dbid, const char *cmd, size_t len);

#endif
