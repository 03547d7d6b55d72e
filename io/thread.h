/* thread: a replication I/O thread skeleton, and a pool of them.
 *
 * An io_thread is a pthread that owns one io_uring (its `ring`) and talks to
 * the keyspace thread through two spsc rings:
 *
 *     keyspace --inbox-->  I/O thread     "adopt this fd", "drop link 7", ...
 *     keyspace <--outbox-- I/O thread     "link 7 acked N", "link 7 closed", ...
 *
 * and two eventfds, one per sleeper:
 *
 *   io_wake  the I/O thread sleeps in io_uring_submit_and_wait with a read
 *            armed on it; the keyspace signals it when it posts to an inbox
 *            the I/O thread parked on, or pops from an outbox the I/O thread
 *            parked on because it was full;
 *   ks_wake  the keyspace registers it in epoll (io_thread_wake_fd) and calls
 *            io_thread_collect when it fires; the I/O thread signals it when
 *            it reports to a parked outbox or pops from a full inbox.
 *
 * Signals are sent only to a side that parked (spsc.h), so a busy pair of
 * threads costs no syscalls per message. Neither side ever blocks on the
 * other: a message that does not fit waits in a private overflow queue of
 * its producer (in order, ahead of later ones) and goes into the ring when
 * the consumer makes room and signals. Order is preserved per direction.
 *
 * The I/O thread's loop: take every inbox message (ops.message), reap every
 * completion (ring callbacks, which may io_thread_report), flush reports,
 * then, if the inbox is still empty after parking, sleep in the ring until a
 * completion or the io_wake read arrives.
 *
 * Start and stop. io_thread_start creates the thread, which sets up its own
 * ring (so that IORING_SETUP_SINGLE_ISSUER names the right task), runs
 * ops.start and tells the starter how that went. io_thread_stop posts a stop
 * message behind everything posted before it, and joins: the thread sets
 * io_thread_stopping (completion callbacks must not re-arm requests from
 * then on), cancels and reaps every request in flight, runs ops.stop (free
 * links, close fds), and exits. Reports still queued are then delivered to
 * the stopper's callback, and everything is freed.
 *
 * Ownership: messages are copied; an fd or ptr in a message belongs to the
 * side that holds the message (spsc.h). The io_thread struct is shared, but
 * each field is touched by one thread only, as marked in thread.c. */
#ifndef RM_IO_THREAD_H
#define RM_IO_THREAD_H

#include "io/ring.h"
#include "io/spsc.h"

#include <stdbool.h>

#define IO_THREADS_MAX 8

/* Message types from here up are the skeleton's own; users number theirs
 * below it. */
#define IO_THREAD_MSG_RESERVED 0xFFFF0000u
#define IO_THREAD_MSG_STOP 0xFFFFFFFFu

typedef struct io_thread io_thread;

/* Everything here runs on the I/O thread. */
typedef struct io_thread_ops {
    /* After the ring is set up, before any message. Non-zero (a negative
     * errno) fails io_thread_start with that value. May be NULL. */
    int (*start)(io_thread *t, void *ctx);
    /* One inbox message, in posting order. */
    void (*message)(io_thread *t, const spsc_msg *m, void *ctx);
    /* After the stop message, once every request in flight has completed:
     * release what the thread owns. May be NULL. */
    void (*stop)(io_thread *t, void *ctx);
} io_thread_ops;

typedef struct io_thread_config {
    unsigned index;          /* 0..IO_THREADS_MAX-1: names the thread "rm-io-<index>" */
    unsigned ring_entries;   /* SQ size; 0: 256 */
    uint32_t queue_capacity; /* per direction, a power of two; 0: 1024 */
} io_thread_config;

/* A report from the outbox, delivered on the keyspace thread. */
typedef void io_report_fn(void *ctx, const spsc_msg *m);

/* Keyspace thread. */
int io_thread_start(io_thread **out, const io_thread_config *cfg, const io_thread_ops *ops,
                    void *ctx);
/* Queue a message for the I/O thread. Never blocks; 0 or -ENOMEM. */
int io_thread_post(io_thread *t, const spsc_msg *m);
/* The eventfd to watch for EPOLLIN: call io_thread_collect when it fires. */
int io_thread_wake_fd(const io_thread *t);
/* Deliver every report waiting in the outbox to fn, in order, and move
 * queued posts into the inbox. Returns the number of reports delivered. */
int io_thread_collect(io_thread *t, io_report_fn *fn, void *ctx);
/* Stop and join the thread, deliver its last reports to fn, free it. */
void io_thread_stop(io_thread *t, io_report_fn *fn, void *ctx);

/* I/O thread. */
/* Queue a report for the keyspace thread. Never blocks; 0 or -ENOMEM. */
int io_thread_report(io_thread *t, const spsc_msg *m);
ring *io_thread_ring(io_thread *t);
bool io_thread_stopping(const io_thread *t);

/* Either thread. */
unsigned io_thread_index(const io_thread *t);

/* repl-io-threads: a fixed set of I/O threads, links assigned round-robin.
 * Used by the keyspace thread only. */
typedef struct io_pool {
    io_thread *threads[IO_THREADS_MAX];
    unsigned count;
    unsigned next; /* the next thread io_pool_assign returns */
} io_pool;

/* Start `count` (1..IO_THREADS_MAX) threads, indexes 0..count-1, each with
 * cfg's sizes (cfg may be NULL) and the same ops and ctx. On failure none
 * is left running. 0 or -errno. */
int io_pool_start(io_pool *p, unsigned count, const io_thread_config *cfg, const io_thread_ops *ops,
                  void *ctx);
/* The thread that gets the next link. */
io_thread *io_pool_assign(io_pool *p);
void io_pool_stop(io_pool *p, io_report_fn *fn, void *ctx);

#endif
