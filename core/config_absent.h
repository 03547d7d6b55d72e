/* config_absent: Redis 7.0 directives whose feature Ringmaster lacks.
 *
 * A redis.conf written for Redis 7.0 must load, so every directive Redis
 * 7.0 knows and Ringmaster does not implement is listed here with Redis's
 * compiled default. Each is one of:
 *   tuning   accepting any valid value leaves Ringmaster doing what the
 *            operator asked (lazyfree-lazy-expire, activerehashing,
 *            io-threads, supervised): it loads, with a one-line warning.
 *   strict   a value other than the default asks for the missing feature
 *            (appendonly yes, cluster-enabled yes, tls-replication yes): only
 *            the default is accepted, in the file and by CONFIG SET;
 *            anything else is refused with an error naming it. A few
 *            refuse only some values (maxmemory-policy's LFU policies).
 *   file-only  not a config in Redis either, only a file directive
 *            (loadmodule, rename-command, user): any use is refused.
 * The rule that sorts them is in config_absent.c. CONFIG GET reports the
 * value last given (or the default), as Redis does, so tools that read
 * settings back see what they wrote. Used by config.c only. */
#ifndef RM_CONFIG_ABSENT_H
#define RM_CONFIG_ABSENT_H

#include <stddef.h>

#include "core/config.h"
#include "core/dstr.h"

typedef struct absent_directive absent_directive;

/* The entry for `name` (or its slave-* alias), NULL if none. File-only
 * directives are found only when `from_file` is set. */
const absent_directive *absent_find(const char *name, int from_file);
/* The spelling in the table of the name or alias `name` matched. */
const char *absent_spelling(const absent_directive *a, const char *name);
int absent_is_immutable(const absent_directive *a);

/* A directive line from a file (argv[0] is the name): check, remember,
 * warn. Returns 0, or -1 with the reason in `err`. */
int absent_load(const absent_directive *a, dstr *argv, int argc, char *err, size_t errlen);
/* CONFIG SET: check and remember `value` (a dstr: kept with its length).
 * Returns 0 or -1 with `err`. */
int absent_set(const absent_directive *a, const dstr value, char *err, size_t errlen);
/* The current value (a new dstr). */
dstr absent_get(const absent_directive *a);
/* CONFIG GET: emit every entry whose name or alias matches
 * pattern[0..plen). */
void absent_get_matching(const char *pattern, size_t plen, config_emit_fn emit, void *priv);

#endif
