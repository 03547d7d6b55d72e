/* notify: see notify.h. */
#include "core/notify.h"

#include <string.h>

#include "core/db.h"
#include "core/pubsub.h"

static const struct {
    char letter;
    int flag;
} letters[] = {
    {'g', NOTIFY_GENERIC}, {'$', NOTIFY_STRING},  {'l', NOTIFY_LIST},
    {'s', NOTIFY_SET},     {'h', NOTIFY_HASH},    {'z', NOTIFY_ZSET},
    {'x', NOTIFY_EXPIRED}, {'e', NOTIFY_EVICTED}, {'t', NOTIFY_STREAM},
    {'d', NOTIFY_MODULE},  {'n', NOTIFY_NEW},     {'K', NOTIFY_KEYSPACE},
    {'E', NOTIFY_KEYEVENT}, {'m', NOTIFY_KEY_MISS},
};
#define NLETTERS (sizeof(letters) / sizeof(letters[0]))

static int letter_flag(char ch) {
    if (ch == 'A') return NOTIFY_ALL;
    for (size_t i = 0; i < NLETTERS; i++)
        if (letters[i].letter == ch) return letters[i].flag;
    return -1;
}

int notify_flags_parse(const char *s, size_t len) {
    int flags = 0;
    for (size_t i = 0; i < len && s[i]; i++) {
        int f = letter_flag(s[i]);
        if (f < 0) return -1;
        flags |= f;
    }
    return flags;
}

/* The table's order is Redis's: the classes, then K, E and m. As in Redis,
 * A stands for every class, n included ("KEAn" reads back as "AKE", though
 * it sends "new" events). */
dstr notify_flags_string(int flags) {
    dstr out = dstr_empty();
    int all = (flags & NOTIFY_ALL) == NOTIFY_ALL;
    int outside = NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_KEY_MISS;
    if (all) out = dstr_cats(out, "A");
    for (size_t i = 0; i < NLETTERS; i++) {
        if (!(flags & letters[i].flag) || (all && !(letters[i].flag & outside))) continue;
        out = dstr_cat(out, &letters[i].letter, 1);
    }
    return out;
}

static dstr channel_prefix(const char *space, int dbid) {
    return dstr_catfmt(dstr_empty(), "__%s@%d__:", space, dbid);
}

void notify_publish(server *s, int type, const char *event, const dstr key, int dbid) {
    int flags = s->cfg.notify_keyspace_events;
    if (!(flags & type)) return;
    dstr ev = dstr_from(event);
    if (flags & NOTIFY_KEYSPACE) {
        dstr chan = dstr_catd(channel_prefix("keyspace", dbid), key);
        pubsub_publish(s, chan, ev);
        dstr_free(chan);
    }
    if (flags & NOTIFY_KEYEVENT) {
        dstr chan = dstr_catd(channel_prefix("keyevent", dbid), ev);
        pubsub_publish(s, chan, key);
        dstr_free(chan);
    }
    dstr_free(ev);
}

int notify_delete(server *s, db *d, const dstr key) {
    if (!db_delete(s, d, key)) return 0;
    notify_event(s, NOTIFY_GENERIC, "del", key, d->id);
    return 1;
}
