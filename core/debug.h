/* debug: DEBUG and the dataset digest Redis 7.0 computes for DEBUG DIGEST. */
#ifndef RM_DEBUG_H
#define RM_DEBUG_H

#include <stddef.h>

#include "core/server.h"

/* The digest primitives, Redis's xorDigest and mixDigest: collection
 * types use them to digest their elements. */
void digest_xor(unsigned char digest[20], const void *p, size_t len);
void digest_mix(unsigned char digest[20], const void *p, size_t len);
void digest_dataset(server *s, unsigned char out[20]);
/* Other modules add DEBUG subcommands (POPULATE, RELOAD...). */
void debug_register(const char *name, command_proc fn);
void digest_key_value(db *d, const dstr key, const obj *o, unsigned char out[20]);

#endif
