/* Helpers shared by the libFuzzer harnesses. */
#ifndef RM_FUZZ_UTIL_H
#define RM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* An invariant: abort, which libFuzzer reports as a crash with the input. */
#define CHECK(c) \
    do {         \
        if (!(c)) abort(); \
    } while (0)

/* FNV-1a, to compare what two runs produced without keeping it all. */
#define FUZZ_HASH_INIT 0xcbf29ce484222325ULL
static inline uint64_t fuzz_hash(uint64_t h, const void *p, size_t len) {
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

#endif
