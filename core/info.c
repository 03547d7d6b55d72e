/* info: INFO's sections, with Redis 7.0's section and field names, since
 * monitoring tools parse them by name. Sections that describe features
 * Ringmaster lacks (AOF, modules, cluster) report them as off, the values
 * Redis gives when the feature is unused. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/commands.h"
#include "core/functions.h"
#include "core/latency.h"
#include "core/tracking.h"
#include "core/lazyfree.h"
#include "core/mem.h"
#include "core/persist.h"
#include "core/pubsub.h"
#include "core/reply.h"
#include "core/util.h"
#include "repl/repl.h"


static dstr section_server(server *s, dstr o) {
    struct utsname u;
    uname(&u);
    long long now_us = util_us_time();
    long long uptime = (util_ms_time() - s->start_ms) / 1000;
    o = dstr_catfmt(o,
                    "# Server\r\nredis_version:%s\r\nredis_git_sha1:00000000\r\n"
                    "redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\n"
                    "ringmaster_version:%s\r\nos:%s %s %s\r\narch_bits:%d\r\n"
                    "monotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\n"
                    "atomicvar_api:c11-builtin\r\ngcc_version:%d.%d.%d\r\nprocess_id:%d\r\n"
                    "process_supervised:no\r\nrun_id:%s\r\ntcp_port:%d\r\n"
                    "server_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\n"
                    "hz:%d\r\nconfigured_hz:%d\r\nlru_clock:%u\r\nexecutable:%s\r\n"
                    "config_file:%s\r\nio_threads_active:0\r\n",
                    RM_VERSION, RM_VERSION, u.sysname, u.release, u.machine,
                    (int)(sizeof(long) * 8), __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
                    (int)s->pid, s->runid, s->cfg.port, now_us, uptime, uptime / 86400,
                    s->cfg.hz, s->cfg.hz, obj_lru_clock(), s->executable ? s->executable : "",
                    s->configfile ? s->configfile : "");
    return o;
}

static dstr section_clients(server *s, dstr o) {
    size_t maxin = 0, maxout = 0;
    int blocked = 0, in_timeout_table = 0;
    for (client *c = s->clients; c; c = c->next) {
        if (dstr_alloc_size(c->querybuf) > maxin) maxin = dstr_alloc_size(c->querybuf);
        size_t out = dstr_len(c->reply) - c->reply_sent;
        if (out > maxout) maxout = out;
        if (c->flags & (CLIENT_PAUSED | CLIENT_BLOCKED)) blocked++;
        /* Redis's timeout table: the blocked clients that will time out. */
        if ((c->flags & CLIENT_BLOCKED) && c->bstate.timeout_ms) in_timeout_table++;
    }
    long long tr_clients, tr_keys, tr_items, tr_prefixes;
    tracking_info(s, &tr_clients, &tr_keys, &tr_items, &tr_prefixes);
    return dstr_catfmt(o,
                       "# Clients\r\nconnected_clients:%d\r\ncluster_connections:0\r\n"
                       "maxclients:%d\r\nclient_recent_max_input_buffer:%zu\r\n"
                       "client_recent_max_output_buffer:%zu\r\nblocked_clients:%d\r\n"
                       "tracking_clients:%lld\r\nclients_in_timeout_table:%d\r\n",
                       s->nclients, s->cfg.maxclients, maxin, maxout, blocked, tr_clients,
                       in_timeout_table);
}

static dstr section_memory(server *s, dstr o) {
    mem_overview m;
    mem_overview_get(s, &m);
    size_t used = m.total, rss = m.rss, peak_memory = m.peak;
    char h_used[32], h_rss[32], h_peak[32], h_sys[32], h_max[32];
    util_bytes_to_human(h_used, sizeof(h_used), used);
    util_bytes_to_human(h_rss, sizeof(h_rss), rss);
    util_bytes_to_human(h_peak, sizeof(h_peak), peak_memory);
    long long sysmem = (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
    util_bytes_to_human(h_sys, sizeof(h_sys), (unsigned long long)sysmem);
    util_bytes_to_human(h_max, sizeof(h_max), (unsigned long long)s->cfg.maxmemory);
    size_t fn_mem = fn_store_memory(s->functions);
    char h_fn[32];
    util_bytes_to_human(h_fn, sizeof(h_fn), fn_mem);
    size_t overhead = m.overhead, dataset = m.dataset;
    return dstr_catfmt(
        o,
        "# Memory\r\nused_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\n"
        "used_memory_rss_human:%s\r\nused_memory_peak:%zu\r\nused_memory_peak_human:%s\r\n"
        "used_memory_peak_perc:%.2f%%\r\nused_memory_overhead:%zu\r\nused_memory_startup:%zu\r\n"
        "used_memory_dataset:%zu\r\nused_memory_dataset_perc:%.2f%%\r\n"
        "total_system_memory:%lld\r\ntotal_system_memory_human:%s\r\n"
        /* No script runs here, so there is no Lua VM and no script
         * cache: the VM and eval figures are 0, the functions' are the
         * library store's. */
        "used_memory_lua:0\r\nused_memory_vm_eval:0\r\nused_memory_lua_human:0B\r\n"
        "used_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\n"
        "number_of_functions:%lld\r\nnumber_of_libraries:%d\r\nused_memory_vm_functions:0\r\n"
        "used_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\n"
        "used_memory_functions:%zu\r\nused_memory_scripts:%zu\r\n"
        "used_memory_scripts_human:%s\r\nmaxmemory:%lld\r\nmaxmemory_human:%s\r\n"
        "maxmemory_policy:noeviction\r\nmem_fragmentation_ratio:%.2f\r\n"
        "mem_allocator:%s\r\nlazyfree_pending_objects:%lld\r\nlazyfreed_objects:%lld\r\n",
        used, h_used, rss, h_rss, peak_memory, h_peak,
        peak_memory ? (double)used * 100 / (double)peak_memory : 0.0, overhead, s->mem_startup,
        dataset,
        used ? (double)dataset * 100 / (double)used : 0.0, sysmem, h_sys, s->functions->nfuncs,
        s->functions->n, fn_mem, fn_mem, h_fn, s->cfg.maxmemory, h_max,
        used ? (double)rss / (double)used : 0.0, mem_allocator_name(), lazyfree_pending(),
        lazyfree_freed());
}

static dstr section_persistence(server *s, dstr o) { return persist_info(s, o); }

static double inst_kbps(const server *s, int metric) {
    return (double)server_inst_rate(s, metric) / 1024;
}

static dstr section_stats(server *s, dstr o) {
    long long sync_full, sync_ok, sync_err;
    repl_sync_stats(s, &sync_full, &sync_ok, &sync_err);
    long long total_forks, latest_fork_usec;
    persist_fork_stats(s, &total_forks, &latest_fork_usec);
    long long tr_clients, tr_keys, tr_items, tr_prefixes;
    tracking_info(s, &tr_clients, &tr_keys, &tr_items, &tr_prefixes);
    /* The replication I/O threads' bytes, with Redis's meaning (repl.h):
     * the totals include them, what a master reads from its replicas is
     * ordinary input. */
    repl_net_bytes rb;
    repl_net_bytes_get(s, &rb);
    return dstr_catfmt(
        o,
        "# Stats\r\ntotal_connections_received:%lld\r\ntotal_commands_processed:%lld\r\n"
        "instantaneous_ops_per_sec:%lld\r\ntotal_net_input_bytes:%lld\r\n"
        "total_net_output_bytes:%lld\r\ntotal_net_repl_input_bytes:%lld\r\n"
        "total_net_repl_output_bytes:%lld\r\ninstantaneous_input_kbps:%.2f\r\n"
        "instantaneous_output_kbps:%.2f\r\ninstantaneous_input_repl_kbps:%.2f\r\n"
        "instantaneous_output_repl_kbps:%.2f\r\nrejected_connections:%lld\r\nsync_full:%lld\r\n"
        "sync_partial_ok:%lld\r\nsync_partial_err:%lld\r\nexpired_keys:%lld\r\n"
        "expired_stale_perc:%.2f\r\nexpired_time_cap_reached_count:%lld\r\n"
        "expire_cycle_cpu_milliseconds:%lld\r\nevicted_keys:%lld\r\nevicted_clients:0\r\n"
        "total_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\n"
        "keyspace_hits:%lld\r\nkeyspace_misses:%lld\r\npubsub_channels:%lld\r\n"
        "pubsub_patterns:%lld\r\npubsubshard_channels:%lld\r\nlatest_fork_usec:%lld\r\n"
        "total_forks:%lld\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\n"
        "active_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\n"
        "active_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\n"
        "current_active_defrag_time:0\r\ntracking_total_keys:%lld\r\n"
        "tracking_total_items:%lld\r\ntracking_total_prefixes:%lld\r\nunexpected_error_replies:%lld\r\n"
        "total_error_replies:%lld\r\ndump_payload_sanitizations:0\r\n"
        "total_reads_processed:%lld\r\ntotal_writes_processed:%lld\r\n"
        "io_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\n"
        "reply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n"
        "client_query_buffer_limit_disconnections:%lld\r\n",
        s->stat_numconnections, s->stat_numcommands, server_inst_rate(s, INST_OPS),
        s->stat_net_input_bytes + rb.from_replicas + rb.from_master,
        s->stat_net_output_bytes + rb.out, rb.from_master, rb.out, inst_kbps(s, INST_NET_IN),
        inst_kbps(s, INST_NET_OUT), inst_kbps(s, INST_NET_REPL_IN),
        inst_kbps(s, INST_NET_REPL_OUT), s->stat_rejected_conn, sync_full, sync_ok, sync_err,
        s->stat_expiredkeys, (double)s->stat_expired_stale_perc, s->stat_expired_time_cap_reached,
        s->stat_expire_cycle_time_used / 1000, s->stat_evictedkeys, s->stat_keyspace_hits,
        s->stat_keyspace_misses, pubsub_server_count(s, PUBSUB_CHANNEL),
        pubsub_server_count(s, PUBSUB_PATTERN), pubsub_server_count(s, PUBSUB_SHARD),
        latest_fork_usec, total_forks, tr_keys, tr_items, tr_prefixes,
        s->stat_unexpected_error_replies,
        s->stat_total_error_replies,
        s->stat_io_reads, s->stat_io_writes, s->stat_client_qbuf_limit_disconnections);
}

static dstr section_replication(server *s, dstr o) { return repl_info(s, o); }

static dstr section_cpu(server *s, dstr o) {
    (void)s;
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
#define TV(t) ((double)(t).tv_sec + (double)(t).tv_usec / 1000000)
    return dstr_catfmt(o,
                       "# CPU\r\nused_cpu_sys:%.6f\r\nused_cpu_user:%.6f\r\n"
                       "used_cpu_sys_children:%.6f\r\nused_cpu_user_children:%.6f\r\n",
                       TV(self.ru_stime), TV(self.ru_utime), TV(children.ru_stime),
                       TV(children.ru_utime));
#undef TV
}

static dstr cmdstat_line(dstr o, const command *cmd) {
    if (cmd->calls == 0 && cmd->rejected_calls == 0 && cmd->failed_calls == 0) return o;
    return dstr_catfmt(o,
                       "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,rejected_calls=%lld,"
                       "failed_calls=%lld\r\n",
                       cmd->name, cmd->calls, cmd->usec,
                       cmd->calls ? (double)cmd->usec / (double)cmd->calls : 0.0,
                       cmd->rejected_calls, cmd->failed_calls);
}

static dstr section_commandstats(server *s, dstr o) {
    o = dstr_cats(o, "# Commandstats\r\n");
    dict_iter it;
    dict_iter_init(s->commands, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        const command *cmd = de->v.val;
        o = cmdstat_line(o, cmd);
        if (cmd->subcommands)
            for (const command *sub = cmd->subcommands; sub->name; sub++) o = cmdstat_line(o, sub);
    }
    dict_iter_done(&it);
    return o;
}

static dstr section_errorstats(server *s, dstr o) {
    o = dstr_cats(o, "# Errorstats\r\n");
    dict_iter it;
    dict_iter_init(s->errorstats, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it)))
        o = dstr_catfmt(o, "errorstat_%s:count=%lld\r\n", (char *)de->key, (long long)de->v.s64);
    dict_iter_done(&it);
    return o;
}

static dstr section_keyspace(server *s, dstr o) {
    o = dstr_cats(o, "# Keyspace\r\n");
    for (int j = 0; j < s->dbnum; j++) {
        size_t keys = dict_size(s->dbs[j].keys);
        if (!keys) continue;
        o = dstr_catfmt(o, "db%d:keys=%zu,expires=%zu,avg_ttl=%lld\r\n", j, keys,
                        dict_size(s->dbs[j].expires), s->dbs[j].avg_ttl);
    }
    return o;
}

typedef struct info_section {
    const char *name;
    dstr (*gen)(server *s, dstr o);
    int in_default;
} info_section;

static dstr section_cluster(server *s, dstr o) {
    (void)s;
    return dstr_cats(o, "# Cluster\r\ncluster_enabled:0\r\n");
}

static dstr section_modules(server *s, dstr o) {
    (void)s;
    return dstr_cats(o, "# Modules\r\n");
}

static const info_section sections[] = {
    {"server", section_server, 1},
    {"clients", section_clients, 1},
    {"memory", section_memory, 1},
    {"persistence", section_persistence, 1},
    {"stats", section_stats, 1},
    {"replication", section_replication, 1},
    {"cpu", section_cpu, 1},
    {"modules", section_modules, 1},
    {"commandstats", section_commandstats, 0},
    {"errorstats", section_errorstats, 1},
    {"latencystats", latency_info_section, 0},
    {"cluster", section_cluster, 1},
    {"keyspace", section_keyspace, 1},
    {NULL, NULL, 0},
};

static info_section_fn replication_override;

void info_set_replication_section(info_section_fn fn) { replication_override = fn; }

/* `which` is NULL for the default set, else a lowercase list of names,
 * "all", "everything" or "default". */
static dstr generate(server *s, dstr *which, int n, dstr o) {
    int all = 0, everything = 0, deflt = n == 0;
    for (int i = 0; i < n; i++) {
        if (!strcasecmp(which[i], "all")) all = 1;
        if (!strcasecmp(which[i], "everything")) everything = 1;
        if (!strcasecmp(which[i], "default")) deflt = 1;
    }
    int first = 1;
    for (const info_section *sec = sections; sec->name; sec++) {
        int want = everything || (all && strcmp(sec->name, "modules") != 0) ||
                   (deflt && sec->in_default);
        for (int i = 0; i < n && !want; i++)
            if (!strcasecmp(which[i], sec->name)) want = 1;
        if (!want) continue;
        if (!first) o = dstr_cats(o, "\r\n");
        first = 0;
        if (!strcmp(sec->name, "replication") && replication_override)
            o = replication_override(s, o);
        else if (!strcmp(sec->name, "replication") && s->repl)
            o = repl_info(s, o);
        else
            o = sec->gen(s, o);
    }
    return o;
}

dstr info_generate(server *s, const char *section, dstr out) {
    if (!section) return generate(s, NULL, 0, out);
    dstr w = dstr_from(section);
    out = generate(s, &w, 1, out);
    dstr_free(w);
    return out;
}

void cmd_info(client *c) {
    dstr o = generate(c->srv, c->argv + 1, c->argc - 1, dstr_empty());
    reply_verbatim(c, o, dstr_len(o));
    dstr_free(o);
}
