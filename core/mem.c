/* mem: see mem.h.
 *
 * used_memory is a shared atomic because replication I/O threads allocate
 * too; it is a statistic, never a synchronisation point. Each thread
 * counts into its own delta and publishes it only once the delta passes
 * MEM_PUBLISH_BYTES either way: a locked add per allocation costs more
 * than a small allocation itself (it waits for the store buffer to drain,
 * and a loader filling fresh pages keeps that buffer full). mem_used()
 * publishes the caller's delta first, so the keyspace thread, which
 * answers INFO, sees its own allocations exactly; another thread's lag by
 * less than MEM_PUBLISH_BYTES. */
#include "core/mem.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef RM_USE_MIMALLOC
#include <mimalloc.h>
#define raw_malloc(n) mi_malloc(n)
#define raw_calloc(n) mi_calloc(1, n)
#define raw_realloc(p, n) mi_realloc(p, n)
#define raw_free(p) mi_free(p)
#define raw_usable(p) mi_usable_size(p)
#else
#define raw_malloc(n) malloc(n)
#define raw_calloc(n) calloc(1, n)
#define raw_realloc(p, n) realloc(p, n)
#define raw_free(p) free(p)
#define raw_usable(p) malloc_usable_size(p)
#endif

#define MEM_PUBLISH_BYTES (64 * 1024)

static atomic_llong used_bytes;
static _Thread_local long long unpublished;

static void publish(void) {
    atomic_fetch_add_explicit(&used_bytes, unpublished, memory_order_relaxed);
    unpublished = 0;
}

static inline void count(long long delta) {
    unpublished += delta;
    if (unpublished >= MEM_PUBLISH_BYTES || unpublished <= -MEM_PUBLISH_BYTES) publish();
}

static void mem_oom(size_t size) {
    fprintf(stderr, "ringmaster: out of memory allocating %zu bytes\n", size);
    fflush(stderr);
    abort();
}

void *mem_alloc(size_t size) {
    void *p = raw_malloc(size ? size : 1);
    if (!p) mem_oom(size);
    count((long long)raw_usable(p));
    return p;
}

void *mem_calloc(size_t size) {
    void *p = raw_calloc(size ? size : 1);
    if (!p) mem_oom(size);
    count((long long)raw_usable(p));
    return p;
}

void *mem_realloc(void *ptr, size_t size) {
    if (!ptr) return mem_alloc(size);
    size_t old = raw_usable(ptr);
    void *p = raw_realloc(ptr, size ? size : 1);
    if (!p) mem_oom(size);
    count((long long)raw_usable(p) - (long long)old);
    return p;
}

void mem_free(void *ptr) {
    if (!ptr) return;
    count(-(long long)raw_usable(ptr));
    raw_free(ptr);
}

char *mem_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = mem_alloc(n);
    memcpy(p, s, n);
    return p;
}

size_t mem_usable(void *ptr) { return ptr ? raw_usable(ptr) : 0; }

size_t mem_used(void) {
    publish();
    /* Other threads' deltas are still unpublished: a block one allocated
     * and this one freed can make the sum dip below zero for a while. */
    long long used = atomic_load_explicit(&used_bytes, memory_order_relaxed);
    return used > 0 ? (size_t)used : 0;
}

/* Resident set size from /proc/self/statm (second field, in pages). */
size_t mem_rss(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    if (n != 2) return 0;
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

const char *mem_allocator_name(void) {
#ifdef RM_USE_MIMALLOC
    return "mimalloc";
#else
    return "libc";
#endif
}

void mem_purge(void) {
#ifdef RM_USE_MIMALLOC
    mi_collect(true);
#else
    malloc_trim(0);
#endif
}

int mem_allocator_stats(void (*out)(const char *text, void *arg), void *arg) {
#ifdef RM_USE_MIMALLOC
    mi_stats_print_out(out, arg);
    return 1;
#else
    (void)out;
    (void)arg;
    return 0;
#endif
}

void mem_allocator_sizes(size_t *active, size_t *resident) {
#ifdef RM_USE_MIMALLOC
    size_t elapsed, utime, stime, rss, peak_rss, commit, peak_commit, faults;
    mi_process_info(&elapsed, &utime, &stime, &rss, &peak_rss, &commit, &peak_commit, &faults);
    *active = commit;
    *resident = rss;
#else
    *active = mem_used();
    *resident = mem_rss();
#endif
}
