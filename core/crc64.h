/* crc64: the checksum at the end of every RDB file.
 *
 * CRC-64 with the Jones polynomial (0xad93d23594c935a9), reflected input
 * and output, initial value 0 and no final xor: the variant Redis uses for
 * RDB trailers and DUMP payloads. crc64(0, "123456789", 9) is
 * 0xe9c6d914c4b8d9ca. The checksum is incremental: feed the bytes in any
 * number of pieces, passing the previous result as `crc`. */
#ifndef RM_CRC64_H
#define RM_CRC64_H

#include <stddef.h>
#include <stdint.h>

uint64_t crc64(uint64_t crc, const void *p, size_t len);

#endif
