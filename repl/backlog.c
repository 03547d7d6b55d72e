/* backlog: see backlog.h for the ownership rules.
 *
 * Memory ordering: the producer writes bytes into a block and links new
 * blocks (relaxed-visible writes), then stores `published` with release
 * semantics. A reader acquire-loads `published` and may then read every
 * byte and every `next` link up to that offset. `used` of a block is only
 * read by the producer; readers compute spans from offsets. */
#include "repl/backlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static backlog_block *block_new(long long first, size_t cap) {
    backlog_block *blk = mem_alloc(sizeof(*blk) + cap);
    atomic_store_explicit(&blk->next, NULL, memory_order_relaxed);
    blk->first = first;
    blk->cap = cap;
    blk->used = 0;
    return blk;
}

backlog *backlog_create(long long start, long long window, size_t block_size) {
    backlog *b = mem_calloc(sizeof(*b));
    b->block_size = block_size ? block_size : 64 * 1024;
    b->window = window;
    b->end = start;
    atomic_store_explicit(&b->published, start, memory_order_relaxed);
    b->head = b->tail = block_new(start + 1, b->block_size);
    b->blocks = 1;
    return b;
}

void backlog_free(backlog *b) {
    if (!b) return;
    backlog_block *blk = b->head;
    while (blk) {
        backlog_block *next = atomic_load_explicit(&blk->next, memory_order_relaxed);
        mem_free(blk);
        blk = next;
    }
    mem_free(b);
}

void backlog_append(backlog *b, const void *p, size_t len) {
    const char *src = p;
    while (len) {
        backlog_block *t = b->tail;
        if (t->used == t->cap) {
            backlog_block *n = block_new(b->end + 1, b->block_size);
            atomic_store_explicit(&t->next, n, memory_order_relaxed);
            b->tail = n;
            b->blocks++;
            t = n;
        }
        size_t room = t->cap - t->used;
        size_t n = len < room ? len : room;
        memcpy(t->data + t->used, src, n);
        t->used += n;
        b->end += (long long)n;
        src += n;
        len -= n;
    }
}

void backlog_publish(backlog *b) {
    atomic_store_explicit(&b->published, b->end, memory_order_release);
}

long long backlog_end(const backlog *b) { return b->end; }

long long backlog_first(const backlog *b) { return b->head->first; }

long long backlog_histlen(const backlog *b) { return b->end - b->head->first + 1; }

void backlog_resize(backlog *b, long long window) {
    b->window = window;
    backlog_trim(b);
}

void backlog_trim(backlog *b) {
    /* The oldest byte that must stay: the window's start, or the oldest
     * byte some reader still needs. */
    long long keep_from = b->end - b->window + 1;
    for (int i = 0; i < BACKLOG_MAX_READERS; i++) {
        if (!b->readers[i].in_use) continue;
        long long rel = atomic_load_explicit(&b->readers[i].released, memory_order_acquire);
        if (rel + 1 < keep_from) keep_from = rel + 1;
    }
    while (b->head != b->tail) {
        backlog_block *h = b->head;
        long long h_last = h->first + (long long)h->used - 1;
        /* A reader that has released a block's last byte may still have
         * its cursor parked at that block's end (the next block did not
         * exist when it advanced): free a block only once every reader has
         * released a byte past it, which it can only have sent after its
         * cursor moved on. */
        if (h_last + 1 >= keep_from) break;
        b->head = atomic_load_explicit(&h->next, memory_order_relaxed);
        b->blocks--;
        mem_free(h);
    }
}

int backlog_reader_add(backlog *b, long long from) {
    /* A slot only stops bytes from being freed: it cannot pin what trim
     * already freed, and a cursor for it would have no block to point at. */
    if (from < backlog_first(b) || from > b->end + 1) return -ERANGE;
    for (int i = 0; i < BACKLOG_MAX_READERS; i++) {
        if (b->readers[i].in_use) continue;
        b->readers[i].in_use = 1;
        atomic_store_explicit(&b->readers[i].released, from - 1, memory_order_release);
        return i;
    }
    return -ENOSPC;
}

int backlog_readers_free(const backlog *b) {
    int n = 0;
    for (int i = 0; i < BACKLOG_MAX_READERS; i++) n += !b->readers[i].in_use;
    return n;
}

void backlog_reader_remove(backlog *b, int slot) {
    if (slot >= 0 && slot < BACKLOG_MAX_READERS) b->readers[slot].in_use = 0;
}

void backlog_reader_release(backlog *b, int slot, long long offset) {
    atomic_store_explicit(&b->readers[slot].released, offset, memory_order_release);
}

int backlog_seek(backlog *b, long long offset, backlog_cursor *cur) {
    long long pub = atomic_load_explicit(&b->published, memory_order_acquire);
    /* `head` may move under a reader only past bytes the reader released,
     * and the caller pinned offset-1: walking from head is safe for the
     * producer thread; readers seek once, at hand-over, from the producer
     * side. */
    backlog_block *blk = b->head;
    if (offset < blk->first || offset > pub + 1) return -ERANGE;
    for (;;) {
        backlog_block *next = atomic_load_explicit(&blk->next, memory_order_relaxed);
        if (!next || offset < next->first) break;
        blk = next;
    }
    cur->block = blk;
    cur->offset = offset;
    return 0;
}

size_t backlog_peek(backlog *b, backlog_cursor *cur, const char **p) {
    long long pub = atomic_load_explicit(&b->published, memory_order_acquire);
    if (cur->offset > pub) return 0;
    backlog_block *blk = cur->block;
    long long in_block = cur->offset - blk->first;
    if (in_block >= (long long)blk->cap) {
        /* The cursor sits at the end of a full block: the next block
         * exists, because a later byte is published. */
        blk = atomic_load_explicit(&blk->next, memory_order_acquire);
        if (!blk) return 0;
        cur->block = blk;
        in_block = cur->offset - blk->first;
    }
    long long avail = pub - cur->offset + 1;
    long long room = (long long)blk->cap - in_block;
    *p = blk->data + in_block;
    return (size_t)(avail < room ? avail : room);
}

void backlog_advance(backlog_cursor *cur, size_t n) {
    for (;;) {
        backlog_block *blk = cur->block;
        long long room = blk->first + (long long)blk->cap - cur->offset;
        long long step = (long long)n < room ? (long long)n : room;
        cur->offset += step;
        n -= (size_t)step;
        if (cur->offset - blk->first < (long long)blk->cap) return;
        /* At the block's end: step over when the next block exists (it
         * does whenever bytes past this one were peeked). */
        backlog_block *next = atomic_load_explicit(&blk->next, memory_order_acquire);
        if (!next) return;
        cur->block = next;
        if (n == 0) return;
    }
}

size_t backlog_peekv(backlog *b, const backlog_cursor *cur, struct iovec *iov, int max, int *niov) {
    backlog_cursor c = *cur;
    size_t total = 0;
    int i = 0;
    while (i < max) {
        const char *p;
        size_t n = backlog_peek(b, &c, &p);
        if (n == 0) break;
        iov[i].iov_base = (void *)p;
        iov[i].iov_len = n;
        i++;
        total += n;
        backlog_advance(&c, n);
    }
    *niov = i;
    return total;
}
