/* spsc: the single-producer single-consumer ring. The protocol, the memory
 * ordering and the sleep/wake handshake are described in spsc.h; the comments
 * here say which edge of that description each load or store implements. */
#include "io/spsc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(spsc_msg) == 32, "two messages per cache line");

int spsc_create(spsc_ring **out, uint32_t capacity) {
    *out = NULL;
    if (capacity < 2 || capacity > (1u << 30) || (capacity & (capacity - 1)) != 0) return -EINVAL;
    /* The struct is over-aligned (each index on its own line), so plain
     * malloc's 16-byte alignment is not enough. Both sizes are multiples of
     * the cache line, as aligned_alloc wants. */
    spsc_ring *r = aligned_alloc(SPSC_CACHE_LINE, sizeof(*r));
    if (r == NULL) return -ENOMEM;
    memset(r, 0, sizeof(*r));
    r->slots = aligned_alloc(SPSC_CACHE_LINE, (size_t)capacity * sizeof(spsc_msg));
    if (r->slots == NULL) {
        free(r);
        return -ENOMEM;
    }
    memset(r->slots, 0, (size_t)capacity * sizeof(spsc_msg));
    r->mask = capacity - 1;
    atomic_init(&r->tail, 0);
    atomic_init(&r->head, 0);
    atomic_init(&r->consumer_parked, 0);
    atomic_init(&r->producer_parked, 0);
    *out = r;
    return 0;
}

void spsc_destroy(spsc_ring *r) {
    if (r == NULL) return;
    free(r->slots);
    free(r);
}

uint32_t spsc_capacity(const spsc_ring *r) { return (uint32_t)(r->mask + 1); }

/* ---- producer ----------------------------------------------------------- */

/* Free slots as the producer sees them, refreshing its cached head only when
 * the cache says fewer than `want` are free. The acquire load pairs with the
 * consumer's release store of head: the consumer's copy out of a slot happens
 * before the producer overwrites it. */
static uint64_t producer_room(spsc_ring *r, uint64_t tail, uint64_t want) {
    uint64_t room = r->mask + 1 - (tail - r->head_cache);
    if (room < want) {
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        room = r->mask + 1 - (tail - r->head_cache);
    }
    return room;
}

bool spsc_try_push(spsc_ring *r, const spsc_msg *m) {
    /* Only this thread writes tail, so a relaxed read of it is exact. */
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (producer_room(r, tail, 1) == 0) return false;
    r->slots[tail & r->mask] = *m;
    /* Publish: the slot's contents happen before the consumer's acquire. */
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return true;
}

size_t spsc_push_batch(spsc_ring *r, const spsc_msg *m, size_t n) {
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t room = producer_room(r, tail, n);
    size_t count = n < room ? n : (size_t)room;
    for (size_t i = 0; i < count; i++) r->slots[(tail + i) & r->mask] = m[i];
    if (count > 0) atomic_store_explicit(&r->tail, tail + count, memory_order_release);
    return count;
}

bool spsc_consumer_wake_needed(spsc_ring *r) {
    /* The producer's half of the handshake: the tail store above, this
     * fence, then the load of the consumer's flag. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->consumer_parked, memory_order_relaxed) == 0) return false;
    /* Clear it so that one signal answers one announcement. */
    return atomic_exchange_explicit(&r->consumer_parked, 0, memory_order_relaxed) != 0;
}

bool spsc_park_producer(spsc_ring *r) {
    atomic_store_explicit(&r->producer_parked, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (producer_room(r, tail, 1) > 0) {
        atomic_store_explicit(&r->producer_parked, 0, memory_order_relaxed);
        return false;
    }
    return true;
}

void spsc_unpark_producer(spsc_ring *r) {
    atomic_store_explicit(&r->producer_parked, 0, memory_order_relaxed);
}

/* ---- consumer ----------------------------------------------------------- */

/* Messages ready as the consumer sees them; refreshes the cached tail only
 * when the cache says there are none. The acquire load pairs with the
 * producer's release store of tail. */
static uint64_t consumer_ready(spsc_ring *r, uint64_t head) {
    uint64_t ready = r->tail_cache - head;
    if (ready == 0) {
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        ready = r->tail_cache - head;
    }
    return ready;
}

bool spsc_try_pop(spsc_ring *r, spsc_msg *out) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (consumer_ready(r, head) == 0) return false;
    *out = r->slots[head & r->mask];
    /* Give the slot back: the copy above happens before the producer's
     * acquire of head and so before it reuses the slot. */
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return true;
}

size_t spsc_pop_batch(spsc_ring *r, spsc_msg *out, size_t max) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t ready = consumer_ready(r, head);
    size_t count = max < ready ? max : (size_t)ready;
    for (size_t i = 0; i < count; i++) out[i] = r->slots[(head + i) & r->mask];
    if (count > 0) atomic_store_explicit(&r->head, head + count, memory_order_release);
    return count;
}

bool spsc_empty(spsc_ring *r) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    return consumer_ready(r, head) == 0;
}

bool spsc_park_consumer(spsc_ring *r) {
    /* The consumer's half of the handshake: store the flag, fence, then
     * re-read tail (not the cache: the cache is what said "empty"). */
    atomic_store_explicit(&r->consumer_parked, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (r->tail_cache != head) {
        atomic_store_explicit(&r->consumer_parked, 0, memory_order_relaxed);
        return false;
    }
    return true;
}

void spsc_unpark_consumer(spsc_ring *r) {
    atomic_store_explicit(&r->consumer_parked, 0, memory_order_relaxed);
}

bool spsc_producer_wake_needed(spsc_ring *r) {
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->producer_parked, memory_order_relaxed) == 0) return false;
    return atomic_exchange_explicit(&r->producer_parked, 0, memory_order_relaxed) != 0;
}
