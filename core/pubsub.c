/* pubsub: see pubsub.h.
 *
 * Each subscription is one node on two lists at once: the client's
 * subscriptions of that kind, in the order it made them, and the channel's
 * (or pattern's) subscribers, in the order they came. A dict on each side
 * finds the list or the node by name, so subscribing, unsubscribing and a
 * closing client leaving everything cost O(1) per subscription, however
 * many subscribers a channel has (Redis 7.0 searches the channel's list).
 *
 * Orders that Redis fixes are kept: a channel's subscribers get a message
 * in subscription order, PUNSUBSCRIBE without arguments leaves patterns in
 * the order they were made. Where Redis walks a hash table (UNSUBSCRIBE and
 * SUNSUBSCRIBE without arguments, the patterns a message matches, PUBSUB
 * CHANNELS) its order is arbitrary, and ours is another arbitrary one:
 * subscription order for the first, the dict's for the others.
 *
 * A message is encoded once per channel or matching pattern, in RESP2,
 * and copied into each subscriber's output (RESP3 clients get the same
 * bytes as push data). After each copy the subscriber's output-buffer
 * limit is checked, as Redis does on every reply it adds: a subscriber that
 * does not read is closed before its buffer eats the memory. */
#include "core/pubsub.h"

#include <stdio.h>
#include <string.h>

#include "core/commands.h"
#include "core/mem.h"
#include "core/propagate.h"
#include "core/reply.h"
#include "core/util.h"

/* The two lists a node is on: its client's, its channel's. */
enum { SIDE_CLIENT, SIDE_CHANNEL };

typedef struct sub_node {
    client *c;
    dstr name;                   /* the channel or pattern; owned */
    struct sub_node *prev[2], *next[2];
    struct sub_list *subscribers; /* the channel's list this node is on */
} sub_node;

typedef struct sub_list {
    sub_node *head, *tail;
    long long len;
} sub_list;

/* A client's subscriptions; allocated at its first SUBSCRIBE. */
typedef struct client_pubsub {
    dict *index[PUBSUB_KINDS]; /* name (the node's own dstr) -> sub_node */
    sub_list order[PUBSUB_KINDS];
} client_pubsub;

typedef struct pubsub_state {
    dict *channels[PUBSUB_KINDS]; /* name -> sub_list of subscribers */
    dstr msg_word[PUBSUB_KINDS];  /* "message", "pmessage", "smessage" */
    dstr encoded;                 /* scratch: the message being published */
} pubsub_state;

static const struct {
    const char *subscribed, *unsubscribed, *message;
} kind_words[PUBSUB_KINDS] = {
    [PUBSUB_CHANNEL] = {"subscribe", "unsubscribe", "message"},
    [PUBSUB_PATTERN] = {"psubscribe", "punsubscribe", "pmessage"},
    [PUBSUB_SHARD] = {"ssubscribe", "sunsubscribe", "smessage"},
};

static void free_sub_list(void *p) { mem_free(p); }

/* Server side: the dict owns its name keys and subscriber lists. */
static const dict_type channels_type = {dict_dstr_hash, dict_dstr_eq, dict_dstr_free,
                                        free_sub_list};
/* Client side: the key is the node's name, and the node is freed by hand. */
static const dict_type client_index_type = {dict_dstr_hash, dict_dstr_eq, NULL, NULL};

void pubsub_init(server *s) {
    pubsub_state *ps = mem_calloc(sizeof(*ps));
    for (int k = 0; k < PUBSUB_KINDS; k++) {
        ps->channels[k] = dict_create(&channels_type);
        ps->msg_word[k] = dstr_from(kind_words[k].message);
    }
    ps->encoded = dstr_empty();
    s->pubsub = ps;
}

void pubsub_free(server *s) {
    pubsub_state *ps = s->pubsub;
    if (!ps) return;
    for (int k = 0; k < PUBSUB_KINDS; k++) {
        dict_release(ps->channels[k]);
        dstr_free(ps->msg_word[k]);
    }
    dstr_free(ps->encoded);
    mem_free(ps);
    s->pubsub = NULL;
}

/* ---- the two lists -------------------------------------------------------- */

static void list_append(sub_list *l, sub_node *n, int side) {
    n->prev[side] = l->tail;
    n->next[side] = NULL;
    if (l->tail)
        l->tail->next[side] = n;
    else
        l->head = n;
    l->tail = n;
    l->len++;
}

static void list_remove(sub_list *l, sub_node *n, int side) {
    if (n->prev[side])
        n->prev[side]->next[side] = n->next[side];
    else
        l->head = n->next[side];
    if (n->next[side])
        n->next[side]->prev[side] = n->prev[side];
    else
        l->tail = n->prev[side];
    l->len--;
}

static client_pubsub *client_state(client *c) {
    if (!c->pubsub) {
        c->pubsub = mem_calloc(sizeof(client_pubsub));
        for (int k = 0; k < PUBSUB_KINDS; k++)
            c->pubsub->index[k] = dict_create(&client_index_type);
    }
    return c->pubsub;
}

long long pubsub_client_count(const client *c, enum pubsub_kind kind) {
    return c->pubsub ? c->pubsub->order[kind].len : 0;
}

long long pubsub_server_count(const server *s, enum pubsub_kind kind) {
    return (long long)dict_size(s->pubsub->channels[kind]);
}

/* The count a (un)subscribe confirmation carries: shard subscriptions
 * count apart, channels and patterns together (Redis's
 * clientSubscriptionsCount and clientShardSubscriptionsCount). */
static long long confirm_count(const client *c, int kind) {
    if (kind == PUBSUB_SHARD) return pubsub_client_count(c, PUBSUB_SHARD);
    return pubsub_client_count(c, PUBSUB_CHANNEL) + pubsub_client_count(c, PUBSUB_PATTERN);
}

static long long total_count(const client *c) {
    return confirm_count(c, PUBSUB_CHANNEL) + confirm_count(c, PUBSUB_SHARD);
}

/* 1 when added, 0 when the client already had it. */
static int subscribe(client *c, int kind, const dstr name) {
    client_pubsub *cp = client_state(c);
    if (dict_find(cp->index[kind], name)) return 0;
    sub_node *n = mem_calloc(sizeof(*n));
    n->c = c;
    n->name = dstr_dup(name);
    dict_add(cp->index[kind], n->name, n);
    list_append(&cp->order[kind], n, SIDE_CLIENT);
    dict *channels = c->srv->pubsub->channels[kind];
    dstr key = dstr_dup(name);
    dict_entry *existing;
    dict_entry *de = dict_add_raw(channels, key, &existing);
    if (de) {
        de->v.val = mem_calloc(sizeof(sub_list));
    } else {
        dstr_free(key);
        de = existing;
    }
    n->subscribers = de->v.val;
    list_append(n->subscribers, n, SIDE_CHANNEL);
    return 1;
}

static void unsubscribe_node(client *c, int kind, sub_node *n) {
    client_pubsub *cp = c->pubsub;
    list_remove(&cp->order[kind], n, SIDE_CLIENT);
    dict_delete(cp->index[kind], n->name);
    list_remove(n->subscribers, n, SIDE_CHANNEL);
    /* A channel nobody listens to is gone (PUBSUB CHANNELS, INFO). */
    if (n->subscribers->len == 0) dict_delete(c->srv->pubsub->channels[kind], n->name);
    dstr_free(n->name);
    mem_free(n);
}

/* ---- replies ------------------------------------------------------------ */

static void reply_confirm(client *c, const char *event, const dstr name, long long count) {
    reply_push(c, 3);
    reply_bulk_cstr(c, event);
    if (name)
        reply_bulk_dstr(c, name);
    else
        reply_null(c);
    reply_int(c, count);
}

/* Leave every subscription of a kind, confirming each when `notify`, and
 * confirming "none" when there was none (Redis replies even then).
 * Returns how many were left. */
static long long unsubscribe_all(client *c, int kind, int notify) {
    long long n = 0;
    while (c->pubsub && c->pubsub->order[kind].head) {
        sub_node *head = c->pubsub->order[kind].head;
        /* The count after this one is gone: the name dies with the node. */
        if (notify)
            reply_confirm(c, kind_words[kind].unsubscribed, head->name, confirm_count(c, kind) - 1);
        unsubscribe_node(c, kind, head);
        n++;
    }
    if (notify && n == 0)
        reply_confirm(c, kind_words[kind].unsubscribed, NULL, confirm_count(c, kind));
    return n;
}

void pubsub_client_reset(client *c) {
    if (!c->pubsub) return;
    for (int k = 0; k < PUBSUB_KINDS; k++) {
        unsubscribe_all(c, k, 0);
        dict_release(c->pubsub->index[k]);
    }
    mem_free(c->pubsub);
    c->pubsub = NULL;
    c->flags &= ~(uint32_t)CLIENT_PUBSUB;
}

/* ---- publishing --------------------------------------------------------- */

/* Copy the encoded message to each subscriber on the list. A client
 * already being closed counts, as in Redis, but gets nothing more. */
static long long deliver(const sub_list *l, const dstr msg) {
    long long receivers = 0;
    for (sub_node *n = l->head; n; n = n->next[SIDE_CHANNEL]) {
        receivers++;
        if (n->c->flags & CLIENT_CLOSE_ASAP) continue;
        reply_push_encoded(n->c, msg, dstr_len(msg));
        client_check_output_limits(n->c);
    }
    return receivers;
}

static long long deliver_to_patterns(pubsub_state *ps, const dstr channel, const dstr message) {
    long long receivers = 0;
    dict_iter it;
    dict_iter_init(ps->channels[PUBSUB_PATTERN], &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        dstr pattern = de->key;
        if (!util_glob_match(pattern, dstr_len(pattern), channel, dstr_len(channel), 0)) continue;
        dstr argv[4] = {ps->msg_word[PUBSUB_PATTERN], pattern, channel, message};
        dstr_clear(ps->encoded);
        ps->encoded = resp_encode_command(ps->encoded, argv, 4);
        receivers += deliver(de->v.val, ps->encoded);
    }
    dict_iter_done(&it);
    return receivers;
}

static long long publish(server *s, int kind, const dstr channel, const dstr message) {
    pubsub_state *ps = s->pubsub;
    long long receivers = 0;
    sub_list *l = dict_fetch_val(ps->channels[kind], channel);
    if (l) {
        dstr argv[3] = {ps->msg_word[kind], channel, message};
        dstr_clear(ps->encoded);
        ps->encoded = resp_encode_command(ps->encoded, argv, 3);
        receivers += deliver(l, ps->encoded);
    }
    /* Shard channels are a namespace of their own: no pattern sees them. */
    if (kind == PUBSUB_CHANNEL) receivers += deliver_to_patterns(ps, channel, message);
    /* A big message must not stay allocated for the small ones after it. */
    if (dstr_alloc_size(ps->encoded) > 64 * 1024) {
        dstr_free(ps->encoded);
        ps->encoded = dstr_empty();
    }
    return receivers;
}

long long pubsub_publish(server *s, const dstr channel, const dstr message) {
    return publish(s, PUBSUB_CHANNEL, channel, message);
}

/* ---- commands ----------------------------------------------------------- */

static void subscribe_command(client *c, int kind) {
    for (int i = 1; i < c->argc; i++) {
        subscribe(c, kind, c->argv[i]);
        reply_confirm(c, kind_words[kind].subscribed, c->argv[i], confirm_count(c, kind));
    }
    c->flags |= CLIENT_PUBSUB;
}

static void unsubscribe_command(client *c, int kind) {
    if (c->argc == 1) {
        unsubscribe_all(c, kind, 1);
    } else {
        for (int i = 1; i < c->argc; i++) {
            sub_node *n = c->pubsub ? dict_fetch_val(c->pubsub->index[kind], c->argv[i]) : NULL;
            if (n) unsubscribe_node(c, kind, n);
            reply_confirm(c, kind_words[kind].unsubscribed, c->argv[i], confirm_count(c, kind));
        }
    }
    if (total_count(c) == 0) c->flags &= ~(uint32_t)CLIENT_PUBSUB;
}

static void cmd_subscribe(client *c) { subscribe_command(c, PUBSUB_CHANNEL); }
static void cmd_psubscribe(client *c) { subscribe_command(c, PUBSUB_PATTERN); }
static void cmd_unsubscribe(client *c) { unsubscribe_command(c, PUBSUB_CHANNEL); }
static void cmd_punsubscribe(client *c) { unsubscribe_command(c, PUBSUB_PATTERN); }
static void cmd_sunsubscribe(client *c) { unsubscribe_command(c, PUBSUB_SHARD); }

static void cmd_ssubscribe(client *c) {
    /* Redis 7.0 runs EXEC as a client that may not block, and SSUBSCRIBE
     * (unlike SUBSCRIBE, kept for compatibility) refuses such clients. */
    if (c->flags & CLIENT_IN_EXEC) {
        reply_error(c, "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
        return;
    }
    subscribe_command(c, PUBSUB_SHARD);
}

/* PUBLISH changes no key, yet replicas get it (Redis 7.0:
 * forceCommandPropagation), so that their own subscribers hear it. */
static void publish_command(client *c, int kind) {
    long long receivers = publish(c->srv, kind, c->argv[1], c->argv[2]);
    c->flags |= CLIENT_FORCE_PROPAGATE;
    reply_int(c, receivers);
}

static void cmd_publish(client *c) { publish_command(c, PUBSUB_CHANNEL); }
static void cmd_spublish(client *c) { publish_command(c, PUBSUB_SHARD); }

static void channel_list(client *c, int kind) {
    if (c->argc > 3) {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.128s'. "
                        "Try PUBSUB HELP.", c->argv[1]);
        return;
    }
    dstr pat = c->argc == 3 ? c->argv[2] : NULL;
    size_t handle = reply_defer_len(c);
    long long n = 0;
    dict_iter it;
    dict_iter_init(c->srv->pubsub->channels[kind], &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        dstr name = de->key;
        if (pat && !util_glob_match(pat, dstr_len(pat), name, dstr_len(name), 0)) continue;
        reply_bulk_dstr(c, name);
        n++;
    }
    dict_iter_done(&it);
    reply_set_deferred_len(c, handle, n);
}

static void numsub(client *c, int kind) {
    dict *channels = c->srv->pubsub->channels[kind];
    reply_array(c, 2LL * (c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        sub_list *l = dict_fetch_val(channels, c->argv[i]);
        reply_bulk_dstr(c, c->argv[i]);
        reply_int(c, l ? l->len : 0);
    }
}

static void cmd_pubsub_channels(client *c) { channel_list(c, PUBSUB_CHANNEL); }
static void cmd_pubsub_shardchannels(client *c) { channel_list(c, PUBSUB_SHARD); }
static void cmd_pubsub_numsub(client *c) { numsub(c, PUBSUB_CHANNEL); }
static void cmd_pubsub_shardnumsub(client *c) { numsub(c, PUBSUB_SHARD); }

static void cmd_pubsub_numpat(client *c) {
    reply_int(c, pubsub_server_count(c->srv, PUBSUB_PATTERN));
}

static void cmd_pubsub_help(client *c) {
    static const char *lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: "
        "'*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}

const char *pubsub_refusal(const client *c, const command *cmd, char *buf, size_t len) {
    if (!(c->flags & CLIENT_PUBSUB) || c->resp != 2) return NULL;
    command_proc p = cmd->proc;
    if (p == cmd_subscribe || p == cmd_ssubscribe || p == cmd_psubscribe ||
        p == cmd_unsubscribe || p == cmd_sunsubscribe || p == cmd_punsubscribe ||
        p == cmd_ping || p == cmd_quit || p == cmd_reset)
        return NULL;
    snprintf(buf, len,
             "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
             "RESET are allowed in this context",
             cmd->name);
    return buf;
}

/* ---- the command table -------------------------------------------------- */

#define PS CMD_PUBSUB
#define NS CMD_NOSCRIPT
#define LD CMD_LOADING
#define ST CMD_STALE
#define F CMD_FAST
#define MR CMD_MAY_REPLICATE
#define CMD(n, p, a, f, fk, lk, ks) COMMAND_ROW(n, p, a, f, fk, lk, ks)
#define END COMMAND_END

static command pubsub_subs[] = {
    CMD("pubsub|channels", cmd_pubsub_channels, -2, PS | LD | ST, 0, 0, 0),
    CMD("pubsub|numpat", cmd_pubsub_numpat, 2, PS | LD | ST, 0, 0, 0),
    CMD("pubsub|numsub", cmd_pubsub_numsub, -2, PS | LD | ST, 0, 0, 0),
    CMD("pubsub|shardchannels", cmd_pubsub_shardchannels, -2, PS | LD | ST, 0, 0, 0),
    CMD("pubsub|shardnumsub", cmd_pubsub_shardnumsub, -2, PS | LD | ST, 0, 0, 0),
    CMD("pubsub|help", cmd_pubsub_help, 2, LD | ST, 0, 0, 0),
    END,
};

/* PUBLISH and SPUBLISH may replicate: CLIENT PAUSE WRITE and the write
 * brake hold them back, as Redis 7.0 does (COMMAND INFO hides the flag). */
static command pubsub_commands[] = {
    CMD("subscribe", cmd_subscribe, -2, PS | NS | LD | ST, 0, 0, 0),
    CMD("unsubscribe", cmd_unsubscribe, -1, PS | NS | LD | ST, 0, 0, 0),
    CMD("psubscribe", cmd_psubscribe, -2, PS | NS | LD | ST, 0, 0, 0),
    CMD("punsubscribe", cmd_punsubscribe, -1, PS | NS | LD | ST, 0, 0, 0),
    CMD("publish", cmd_publish, 3, PS | LD | ST | F | MR, 0, 0, 0),
    CMD("ssubscribe", cmd_ssubscribe, -2, PS | NS | LD | ST, 1, -1, 1),
    CMD("sunsubscribe", cmd_sunsubscribe, -1, PS | NS | LD | ST, 1, -1, 1),
    CMD("spublish", cmd_spublish, 3, PS | LD | ST | F | MR, 1, 1, 1),
    COMMAND_WITH_SUBS("pubsub", -2, 0, pubsub_subs),
    END,
};

void pubsub_register(void) {
    static int done;
    if (done) return;
    done = 1;
    commands_register_table(pubsub_commands);
}
