/* notify: keyspace notifications, as Redis 7.0 sends them.
 *
 * A command that changes a key calls notify_event() at the point Redis
 * calls notifyKeyspaceEvent(), with the same class and event name; the
 * message goes out through pubsub_publish() on two channels:
 *   __keyspace@<db>__:<key>    message: the event  (class K)
 *   __keyevent@<db>__:<event>  message: the key    (class E)
 * `notify-keyspace-events` says which classes are sent; it is kept as the
 * bit mask below in cfg.notify_keyspace_events, so a server with the
 * setting empty pays one test of that mask per event point. */
#ifndef RM_NOTIFY_H
#define RM_NOTIFY_H

#include <stddef.h>

#include "core/dstr.h"
#include "core/server.h"

/* The classes, with Redis's values and letters. */
enum {
    NOTIFY_KEYSPACE = 1 << 0, /* K */
    NOTIFY_KEYEVENT = 1 << 1, /* E */
    NOTIFY_GENERIC = 1 << 2,  /* g */
    NOTIFY_STRING = 1 << 3,   /* $ */
    NOTIFY_LIST = 1 << 4,     /* l */
    NOTIFY_SET = 1 << 5,      /* s */
    NOTIFY_HASH = 1 << 6,     /* h */
    NOTIFY_ZSET = 1 << 7,     /* z */
    NOTIFY_EXPIRED = 1 << 8,  /* x */
    NOTIFY_EVICTED = 1 << 9,  /* e: nothing evicts in Ringmaster */
    NOTIFY_STREAM = 1 << 10,  /* t */
    NOTIFY_KEY_MISS = 1 << 11, /* m: not part of A */
    NOTIFY_MODULE = 1 << 13,  /* d: no modules in Ringmaster */
    NOTIFY_NEW = 1 << 14,     /* n: not part of A */
};
/* A: every class but m and n (and not K or E). */
#define NOTIFY_ALL                                                                          \
    (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET | \
     NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)

/* The mask for the letters of s[0..len), as Redis reads them: they stop at
 * a NUL byte; -1 when one is not a class letter. */
int notify_flags_parse(const char *s, size_t len);
/* The letters for a mask, in Redis's canonical order (a new dstr). */
dstr notify_flags_string(int flags);

/* Publish `event` of class `type` for `key` of db `dbid`. */
void notify_publish(server *s, int type, const char *event, const dstr key, int dbid);

/* Delete `key` (a collection a command emptied, the destination of a STORE
 * with an empty result) and send its "del" event. 1 if the key existed. */
int notify_delete(server *s, db *d, const dstr key);

static inline void notify_event(server *s, int type, const char *event, const dstr key,
                                int dbid) {
    if (s->cfg.notify_keyspace_events & type) notify_publish(s, type, event, key, dbid);
}

#endif
