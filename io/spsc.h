/* spsc: a lock-free single-producer single-consumer ring of small messages.
 *
 * This is the only way data crosses between the keyspace thread and a
 * replication I/O thread: one ring per direction, one producer thread and one
 * consumer thread per ring, fixed capacity (a power of two), no mutex.
 *
 * Indices. `tail` is the number of messages ever pushed, `head` the number
 * ever popped; both are 64-bit and free-running (at a billion messages a
 * second they wrap after five centuries), so `tail - head` is the fill level
 * and `index & mask` the slot. Only the producer writes `tail` and the slots
 * in [tail, head + capacity); only the consumer writes `head`. The producer
 * publishes a slot with a release store of `tail` after filling it; the
 * consumer reads `tail` with acquire before reading the slot, and gives the
 * slot back with a release store of `head` after copying it out. Each side
 * also keeps a private cached copy of the other side's index and only
 * re-reads the shared one when the cache says "full" (producer) or "empty"
 * (consumer), so in steady state the two cache lines do not bounce.
 *
 * Sleeping. A consumer that finds the ring empty may want to sleep in its
 * own event loop (io_uring_submit_and_wait, epoll_wait) until the producer
 * signals its eventfd. Signalling on every push would cost a syscall per
 * message, so the producer signals only when the consumer announced it is
 * about to sleep. The announcement and the push race; the protocol below is
 * Dekker's, and each side needs a sequentially consistent fence between its
 * store and its load:
 *
 *     consumer (spsc_park_consumer)        producer (push + spsc_consumer_wake_needed)
 *     store sleeping = 1                   fill slot; store tail (release)
 *     fence(seq_cst)                       fence(seq_cst)
 *     load tail: data? -> sleeping = 0,    load sleeping: 1? -> exchange it to 0
 *                 do not sleep                               and signal the eventfd
 *     else sleep on the eventfd
 *
 * The two fences are totally ordered. If the consumer's comes first, the
 * producer's load sees sleeping == 1 and signals; if the producer's comes
 * first, the consumer's load sees the new tail and does not sleep. Either way
 * no wake-up is lost. Spurious wake-ups are possible (both sides saw each
 * other) and harmless: the consumer drains the eventfd, finds the ring empty
 * and parks again. The eventfd counter is sticky, so a signal sent before the
 * consumer actually blocks still wakes it. A consumer that wakes for another
 * reason calls spsc_unpark_consumer so that a busy consumer costs the
 * producer no syscalls. The producer calls spsc_consumer_wake_needed once
 * per batch of pushes, not once per push.
 *
 * The same protocol runs the other way for a producer that found the ring
 * full and wants to sleep until space appears: spsc_park_producer and, on the
 * consumer side after popping, spsc_producer_wake_needed.
 *
 * One rule binds the two directions: a side must finish its own wake check
 * before it parks. A producer that filled the ring must call
 * spsc_consumer_wake_needed for what it pushed before spsc_park_producer,
 * and a consumer must call spsc_producer_wake_needed after its pops before
 * spsc_park_consumer. Otherwise both can sleep at once: the consumer
 * waiting for messages nobody announced, the producer for room that the
 * sleeping consumer will never make.
 *
 * The flags live on a cache line of their own: they are written once per
 * sleep, and putting them next to `head` or `tail` would make every
 * wake_needed check pull the other side's hot line.
 *
 * Ownership: a message is copied by value. Whatever its `ptr` or `fd` refers
 * to belongs to the producer until the push succeeds and to the consumer
 * after it pops the message; the ring never dereferences or closes them. */
#ifndef RM_IO_SPSC_H
#define RM_IO_SPSC_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPSC_CACHE_LINE 64

/* One message: 32 bytes, two per cache line. `type` is defined by the user
 * of the ring (repl/ has its own enum); the payload fields mean what that
 * type says. */
typedef struct spsc_msg {
    uint32_t type;
    int32_t fd;   /* a file descriptor handed over, or -1 */
    uint64_t id;  /* which link, request or object */
    uint64_t val; /* an offset, a count, a status */
    void *ptr;    /* an object handed over with the message, or NULL */
} spsc_msg;

typedef struct spsc_ring {
    /* Producer's line: only the producer writes it. */
    alignas(SPSC_CACHE_LINE) _Atomic uint64_t tail;
    uint64_t head_cache; /* producer's last view of head */

    /* Consumer's line: only the consumer writes it. */
    alignas(SPSC_CACHE_LINE) _Atomic uint64_t head;
    uint64_t tail_cache; /* consumer's last view of tail */

    /* Sleep announcements (see the protocol above). */
    alignas(SPSC_CACHE_LINE) _Atomic uint32_t consumer_parked;
    _Atomic uint32_t producer_parked;

    /* Read-only after spsc_create. */
    alignas(SPSC_CACHE_LINE) spsc_msg *slots;
    uint64_t mask;
} spsc_ring;

/* Create a ring of `capacity` messages (a power of two, at least 2). Returns
 * 0 and stores the ring in *out, or -EINVAL / -ENOMEM. */
int spsc_create(spsc_ring **out, uint32_t capacity);
/* Free a ring. Both threads must be done with it. Messages still inside are
 * dropped without looking at their payloads: drain it first if they own
 * anything. */
void spsc_destroy(spsc_ring *r);

uint32_t spsc_capacity(const spsc_ring *r);

/* Producer side. */
bool spsc_try_push(spsc_ring *r, const spsc_msg *m);
/* Push up to n messages in order; returns how many fit (publishes once). */
size_t spsc_push_batch(spsc_ring *r, const spsc_msg *m, size_t n);
/* After a batch of pushes: true if the consumer had parked and must be
 * signalled now (the flag is cleared, so exactly one caller signals). */
bool spsc_consumer_wake_needed(spsc_ring *r);
/* The ring was full and the producer wants to sleep until space appears.
 * Returns true if it is still full (sleep; the consumer will signal), false
 * if space appeared meanwhile (the announcement is withdrawn; retry). */
bool spsc_park_producer(spsc_ring *r);
void spsc_unpark_producer(spsc_ring *r);

/* Consumer side. */
bool spsc_try_pop(spsc_ring *r, spsc_msg *out);
/* Pop up to max messages in order; returns how many (releases slots once). */
size_t spsc_pop_batch(spsc_ring *r, spsc_msg *out, size_t max);
/* True if the ring looks empty to the consumer. */
bool spsc_empty(spsc_ring *r);
/* The ring was empty and the consumer wants to sleep. Returns true if it is
 * still empty (sleep; the producer will signal), false if data arrived
 * meanwhile (the announcement is withdrawn; pop it). */
bool spsc_park_consumer(spsc_ring *r);
void spsc_unpark_consumer(spsc_ring *r);
/* After popping: true if the producer had parked on a full ring and must be
 * signalled now. */
bool spsc_producer_wake_needed(spsc_ring *r);

#endif
