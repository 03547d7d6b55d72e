/* t_set: the set type. set.c holds the value (encodings, conversion,
 * iteration, random members, the object hooks); t_set.c the commands.
 *
 * A set value is an obj of type OBJ_SET in one of Redis 7.0's two
 * encodings:
 *   ENC_INTSET    - o->ptr is an intset (see intset.h): every member is an
 *                   integer in canonical form (what string2ll accepts) and
 *                   there are at most set-max-intset-entries of them;
 *   ENC_HASHTABLE - o->ptr is a dict whose keys are the members (dstr) and
 *                   whose values are unused.
 * Conversion is one-way, intset to hashtable, exactly when Redis converts:
 * on adding a member that is not a canonical integer, or on growing past
 * the limit. So OBJECT ENCODING answers what Redis answers for the same
 * history of commands.
 *
 * This header is also the API the RDB module builds and walks sets with:
 * set_create_*, set_add / set_add_ll, set_from_intset_blob, set_intset,
 * set_size and the iterator. */
#ifndef RM_T_SET_H
#define RM_T_SET_H

#include <stddef.h>

#include "core/dict.h"
#include "core/dstr.h"
#include "core/intset.h"
#include "core/object.h"

/* ---- construction ---------------------------------------------------- */

/* An empty set in the intset encoding. */
obj *set_create_intset(void);
/* An empty set in the hashtable encoding, presized for `size_hint`
 * members (0: no presizing). */
obj *set_create_hashtable(size_t size_hint);
/* The set Redis creates for a first member (setTypeCreate): an intset when
 * the member is a canonical integer, a hashtable otherwise. */
obj *set_create_for(const dstr first);
/* A set from an RDB intset payload: validated (NULL when invalid), then
 * converted to a hashtable when it holds more than max_intset members, as
 * Redis does on load. */
obj *set_from_intset_blob(const void *p, size_t len, long long max_intset);

/* ---- members --------------------------------------------------------- */

/* Add a member (copied). Returns 1 when added, 0 when already present.
 * Converts the encoding when Redis would; max_intset is the current
 * set-max-intset-entries. */
int set_add(obj *o, const dstr ele, long long max_intset);
int set_add_ll(obj *o, long long v, long long max_intset);
/* Remove a member: 1 when it was present. Never converts back. */
int set_remove(obj *o, const dstr ele);
int set_is_member(const obj *o, const dstr ele);
int set_is_member_ll(const obj *o, long long v);
size_t set_size(const obj *o);
/* Intset to hashtable (no-op on a hashtable). */
void set_convert_to_hashtable(obj *o);
/* The intset of an ENC_INTSET set (for RDB_TYPE_SET_INTSET), else NULL. */
const intset *set_intset(const obj *o);
/* The dict of an ENC_HASHTABLE set, else NULL. */
dict *set_dict(const obj *o);

/* A member as seen by iteration or random picks: an integer (intset) or
 * bytes that point into the set and stay valid until the set changes (for
 * a hashtable set `p` is the member's own dstr, usable for lookups). */
typedef struct set_elem {
    int is_int;
    long long ll;
    const char *p;
    size_t len;
} set_elem;

/* The member's bytes; integers are rendered into buf (at least 21 bytes). */
const char *set_elem_bytes(const set_elem *e, char *buf, size_t *len);
/* The member as a new dstr. */
dstr set_elem_dstr(const set_elem *e);

/* A random member of a non-empty set. Not removed; for a hashtable the
 * entry is returned through *de (when not NULL) so the caller can unlink it
 * without a second lookup. */
void set_random_member(obj *o, set_elem *out, dict_entry **de);
/* Remove a random member of a non-empty set and hand it to the caller. */
dstr set_pop_random(obj *o);
/* A process-local random number for sampling. */
unsigned long long set_rand(void);

/* ---- iteration -------------------------------------------------------- */

/* Iterates over every member once. Members must not be added or removed
 * while iterating, except the one just returned from a hashtable set. The
 * order is ascending for an intset and the table's order for a
 * hashtable. */
typedef struct set_iter {
    const obj *set;
    uint32_t pos;
    int enc;
    dict_iter di;
} set_iter;

void set_iter_init(const obj *o, set_iter *it);
/* 1 and the next member in *e, or 0 at the end. */
int set_iter_next(set_iter *it, set_elem *e);
void set_iter_done(set_iter *it);

/* ---- registration ----------------------------------------------------- */

/* Registers the set value hooks (free, COPY, DEBUG DIGEST) and the
 * commands. */
void t_set_register(void);
void set_register_type(void);

#endif
