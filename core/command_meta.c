/* command_meta: the part of COMMAND INFO and COMMAND DOCS that a command's
 * table row does not hold, parsed once from two texts and hung on the rows.
 *
 * command_meta_facts (command_meta_data.c) holds the facts a client acts
 * on: ACL categories, tips, key specifications, group, since, doc flags
 * and the argument tree; command_meta_prose (command_prose.c) holds our
 * own wording of the summaries, complexities, history entries and
 * key-spec notes. Both are one record per command or subcommand:
 *
 *   =name                        record start ("config|get" for a subcommand)
 *    acl read string fast        ACL categories, without '@'
 *    tips nondeterministic_output
 *    spec RO,access index:1 range:0,1,0
 *                                flags ("-" for none), begin_search
 *                                (index:N | keyword:WORD,STARTFROM | unknown),
 *                                find_keys (range:LASTKEY,STEP,LIMIT |
 *                                keynum:IDX,FIRSTKEY,STEP | unknown)
 *    doc string 1.0.0            group, since
 *    docflags deprecated         deprecated_since / history: versions only
 *    deprecated 6.2.0
 *    history 2.6.12 6.2.0
 *    arg NAME TYPE [key:N] [token:T] [since:V] [deprecated:V] [flags...]
 *      arg ...                   two more spaces: an argument of the one above
 *
 *    sum TEXT / cx TEXT / h TEXT / note N TEXT / repl TEXT    (prose: summary,
 *                                complexity, the next history entry's text,
 *                                key spec N's notes, replaced_by)
 *
 * The texts are copied once into a buffer that is cut into NUL-terminated
 * words in place, so every string in a command_meta points into it; the
 * metas live as long as the process, as the command tables do. A malformed
 * line is a bug in the data: it is logged and the process stops at
 * startup, where the test suite sees it. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/command_meta.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/reply.h"

/* Redis 7.0's ACL categories, in the order it lists a command's. */
static const char *acl_category_names[] = {
    "keyspace", "read",   "write",       "set",       "sortedset",  "list",        "hash",
    "string",   "bitmap", "hyperloglog", "geo",       "stream",     "pubsub",      "admin",
    "fast",     "slow",   "blocking",    "dangerous", "connection", "transaction", "scripting"};
#define N_ACL_CATEGORIES ((int)(sizeof(acl_category_names) / sizeof(acl_category_names[0])))

static const char *key_flag_names[KS_NFLAGS] = {
    "RO",     "RW",     "OW",      "RM",         "access",        "update",
    "insert", "delete", "not_key", "incomplete", "variable_flags"};

static const char *arg_type_names[ARG_NTYPES] = {
    "string", "integer", "double", "key", "pattern", "unix-time", "pure-token", "oneof", "block"};

static const char *arg_flag_names[] = {"optional", "multiple", "multiple_token"};
static const char *doc_flag_names[] = {"deprecated", "syscmd"};

static command_meta *metas;
static int nmetas, capmetas;

int command_meta_acl_category(const char *name) {
    for (int i = 0; i < N_ACL_CATEGORIES; i++)
        if (!strcasecmp(acl_category_names[i], name)) return i;
    return -1;
}

/* ---- parsing ---- */

typedef struct parse_state {
    const char *text; /* which text, for the log */
    int line;
    command_meta *cur;
    command_arg *stack[16]; /* the last argument at each depth */
    int nhist_text;         /* history texts given so far (prose) */
} parse_state;

static void die(const parse_state *p, const char *what) {
    log_msg(LL_WARNING, "command metadata (%s) line %d: %s", p->text, p->line, what);
    abort();
}

static int name_index(const parse_state *p, const char **names, int n, const char *word) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], word)) return i;
    die(p, word);
    return -1;
}

static int parse_int(const parse_state *p, const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || (*end && *end != ',')) die(p, "not a number");
    return (int)v;
}

/* "a,b,c" into up to 3 ints */
static void parse_ints(const parse_state *p, const char *s, int *out, int n) {
    for (int i = 0; i < n; i++) {
        out[i] = parse_int(p, s);
        s = strchr(s, ',');
        if (i + 1 < n && !s) die(p, "too few numbers");
        if (s) s++;
    }
}

static command_meta *meta_find(const char *name) {
    for (int i = 0; i < nmetas; i++)
        if (!strcmp(metas[i].name, name)) return &metas[i];
    return NULL;
}

/* Split the line into words in place; returns their number. */
static int split_words(char *line, char **words, int max) {
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " ", &save); w && n < max; w = strtok_r(NULL, " ", &save))
        words[n++] = w;
    return n;
}

static void parse_spec(parse_state *p, char **w, int n) {
    command_meta *m = p->cur;
    if (n != 4) die(p, "spec needs flags, begin_search and find_keys");
    m->specs = mem_realloc(m->specs, sizeof(key_spec) * (size_t)(m->nspecs + 1));
    key_spec *ks = &m->specs[m->nspecs++];
    memset(ks, 0, sizeof(*ks));
    if (strcmp(w[1], "-")) {
        char *save = NULL;
        for (char *f = strtok_r(w[1], ",", &save); f; f = strtok_r(NULL, ",", &save))
            ks->flags |= 1 << name_index(p, key_flag_names, KS_NFLAGS, f);
    }
    if (!strncmp(w[2], "index:", 6)) {
        ks->bs_type = KS_BS_INDEX;
        ks->bs_index = parse_int(p, w[2] + 6);
    } else if (!strncmp(w[2], "keyword:", 8)) {
        ks->bs_type = KS_BS_KEYWORD;
        char *comma = strchr(w[2] + 8, ',');
        if (!comma) die(p, "keyword needs startfrom");
        *comma = '\0';
        ks->bs_keyword = w[2] + 8;
        ks->bs_startfrom = parse_int(p, comma + 1);
    } else if (strcmp(w[2], "unknown")) {
        die(p, w[2]);
    }
    if (!strncmp(w[3], "range:", 6)) {
        ks->fk_type = KS_FK_RANGE;
        parse_ints(p, w[3] + 6, ks->fk, 3);
    } else if (!strncmp(w[3], "keynum:", 7)) {
        ks->fk_type = KS_FK_KEYNUM;
        parse_ints(p, w[3] + 7, ks->fk, 3);
    } else if (strcmp(w[3], "unknown")) {
        die(p, w[3]);
    }
}

static void parse_arg(parse_state *p, int depth, char **w, int n) {
    if (n < 3 || depth >= 16) die(p, "bad argument");
    int *count;
    command_arg **arr;
    if (depth == 0) {
        arr = &p->cur->args;
        count = &p->cur->nargs;
    } else {
        command_arg *parent = p->stack[depth - 1];
        if (!parent) die(p, "argument without a parent");
        arr = &parent->args;
        count = &parent->nargs;
    }
    *arr = mem_realloc(*arr, sizeof(command_arg) * (size_t)(*count + 1));
    command_arg *a = &(*arr)[(*count)++];
    memset(a, 0, sizeof(*a));
    a->name = w[1];
    a->type = name_index(p, arg_type_names, ARG_NTYPES, w[2]);
    a->key_spec_index = -1;
    for (int i = 3; i < n; i++) {
        if (!strncmp(w[i], "key:", 4))
            a->key_spec_index = parse_int(p, w[i] + 4);
        else if (!strncmp(w[i], "token:", 6))
            a->token = w[i] + 6;
        else if (!strncmp(w[i], "since:", 6))
            a->since = w[i] + 6;
        else if (!strncmp(w[i], "deprecated:", 11))
            a->deprecated_since = w[i] + 11;
        else
            a->flags |= 1 << name_index(p, arg_flag_names, 3, w[i]);
    }
    p->stack[depth] = a;
    for (int d = depth + 1; d < 16; d++) p->stack[d] = NULL;
}

static void parse_fact(parse_state *p, int indent, char *line) {
    char *w[64];
    int n = split_words(line, w, 64);
    command_meta *m = p->cur;
    if (!n) die(p, "empty line");
    if (!strcmp(w[0], "acl")) {
        for (int i = 1; i < n; i++)
            m->acl |= 1u << name_index(p, acl_category_names, N_ACL_CATEGORIES, w[i]);
    } else if (!strcmp(w[0], "tips")) {
        m->ntips = n - 1;
        m->tips = mem_alloc(sizeof(char *) * (size_t)m->ntips);
        for (int i = 1; i < n; i++) m->tips[i - 1] = w[i];
    } else if (!strcmp(w[0], "spec")) {
        parse_spec(p, w, n);
    } else if (!strcmp(w[0], "doc") && n == 3) {
        m->group = w[1];
        m->since = w[2];
    } else if (!strcmp(w[0], "docflags")) {
        for (int i = 1; i < n; i++) m->doc_flags |= 1 << name_index(p, doc_flag_names, 2, w[i]);
    } else if (!strcmp(w[0], "deprecated") && n == 2) {
        m->deprecated_since = w[1];
    } else if (!strcmp(w[0], "history")) {
        m->nhistory = n - 1;
        m->history = mem_alloc(sizeof(command_history) * (size_t)m->nhistory);
        for (int i = 1; i < n; i++) m->history[i - 1] = (command_history){w[i], ""};
    } else if (!strcmp(w[0], "arg") && indent % 2 == 1) {
        parse_arg(p, indent / 2, w, n);
    } else {
        die(p, w[0]);
    }
}

/* A prose line: a keyword, then text to the end of the line. */
static void parse_prose(parse_state *p, char *line) {
    command_meta *m = p->cur;
    char *text = strchr(line, ' ');
    if (!text) die(p, "prose without text");
    *text++ = '\0';
    if (!strcmp(line, "sum")) {
        m->summary = text;
    } else if (!strcmp(line, "cx")) {
        m->complexity = text;
    } else if (!strcmp(line, "repl")) {
        m->replaced_by = text;
    } else if (!strcmp(line, "h")) {
        if (p->nhist_text >= m->nhistory) die(p, "more history texts than versions");
        m->history[p->nhist_text++].text = text;
    } else if (!strcmp(line, "note")) {
        char *rest = strchr(text, ' ');
        if (!rest) die(p, "note without text");
        *rest = '\0';
        int i = parse_int(p, text);
        if (i < 0 || i >= m->nspecs) die(p, "note for a spec that does not exist");
        m->specs[i].notes = rest + 1;
    } else {
        die(p, line);
    }
}

/* The parsed copies of the two texts, which every meta's strings point into. */
static char *parsed_texts[2];

static void parse_text(const char *text, const char *which, int prose) {
    char *buf = mem_alloc(strlen(text) + 1);
    parsed_texts[prose] = buf;
    strcpy(buf, text);
    parse_state p = {.text = which};
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        p.line++;
        if (line[0] == '=') {
            p.cur = meta_find(line + 1);
            p.nhist_text = 0;
            if (!p.cur) {
                if (prose) die(&p, "prose for a command without facts");
                if (nmetas == capmetas) {
                    capmetas = capmetas ? capmetas * 2 : 256;
                    metas = mem_realloc(metas, sizeof(command_meta) * (size_t)capmetas);
                }
                p.cur = &metas[nmetas++];
                memset(p.cur, 0, sizeof(*p.cur));
                p.cur->name = line + 1;
            }
            continue;
        }
        if (!p.cur || line[0] != ' ') die(&p, "line outside a record");
        int indent = 0;
        while (line[indent] == ' ') indent++;
        if (prose)
            parse_prose(&p, line + indent);
        else
            parse_fact(&p, indent, line + indent);
    }
}

static void attach_one(command *cmd) {
    const command_meta *m = meta_find(cmd->name);
    cmd->meta = m;
    if (cmd->subcommands)
        for (command *sub = (command *)cmd->subcommands; sub->name; sub++) attach_one(sub);
}

void command_meta_attach(server *s) {
    /* Parsed once per process; every server's table rows are the same. */
    if (!metas) {
        parse_text(command_meta_facts, "facts", 0);
        parse_text(command_meta_prose, "prose", 1);
    }
    dict_iter it;
    dict_iter_init(s->commands, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) attach_one(de->v.val);
    dict_iter_done(&it);
}

/* ---- replies ---- */

void command_meta_reply_key_flags(client *c, int flags) {
    int n = 0;
    for (int i = 0; i < KS_NFLAGS; i++)
        if (flags & (1 << i)) n++;
    reply_set(c, n);
    for (int i = 0; i < KS_NFLAGS; i++)
        if (flags & (1 << i)) reply_status(c, key_flag_names[i]);
}

static void reply_int_field(client *c, const char *name, long long v) {
    reply_bulk_cstr(c, name);
    reply_int(c, v);
}

static void reply_key_spec(client *c, const key_spec *ks) {
    reply_map(c, ks->notes ? 4 : 3);
    if (ks->notes) {
        reply_bulk_cstr(c, "notes");
        reply_bulk_cstr(c, ks->notes);
    }
    reply_bulk_cstr(c, "flags");
    command_meta_reply_key_flags(c, ks->flags);
    reply_bulk_cstr(c, "begin_search");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    if (ks->bs_type == KS_BS_INDEX) {
        reply_bulk_cstr(c, "index");
        reply_bulk_cstr(c, "spec");
        reply_map(c, 1);
        reply_int_field(c, "index", ks->bs_index);
    } else if (ks->bs_type == KS_BS_KEYWORD) {
        reply_bulk_cstr(c, "keyword");
        reply_bulk_cstr(c, "spec");
        reply_map(c, 2);
        reply_bulk_cstr(c, "keyword");
        reply_bulk_cstr(c, ks->bs_keyword);
        reply_int_field(c, "startfrom", ks->bs_startfrom);
    } else {
        reply_bulk_cstr(c, "unknown");
        reply_bulk_cstr(c, "spec");
        reply_map(c, 0);
    }
    reply_bulk_cstr(c, "find_keys");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    static const char *range[] = {"lastkey", "keystep", "limit"};
    static const char *keynum[] = {"keynumidx", "firstkey", "keystep"};
    const char **names = ks->fk_type == KS_FK_RANGE ? range : keynum;
    if (ks->fk_type == KS_FK_UNKNOWN) {
        reply_bulk_cstr(c, "unknown");
        reply_bulk_cstr(c, "spec");
        reply_map(c, 0);
        return;
    }
    reply_bulk_cstr(c, ks->fk_type == KS_FK_RANGE ? "range" : "keynum");
    reply_bulk_cstr(c, "spec");
    reply_map(c, 3);
    for (int i = 0; i < 3; i++) reply_int_field(c, names[i], ks->fk[i]);
}

void command_meta_reply_info_tail(client *c, const command *cmd) {
    const command_meta *m = cmd->meta;
    uint32_t acl = m ? m->acl : 0;
    reply_set(c, __builtin_popcount(acl));
    for (int i = 0; i < N_ACL_CATEGORIES; i++) {
        if (!(acl & (1u << i))) continue;
        char name[32];
        name[0] = '@';
        strcpy(name + 1, acl_category_names[i]);
        reply_status(c, name);
    }
    int ntips = m ? m->ntips : 0;
    reply_set(c, ntips);
    for (int i = 0; i < ntips; i++) reply_bulk_cstr(c, m->tips[i]);
    int nspecs = m ? m->nspecs : 0;
    reply_set(c, nspecs);
    for (int i = 0; i < nspecs; i++) reply_key_spec(c, &m->specs[i]);
}

static void reply_flag_set(client *c, int flags, const char **names, int n) {
    reply_set(c, __builtin_popcount((unsigned)flags));
    for (int i = 0; i < n; i++)
        if (flags & (1 << i)) reply_status(c, names[i]);
}

static void reply_str_field(client *c, const char *name, const char *v) {
    reply_bulk_cstr(c, name);
    reply_bulk_cstr(c, v);
}

static void reply_args(client *c, const command_arg *args, int n) {
    reply_array(c, n);
    for (int i = 0; i < n; i++) {
        const command_arg *a = &args[i];
        int fields = 2 + (a->key_spec_index >= 0) + !!a->token + !!a->since +
                     !!a->deprecated_since + !!a->flags + !!a->nargs;
        reply_map(c, fields);
        reply_str_field(c, "name", a->name);
        reply_str_field(c, "type", arg_type_names[a->type]);
        /* A key, or a pattern that makes key names (SORT's BY and GET). */
        if (a->key_spec_index >= 0) reply_int_field(c, "key_spec_index", a->key_spec_index);
        if (a->token) reply_str_field(c, "token", a->token);
        if (a->since) reply_str_field(c, "since", a->since);
        if (a->deprecated_since) reply_str_field(c, "deprecated_since", a->deprecated_since);
        if (a->flags) {
            reply_bulk_cstr(c, "flags");
            reply_flag_set(c, a->flags, arg_flag_names, 3);
        }
        if (a->nargs) {
            reply_bulk_cstr(c, "arguments");
            reply_args(c, a->args, a->nargs);
        }
    }
}

void command_meta_reply_docs(client *c, const command *cmd) {
    const command_meta *m = cmd->meta;
    static const command_meta none = {.summary = "", .since = "", .group = ""};
    if (!m) m = &none;
    int nsubs = 0;
    if (cmd->subcommands)
        for (const command *sub = cmd->subcommands; sub->name; sub++) nsubs++;
    int fields = 3 + !!m->complexity + !!m->doc_flags + !!m->deprecated_since + !!m->replaced_by +
                 !!m->nhistory + !!m->nargs + !!nsubs;
    reply_map(c, fields);
    reply_str_field(c, "summary", m->summary ? m->summary : "");
    reply_str_field(c, "since", m->since ? m->since : "");
    reply_str_field(c, "group", m->group ? m->group : "");
    if (m->complexity) reply_str_field(c, "complexity", m->complexity);
    if (m->doc_flags) {
        reply_bulk_cstr(c, "doc_flags");
        reply_flag_set(c, m->doc_flags, doc_flag_names, 2);
    }
    if (m->deprecated_since) reply_str_field(c, "deprecated_since", m->deprecated_since);
    if (m->replaced_by) reply_str_field(c, "replaced_by", m->replaced_by);
    if (m->nhistory) {
        reply_bulk_cstr(c, "history");
        reply_set(c, m->nhistory);
        for (int i = 0; i < m->nhistory; i++) {
            reply_array(c, 2);
            reply_bulk_cstr(c, m->history[i].version);
            reply_bulk_cstr(c, m->history[i].text);
        }
    }
    if (m->nargs) {
        reply_bulk_cstr(c, "arguments");
        reply_args(c, m->args, m->nargs);
    }
    if (nsubs) {
        reply_bulk_cstr(c, "subcommands");
        reply_map(c, nsubs);
        for (const command *sub = cmd->subcommands; sub->name; sub++) {
            reply_bulk_cstr(c, sub->name);
            command_meta_reply_docs(c, sub);
        }
    }
}
