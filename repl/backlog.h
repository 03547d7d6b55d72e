/* backlog: the replication stream and its backlog, as one chain of blocks.
 *
 * Offsets are Redis's: the stream's bytes are numbered from 1, and
 * master_repl_offset is the number of the last byte written. A replica at
 * offset R has every byte up to R and asks for R+1 with PSYNC.
 *
 * One producer (the keyspace thread) appends to the tail block and, once
 * per event-loop pass, publishes the new end with a release store. Any
 * number of readers (replication I/O threads) acquire-load the published
 * end and read the bytes in place: no per-replica copy. Blocks are
 * immutable once their bytes are published. Each reader publishes the
 * offset up to which it no longer needs the stream (its "released"
 * offset: after a send's completion and, for zero-copy sends, its
 * notification). The producer alone frees blocks, and only those wholly
 * behind both the backlog window (repl-backlog-size) and every registered
 * reader's released offset. */
#ifndef RM_REPL_BACKLOG_H
#define RM_REPL_BACKLOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/uio.h>

typedef struct backlog_block {
    struct backlog_block *_Atomic next;
    long long first; /* offset of data[0] */
    size_t cap;
    size_t used; /* producer-private until published through `end` */
    char data[];
} backlog_block;

#define BACKLOG_MAX_READERS 64

typedef struct backlog_reader_slot {
    _Atomic long long released; /* reader no longer needs bytes <= this */
    int in_use;                 /* producer-owned */
} backlog_reader_slot;

typedef struct backlog {
    backlog_block *head;         /* oldest retained block */
    backlog_block *tail;         /* block being appended to */
    long long end;               /* producer: last byte written */
    _Atomic long long published; /* readers: last byte they may read */
    long long window;            /* repl-backlog-size */
    size_t block_size;
    size_t blocks;               /* retained blocks, for INFO */
    backlog_reader_slot readers[BACKLOG_MAX_READERS];
} backlog;

/* A reader's position in the chain. */
typedef struct backlog_cursor {
    backlog_block *block;
    long long offset; /* next byte to read */
} backlog_cursor;

/* `start` is master_repl_offset when the backlog is created; the first
 * byte appended is start+1. */
backlog *backlog_create(long long start, long long window, size_t block_size);
void backlog_free(backlog *b);
void backlog_append(backlog *b, const void *p, size_t len);
/* Make everything appended so far visible to readers. */
void backlog_publish(backlog *b);
long long backlog_end(const backlog *b);
/* Lowest offset still readable (Redis's repl_backlog_off). */
long long backlog_first(const backlog *b);
long long backlog_histlen(const backlog *b);
void backlog_resize(backlog *b, long long window);
/* Free blocks behind the window and every reader. Producer only. */
void backlog_trim(backlog *b);

/* Reader registration (producer side): a slot whose released offset pins
 * the stream from `from` on. Returns the slot index, -ENOSPC when all
 * BACKLOG_MAX_READERS slots are taken, or -ERANGE when `from` is not in
 * [backlog_first, end + 1] (those bytes are gone: a slot cannot bring
 * them back). */
int backlog_reader_add(backlog *b, long long from);
void backlog_reader_remove(backlog *b, int slot);
/* Slots not in use (producer side). */
int backlog_readers_free(const backlog *b);
/* Reader side: publish that bytes <= offset are no longer needed. */
void backlog_reader_release(backlog *b, int slot, long long offset);

/* Reader side: position a cursor at `offset` (the next byte wanted).
 * Returns 0, or -ERANGE when the offset is outside [first, published+1]
 * (the cursor is then left untouched). Only valid while the reader's slot
 * pins `offset - 1`. */
int backlog_seek(backlog *b, long long offset, backlog_cursor *cur);
/* Reader side: the next contiguous published span at the cursor, or 0
 * bytes when caught up. Does not consume: backlog_advance does. */
size_t backlog_peek(backlog *b, backlog_cursor *cur, const char **p);
/* n may cross block boundaries (up to what was peeked). */
void backlog_advance(backlog_cursor *cur, size_t n);
/* The published bytes from cur as up to `max` spans, one per block, for a
 * vectored send; returns their total. Does not move cur. */
size_t backlog_peekv(backlog *b, const backlog_cursor *cur, struct iovec *iov, int max, int *niov);

#endif
