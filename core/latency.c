/* latency: see latency.h.
 *
 * The histogram. HdrHistogram with a lowest trackable value of 1, two
 * significant digits and values in nanoseconds keeps 256 sub-buckets per
 * power of two, of which the lower half overlaps the power below: values
 * under 256 are exact, and a value v in [2^k, 2^(k+1)), k >= 8, shares its
 * bucket with the 2^(k-7) values that agree with it but for the k-7 low
 * bits. Redis prints bucket bounds as the highest value a bucket holds,
 * divided by 1000: a 2 us call (2000 ns) is in [2000, 2007] and reads as
 * p50=2.007. hist_index() and the two bound functions are that rule; the
 * counts are a flat array over every bucket up to 10^9 ns (3072 of them,
 * 24 KB per command that ever ran).
 *
 * LATENCY HISTOGRAM walks the buckets as hdr's logarithmic iterator with a
 * first bucket of 1024 ns and base 2 does: at each power of two from 1024
 * it reports the count of all values up to that power's bucket, under that
 * bucket's highest value in microseconds (1, 2, 4, 8, 16, 33, 66, 132...),
 * and only when the count grew.
 *
 * The event series. Each event keeps its samples in a ring of
 * LATENCY_TS_LEN; a sample in the same second as the last one only raises
 * it. GRAPH draws the ring as Redis's sparkline (four rows of "_o#" and
 * "|", then each sample's age written downwards). */
#include "core/latency.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/commands.h"
#include "core/mem.h"
#include "core/persist.h"
#include "core/reply.h"

#define HIST_EXACT 256   /* values below are their own bucket */
#define HIST_HALF 128    /* sub-buckets per power of two above */
#define HIST_MAX_NS 1000000000LL
#define HIST_BUCKETS (HIST_EXACT + 22 * HIST_HALF) /* up to 2^30 > 10^9 */
#define HIST_FIRST_LEVEL 1024                      /* HISTOGRAM's first bucket, ns */

struct latency_hist {
    long long total;
    long long counts[HIST_BUCKETS];
};

static int hist_index(long long v) {
    if (v < HIST_EXACT) return (int)v;
    int k = 63 - __builtin_clzll((unsigned long long)v);
    int shift = k - 7;
    int sub = (int)(v >> shift);
    return HIST_EXACT + (k - 8) * HIST_HALF + (sub - HIST_HALF);
}

static long long hist_lowest(int i) {
    if (i < HIST_EXACT) return i;
    int b = (i - HIST_EXACT) / HIST_HALF;
    long long sub = HIST_HALF + (i - HIST_EXACT) % HIST_HALF;
    return sub << (b + 1);
}

static long long hist_highest(int i) {
    if (i < HIST_EXACT) return i;
    int b = (i - HIST_EXACT) / HIST_HALF;
    long long sub = HIST_HALF + (i - HIST_EXACT) % HIST_HALF;
    return ((sub + 1) << (b + 1)) - 1;
}

/* hdr_value_at_percentile: the highest value of the bucket where the
 * running count reaches the percentile's share of the calls. */
static long long hist_percentile(const struct latency_hist *h, double p) {
    long long want = (long long)((p < 100.0 ? p : 100.0) / 100.0 * (double)h->total + 0.5);
    if (want < 1) want = 1;
    long long seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want) return p == 0.0 ? hist_lowest(i) : hist_highest(i);
    }
    return 0;
}

void latency_track_command(server *s, command *cmd, long long duration_us) {
    if (!s->cfg.latency_tracking) return;
    long long ns = duration_us * 1000;
    if (ns < 1) ns = 1;
    if (ns > HIST_MAX_NS) ns = HIST_MAX_NS;
    if (!cmd->latency) cmd->latency = mem_calloc(sizeof(struct latency_hist));
    cmd->latency->counts[hist_index(ns)]++;
    cmd->latency->total++;
}

void latency_reset_command(command *cmd) {
    mem_free(cmd->latency);
    cmd->latency = NULL;
}

/* ---- the event series ---- */

#define LATENCY_TS_LEN 160
#define LATENCY_EVENT_NAME_MAX 32
#define LATENCY_GRAPH_COLS 80

struct latency_sample {
    long long time; /* unix seconds, 0: unused slot */
    long long ms;
};

struct latency_series {
    char name[LATENCY_EVENT_NAME_MAX];
    int idx; /* the next slot written */
    long long max;
    struct latency_sample samples[LATENCY_TS_LEN];
};

struct latency_state {
    struct latency_series **events;
    int n, cap;
};

void latency_init(server *s) { s->latency = mem_calloc(sizeof(struct latency_state)); }

static void remove_event(struct latency_state *l, int i) {
    mem_free(l->events[i]);
    memmove(&l->events[i], &l->events[i + 1], sizeof(l->events[0]) * (size_t)(l->n - i - 1));
    l->n--;
}

void latency_free(server *s) {
    if (!s->latency) return;
    while (s->latency->n) remove_event(s->latency, s->latency->n - 1);
    mem_free(s->latency->events);
    mem_free(s->latency);
    s->latency = NULL;
}

static int find_event(const struct latency_state *l, const char *name, size_t len) {
    for (int i = 0; i < l->n; i++)
        if (strlen(l->events[i]->name) == len && !memcmp(l->events[i]->name, name, len)) return i;
    return -1;
}

static void add_sample(server *s, const char *event, long long ms) {
    struct latency_state *l = s->latency;
    int i = find_event(l, event, strlen(event));
    if (i < 0) {
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 8;
            l->events = mem_realloc(l->events, sizeof(l->events[0]) * (size_t)l->cap);
        }
        struct latency_series *ts = mem_calloc(sizeof(*ts));
        snprintf(ts->name, sizeof(ts->name), "%s", event);
        i = l->n;
        l->events[l->n++] = ts;
    }
    struct latency_series *ts = l->events[i];
    long long now = (long long)time(NULL);
    if (ms > ts->max) ts->max = ms;
    int prev = (ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
    if (ts->samples[prev].time == now) {
        if (ms > ts->samples[prev].ms) ts->samples[prev].ms = ms;
        return;
    }
    ts->samples[ts->idx].time = now;
    ts->samples[ts->idx].ms = ms;
    ts->idx = (ts->idx + 1) % LATENCY_TS_LEN;
}

void latency_add_sample_if_needed(server *s, const char *event, long long ms) {
    if (s->cfg.latency_monitor_threshold && ms >= s->cfg.latency_monitor_threshold)
        add_sample(s, event, ms);
}

void cmd_latency_latest(client *c) {
    struct latency_state *l = c->srv->latency;
    reply_array(c, l->n);
    for (int i = 0; i < l->n; i++) {
        struct latency_series *ts = l->events[i];
        int last = (ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
        reply_array(c, 4);
        reply_bulk_cstr(c, ts->name);
        reply_int(c, ts->samples[last].time);
        reply_int(c, ts->samples[last].ms);
        reply_int(c, ts->max);
    }
}

void cmd_latency_history(client *c) {
    struct latency_state *l = c->srv->latency;
    int i = find_event(l, c->argv[2], dstr_len(c->argv[2]));
    if (i < 0) {
        reply_array(c, 0);
        return;
    }
    struct latency_series *ts = l->events[i];
    size_t handle = reply_defer_len(c);
    int n = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const struct latency_sample *smp = &ts->samples[(ts->idx + j) % LATENCY_TS_LEN];
        if (!smp->time) continue;
        reply_array(c, 2);
        reply_int(c, smp->time);
        reply_int(c, smp->ms);
        n++;
    }
    reply_set_deferred_len(c, handle, n);
}

void cmd_latency_reset(client *c) {
    struct latency_state *l = c->srv->latency;
    long long n = 0;
    if (c->argc == 2) {
        n = l->n;
        while (l->n) remove_event(l, l->n - 1);
    } else {
        for (int j = 2; j < c->argc; j++) {
            int i = find_event(l, c->argv[j], dstr_len(c->argv[j]));
            if (i < 0) continue;
            remove_event(l, i);
            n++;
        }
    }
    reply_int(c, n);
}

/* ---- GRAPH: Redis's sparkline ---- */

struct spark_sample {
    long long value;
    char label[24];
};

static dstr spark_range(dstr out, const struct spark_sample *smp, int len, long long min,
                        long long max) {
    static const char fill[] = "_o#";
    const int charset_len = 3, rows = 4, label_margin_top = 1;
    double relmax = (double)(max - min);
    if (relmax == 0) relmax = 1;
    int steps = charset_len * rows;
    char chars[LATENCY_GRAPH_COLS];
    for (int row = 0;; row++) {
        int more = 0;
        memset(chars, ' ', (size_t)len);
        for (int j = 0; j < len; j++) {
            if (row < rows) {
                int step = (int)((double)(smp[j].value - min) * steps / relmax);
                if (step < 0) step = 0;
                if (step >= steps) step = steps - 1;
                int ci = step - (rows - row - 1) * charset_len;
                more = 1;
                if (ci >= 0 && ci < charset_len)
                    chars[j] = fill[ci];
                else if (ci >= charset_len)
                    chars[j] = '|';
            } else {
                /* Every sample has a label: one blank row, then the labels
                 * written downwards. */
                if (row - rows < label_margin_top) {
                    more = 1;
                    break;
                }
                int at = row - rows - label_margin_top;
                if ((int)strlen(smp[j].label) > at) {
                    more = 1;
                    chars[j] = smp[j].label[at];
                }
            }
        }
        if (!more) break;
        out = dstr_cat(out, chars, (size_t)len);
        out = dstr_cats(out, "\n");
    }
    return out;
}

static dstr graph_event(dstr out, const struct latency_series *ts) {
    struct spark_sample smp[LATENCY_TS_LEN];
    int n = 0;
    long long min = 0, max = 0, now = (long long)time(NULL);
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const struct latency_sample *s = &ts->samples[(ts->idx + j) % LATENCY_TS_LEN];
        if (!s->time) continue;
        if (n == 0 || s->ms > max) max = s->ms;
        if (n == 0 || s->ms < min) min = s->ms;
        long long ago = now - s->time;
        if (ago < 60)
            snprintf(smp[n].label, sizeof(smp[n].label), "%llds", ago);
        else if (ago < 3600)
            snprintf(smp[n].label, sizeof(smp[n].label), "%lldm", ago / 60);
        else if (ago < 3600 * 24)
            snprintf(smp[n].label, sizeof(smp[n].label), "%lldh", ago / 3600);
        else
            snprintf(smp[n].label, sizeof(smp[n].label), "%lldd", ago / (3600 * 24));
        smp[n++].value = s->ms;
    }
    out = dstr_catfmt(out, "%s - high %lld ms, low %lld ms (all time high %lld ms)\n", ts->name,
                      max, min, ts->max);
    for (int j = 0; j < LATENCY_GRAPH_COLS; j++) out = dstr_cats(out, "-");
    out = dstr_cats(out, "\n");
    for (int j = 0; j < n; j += LATENCY_GRAPH_COLS) {
        int len = n - j < LATENCY_GRAPH_COLS ? n - j : LATENCY_GRAPH_COLS;
        if (j) out = dstr_cats(out, "\n");
        out = spark_range(out, smp + j, len, min, max);
    }
    return out;
}

void cmd_latency_graph(client *c) {
    struct latency_state *l = c->srv->latency;
    int i = find_event(l, c->argv[2], dstr_len(c->argv[2]));
    if (i < 0) {
        reply_errorf(c, "ERR No samples available for event '%s'", c->argv[2]);
        return;
    }
    dstr g = graph_event(dstr_empty(), l->events[i]);
    reply_verbatim(c, g, dstr_len(g));
    dstr_free(g);
}

/* ---- DOCTOR ---- */

struct event_stats {
    long long samples, avg, mad, period;
};

/* Redis's analyzeLatencyForEvent: average, mean absolute deviation, and
 * the seconds since the oldest sample. */
static struct event_stats analyze(const struct latency_series *ts) {
    struct event_stats st = {0, 0, 0, 0};
    long long sum = 0, oldest = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const struct latency_sample *s = &ts->samples[j];
        if (!s->time) continue;
        st.samples++;
        sum += s->ms;
        if (!oldest || s->time < oldest) oldest = s->time;
    }
    if (!st.samples) return st;
    st.avg = sum / st.samples;
    st.period = (long long)time(NULL) - oldest;
    if (st.period == 0) st.period = 1;
    long long dev = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const struct latency_sample *s = &ts->samples[j];
        if (!s->time) continue;
        dev += s->ms > st.avg ? s->ms - st.avg : st.avg - s->ms;
    }
    st.mad = dev / st.samples;
    return st;
}

enum {
    ADV_BETTER_VM = 1 << 6,
    ADV_SLOWLOG_ENABLE = 1 << 0,
    ADV_SLOWLOG_TUNE = 1 << 1,
    ADV_SLOWLOG_INSPECT = 1 << 2,
    ADV_SCHEDULER = 1 << 3,
    ADV_HZ = 1 << 4,
    ADV_LARGE_OBJECTS = 1 << 5,
};

static dstr doctor_report(server *s) {
    struct latency_state *l = s->latency;
    dstr r = dstr_empty();
    if (l->n == 0 && s->cfg.latency_monitor_threshold == 0)
        return dstr_cats(
            r, "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
               "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" "
               "in order to enable it. If we weren't in a deep space mission I'd suggest to "
               "take a look at https://redis.io/topics/latency-monitor.\n");
    unsigned advise = 0;
    int advices = 0;
    for (int i = 0; i < l->n; i++) {
        const struct latency_series *ts = l->events[i];
        struct event_stats st = analyze(ts);
        if (i == 0)
            r = dstr_cats(r, "Dave, I have observed latency spikes in this Redis instance. You "
                             "don't mind talking about it, do you Dave?\n\n");
        r = dstr_catfmt(r,
                        "%d. %s: %lld latency spikes (average %lldms, mean deviation %lldms, "
                        "period %.2f sec). Worst all time event %lldms.",
                        i + 1, ts->name, st.samples, st.avg, st.mad,
                        (double)st.period / (double)st.samples, ts->max);
        if (!strcasecmp(ts->name, "fork")) {
            /* Redis's stat_fork_rate: GB of used memory per second of fork. */
            long long forks, fork_us;
            persist_fork_stats(s, &forks, &fork_us);
            double rate = fork_us ? (double)mem_used() * 1000000 / (double)fork_us /
                                        (1024.0 * 1024 * 1024)
                                  : 0;
            const char *quality = rate < 10    ? "terrible"
                                  : rate < 25  ? "poor"
                                  : rate < 100 ? "good"
                                               : "excellent";
            if (rate < 25) {
                advise |= ADV_BETTER_VM;
                advices++;
            }
            r = dstr_catfmt(r, " Fork rate is %.2f GB/sec (%s).", rate, quality);
        }
        if (!strcasecmp(ts->name, "command")) {
            if (s->cfg.slowlog_log_slower_than < 0 || s->cfg.slowlog_max_len == 0) {
                advise |= ADV_SLOWLOG_ENABLE;
                advices++;
            } else if (s->cfg.slowlog_log_slower_than / 1000 > s->cfg.latency_monitor_threshold) {
                advise |= ADV_SLOWLOG_TUNE;
                advices++;
            }
            advise |= ADV_SLOWLOG_INSPECT | ADV_LARGE_OBJECTS;
            advices += 2;
        }
        if (!strcasecmp(ts->name, "fast-command")) {
            advise |= ADV_SCHEDULER;
            advices++;
        }
        if (!strcasecmp(ts->name, "expire-cycle")) {
            advise |= ADV_HZ | ADV_LARGE_OBJECTS;
            advices += 2;
        }
        r = dstr_cats(r, "\n");
    }
    if (l->n == 0 && advices == 0)
        return dstr_cats(r, "Dave, no latency spike was observed during the lifetime of this "
                            "Redis instance, not in the slightest bit. I honestly think you "
                            "ought to sit down calmly, take a stress pill, and think things "
                            "over.\n");
    if (advices == 0)
        return dstr_cats(r, "\nWhile there are latency events logged, I'm not able to suggest "
                            "any easy fix. Please use the Redis community to get some help, "
                            "providing this report in your help request.\n");
    r = dstr_cats(r, "\nI have a few advices for you:\n\n");
    unsigned long long slower = (unsigned long long)s->cfg.latency_monitor_threshold * 1000;
    if (advise & ADV_BETTER_VM)
        r = dstr_cats(r, "- If you are using a virtual machine, consider upgrading it with a "
                         "faster one using a hypervisior that provides less latency during "
                         "fork() calls. Xen is known to have poor fork() performance. Even in "
                         "the context of the same VM provider, certain kinds of instances can "
                         "execute fork faster than others.\n");
    if (advise & ADV_SLOWLOG_ENABLE)
        r = dstr_catfmt(r,
                        "- There are latency issues with potentially slow commands you are "
                        "using. Try to enable the Slow Log Redis feature using the command "
                        "'CONFIG SET slowlog-log-slower-than %llu'. If the Slow log is disabled "
                        "Redis is not able to log slow commands execution for you.\n",
                        slower);
    if (advise & ADV_SLOWLOG_TUNE)
        r = dstr_catfmt(r,
                        "- Your current Slow Log configuration only logs events that are "
                        "slower than your configured latency monitor threshold. Please use "
                        "'CONFIG SET slowlog-log-slower-than %llu'.\n",
                        slower);
    if (advise & ADV_SLOWLOG_INSPECT)
        r = dstr_cats(r, "- Check your Slow Log to understand what are the commands you are "
                         "running which are too slow to execute. Please check "
                         "https://redis.io/commands/slowlog for more information.\n");
    if (advise & ADV_SCHEDULER)
        r = dstr_cats(r, "- The system is slow to execute Redis code paths not containing "
                         "system calls. This usually means the system does not provide Redis "
                         "CPU time to run for long periods. You should try to:\n"
                         "  1) Lower the system load.\n"
                         "  2) Use a computer / VM just for Redis if you are running other "
                         "software in the same system.\n"
                         "  3) Check if you have a \"noisy neighbour\" problem.\n"
                         "  4) Check with 'redis-cli --intrinsic-latency 100' what is the "
                         "intrinsic latency in your system.\n"
                         "  5) Check if the problem is allocator-related by recompiling Redis "
                         "with MALLOC=libc, if you are using Jemalloc. However this may create "
                         "fragmentation problems.\n");
    if ((advise & ADV_HZ) && s->cfg.hz < 100)
        r = dstr_cats(r, "- In order to make the Redis keys expiring process more incremental, "
                         "try to set the 'hz' configuration parameter to 100 using 'CONFIG SET "
                         "hz 100'.\n");
    if (advise & ADV_LARGE_OBJECTS)
        r = dstr_cats(r, "- Deleting, expiring or evicting (because of maxmemory policy) large "
                         "objects is a blocking operation. If you have very large objects that "
                         "are often deleted, expired, or evicted, try to fragment those objects "
                         "into multiple smaller objects.\n");
    return r;
}

void cmd_latency_doctor(client *c) {
    dstr r = doctor_report(c->srv);
    reply_verbatim(c, r, dstr_len(r));
    dstr_free(r);
}

/* ---- HISTOGRAM and INFO latencystats ---- */

static void reply_histogram(client *c, const command *cmd) {
    const struct latency_hist *h = cmd->latency;
    reply_bulk_cstr(c, cmd->name);
    reply_map(c, 2);
    reply_bulk_cstr(c, "calls");
    reply_int(c, h->total);
    reply_bulk_cstr(c, "histogram_usec");
    size_t handle = reply_defer_len(c);
    long long seen = 0, reported = 0;
    int i = 0, pairs = 0;
    for (long long level = HIST_FIRST_LEVEL; reported < h->total; level *= 2) {
        int at = hist_index(level < HIST_MAX_NS ? level : HIST_MAX_NS);
        for (; i <= at && i < HIST_BUCKETS; i++) seen += h->counts[i];
        if (seen > reported) {
            reply_int(c, hist_highest(at) / 1000);
            reply_int(c, seen);
            reported = seen;
            pairs++;
        }
        if (at >= HIST_BUCKETS - 1 || level >= HIST_MAX_NS) break;
    }
    reply_set_deferred_map(c, handle, pairs);
}

/* Every command and subcommand with a histogram, in the command table's
 * order. */
typedef void (*hist_visit_fn)(void *priv, const command *cmd);
static void each_tracked(server *s, hist_visit_fn fn, void *priv) {
    dict_iter it;
    dict_iter_init(s->commands, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        const command *cmd = de->v.val;
        if (cmd->latency) fn(priv, cmd);
        if (cmd->subcommands)
            for (const command *sub = cmd->subcommands; sub->name; sub++)
                if (sub->latency) fn(priv, sub);
    }
    dict_iter_done(&it);
}

struct hist_reply {
    client *c;
    int n;
};

static void visit_reply(void *priv, const command *cmd) {
    struct hist_reply *hr = priv;
    reply_histogram(hr->c, cmd);
    hr->n++;
}

void cmd_latency_histogram(client *c) {
    size_t handle = reply_defer_len(c);
    struct hist_reply hr = {c, 0};
    if (c->argc == 2) {
        each_tracked(c->srv, visit_reply, &hr);
    } else {
        for (int j = 2; j < c->argc; j++) {
            const command *cmd = memchr(c->argv[j], '\0', dstr_len(c->argv[j]))
                                     ? NULL
                                     : command_find(c->srv, c->argv[j]);
            if (cmd && cmd->latency) visit_reply(&hr, cmd);
        }
    }
    reply_set_deferred_map(c, handle, hr.n);
}

struct info_ctx {
    server *s;
    dstr out;
};

static void visit_info(void *priv, const command *cmd) {
    struct info_ctx *ic = priv;
    const config *cfg = &ic->s->cfg;
    ic->out = dstr_catfmt(ic->out, "latency_percentiles_usec_%s:", cmd->name);
    for (int j = 0; j < cfg->nlatency_percentiles; j++) {
        if (j) ic->out = dstr_cats(ic->out, ",");
        ic->out = dstr_cats(ic->out, "p");
        ic->out = config_cat_percentile(ic->out, cfg->latency_percentiles[j]);
        ic->out = dstr_catfmt(ic->out, "=%.3f",
                              (double)hist_percentile(cmd->latency, cfg->latency_percentiles[j]) /
                                  1000.0);
    }
    ic->out = dstr_cats(ic->out, "\r\n");
}

dstr latency_info_section(server *s, dstr out) {
    struct info_ctx ic = {s, dstr_cats(out, "# Latencystats\r\n")};
    each_tracked(s, visit_info, &ic);
    return ic.out;
}

void cmd_latency_help(client *c) {
    static const char *lines[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the "
        "specified command names.",
        "    If no commands are specified then all histograms are replied.",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}
