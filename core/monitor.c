/* monitor: see monitor.h.
 *
 * The monitors are an array on the server, so that feeding a command costs
 * nothing while nobody monitors (the common case) and one pass over the
 * monitors otherwise. The line is built once and appended to each
 * monitor's output, which the normal client-output-buffer-limit guards:
 * a monitor that does not read is closed, never waited for. */
#include "core/monitor.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "core/commands.h"
#include "core/mem.h"
#include "core/reply.h"

#define ERR_MONITOR_KEYSPACE "ERR Replica can't interact with the keyspace"

static int is_monitor_quiet(const client *c, const command *cmd) {
    if (cmd->flags & CMD_ADMIN) return 1;
    /* A blocked command is shown when it first runs, not again when it is
     * served. */
    return (c->flags & CLIENT_BLOCKED) && c->bstate.ready_key;
}

void monitor_feed(server *s, client *c, const command *cmd, dstr *argv, int argc) {
    if (s->nmonitors == 0 || is_monitor_quiet(c, cmd)) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    dstr line = dstr_catfmt(dstr_empty(), "+%ld.%06ld [%d %s] ", (long)tv.tv_sec,
                            (long)tv.tv_usec, c->db->id, c->addr);
    if (c->flags & CLIENT_UNIX_SOCKET) {
        dstr_free(line);
        line = dstr_catfmt(dstr_empty(), "+%ld.%06ld [%d unix:%s] ", (long)tv.tv_sec,
                           (long)tv.tv_usec, c->db->id, s->cfg.unixsocket);
    }
    for (int j = 0; j < argc; j++) {
        if (j) line = dstr_cats(line, " ");
        if (command_arg_redacted(cmd, argv, argc, j))
            line = dstr_cats(line, "\"(redacted)\"");
        else
            line = dstr_catrepr(line, argv[j], dstr_len(argv[j]));
    }
    line = dstr_cats(line, "\r\n");
    for (int i = 0; i < s->nmonitors; i++) {
        client *m = s->monitors[i];
        reply_raw(m, line, dstr_len(line));
        client_check_output_limits(m);
    }
    dstr_free(line);
}

void monitor_remove(client *c) {
    server *s = c->srv;
    if (!(c->flags & CLIENT_MONITOR)) return;
    c->flags &= ~(uint32_t)CLIENT_MONITOR;
    for (int i = 0; i < s->nmonitors; i++) {
        if (s->monitors[i] != c) continue;
        s->monitors[i] = s->monitors[--s->nmonitors];
        break;
    }
}

const char *monitor_refusal(const client *c, const command *cmd) {
    if (!(c->flags & CLIENT_MONITOR)) return NULL;
    if (cmd->flags & (CMD_WRITE | CMD_READONLY | CMD_MAY_REPLICATE)) return ERR_MONITOR_KEYSPACE;
    return NULL;
}

void cmd_monitor(client *c) {
    server *s = c->srv;
    /* A transaction's client expects one reply per command. */
    if (c->flags & CLIENT_IN_EXEC) {
        reply_error(c, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    /* Already monitoring: Redis answers nothing. */
    if (c->flags & (CLIENT_MONITOR | CLIENT_MASTER | CLIENT_REPLICA)) return;
    if (s->nmonitors == s->monitors_cap) {
        s->monitors_cap = s->monitors_cap ? s->monitors_cap * 2 : 4;
        s->monitors = mem_realloc(s->monitors, sizeof(client *) * (size_t)s->monitors_cap);
    }
    s->monitors[s->nmonitors++] = c;
    c->flags |= CLIENT_MONITOR;
    reply_ok(c);
}
