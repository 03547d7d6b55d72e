/* rdb: the snapshot format shared with Redis 7.0 (RDB version 10 written,
 * versions 1 to 12 read).
 *
 * Writer: rdb_save_to_sink() serializes the whole keyspace into any
 * rdb_sink (a file, a pipe, a socket, a memory buffer), so a BGSAVE child,
 * a diskless replication child and a unit test run the same code.
 * rdb_save_file() adds the durability protocol around it (temp file, fsync,
 * rename).
 *
 * Reader: an rdb_loader is an incremental parser. Feed it the bytes in any
 * chunking (a file read in blocks, a socket as bytes arrive); it builds the
 * keys in a staged dataset that is invisible to clients, and only
 * rdb_loader_commit() swaps it into the server. A file that fails half-way
 * (corruption, a stream key, a module type) leaves the server's dataset
 * exactly as it was. rdb_load_file() drives a loader from a file. */
#ifndef RM_RDB_H
#define RM_RDB_H

#include <stddef.h>
#include <stdint.h>

#include "core/server.h"

#define RDB_VERSION 10         /* what we write: Redis 7.0 */
#define RDB_MAX_READ_VERSION 12 /* what we accept: up to Redis 7.4 */

/* Value types (the byte before each key). */
enum rdb_type {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_MODULE_PRE_GA = 6,
    RDB_TYPE_MODULE_2 = 7,
    RDB_TYPE_HASH_ZIPMAP = 9,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
    RDB_TYPE_SET_LISTPACK = 20,
    RDB_TYPE_STREAM_LISTPACKS_3 = 21,
    RDB_TYPE_HASH_METADATA_PRE_GA = 22,
    RDB_TYPE_HASH_LISTPACK_EX_PRE_GA = 23,
    RDB_TYPE_HASH_METADATA = 24,
    RDB_TYPE_HASH_LISTPACK_EX = 25,
};

/* Opcodes (instead of a value type). */
enum rdb_opcode {
    RDB_OPCODE_SLOT_INFO = 244,
    RDB_OPCODE_FUNCTION2 = 245,
    RDB_OPCODE_FUNCTION_PRE_GA = 246,
    RDB_OPCODE_MODULE_AUX = 247,
    RDB_OPCODE_IDLE = 248,
    RDB_OPCODE_FREQ = 249,
    RDB_OPCODE_AUX = 250,
    RDB_OPCODE_RESIZEDB = 251,
    RDB_OPCODE_EXPIRETIME_MS = 252,
    RDB_OPCODE_EXPIRETIME = 253,
    RDB_OPCODE_SELECTDB = 254,
    RDB_OPCODE_EOF = 255,
};

/* The name Redis gives a value type ("string", "stream", "module"...). */
const char *rdb_type_name(int type);

/* ---- sinks ------------------------------------------------------------ */

/* Where a snapshot goes. write() takes all `len` bytes or fails: it
 * returns 0, or a negative errno. The writer buffers, so write() sees
 * large blocks. */
typedef struct rdb_sink {
    int (*write)(void *priv, const void *p, size_t len);
    void *priv;
} rdb_sink;

/* A blocking file descriptor (file, pipe, socket); `fd` must outlive the
 * sink. */
void rdb_sink_fd(rdb_sink *sk, int *fd);
/* Appends to *buf (a dstr, which may move). */
void rdb_sink_mem(rdb_sink *sk, dstr *buf);

/* ---- writer ----------------------------------------------------------- */

/* Replication state recorded in the aux fields (repl-stream-db, repl-id,
 * repl-offset), so a restarted replica or master can continue with a
 * partial resync. Pass NULL to leave them out, as Redis 7.0 does for an
 * instance that is in no replication chain. */
typedef struct rdb_save_info {
    int repl_stream_db;
    char repl_id[41];
    long long repl_offset;
} rdb_save_info;

/* Called by the save walk every RDB_PROGRESS_KEYS keys with the number of
 * keys written so far: a snapshot child reports its progress through it.
 * The hook decides how often to do anything (it is called often). */
#define RDB_PROGRESS_KEYS 1024
typedef struct rdb_save_progress {
    void (*fn)(void *priv, long long keys_done);
    void *priv;
} rdb_save_progress;

typedef struct rdb_save_stats {
    uint64_t bytes;
    long long keys;
} rdb_save_stats;

/* Serialize every db of `s` (RDB version 10, cfg.rdbcompression and
 * cfg.rdbchecksum honoured, cfg.rdb_key_save_delay applied per key).
 * Returns 0, or -1 with a message in err. `stats` and `progress` may be
 * NULL. */
int rdb_save_to_sink(server *s, const rdb_sink *sink, const rdb_save_info *rsi,
                     const rdb_save_progress *progress, rdb_save_stats *stats, char *err,
                     size_t errlen);
/* Write `filename` (relative to the working directory, which is cfg.dir)
 * atomically: temp-<pid>.rdb, fsync, rename. Logs "DB saved on disk". */
int rdb_save_file(server *s, const char *filename, const rdb_save_info *rsi,
                  const rdb_save_progress *progress, char *err, size_t errlen);

/* ---- DUMP payloads ------------------------------------------------------ */

/* DUMP's payload, Redis's createDumpPayload: the value as an RDB file
 * holds it (type byte, then the value, cfg.rdbcompression honoured),
 * RDB_VERSION in two little-endian bytes, and the CRC64 of all that in
 * eight little-endian bytes. Always checksummed, whatever rdbchecksum. */
dstr rdb_dump_payload(server *s, const obj *o);
/* The trailer of every DUMP payload (values, FUNCTION DUMP): append
 * RDB_VERSION and the CRC64 to `body`; check them (0 when the version is
 * one we read and the checksum matches, else -1). */
dstr rdb_payload_seal(dstr body);
int rdb_payload_check(const void *p, size_t len);

/* RESTORE's half: check the trailer (version <= RDB_VERSION, CRC64) and
 * parse the value. Returns 0 with *out set, or -1 with *err pointing at
 * Redis's error text ("DUMP payload version or checksum are wrong", or
 * "Bad data format" for a value that does not parse or is empty). */
int rdb_restore_payload(server *s, const void *p, size_t len, obj **out, const char **err);

/* ---- reader ----------------------------------------------------------- */

enum { RDB_LOAD_MORE = 0, RDB_LOAD_DONE = 1, RDB_LOAD_ERR = -1 };

/* Loader flags. */
enum {
    RDB_LOAD_KEEP_EXPIRED = 1 << 0, /* a replica keeps keys already expired */
    RDB_LOAD_ONE_VALUE = 1 << 1,    /* keep the single key's value (RESTORE) */
};

/* What the file said about itself, and what loading it did. */
typedef struct rdb_load_info {
    int version;
    char redis_ver[32];
    long long ctime;
    long long used_mem;
    int aof_base;
    int has_repl;         /* repl-id and repl-offset were present */
    char repl_id[41];
    long long repl_offset;
    int repl_stream_db;   /* -1 when absent */
    long long keys_loaded;
    long long keys_expired;
    long long functions_loaded;
    uint64_t bytes;
} rdb_load_info;

/* The FUNCTION2 records of every library (FUNCTION DUMP's body). */
struct fn_store;
dstr rdb_functions_blob(const struct fn_store *fs, int compress);

typedef struct rdb_loader rdb_loader;

rdb_loader *rdb_loader_new(server *s, int flags);
/* Parse what `len` more bytes allow. RDB_LOAD_MORE: feed more;
 * RDB_LOAD_DONE: the file is complete (bytes after the end are ignored and
 * counted in rdb_loader_excess); RDB_LOAD_ERR: see rdb_loader_error. Once
 * DONE or ERR, further feeding returns the same. */
int rdb_loader_feed(rdb_loader *ld, const void *p, size_t len);
/* rdb_loader_feed without the copy, for a reader that can write into the
 * loader's buffer: rdb_loader_reserve returns room for len bytes at the
 * end of the unparsed input (valid until the next call on ld); after
 * writing n <= len bytes there, rdb_loader_feed_reserved(ld, n) parses
 * them and answers as rdb_loader_feed. */
void *rdb_loader_reserve(rdb_loader *ld, size_t len);
int rdb_loader_feed_reserved(rdb_loader *ld, size_t n);
/* The input ended: DONE if the file was complete, else ERR (short read). */
int rdb_loader_finish(rdb_loader *ld);
const char *rdb_loader_error(const rdb_loader *ld);
const rdb_load_info *rdb_loader_info(const rdb_loader *ld);
size_t rdb_loader_excess(const rdb_loader *ld);
/* After DONE: replace the server's whole dataset with the loaded one. */
void rdb_loader_commit(rdb_loader *ld);
/* Frees whatever was staged and not committed. */
void rdb_loader_free(rdb_loader *ld);

/* Load a file into `s`, replacing its dataset only on success. Returns 0;
 * -1 with err set on failure; -2 when the file does not exist. `info` may
 * be NULL. */
int rdb_load_file(server *s, const char *filename, int flags, rdb_load_info *info, char *err,
                  size_t errlen);

#endif
