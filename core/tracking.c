/* tracking: see tracking.h.
 *
 * The table maps a key (bytes, whatever its db, as in Redis) to the ids of
 * the clients that read it since it last changed. Ids, not pointers: a
 * client that goes away leaves its ids behind, and they are skipped when
 * the key changes (the live tracking clients are a dict by id). Each
 * BCAST prefix keeps its clients and the keys changed under it during the
 * current event-loop pass, each with the id of the client that changed it
 * (for NOLOOP); tracking_before_sleep sends and clears them. */
#include "core/tracking.h"

#include <stdint.h>
#include <string.h>

#include "core/command_meta.h"
#include "core/commands.h"
#include "core/dict.h"
#include "core/mem.h"
#include "core/reply.h"
#include "core/util.h"

#define INVALIDATE_CHANNEL "__redis__:invalidate"

typedef struct id_set {
    uint64_t *ids;
    int n, cap;
} id_set;

typedef struct bcast_prefix {
    dstr prefix;
    id_set clients;
    dstr *keys; /* changed in this pass */
    uint64_t *modifiers;
    int nkeys, capkeys;
} bcast_prefix;

struct tracking_state {
    dict *table;   /* dstr key -> id_set* */
    dict *clients; /* id -> client*, every client with tracking on */
    long long items;
    int limit_misses; /* passes in a row that ended over tracking-table-max-keys */
    bcast_prefix **prefixes;
    int nprefixes, capprefixes;
};

static int id_set_add(id_set *set, uint64_t id) {
    for (int i = 0; i < set->n; i++)
        if (set->ids[i] == id) return 0;
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 2;
        set->ids = mem_realloc(set->ids, sizeof(uint64_t) * (size_t)set->cap);
    }
    set->ids[set->n++] = id;
    return 1;
}

static void id_set_remove(id_set *set, uint64_t id) {
    for (int i = 0; i < set->n; i++) {
        if (set->ids[i] != id) continue;
        set->ids[i] = set->ids[--set->n];
        return;
    }
}

static void free_id_set(void *p) {
    id_set *set = p;
    mem_free(set->ids);
    mem_free(set);
}

static void free_dstr(void *p) { dstr_free(p); }
static uint64_t id_hash(const void *k) {
    uint64_t x = (uint64_t)(uintptr_t)k;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    return x ^ (x >> 33);
}
static int id_eq(const void *a, const void *b) { return a == b; }

static const dict_type table_type = {dict_dstr_hash, dict_dstr_eq, free_dstr, free_id_set};
static const dict_type clients_type = {id_hash, id_eq, NULL, NULL};

void tracking_init(server *s) {
    s->tracking = mem_calloc(sizeof(struct tracking_state));
    s->tracking->table = dict_create(&table_type);
    s->tracking->clients = dict_create(&clients_type);
}

static void free_prefix(bcast_prefix *p) {
    dstr_free(p->prefix);
    mem_free(p->clients.ids);
    for (int i = 0; i < p->nkeys; i++) dstr_free(p->keys[i]);
    mem_free(p->keys);
    mem_free(p->modifiers);
    mem_free(p);
}

void tracking_free(server *s) {
    struct tracking_state *t = s->tracking;
    if (!t) return;
    dict_release(t->table);
    dict_release(t->clients);
    for (int i = 0; i < t->nprefixes; i++) free_prefix(t->prefixes[i]);
    mem_free(t->prefixes);
    mem_free(t);
    s->tracking = NULL;
}

static void *id_key(uint64_t id) { return (void *)(uintptr_t)id; }

static client *tracking_client(const struct tracking_state *t, uint64_t id) {
    dict_entry *de = dict_find(t->clients, id_key(id));
    return de ? de->v.val : NULL;
}

/* ---- sending ---- */

/* One invalidation for c: keys[0..nkeys), or every key when nkeys < 0.
 * A RESP3 client (or RESP3 redirection) gets push data
 * (["invalidate", keys]); in RESP2 it can only go to a redirection that is
 * in Pub/Sub mode, as a message on __redis__:invalidate. A redirection that
 * went away marks c (TRACKINGINFO's broken_redirect) and tells a RESP3 c
 * ("tracking-redir-broken"). */
static void send_invalidation(server *s, client *c, dstr *keys, int nkeys) {
    client *target = c;
    if (c->tracking_redirect) {
        target = server_find_client(s, c->tracking_redirect);
        if (!target) {
            c->flags |= CLIENT_TRACKING_BROKEN_REDIR;
            if (c->resp == 3) {
                dstr m = dstr_catfmt(dstr_empty(), ">2\r\n$21\r\ntracking-redir-broken\r\n:%llu\r\n",
                                     (unsigned long long)c->tracking_redirect);
                reply_raw(c, m, dstr_len(m));
                dstr_free(m);
            }
            return;
        }
    }
    dstr m;
    if (target->resp == 3)
        m = dstr_cats(dstr_empty(), ">2\r\n$10\r\ninvalidate\r\n");
    else if (target != c && (target->flags & CLIENT_PUBSUB))
        m = dstr_cats(dstr_empty(), "*3\r\n$7\r\nmessage\r\n$20\r\n" INVALIDATE_CHANNEL "\r\n");
    else
        return; /* RESP2 has no push data on the client's own connection */
    if (nkeys < 0) {
        /* The null of the tracking client's protocol, as Redis sends it. */
        m = dstr_cats(m, c->resp == 3 ? "_\r\n" : "$-1\r\n");
    } else {
        m = dstr_catfmt(m, "*%d\r\n", nkeys);
        for (int i = 0; i < nkeys; i++) {
            m = dstr_catfmt(m, "$%zu\r\n", dstr_len(keys[i]));
            m = dstr_catd(m, keys[i]);
            m = dstr_cats(m, "\r\n");
        }
    }
    reply_raw(target, m, dstr_len(m));
    client_check_output_limits(target);
    dstr_free(m);
}

/* ---- default mode ---- */

static void remember_key(struct tracking_state *t, client *c, const dstr key) {
    dict_entry *existing;
    dstr k = dstr_dup(key);
    dict_entry *de = dict_add_raw(t->table, k, &existing);
    id_set *set;
    if (de) {
        set = mem_calloc(sizeof(*set));
        de->v.val = set;
    } else {
        dstr_free(k);
        set = existing->v.val;
    }
    if (id_set_add(set, c->id)) t->items++;
}

void tracking_remember_keys(client *c, const command *cmd) {
    if (!(c->flags & CLIENT_TRACKING) || (c->flags & CLIENT_TRACKING_BCAST)) return;
    if (!(cmd->flags & CMD_READONLY) || (cmd->flags & CMD_PUBSUB)) return;
    int caching = (c->flags & CLIENT_TRACKING_CACHING) != 0;
    if (((c->flags & CLIENT_TRACKING_OPTIN) && !caching) ||
        ((c->flags & CLIENT_TRACKING_OPTOUT) && caching))
        return;
    struct tracking_state *t = c->srv->tracking;
    /* The keys as COMMAND GETKEYS finds them (Redis's getKeysFromCommand):
     * movable ones too, SORT_RO's key without its patterns. */
    keys_result r = {0};
    int n = keyspec_command_keys(cmd, c->argv, c->argc, &r);
    for (int i = 0; i < n; i++) remember_key(t, c, c->argv[r.keys[i].pos]);
    keys_result_free(&r);
}

static void bcast_note_key(struct tracking_state *t, const dstr key, uint64_t modifier) {
    for (int i = 0; i < t->nprefixes; i++) {
        bcast_prefix *p = t->prefixes[i];
        size_t plen = dstr_len(p->prefix);
        if (dstr_len(key) < plen || memcmp(key, p->prefix, plen)) continue;
        if (p->nkeys == p->capkeys) {
            p->capkeys = p->capkeys ? p->capkeys * 2 : 4;
            p->keys = mem_realloc(p->keys, sizeof(dstr) * (size_t)p->capkeys);
            p->modifiers = mem_realloc(p->modifiers, sizeof(uint64_t) * (size_t)p->capkeys);
        }
        p->keys[p->nkeys] = dstr_dup(key);
        p->modifiers[p->nkeys++] = modifier;
    }
}

/* Tell the clients that read the key in de (unlinked from the table), and
 * forget it. */
static void invalidate_entry(server *s, dict_entry *de, const client *modifier) {
    struct tracking_state *t = s->tracking;
    id_set *set = de->v.val;
    for (int i = 0; i < set->n; i++) {
        client *c = tracking_client(t, set->ids[i]);
        if (!c || (c->flags & CLIENT_TRACKING_BCAST)) continue;
        if ((c->flags & CLIENT_TRACKING_NOLOOP) && c == modifier) continue;
        dstr k = (dstr)de->key;
        send_invalidation(s, c, &k, 1);
    }
    t->items -= set->n;
    dict_free_unlinked(t->table, de);
}

void tracking_invalidate_key(server *s, const dstr key) {
    struct tracking_state *t = s->tracking;
    if (!t) return;
    client *modifier = s->current_client;
    if (t->nprefixes) bcast_note_key(t, key, modifier ? modifier->id : 0);
    if (dict_size(t->table) == 0) return;
    dict_entry *de = dict_unlink(t->table, key);
    if (de) invalidate_entry(s, de, modifier);
}

/* Redis's trackingLimitUsedSlots: over tracking-table-max-keys, random
 * keys are invalidated as if they changed, 100 a pass, and 100 more for
 * each pass in a row that could not get under the limit. */
static void limit_table(server *s) {
    struct tracking_state *t = s->tracking;
    long long max = s->cfg.tracking_table_max_keys;
    if (max == 0 || (long long)dict_size(t->table) <= max) {
        t->limit_misses = 0;
        return;
    }
    for (int effort = 100 * (t->limit_misses + 1); effort > 0; effort--) {
        dict_entry *de = dict_random_entry(t->table);
        if (!de) break;
        de = dict_unlink(t->table, de->key);
        invalidate_entry(s, de, NULL);
        if ((long long)dict_size(t->table) <= max) {
            t->limit_misses = 0;
            return;
        }
    }
    t->limit_misses++;
}

void tracking_invalidate_all(server *s) {
    struct tracking_state *t = s->tracking;
    if (!t) return;
    dict_iter it;
    dict_iter_init(t->clients, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) send_invalidation(s, de->v.val, NULL, -1);
    dict_iter_done(&it);
    dict_empty(t->table);
    t->items = 0;
}

void tracking_before_sleep(server *s) {
    struct tracking_state *t = s->tracking;
    if (!t) return;
    limit_table(s);
    for (int i = 0; i < t->nprefixes; i++) {
        bcast_prefix *p = t->prefixes[i];
        if (!p->nkeys) continue;
        dstr *mine = mem_alloc(sizeof(dstr) * (size_t)p->nkeys);
        for (int j = 0; j < p->clients.n; j++) {
            client *c = tracking_client(t, p->clients.ids[j]);
            if (!c) continue;
            int n = 0;
            for (int k = 0; k < p->nkeys; k++)
                if (!(c->flags & CLIENT_TRACKING_NOLOOP) || p->modifiers[k] != c->id)
                    mine[n++] = p->keys[k];
            if (n) send_invalidation(s, c, mine, n);
        }
        mem_free(mine);
        for (int k = 0; k < p->nkeys; k++) dstr_free(p->keys[k]);
        p->nkeys = 0;
    }
}

/* ---- enabling and disabling ---- */

static int find_prefix(const struct tracking_state *t, const dstr prefix) {
    for (int i = 0; i < t->nprefixes; i++)
        if (!dstr_cmp(t->prefixes[i]->prefix, prefix)) return i;
    return -1;
}

static void bcast_add(struct tracking_state *t, client *c, const dstr prefix) {
    int i = find_prefix(t, prefix);
    if (i < 0) {
        if (t->nprefixes == t->capprefixes) {
            t->capprefixes = t->capprefixes ? t->capprefixes * 2 : 4;
            t->prefixes =
                mem_realloc(t->prefixes, sizeof(bcast_prefix *) * (size_t)t->capprefixes);
        }
        bcast_prefix *p = mem_calloc(sizeof(*p));
        p->prefix = dstr_dup(prefix);
        i = t->nprefixes;
        t->prefixes[t->nprefixes++] = p;
    }
    id_set_add(&t->prefixes[i]->clients, c->id);
    /* The client's own list stays sorted, as Redis's rax lists them. */
    int at = 0;
    while (at < c->ntracking_prefixes && dstr_cmp(c->tracking_prefixes[at], prefix) < 0) at++;
    if (at < c->ntracking_prefixes && !dstr_cmp(c->tracking_prefixes[at], prefix)) return;
    c->tracking_prefixes =
        mem_realloc(c->tracking_prefixes, sizeof(dstr) * (size_t)(c->ntracking_prefixes + 1));
    memmove(&c->tracking_prefixes[at + 1], &c->tracking_prefixes[at],
            sizeof(dstr) * (size_t)(c->ntracking_prefixes - at));
    c->tracking_prefixes[at] = dstr_dup(prefix);
    c->ntracking_prefixes++;
}

void tracking_disable(client *c) {
    if (!(c->flags & CLIENT_TRACKING)) return;
    struct tracking_state *t = c->srv->tracking;
    for (int j = 0; j < c->ntracking_prefixes; j++) {
        int i = find_prefix(t, c->tracking_prefixes[j]);
        if (i >= 0) {
            bcast_prefix *p = t->prefixes[i];
            id_set_remove(&p->clients, c->id);
            if (p->clients.n == 0) {
                free_prefix(p);
                t->prefixes[i] = t->prefixes[--t->nprefixes];
            }
        }
        dstr_free(c->tracking_prefixes[j]);
    }
    mem_free(c->tracking_prefixes);
    c->tracking_prefixes = NULL;
    c->ntracking_prefixes = 0;
    dict_delete(t->clients, id_key(c->id));
    c->flags &= ~(uint32_t)(CLIENT_TRACKING | CLIENT_TRACKING_BROKEN_REDIR |
                            CLIENT_TRACKING_BCAST | CLIENT_TRACKING_OPTIN |
                            CLIENT_TRACKING_OPTOUT | CLIENT_TRACKING_NOLOOP |
                            CLIENT_TRACKING_CACHING);
}

void tracking_after_command(client *c, const command *cmd) {
    if (!(c->flags & CLIENT_TRACKING_CACHING) || (c->flags & CLIENT_MULTI)) return;
    /* CLIENT CACHING (any CLIENT subcommand, as Redis runs them all
     * through one procedure) keeps it for the next command. */
    const command *base = cmd->parent ? cmd->parent : cmd;
    if (strcmp(base->name, "client") != 0) c->flags &= ~(uint32_t)CLIENT_TRACKING_CACHING;
}

void tracking_info(const server *s, long long *clients, long long *keys, long long *items,
                   long long *prefixes) {
    const struct tracking_state *t = s->tracking;
    *clients = (long long)dict_size(t->clients);
    *keys = (long long)dict_size(t->table);
    *items = t->items;
    *prefixes = t->nprefixes;
}

/* ---- the commands ---- */

static int prefix_overlap(const dstr a, const dstr b) {
    size_t la = dstr_len(a), lb = dstr_len(b);
    return !memcmp(a, b, la < lb ? la : lb);
}

/* checkPrefixCollisionsOrReply: a client's prefixes may not overlap (one
 * the beginning of another, or equal), neither with those it has nor
 * among the new ones. */
static int prefixes_collide(client *c, dstr *prefix, int n) {
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < c->ntracking_prefixes; j++) {
            if (!prefix_overlap(c->tracking_prefixes[j], prefix[i])) continue;
            reply_errorf(c,
                         "ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for "
                         "a single client must not overlap.",
                         prefix[i], c->tracking_prefixes[j]);
            return 1;
        }
        for (int j = i + 1; j < n; j++) {
            if (!prefix_overlap(prefix[i], prefix[j])) continue;
            reply_errorf(c,
                         "ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes "
                         "for a single client must not overlap.",
                         prefix[i], prefix[j]);
            return 1;
        }
    }
    return 0;
}

static const char *enable_refusal(const client *c, uint32_t options, int nprefix) {
    if (!(options & CLIENT_TRACKING_BCAST) && nprefix)
        return "ERR PREFIX option requires BCAST mode to be enabled";
    if ((c->flags & CLIENT_TRACKING) &&
        !!(c->flags & CLIENT_TRACKING_BCAST) != !!(options & CLIENT_TRACKING_BCAST))
        return "ERR You can't switch BCAST mode on/off before disabling tracking for this "
               "client, and then re-enabling it with a different mode.";
    if ((options & CLIENT_TRACKING_BCAST) &&
        (options & (CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT)))
        return "ERR OPTIN and OPTOUT are not compatible with BCAST";
    if ((options & CLIENT_TRACKING_OPTIN) && (options & CLIENT_TRACKING_OPTOUT))
        return "ERR You can't specify both OPTIN mode and OPTOUT mode";
    if (((options & CLIENT_TRACKING_OPTIN) && (c->flags & CLIENT_TRACKING_OPTOUT)) ||
        ((options & CLIENT_TRACKING_OPTOUT) && (c->flags & CLIENT_TRACKING_OPTIN)))
        return "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this "
               "client, and then re-enabling it with a different mode.";
    return NULL;
}

void cmd_client_tracking(client *c) {
    server *s = c->srv;
    long long redir = 0;
    uint32_t options = 0;
    dstr *prefix = mem_alloc(sizeof(dstr) * (size_t)c->argc);
    int nprefix = 0;
    for (int j = 3; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c->argv[j], "redirect") && more) {
            j++;
            if (redir != 0) {
                reply_error(c, "ERR A client can only redirect to a single other client");
                goto done;
            }
            if (arg_ll(c, c->argv[j], &redir) < 0) goto done;
            if (!server_find_client(s, (uint64_t)redir)) {
                reply_error(c, "ERR The client ID you want redirect to does not exist");
                goto done;
            }
        } else if (arg_is(c->argv[j], "bcast")) {
            options |= CLIENT_TRACKING_BCAST;
        } else if (arg_is(c->argv[j], "optin")) {
            options |= CLIENT_TRACKING_OPTIN;
        } else if (arg_is(c->argv[j], "optout")) {
            options |= CLIENT_TRACKING_OPTOUT;
        } else if (arg_is(c->argv[j], "noloop")) {
            options |= CLIENT_TRACKING_NOLOOP;
        } else if (arg_is(c->argv[j], "prefix") && more) {
            prefix[nprefix++] = c->argv[++j];
        } else {
            reply_error(c, ERR_SYNTAX);
            goto done;
        }
    }
    if (arg_is(c->argv[2], "on")) {
        const char *refusal = enable_refusal(c, options, nprefix);
        if (refusal) {
            reply_error(c, refusal);
            goto done;
        }
        if ((options & CLIENT_TRACKING_BCAST) && prefixes_collide(c, prefix, nprefix)) goto done;
        struct tracking_state *t = s->tracking;
        if (!(c->flags & CLIENT_TRACKING)) dict_add(t->clients, id_key(c->id), c);
        c->flags |= CLIENT_TRACKING;
        c->flags &= ~(uint32_t)(CLIENT_TRACKING_BROKEN_REDIR | CLIENT_TRACKING_BCAST |
                                CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT |
                                CLIENT_TRACKING_NOLOOP);
        c->flags |= options;
        c->tracking_redirect = (uint64_t)redir;
        if (options & CLIENT_TRACKING_BCAST) {
            if (nprefix == 0) {
                dstr all = dstr_empty();
                bcast_add(t, c, all);
                dstr_free(all);
            }
            for (int i = 0; i < nprefix; i++) bcast_add(t, c, prefix[i]);
        }
    } else if (arg_is(c->argv[2], "off")) {
        tracking_disable(c);
    } else {
        reply_error(c, ERR_SYNTAX);
        goto done;
    }
    reply_ok(c);
done:
    mem_free(prefix);
}

void cmd_client_caching(client *c) {
    if (!(c->flags & CLIENT_TRACKING)) {
        reply_error(c, "ERR CLIENT CACHING can be called only when the client is in tracking "
                       "mode with OPTIN or OPTOUT mode enabled");
        return;
    }
    if (arg_is(c->argv[2], "yes")) {
        if (!(c->flags & CLIENT_TRACKING_OPTIN)) {
            reply_error(c, "ERR CLIENT CACHING YES is only valid when tracking is enabled in "
                           "OPTIN mode.");
            return;
        }
    } else if (arg_is(c->argv[2], "no")) {
        if (!(c->flags & CLIENT_TRACKING_OPTOUT)) {
            reply_error(c, "ERR CLIENT CACHING NO is only valid when tracking is enabled in "
                           "OPTOUT mode.");
            return;
        }
    } else {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    c->flags |= CLIENT_TRACKING_CACHING;
    reply_ok(c);
}

void cmd_client_getredir(client *c) {
    reply_int(c, (c->flags & CLIENT_TRACKING) ? (long long)c->tracking_redirect : -1);
}

void cmd_client_trackinginfo(client *c) {
    static const struct {
        uint32_t flag, needs;
        const char *name;
    } shown[] = {
        {CLIENT_TRACKING_BCAST, 0, "bcast"},
        {CLIENT_TRACKING_OPTIN, 0, "optin"},
        {CLIENT_TRACKING_CACHING, CLIENT_TRACKING_OPTIN, "caching-yes"},
        {CLIENT_TRACKING_OPTOUT, 0, "optout"},
        {CLIENT_TRACKING_CACHING, CLIENT_TRACKING_OPTOUT, "caching-no"},
        {CLIENT_TRACKING_NOLOOP, 0, "noloop"},
        {CLIENT_TRACKING_BROKEN_REDIR, 0, "broken_redirect"},
    };
    reply_map(c, 3);
    reply_bulk_cstr(c, "flags");
    size_t handle = reply_defer_len(c);
    int n = 1;
    reply_bulk_cstr(c, (c->flags & CLIENT_TRACKING) ? "on" : "off");
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
        if (!(c->flags & shown[i].flag) || (shown[i].needs && !(c->flags & shown[i].needs)))
            continue;
        reply_bulk_cstr(c, shown[i].name);
        n++;
    }
    reply_set_deferred_set(c, handle, n);
    reply_bulk_cstr(c, "redirect");
    reply_int(c, (c->flags & CLIENT_TRACKING) ? (long long)c->tracking_redirect : -1);
    reply_bulk_cstr(c, "prefixes");
    reply_array(c, c->ntracking_prefixes);
    for (int i = 0; i < c->ntracking_prefixes; i++) reply_bulk_dstr(c, c->tracking_prefixes[i]);
}
