/* keyspec: which arguments of a command are keys, found as Redis 7.0's
 * COMMAND GETKEYS finds them.
 *
 * The key specifications come first: a begin_search step (a fixed index,
 * or the first match of a keyword searched from a start position, forwards
 * or, for a negative start, backwards) gives the first key, and a
 * find_keys step (a range to a last key, possibly a fraction of what
 * remains as with XREAD's STREAMS, or a numkeys argument) gives the rest.
 * A spec that cannot be applied (unknown steps, a numkeys that is not a
 * number, a range outside argv) makes the whole walk fail, and Redis then
 * asks the command's own key parser. Those parsers are reproduced here for
 * the commands that have one: their answers differ from the specs' exactly
 * where Redis's do (SORT's STORE, SET's GET turning the key's flags from
 * OW to RW, BITFIELD's read-only form, numkeys read with atoi and no
 * flags). A keyword is searched between its start and the last argument
 * excluded, as Redis's loop does: GEORADIUS ... STORE with nothing after
 * STORE has only its source key. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/command_meta.h"
#include "core/mem.h"
#include "core/util.h"

static void keys_add(keys_result *r, int pos, int flags) {
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->keys = mem_realloc(r->keys, sizeof(key_ref) * (size_t)r->cap);
    }
    r->keys[r->n++] = (key_ref){pos, flags};
}

void keys_result_free(keys_result *r) {
    mem_free(r->keys);
    r->keys = NULL;
    r->n = r->cap = 0;
}

/* The argv index of the first key of ks, 0 when its keyword is absent, -1
 * when the spec has no begin_search Ringmaster can apply. */
static int spec_first_key(const key_spec *ks, const dstr *argv, int argc) {
    if (ks->bs_type == KS_BS_INDEX) return ks->bs_index;
    if (ks->bs_type != KS_BS_KEYWORD) return -1;
    int from = ks->bs_startfrom, start = from > 0 ? from : argc + from;
    int end = from > 0 ? argc - 1 : 1;
    for (int i = start; i != end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (!strcasecmp(argv[i], ks->bs_keyword)) return i + 1;
    }
    return 0;
}

/* One spec's keys; -1 when it cannot be applied. */
static int spec_keys(const key_spec *ks, const dstr *argv, int argc, keys_result *r) {
    int first = spec_first_key(ks, argv, argc);
    if (first <= 0) return first;
    int last, step;
    if (ks->fk_type == KS_FK_RANGE) {
        int lastkey = ks->fk[0], limit = ks->fk[2];
        step = ks->fk[1];
        if (lastkey >= 0)
            last = first + lastkey;
        else if (!limit)
            last = argc + lastkey;
        else
            last = first + ((argc - first) / limit + lastkey);
    } else if (ks->fk_type == KS_FK_KEYNUM) {
        long long numkeys;
        int idx = first + ks->fk[0];
        step = ks->fk[2];
        if (ks->fk[0] >= argc || idx >= argc ||
            !util_str_to_ll(argv[idx], dstr_len(argv[idx]), &numkeys) || numkeys < 0 ||
            numkeys > argc)
            return -1;
        first += ks->fk[1];
        last = first + (int)numkeys - 1;
    } else {
        return -1;
    }
    /* Out of bounds: the command's own syntax error. */
    if (last >= argc || last < first || first >= argc || step <= 0) return -1;
    for (int i = first; i <= last; i += step) keys_add(r, i, ks->flags);
    return 0;
}

int keyspec_find_keys(const key_spec *specs, int nspecs, const dstr *argv, int argc,
                      keys_result *r) {
    for (int j = 0; j < nspecs; j++) {
        if (specs[j].flags & KS_NOT_KEY) continue;
        if (spec_keys(&specs[j], argv, argc, r) < 0) {
            r->n = 0;
            return -1;
        }
    }
    return r->n;
}

/* ---- the commands' own key parsers ---- */

/* Redis's genericGetKeys: a numkeys read with atoi, the keys after it,
 * the destination (if any) last; no flags. */
static int numkeys_keys(int store, int count_at, int first, const dstr *argv, int argc,
                        keys_result *r) {
    int num = count_at < argc ? atoi(argv[count_at]) : 0;
    if (num < 1 || num > argc - first) return 0;
    for (int i = 0; i < num; i++) keys_add(r, first + i, 0);
    if (store) keys_add(r, store, 0);
    return r->n;
}

/* The sorted key, and the last STORE's destination; LIMIT, GET and BY
 * skip their arguments. */
static int sort_keys(const dstr *argv, int argc, keys_result *r) {
    keys_add(r, 1, KS_RO | KS_ACCESS);
    int store = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcasecmp(argv[i], "limit"))
            i += 2;
        else if (!strcasecmp(argv[i], "get") || !strcasecmp(argv[i], "by"))
            i += 1;
        else if (!strcasecmp(argv[i], "store") && i + 1 < argc)
            store = i + 1;
    }
    if (store) keys_add(r, store, KS_OW | KS_UPDATE);
    return r->n;
}

/* SET reads its key only with GET (compared as exactly three letters). */
static int set_keys(const dstr *argv, int argc, keys_result *r) {
    for (int i = 3; i < argc; i++)
        if (dstr_len(argv[i]) == 3 && !strcasecmp(argv[i], "get")) {
            keys_add(r, 1, KS_RW | KS_ACCESS | KS_UPDATE);
            return 1;
        }
    keys_add(r, 1, KS_OW | KS_UPDATE);
    return 1;
}

/* BITFIELD with only GETs (and OVERFLOWs) reads; anything else writes. */
static int bitfield_keys(const dstr *argv, int argc, keys_result *r) {
    int readonly = 1;
    for (int i = 2; i < argc; i++) {
        int rem = argc - i - 1;
        if (!strcasecmp(argv[i], "get") && rem >= 2) {
            i += 2;
        } else if ((!strcasecmp(argv[i], "set") || !strcasecmp(argv[i], "incrby")) && rem >= 3) {
            readonly = 0;
            break;
        } else if (!strcasecmp(argv[i], "overflow") && rem >= 1) {
            i += 1;
        } else {
            readonly = 0;
            break;
        }
    }
    keys_add(r, 1, readonly ? KS_RO | KS_ACCESS : KS_RW | KS_ACCESS | KS_UPDATE);
    return 1;
}

/* Redis also has parsers for GEORADIUS[BYMEMBER] and XREAD[GROUP], but
 * their specs always apply or their parsers find nothing where they do
 * not, so they are left out. */
enum { P_NUMKEYS, P_SORT, P_SORT_RO, P_SET, P_BITFIELD };

static const struct {
    const char *name;
    int parser;
    int store, count_at, first; /* P_NUMKEYS */
} key_parsers[] = {
    {"zunionstore", P_NUMKEYS, 1, 2, 3},
    {"zinterstore", P_NUMKEYS, 1, 2, 3},
    {"zdiffstore", P_NUMKEYS, 1, 2, 3},
    {"zunion", P_NUMKEYS, 0, 1, 2},
    {"zinter", P_NUMKEYS, 0, 1, 2},
    {"zdiff", P_NUMKEYS, 0, 1, 2},
    {"zintercard", P_NUMKEYS, 0, 1, 2},
    {"sintercard", P_NUMKEYS, 0, 1, 2},
    {"lmpop", P_NUMKEYS, 0, 1, 2},
    {"zmpop", P_NUMKEYS, 0, 1, 2},
    {"blmpop", P_NUMKEYS, 0, 2, 3},
    {"bzmpop", P_NUMKEYS, 0, 2, 3},
    {"fcall", P_NUMKEYS, 0, 2, 3},
    {"fcall_ro", P_NUMKEYS, 0, 2, 3},
    {"sort", P_SORT, 0, 0, 0},
    {"sort_ro", P_SORT_RO, 0, 0, 0},
    {"set", P_SET, 0, 0, 0},
    {"bitfield", P_BITFIELD, 0, 0, 0},
};

static int key_parser_of(const command *cmd) {
    for (size_t i = 0; i < sizeof(key_parsers) / sizeof(key_parsers[0]); i++)
        if (!strcmp(key_parsers[i].name, cmd->name)) return (int)i;
    return -1;
}

static int spec_flags_union(const command *cmd, int inverted) {
    int all = 0;
    if (!cmd->meta) return 0;
    for (int i = 0; i < cmd->meta->nspecs; i++)
        all |= inverted ? ~cmd->meta->specs[i].flags : cmd->meta->specs[i].flags;
    return all;
}

int keyspec_command_has_keys(const command *cmd) {
    return key_parser_of(cmd) >= 0 || (spec_flags_union(cmd, 1) & KS_NOT_KEY);
}

int keyspec_command_keys(const command *cmd, const dstr *argv, int argc, keys_result *r) {
    int has_specs = spec_flags_union(cmd, 1) & KS_NOT_KEY;
    int variable = spec_flags_union(cmd, 0) & KS_VARIABLE_FLAGS;
    if (has_specs && !variable) {
        int n = keyspec_find_keys(cmd->meta->specs, cmd->meta->nspecs, argv, argc, r);
        if (n >= 0) return n;
    }
    int p = key_parser_of(cmd);
    if (p < 0) return 0;
    switch (key_parsers[p].parser) {
    case P_NUMKEYS:
        return numkeys_keys(key_parsers[p].store, key_parsers[p].count_at, key_parsers[p].first,
                            argv, argc, r);
    case P_SORT: return sort_keys(argv, argc, r);
    case P_SORT_RO: keys_add(r, 1, KS_RO | KS_ACCESS); return 1;
    case P_SET: return set_keys(argv, argc, r);
    case P_BITFIELD: return bitfield_keys(argv, argc, r);
    default: return 0;
    }
}
