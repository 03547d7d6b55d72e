/* crc64: see crc64.h.
 *
 * Slicing-by-8: eight 256-entry tables let the loop fold eight input bytes
 * per step instead of one, which matters because every byte of a snapshot
 * goes through here (a 1 GB dataset is a 1 GB checksum). Table k maps a
 * byte b to the CRC of b followed by k zero bytes, so the contributions of
 * eight bytes can be combined with xor. The tables are computed from the
 * polynomial on first use (a few microseconds), not stored as constants.
 *
 * Reflected arithmetic: the register shifts right and the polynomial is
 * bit-reversed (0x95ac9329ac4bc9b5), which is how "reflected in and out"
 * is implemented without reversing each byte. */
#include "core/crc64.h"

#include <pthread.h>
#include <string.h>

#define CRC64_JONES_REFLECTED 0x95ac9329ac4bc9b5ULL

static uint64_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    for (int b = 0; b < 256; b++) {
        uint64_t c = (uint64_t)b;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ CRC64_JONES_REFLECTED : c >> 1;
        table[0][b] = c;
    }
    for (int b = 0; b < 256; b++) {
        uint64_t c = table[0][b];
        for (int k = 1; k < 8; k++) {
            c = table[0][c & 0xff] ^ (c >> 8);
            table[k][b] = c;
        }
    }
}

uint64_t crc64(uint64_t crc, const void *p, size_t len) {
    pthread_once(&table_once, build_tables);
    const unsigned char *s = p;
    while (len && ((uintptr_t)s & 7)) {
        crc = table[0][(crc ^ *s++) & 0xff] ^ (crc >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        w ^= crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^
              table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        s += 8;
        len -= 8;
    }
    while (len--) crc = table[0][(crc ^ *s++) & 0xff] ^ (crc >> 8);
    return crc;
}
