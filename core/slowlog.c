/* slowlog: see slowlog.h.
 *
 * The log is a list, newest first, trimmed to slowlog-max-len after every
 * addition (a smaller CONFIG SET value takes effect with the next slow
 * command, as in Redis). Entry ids grow for the life of the process:
 * SLOWLOG RESET empties the list but a monitoring tool that remembers the
 * last id it saw still sees only new entries. */
#include "core/slowlog.h"

#include <stdio.h>
#include <time.h>

#include "core/commands.h"
#include "core/mem.h"
#include "core/reply.h"

typedef struct slowlog_entry {
    long long id;
    long long time;     /* unix seconds */
    long long duration; /* microseconds */
    dstr *argv;
    int argc;
    dstr peer; /* ip:port of the client */
    dstr name; /* its CLIENT SETNAME, "" without */
    struct slowlog_entry *next, *prev;
} slowlog_entry;

struct slowlog {
    slowlog_entry *head, *tail; /* newest, oldest */
    long long len;
    long long next_id;
};

void slowlog_init(server *s) { s->slowlog = mem_calloc(sizeof(struct slowlog)); }

static void entry_free(slowlog_entry *e) {
    for (int i = 0; i < e->argc; i++) dstr_free(e->argv[i]);
    mem_free(e->argv);
    dstr_free(e->peer);
    dstr_free(e->name);
    mem_free(e);
}

static void drop_oldest(struct slowlog *l) {
    slowlog_entry *e = l->tail;
    l->tail = e->prev;
    if (l->tail)
        l->tail->next = NULL;
    else
        l->head = NULL;
    l->len--;
    entry_free(e);
}

static void slowlog_clear(struct slowlog *l) {
    while (l->tail) drop_oldest(l);
}

void slowlog_free(server *s) {
    if (!s->slowlog) return;
    slowlog_clear(s->slowlog);
    mem_free(s->slowlog);
    s->slowlog = NULL;
}

/* One argument as the entry keeps it: the last kept slot of a long argv
 * says how many were left out, a long string how many bytes. */
static dstr entry_arg(const command *cmd, dstr *argv, int argc, int kept, int j) {
    if (kept != argc && j == kept - 1)
        return dstr_catfmt(dstr_empty(), "... (%d more arguments)", argc - kept + 1);
    if (command_arg_redacted(cmd, argv, argc, j)) return dstr_from("(redacted)");
    size_t len = dstr_len(argv[j]);
    if (len <= SLOWLOG_ENTRY_MAX_STRING) return dstr_dup(argv[j]);
    dstr a = dstr_new(argv[j], SLOWLOG_ENTRY_MAX_STRING);
    return dstr_catfmt(a, "... (%zu more bytes)", len - SLOWLOG_ENTRY_MAX_STRING);
}

void slowlog_push(server *s, client *c, const command *cmd, dstr *argv, int argc,
                  long long duration_us) {
    struct slowlog *l = s->slowlog;
    long long threshold = s->cfg.slowlog_log_slower_than;
    if (threshold < 0 || duration_us < threshold || argc <= 0) return;
    slowlog_entry *e = mem_calloc(sizeof(*e));
    int kept = argc > SLOWLOG_ENTRY_MAX_ARGC ? SLOWLOG_ENTRY_MAX_ARGC : argc;
    e->argv = mem_alloc(sizeof(dstr) * (size_t)kept);
    for (int j = 0; j < kept; j++) e->argv[j] = entry_arg(cmd, argv, argc, kept, j);
    e->argc = kept;
    e->id = l->next_id++;
    e->time = (long long)time(NULL);
    e->duration = duration_us;
    e->peer = dstr_from(c->addr);
    e->name = c->name ? dstr_dup(c->name) : dstr_empty();
    e->next = l->head;
    if (l->head) l->head->prev = e;
    l->head = e;
    if (!l->tail) l->tail = e;
    l->len++;
    while (l->len > s->cfg.slowlog_max_len) drop_oldest(l);
}

long long slowlog_len(const server *s) { return s->slowlog->len; }

void cmd_slowlog_get(client *c) {
    struct slowlog *l = c->srv->slowlog;
    long long count = 10;
    if (c->argc > 3) {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try "
                        "SLOWLOG HELP.",
                     c->argv[1]);
        return;
    }
    if (c->argc == 3 &&
        arg_ll_range(c, c->argv[2], -1, LONG_MAX, &count,
                     "ERR count should be greater than or equal to -1") < 0)
        return;
    if (count == -1 || count > l->len) count = l->len;
    reply_array(c, count);
    slowlog_entry *e = l->head;
    for (long long i = 0; i < count; i++, e = e->next) {
        reply_array(c, 6);
        reply_int(c, e->id);
        reply_int(c, e->time);
        reply_int(c, e->duration);
        reply_array(c, e->argc);
        for (int j = 0; j < e->argc; j++) reply_bulk_dstr(c, e->argv[j]);
        reply_bulk_dstr(c, e->peer);
        reply_bulk_dstr(c, e->name);
    }
}

void cmd_slowlog_len(client *c) { reply_int(c, c->srv->slowlog->len); }

void cmd_slowlog_reset(client *c) {
    slowlog_clear(c->srv->slowlog);
    reply_ok(c);
}

void cmd_slowlog_help(client *c) {
    static const char *lines[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}
