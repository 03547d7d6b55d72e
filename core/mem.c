/* mem: see mem.h. The counter is a relaxed atomic because replication I/O
 * threads allocate too; it is a statistic, never a synchronisation point. */
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

static atomic_size_t used_bytes;

static void mem_oom(size_t size) {
    fprintf(stderr, "ringmaster: out of memory allocating %zu bytes\n", size);
    fflush(stderr);
    abort();
}

void *mem_alloc(size_t size) {
    void *p = raw_malloc(size ? size : 1);
    if (!p) mem_oom(size);
    atomic_fetch_add_explicit(&used_bytes, raw_usable(p), memory_order_relaxed);
    return p;
}

void *mem_calloc(size_t size) {
    void *p = raw_calloc(size ? size : 1);
    if (!p) mem_oom(size);
    atomic_fetch_add_explicit(&used_bytes, raw_usable(p), memory_order_relaxed);
    return p;
}

void *mem_realloc(void *ptr, size_t size) {
    if (!ptr) return mem_alloc(size);
    size_t old = raw_usable(ptr);
    void *p = raw_realloc(ptr, size ? size : 1);
    if (!p) mem_oom(size);
    size_t now = raw_usable(p);
    if (now >= old)
        atomic_fetch_add_explicit(&used_bytes, now - old, memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&used_bytes, old - now, memory_order_relaxed);
    return p;
}

void mem_free(void *ptr) {
    if (!ptr) return;
    atomic_fetch_sub_explicit(&used_bytes, raw_usable(ptr), memory_order_relaxed);
    raw_free(ptr);
}

char *mem_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = mem_alloc(n);
    memcpy(p, s, n);
    return p;
}

size_t mem_usable(void *ptr) { return ptr ? raw_usable(ptr) : 0; }

size_t mem_used(void) { return atomic_load_explicit(&used_bytes, memory_order_relaxed); }

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
