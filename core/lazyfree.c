/* lazyfree: see lazyfree.h.
 *
 * One thread, started by the first hand-over, takes jobs from a FIFO under
 * a mutex and a condition variable. Nothing here is on a hot path: a job
 * is a whole keyspace or a value of more than LAZYFREE_THRESHOLD parts, so
 * a lock per hand-over costs nothing next to the freeing itself.
 *
 * Why freeing on another thread is safe. A job's memory is reachable from
 * the job only: the keyspace thread has replaced the dicts or unlinked the
 * key before handing over, and no value is shared between keys. Freeing
 * reaches the dict type's callbacks (dstr_free, obj_free and the types'
 * free_value hooks), whose only shared state is the type-ops table, written
 * at startup and read-only afterwards. dict.c's static state is not
 * touched by freeing (resize_allowed is read when a table grows or shrinks;
 * the sampling RNG is per thread), and mem.c counts used_memory per thread
 * and publishes with atomics. Both allocators the build uses (mimalloc,
 * libc under the sanitizers) free a block allocated by another thread.
 * The mutex orders the hand-over before the freeing, for TSan too.
 *
 * Shutdown drains the queue: the thread finishes every job, then exits and
 * is joined. That takes as long as the synchronous flush would have, and
 * leaves no allocation behind for LeakSanitizer. */
#include "core/lazyfree.h"
#include "core/stream.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "core/mem.h"
#include "core/quicklist.h"
#include "core/t_hash.h"
#include "core/t_set.h"
#include "core/t_zset.h"

typedef struct lazy_job {
    struct lazy_job *next;
    dict *keys, *expires; /* a keyspace, or */
    obj *val;             /* one value */
    long long objects;    /* what it counts in the pending total */
} lazy_job;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static lazy_job *head, *tail; /* under lock */
static int running, stopping; /* under lock */
static pthread_t thread;

static atomic_llong pending, freed;

size_t lazyfree_effort(const obj *o) {
    switch (o->type) {
    case OBJ_LIST: return ((const quicklist *)o->ptr)->len;
    case OBJ_SET: return o->enc == ENC_HASHTABLE ? set_size(o) : 1;
    case OBJ_ZSET: return o->enc == ENC_SKIPLIST ? zset_length(o) : 1;
    case OBJ_HASH: return o->enc == ENC_HASHTABLE ? hash_len(o) : 1;
    case OBJ_STREAM: { /* Redis's estimate: nodes, groups times the first group's PEL */
        const stream *st = o->ptr;
        size_t e = st->nnodes + 1;
        if (st->groups.n) e += st->groups.n * (1 + ((const stream_group *)st->groups.v[0])->pel.n);
        return e;
    }
    }
    return 1;
}

static void run_job(lazy_job *j) {
    if (j->val) obj_free(j->val);
    /* expires first: its entries point at the keys' dstrs. */
    dict_release(j->expires);
    dict_release(j->keys);
    atomic_fetch_sub_explicit(&pending, j->objects, memory_order_relaxed);
    atomic_fetch_add_explicit(&freed, j->objects, memory_order_relaxed);
    mem_free(j);
}

static void *worker(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "rm-lazyfree");
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!head && !stopping) pthread_cond_wait(&wake, &lock);
        lazy_job *j = head;
        if (!j) break; /* stopping, and nothing left */
        head = j->next;
        if (!head) tail = NULL;
        pthread_mutex_unlock(&lock);
        run_job(j);
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Under lock. The thread takes no signals: SIGTERM and friends belong to
 * the keyspace thread's handlers (the mask is inherited at creation). */
static int start_thread(void) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&thread, NULL, worker, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) running = 1;
    return rc == 0 ? 0 : -1;
}

static void submit(lazy_job *j) {
    atomic_fetch_add_explicit(&pending, j->objects, memory_order_relaxed);
    pthread_mutex_lock(&lock);
    if (!running && start_thread() < 0) {
        /* No thread to be had: free here, the way it was asked for. */
        pthread_mutex_unlock(&lock);
        run_job(j);
        return;
    }
    j->next = NULL;
    if (tail)
        tail->next = j;
    else
        head = j;
    tail = j;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
}

void lazyfree_value(obj *o) {
    if (!o) return;
    if (lazyfree_effort(o) <= LAZYFREE_THRESHOLD) {
        obj_free(o);
        return;
    }
    lazy_job *j = mem_calloc(sizeof(*j));
    j->val = o;
    j->objects = 1;
    submit(j);
}

void lazyfree_keyspace(dict *keys, dict *expires) {
    lazy_job *j = mem_calloc(sizeof(*j));
    j->keys = keys;
    j->expires = expires;
    j->objects = (long long)dict_size(keys);
    submit(j);
}

long long lazyfree_pending(void) { return atomic_load_explicit(&pending, memory_order_relaxed); }

long long lazyfree_freed(void) { return atomic_load_explicit(&freed, memory_order_relaxed); }

void lazyfree_reset_stats(void) { atomic_store_explicit(&freed, 0, memory_order_relaxed); }

void lazyfree_shutdown(void) {
    pthread_mutex_lock(&lock);
    if (!running) {
        pthread_mutex_unlock(&lock);
        return;
    }
    stopping = 1;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    pthread_mutex_lock(&lock);
    running = stopping = 0;
    pthread_mutex_unlock(&lock);
}
