/* link_parse: what a replica sends its master, parsed on the I/O thread
 * that owns the link (replica_link.c), without the keyspace's client
 * machinery: REPLCONF ACK <offset>, the newlines a loading replica sends to
 * stay alive, and anything else to be ignored or refused. Redis reads the
 * same bytes with its normal request parser; the limits here are a
 * replica's (small commands), and a malformed request is an error, as it
 * is for Redis ("Protocol error: ..."). */
#ifndef RM_REPL_LINK_PARSE_H
#define RM_REPL_LINK_PARSE_H

#include <stddef.h>

/* Parse one command at the start of buf (RESP multibulk or inline). Returns
 * bytes consumed, 0 if incomplete, -1 on a protocol error. Fills up to
 * `max` argument pointers (not NUL-terminated; lens gives sizes). */
long link_parse_command(char *buf, size_t len, char **argv, size_t *lens, int max, int *argc);
/* Whether the argument (p, len) is the word w, ignoring case. */
int link_word_is(const char *p, size_t len, const char *w);

#endif
