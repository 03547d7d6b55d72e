/* hll: Redis's HyperLogLog representation, byte for byte (see hll.c).
 *
 * A HyperLogLog is a plain string value: a 16-byte header ("HYLL", the
 * encoding, three zero bytes, the cached cardinality) and 16384 six-bit
 * registers, either dense (12288 bytes) or sparse (run-length opcodes).
 * These functions work on the string's bytes; t_hll.c has the commands. */
#ifndef RM_HLL_H
#define RM_HLL_H

#include <stddef.h>
#include <stdint.h>

#include "core/dstr.h"

#define HLL_P 14
#define HLL_REGISTERS (1 << HLL_P)
#define HLL_HDR_SIZE 16
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + (HLL_REGISTERS * 6 + 7) / 8)
#define HLL_DENSE 0
#define HLL_SPARSE 1

/* Redis's MurmurHash64A (little-endian reading), and the register index
 * and run length of zeros + 1 an element maps to. */
uint64_t hll_murmur64a(const void *key, int len, unsigned int seed);
int hll_pattern(const void *ele, size_t len, long *reg);

/* A new empty HLL: sparse, all registers zero, cached cardinality 0. */
dstr hll_new(void);
/* Whether the bytes look like an HLL Redis would accept (magic, known
 * encoding, a dense one of the exact size). */
int hll_header_ok(const char *p, size_t len);
int hll_encoding(const dstr s);

/* Add an element: 1 when a register changed, 0 when not, -1 when the
 * sparse data is corrupted. A sparse HLL that would grow past
 * `sparse_max` bytes, or needs a register above 32, turns dense. */
int hll_add(dstr *s, const void *ele, size_t len, long long sparse_max);
/* Raise register `index` to `count` if it is lower; same results. */
int hll_set(dstr *s, long index, uint8_t count, long long sparse_max);
/* Sparse to dense in place (a no-op for dense); -1 when corrupted. */
int hll_to_dense(dstr *s);
/* max[i] = MAX(max[i], register i); -1 when the sparse data is corrupted. */
int hll_merge_into(uint8_t max[HLL_REGISTERS], const dstr s);
uint8_t hll_dense_get(const unsigned char *registers, long index);
void hll_dense_put(unsigned char *registers, long index, uint8_t val);

/* The estimate (Redis 7.0's, from Ertl's improved estimator). *invalid is
 * set when the sparse data does not cover exactly 16384 registers. */
uint64_t hll_count(const dstr s, int *invalid);
uint64_t hll_count_registers(const uint8_t regs[HLL_REGISTERS]);

/* The cached cardinality: valid unless the top bit of its last byte is set. */
int hll_cache_valid(const dstr s);
uint64_t hll_cache_get(const dstr s);
void hll_cache_set(dstr s, uint64_t card);
void hll_cache_invalidate(dstr s);

#endif
