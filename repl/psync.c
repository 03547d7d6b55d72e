/* psync: see psync.h. */
#include "repl/psync.h"

#include <stdio.h>
#include <strings.h>

enum psync_outcome psync_decide(const psync_state *st, const char *req_id,
                                long long req_offset, char *why, size_t whylen) {
    if (whylen) why[0] = '\0';
    int is_current = strcasecmp(req_id, st->replid) == 0;
    int is_previous = st->second_replid_offset >= 0 && strcasecmp(req_id, st->replid2) == 0;
    if (!is_current && (!is_previous || req_offset > st->second_replid_offset)) {
        if (req_id[0] == '?' && req_id[1] == '\0') return PSYNC_FULL;
        if (!is_previous)
            snprintf(why, whylen,
                     "Replication ID mismatch (Replica asked for '%s', my replication IDs are "
                     "'%s' and '%s')",
                     req_id, st->replid, st->replid2);
        else
            snprintf(why, whylen,
                     "Requested offset for second ID was %lld, but I can reply up to %lld",
                     req_offset, st->second_replid_offset);
        return PSYNC_FULL;
    }
    if (!st->has_backlog || req_offset < st->backlog_first ||
        req_offset > st->backlog_end + 1) {
        if (req_offset > st->backlog_end)
            snprintf(why, whylen,
                     "lack of backlog (Replica request was: %lld); the offset is greater than "
                     "the master replication offset",
                     req_offset);
        else
            snprintf(why, whylen, "lack of backlog (Replica request was: %lld).", req_offset);
        return PSYNC_FULL;
    }
    return PSYNC_CONTINUE;
}

int psync_continue_reply(char *buf, size_t len, const char *replid, int capa_psync2) {
    if (capa_psync2) return snprintf(buf, len, "+CONTINUE %s\r\n", replid);
    return snprintf(buf, len, "+CONTINUE\r\n");
}

int psync_fullresync_reply(char *buf, size_t len, const char *replid, long long offset) {
    return snprintf(buf, len, "+FULLRESYNC %s %lld\r\n", replid, offset);
}
