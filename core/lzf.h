/* lzf: the LZF compression format RDB files use for long strings.
 *
 * A compressed block is a sequence of runs, each introduced by a control
 * byte:
 *   000LLLLL                    literal run: the next L+1 bytes (1..32)
 *   LLLooooo oooooooo           back reference, L in 1..6: copy L+2 bytes
 *   111ooooo LLLLLLLL oooooooo  back reference: copy L+9 bytes (9..264)
 * from o+1 bytes (1..8192) behind the current output position; the source
 * may overlap the bytes being produced (a run of one repeated byte).
 * There is no header: the RDB records both lengths around the block. */
#ifndef RM_LZF_H
#define RM_LZF_H

#include <stddef.h>
#include <stdint.h>

/* Match finder state, reusable across calls (it only speeds up matching;
 * stale entries are checked before use). Zero it once. */
typedef struct lzf_state {
    uint32_t last[1 << 14];
} lzf_state;

/* Compress len bytes into out (room for out_len). Returns the compressed
 * size, or 0 when it does not fit in out_len (store the data raw). */
size_t lzf_compress(lzf_state *st, const void *in, size_t len, void *out, size_t out_len);
/* Decompress into out, which must become exactly out_len bytes. Returns 0,
 * or -1 when the block is malformed or does not produce out_len bytes. */
int lzf_decompress(const void *in, size_t len, void *out, size_t out_len);

#endif
