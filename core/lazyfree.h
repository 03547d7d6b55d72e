/* lazyfree: freeing in the background what the keyspace has let go of.
 *
 * FLUSHALL/FLUSHDB ASYNC, UNLINK, DEL and FLUSH* under the
 * lazyfree-lazy-user-* settings, and a replica dropping its dataset for a
 * full sync under replica-lazy-flush detach what they remove (a db's keys
 * and expires dicts, or one large value) and hand it here, so the keyspace
 * thread does O(1) work and one background thread does the freeing.
 *
 * What is handed over must be unreachable from the keyspace: the caller
 * gives up every pointer into it. Values are never shared between keys
 * (object.h), so a detached value or dict is the hand-over's alone.
 *
 * The counters are Redis 7.0's INFO memory fields: lazyfree_pending_objects
 * (handed over, not freed yet; a keyspace counts one per key) and
 * lazyfreed_objects (freed in the background since start). */
#ifndef RM_LAZYFREE_H
#define RM_LAZYFREE_H

#include <stddef.h>

#include "core/dict.h"
#include "core/object.h"

/* Redis's LAZYFREE_THRESHOLD: a value whose free effort is no more than
 * this is freed at once, handing it over would cost more. */
#define LAZYFREE_THRESHOLD 64

/* Redis 7.0's lazyfreeGetFreeEffort: quicklist nodes for a list, elements
 * for a set, hash or sorted set in a table encoding, 1 for anything that
 * is one or two allocations (strings, packed encodings). */
size_t lazyfree_effort(const obj *o);
/* Free `o` (taken), in the background when its effort is above the
 * threshold. */
void lazyfree_value(obj *o);
/* Free a detached keyspace: `expires` (its keys belong to `keys`) and
 * `keys`, both taken. */
void lazyfree_keyspace(dict *keys, dict *expires);

long long lazyfree_pending(void);
long long lazyfree_freed(void);
/* CONFIG RESETSTAT: lazyfreed_objects starts again from 0. */
void lazyfree_reset_stats(void);

/* Finish everything handed over, then join the thread: at exit, so that
 * the process ends with nothing allocated. A later hand-over starts the
 * thread again. */
void lazyfree_shutdown(void);

#endif
