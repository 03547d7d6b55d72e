/* command_meta: what COMMAND INFO and COMMAND DOCS tell a client about a
 * command beyond its table row (ACL categories, tips, key specifications,
 * documentation and argument trees), and the key-spec walker that COMMAND
 * GETKEYS uses. See command_meta.c for the data's line format. */
#ifndef RM_COMMAND_META_H
#define RM_COMMAND_META_H

#include "core/server.h"

/* Key-spec flags, in the order Redis 7.0 lists them. */
enum {
    KS_RO = 1 << 0,
    KS_RW = 1 << 1,
    KS_OW = 1 << 2,
    KS_RM = 1 << 3,
    KS_ACCESS = 1 << 4,
    KS_UPDATE = 1 << 5,
    KS_INSERT = 1 << 6,
    KS_DELETE = 1 << 7,
    KS_NOT_KEY = 1 << 8,
    KS_INCOMPLETE = 1 << 9,
    KS_VARIABLE_FLAGS = 1 << 10,
    KS_NFLAGS = 11
};

enum { KS_BS_UNKNOWN, KS_BS_INDEX, KS_BS_KEYWORD };
enum { KS_FK_UNKNOWN, KS_FK_RANGE, KS_FK_KEYNUM };

/* Where a command's keys are: begin_search finds the first, find_keys
 * the rest (Redis 7.0's key specifications). */
typedef struct key_spec {
    int flags;
    int bs_type;
    int bs_index;           /* KS_BS_INDEX: argv position */
    const char *bs_keyword; /* KS_BS_KEYWORD: the keyword... */
    int bs_startfrom;       /* ...searched from here (backwards if negative) */
    int fk_type;
    /* KS_FK_RANGE: lastkey, keystep, limit; KS_FK_KEYNUM: keynumidx,
     * firstkey, keystep */
    int fk[3];
    const char *notes;
} key_spec;

/* Argument types and flags of COMMAND DOCS. */
enum {
    ARG_STRING,
    ARG_INTEGER,
    ARG_DOUBLE,
    ARG_KEY,
    ARG_PATTERN,
    ARG_UNIX_TIME,
    ARG_PURE_TOKEN,
    ARG_ONEOF,
    ARG_BLOCK,
    ARG_NTYPES
};
enum { ARG_OPTIONAL = 1 << 0, ARG_MULTIPLE = 1 << 1, ARG_MULTIPLE_TOKEN = 1 << 2 };

typedef struct command_arg {
    const char *name, *token, *since, *deprecated_since;
    int type, flags, key_spec_index;
    struct command_arg *args;
    int nargs;
} command_arg;

typedef struct command_history {
    const char *version, *text;
} command_history;

enum { DOC_DEPRECATED = 1 << 0, DOC_SYSCMD = 1 << 1 };

typedef struct command_meta {
    const char *name;
    uint32_t acl; /* ACL category bits, in acl_category_names order */
    const char **tips;
    int ntips;
    key_spec *specs;
    int nspecs;
    /* COMMAND DOCS */
    const char *summary, *since, *group, *complexity, *deprecated_since, *replaced_by;
    int doc_flags;
    command_history *history;
    int nhistory;
    command_arg *args;
    int nargs;
} command_meta;

/* command_meta_data.c (facts) and command_prose.c (our own wording). */
extern const char command_meta_facts[];
extern const char command_meta_prose[];

/* Parse the data once and hang each command's meta on its table row
 * (cmd->meta); called by commands_init. */
void command_meta_attach(server *s);
/* The ACL category named `name` (without '@', any case, read as a C
 * string as Redis 7.0 reads it), or -1. */
int command_meta_acl_category(const char *name);

/* Replies: the last four of COMMAND INFO's ten fields, and one command's
 * COMMAND DOCS map value. */
void command_meta_reply_info_tail(client *c, const command *cmd);
void command_meta_reply_docs(client *c, const command *cmd);
void command_meta_reply_key_flags(client *c, int flags);

/* ---- the key-spec walker (keyspec.c) ---- */

typedef struct key_ref {
    int pos;   /* index in argv */
    int flags; /* KS_* */
} key_ref;

typedef struct keys_result {
    key_ref *keys;
    int n, cap;
} keys_result;

/* Redis 7.0's getKeysUsingKeySpecs: the keys `specs` find in argv
 * (argv[0] the command name), appended to r. Returns their number, or -1
 * when a spec cannot be applied to these arguments (r is then empty). */
int keyspec_find_keys(const key_spec *specs, int nspecs, const dstr *argv, int argc,
                      keys_result *r);
/* The keys of `cmd` in argv as Redis 7.0's COMMAND GETKEYS finds them:
 * the key specs, or the command's own parser where the specs cannot say
 * (SORT, SET's and BITFIELD's variable flags, arguments the specs do not
 * fit). Returns the number of keys. */
int keyspec_command_keys(const command *cmd, const dstr *argv, int argc, keys_result *r);
/* Whether COMMAND GETKEYS can find keys for cmd at all. */
int keyspec_command_has_keys(const command *cmd);
void keys_result_free(keys_result *r);

#endif
