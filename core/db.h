/* db: the keyspace of one logical database and the operations every
 * command uses on it: lookups that apply lazy expiry, writes that keep
 * WATCH informed, expires, flush and swap, and the active expiry cycle. */
#ifndef RM_DB_H
#define RM_DB_H

#include "core/server.h"

void db_init_all(server *s);
void db_free_all(server *s);

/* Lookups expire the key first when its time has passed. The read
 * variant counts keyspace hits and misses and touches the LRU clock. */
obj *db_lookup_read(server *s, db *d, const dstr key);
obj *db_lookup_write(server *s, db *d, const dstr key);
/* No expiry, no stats: DEBUG, SCAN filters, internal use. */
obj *db_peek(db *d, const dstr key);

/* Add a key that does not exist; copies `key`, takes `val`. */
void db_add(server *s, db *d, const dstr key, obj *val);
/* Replace or add; the old value is freed; the TTL is dropped unless
 * keepttl. */
void db_set(server *s, db *d, const dstr key, obj *val, int keepttl);
/* The value at `key` was rewritten in place (obj_string_overwrite): the
 * rest of what db_set does (TTL dropped unless keepttl, WATCH told). */
void db_value_rewritten(server *s, db *d, const dstr key, int keepttl);
/* Replace the value of an existing key in place, keeping its TTL. */
void db_replace_value(server *s, db *d, const dstr key, obj *val);
int db_delete(server *s, db *d, const dstr key);
/* UNLINK's delete: the value is freed by the lazyfree thread when it is
 * large (lazyfree.h), at once otherwise. */
int db_delete_async(server *s, db *d, const dstr key);
int db_exists(server *s, db *d, const dstr key);

long long db_get_expire(db *d, const dstr key); /* -1 when none */
void db_set_expire(server *s, db *d, const dstr key, long long when_ms);
int db_remove_expire(db *d, const dstr key);
int db_key_is_expired(db *d, const dstr key);
/* Delete the key if its time has passed, propagating a DEL. 1 if it did. */
int db_expire_if_needed(server *s, db *d, const dstr key);

void db_active_expire_cycle(server *s, int fast);
long long db_flush(server *s, int dbid); /* -1 = all; returns keys removed */
/* db_flush, or with `async` the dropped keyspaces go to the lazyfree
 * thread and the dbs get new empty dicts at once (FLUSHALL ASYNC,
 * replica-lazy-flush). WATCH sees the same either way. */
long long db_empty(server *s, int dbid, int async);
int db_swap(server *s, int a, int b);
dstr db_random_key(server *s, db *d);
void db_cron_rehash(server *s);

/* WATCH support. */
void db_signal_modified(server *s, db *d, const dstr key);
void db_watch_key(client *c, const dstr key);
void db_unwatch_all(client *c);
int db_watched_key_expired(client *c);

#endif
