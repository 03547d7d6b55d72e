/* psync: the master's decision on a PSYNC request (Redis's
 * masterTryPartialResynchronization), as a pure function so it can be
 * tested on its own and called from the keyspace thread before a replica
 * is handed to an I/O thread.
 *
 * A partial resync continues when the requested id is the current replid,
 * or is replid2 and the offset is not past second_replid_offset, and the
 * offset lies in the backlog: first <= offset <= end + 1 (the replica
 * asks for the first byte it lacks). Anything else is a full resync. */
#ifndef RM_REPL_PSYNC_H
#define RM_REPL_PSYNC_H

#include <stddef.h>

typedef struct psync_state {
    const char *replid;            /* 40 hex chars */
    const char *replid2;           /* 40 hex chars, or all zeros */
    long long second_replid_offset; /* -1 when replid2 is unset */
    int has_backlog;
    long long backlog_first;       /* first byte held */
    long long backlog_end;         /* master_repl_offset */
} psync_state;

enum psync_outcome { PSYNC_FULL = 0, PSYNC_CONTINUE = 1 };

/* Decide. On PSYNC_FULL, `why` receives the operator-facing reason (the
 * text Redis logs after "Partial resynchronization not accepted: "), or
 * is empty when the replica asked for a full resync with id "?". */
enum psync_outcome psync_decide(const psync_state *st, const char *req_id,
                                long long req_offset, char *why, size_t whylen);

/* The first line of the reply: "+CONTINUE <replid>\r\n" for psync2
 * replicas, "+CONTINUE\r\n" otherwise; "+FULLRESYNC <replid> <offset>\r\n".
 * Returns the length written. */
int psync_continue_reply(char *buf, size_t len, const char *replid, int capa_psync2);
int psync_fullresync_reply(char *buf, size_t len, const char *replid, long long offset);

#endif
