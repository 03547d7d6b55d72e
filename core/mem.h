/* mem: the server's allocator front end.
 *
 * Every allocation the keyspace thread makes for keys, values and client
 * buffers goes through these calls so that INFO memory can report
 * `used_memory` as the allocator's usable size of live blocks, the way
 * Redis's zmalloc does. In normal builds the allocator is mimalloc; in
 * sanitizer builds it is libc malloc, so ASan/TSan see every block.
 *
 * Allocation failure is fatal: a server that cannot allocate cannot keep
 * its promises about the dataset, and Redis aborts the same way. */
#ifndef RM_MEM_H
#define RM_MEM_H

#include <stddef.h>

void *mem_alloc(size_t size);
void *mem_calloc(size_t size);
void *mem_realloc(void *ptr, size_t size);
void mem_free(void *ptr);
char *mem_strdup(const char *s);
size_t mem_usable(void *ptr);
size_t mem_used(void);
size_t mem_rss(void);
const char *mem_allocator_name(void);
/* MEMORY PURGE: give free pages back to the system (mi_collect, or
 * malloc_trim with libc). */
void mem_purge(void);
/* MEMORY MALLOC-STATS: the allocator's own statistics text, handed to
 * `out` piece by piece; 0 when the allocator has none (libc). */
int mem_allocator_stats(void (*out)(const char *text, void *arg), void *arg);
/* The allocator's view for MEMORY STATS: bytes committed (mimalloc's
 * active pages) and resident; libc builds answer used and RSS. */
void mem_allocator_sizes(size_t *active, size_t *resident);

#endif
