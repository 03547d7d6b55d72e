/* handover: the keyspace thread's half of giving a replica to an I/O
 * thread, as plain functions of the backlog and the bytes involved, so the
 * same code serves master_sync.c, snapshot.c and the unit test that drives
 * a real I/O thread with it (tests/unit/test_handover.c).
 *
 * A replica reads the stream through a backlog reader slot and a cursor.
 * Both come from link_pin, which either gives both or neither: a slot is
 * only useful with a cursor the I/O thread can read from, and a cursor is
 * only safe while a slot pins its bytes. Every failure is a negative errno
 * the caller must act on (refuse or drop the replica); nothing here logs.
 *
 * The messages built here (link_adopt, link_fullsync) belong to the
 * keyspace until posted, to the I/O thread after (spsc.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "repl/link.h"

int link_pin(backlog *bl, long long from, int *slot, backlog_cursor *cur) {
    int s = backlog_reader_add(bl, from);
    if (s < 0) return s;
    /* The keyspace publishes before it hands a cursor out: a +CONTINUE
     * may ask for bytes appended during this event-loop pass. */
    backlog_publish(bl);
    int rc = backlog_seek(bl, from, cur);
    if (rc < 0) {
        backlog_reader_remove(bl, s);
        return rc;
    }
    *slot = s;
    return 0;
}

link_adopt *link_adopt_new(uint64_t id, int fd, const char *name, int state, backlog *bl,
                           int slot, const backlog_cursor *cur, const char *unsent,
                           size_t unsent_len, const char *line, size_t line_len) {
    link_adopt *a = mem_calloc(sizeof(*a));
    a->id = id;
    a->fd = fd;
    a->state = state;
    snprintf(a->name, sizeof(a->name), "%s", name);
    a->bl = bl;
    a->slot = slot;
    if (cur) a->cur = *cur;
    /* Replies the client was still owed go first, then the outcome line:
     * the replica reads them in the order it sent the commands. */
    a->preamble_len = unsent_len + line_len;
    if (a->preamble_len) {
        a->preamble = mem_alloc(a->preamble_len);
        if (unsent_len) memcpy(a->preamble, unsent, unsent_len);
        if (line_len) memcpy(a->preamble + unsent_len, line, line_len);
    }
    return a;
}

int link_fullsync_new(link_fullsync **out, backlog *bl, long long offset, const char *line,
                      int diskless) {
    link_fullsync *f = mem_calloc(sizeof(*f));
    int rc = link_pin(bl, offset + 1, &f->slot, &f->cur);
    if (rc < 0) {
        mem_free(f);
        *out = NULL;
        return rc;
    }
    if (line) snprintf(f->line, sizeof(f->line), "%s", line);
    f->diskless = diskless;
    *out = f;
    return 0;
}
