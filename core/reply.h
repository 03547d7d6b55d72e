/* reply: RESP2 and RESP3 replies appended to a client's output buffer.
 *
 * Every function answers in the client's protocol (c->resp, set by
 * HELLO): the RESP3 types (maps, sets, doubles, nulls, booleans, verbatim
 * strings, big numbers, attributes, push data) fall back to the RESP2
 * form Redis 7.0 sends a RESP2 client for the same reply: a map is a
 * flat array of 2n elements, a set an array, a double a bulk string, a
 * boolean an integer, a null $-1 (or *-1 for a null array).
 *
 * Replies are encoded straight into the client's pending output; the
 * event loop writes it out once per loop pass, so a pipeline of N
 * commands costs one write. Error replies also feed INFO errorstats. */
#ifndef RM_REPLY_H
#define RM_REPLY_H

#include <stddef.h>

#include "core/server.h"

void reply_raw(client *c, const void *p, size_t len);
/* A reply prepared as RESP2 text (a command's "missing key" answer, a
 * blocked client's timeout): "$-1\r\n" and "*-1\r\n" become the client's
 * null, anything else goes as is. */
void reply_canned(client *c, const char *resp2);
void reply_ok(client *c);
void reply_status(client *c, const char *status);
/* `err` without the leading '-': "ERR syntax error", "WRONGTYPE ...". A
 * message without an uppercase code gets "ERR " in front. */
void reply_error(client *c, const char *err);
void reply_errorf(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(client *c, long long v);
void reply_bulk(client *c, const void *p, size_t len);
void reply_bulk_cstr(client *c, const char *s);
void reply_bulk_dstr(client *c, const dstr s);
void reply_bulk_ll(client *c, long long v);
void reply_bulk_obj(client *c, const obj *o);
void reply_null(client *c);       /* $-1; _ in RESP3 */
void reply_null_array(client *c); /* *-1; _ in RESP3 */
void reply_array(client *c, long long n);
/* n key/value pairs follow. */
void reply_map(client *c, long long n);
/* A list of n elements that are pairs when `pairs` (a member and its
 * score, a field and its value): RESP2 flattens it into 2n elements,
 * RESP3 nests each pair (reply_pair before each). */
void reply_pair_list(client *c, long long n, int pairs);
void reply_pair(client *c, int pairs);
/* The array length to patch into a deferred pair list of n elements. */
long long reply_pair_list_len(const client *c, long long n, int pairs);
void reply_set(client *c, long long n);
void reply_double(client *c, double d);
void reply_bool(client *c, int b);
/* A double already printed (Redis's human form of a long double): a bulk
 * string in RESP2, a double in RESP3. */
void reply_human_double(client *c, const char *text, size_t len);
/* A big number, its digits as given. */
void reply_bignum(client *c, const char *digits, size_t len);
/* Text meant for humans (INFO, CLIENT LIST): "txt" verbatim in RESP3. */
void reply_verbatim(client *c, const char *p, size_t len);
/* n attribute pairs, then the reply they describe; nothing in RESP2 (the
 * caller skips the pairs too). */
void reply_attribute(client *c, long long n);
/* Push data ('>' in RESP3, an array in RESP2): Pub/Sub messages and
 * (un)subscribe confirmations. */
void reply_push(client *c, long long n);
/* An array already encoded in RESP2, sent as push data. */
void reply_push_encoded(client *c, const char *p, size_t len);
/* A HELP reply: each line a status. */
/* A HELP reply: the lines, then "HELP" and its description, as Redis
 * 7.0's addReplyHelp ends every one. */
void reply_help(client *c, const char **lines, int n);
/* Deferred length: reserve, fill in later as an array's, a map's (n
 * pairs) or a set's. */
size_t reply_defer_len(client *c);
void reply_set_deferred_len(client *c, size_t handle, long long n);
void reply_set_deferred_map(client *c, size_t handle, long long n);
void reply_set_deferred_set(client *c, size_t handle, long long n);

/* Shared error strings. */
#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT "ERR value is not a valid float"
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_OVERFLOW "ERR increment or decrement would overflow"
#define ERR_NO_KEY "ERR no such key"
#define ERR_DB_RANGE "ERR DB index is out of range"
#define ERR_SAME_OBJ "ERR source and destination objects are the same"
#define ERR_CLIENT_NAME                                                                        \
    "ERR Client names cannot contain spaces, newlines or special characters."

#endif
