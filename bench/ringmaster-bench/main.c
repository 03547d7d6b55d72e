/* ringmaster-bench: replication lag under load, against any server that
 * speaks RESP and Redis replication (Ringmaster, Redis, ...).
 *
 * The main thread connects everything (so an unreachable server fails
 * the run before it starts), then every 100 ms asks the INFO monitors for
 * fresh offsets and records one sample per replica, prints a progress line
 * every second, and at the end writes samples.csv, lag.svg and
 * summary.json and prints the summary table. See run.h for the threads. */
#include "report.h"
#include "run.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAMPLE_NS 100000000ull
#define EXIT_MASTER 2
#define EXIT_REPLICA 3

static double ms_of(uint64_t ns) { return (double)ns / 1e6; }

/* One sample of every replica's lag (under run->lock). */
static void sample(rmb_run *run, rmb_samples *s) {
    int64_t bytes[RMB_MAX_REPLICAS];
    double ms[RMB_MAX_REPLICAS];
    uint64_t now = rmb_now_ns();
    for (int i = 0; i < run->nrep; i++) {
        rmb_node *r = &run->replicas[i];
        bytes[i] = RMB_UNKNOWN_BYTES;
        if (run->master.known && r->known && !r->down) {
            long long d = run->master.offset - r->offset;
            bytes[i] = d > 0 ? d : 0;
            rmb_hist_record(&r->lag_bytes, (uint64_t)bytes[i]);
        }
        /* Behind by at least the age of the oldest probe it has not
         * delivered; else as late as its last delivery was. */
        if (r->down || r->probe_lost) ms[i] = -1;
        else if (r->pending_since) ms[i] = ms_of(now - r->pending_since);
        else ms[i] = r->last_delivery_ms;
    }
    rmb_samples_add(s, (double)(now - run->start_ns) / 1e9, bytes, ms);
}

static void progress(rmb_run *run, const rmb_samples *s, double rate) {
    char line[2048], b[32];
    int n = snprintf(line, sizeof(line), "%6.1fs %8.0f ops/s  p99 %.3f ms", rmb_run_seconds(run),
                     rate, ms_of(rmb_hist_percentile(&run->latency_ns, 99)));
    for (int i = 0; i < run->nrep && s->n && n < (int)sizeof(line) - 100; i++) {
        const rmb_node *r = &run->replicas[i];
        int64_t by = s->bytes[(s->n - 1) * (size_t)s->nrep + (size_t)i];
        double ms = s->ms[(s->n - 1) * (size_t)s->nrep + (size_t)i];
        if (r->down) n += snprintf(line + n, sizeof(line) - (size_t)n, " | %s DOWN", r->addr.name);
        else
            n += snprintf(line + n, sizeof(line) - (size_t)n, " | %s lag %s %.2f ms", r->addr.name,
                          by == RMB_UNKNOWN_BYTES ? "?" : rmb_fmt_bytes(b, sizeof(b), (double)by),
                          ms < 0 ? NAN : ms);
    }
    fprintf(stderr, "%s\n", line);
}

static void report_down(rmb_run *run) {
    for (int i = 0; i < run->nrep; i++) {
        rmb_node *r = &run->replicas[i];
        if (r->down && !r->down_reported) {
            fprintf(stderr, "ringmaster-bench: replica %s unreachable at %.1fs: %s\n", r->addr.name,
                    r->down_at, r->err);
            r->down_reported = 1;
        }
    }
}

static int keep_sampling(const rmb_run *run) {
    if (run->fatal) return 0;
    if (rmb_run_seconds(run) < run->o->duration) return 1;
    return run->fs.asked && !run->fs.done;
}

static void sample_loop(rmb_run *run, rmb_samples *s) {
    uint64_t next = run->start_ns + SAMPLE_NS, last_print = run->start_ns;
    unsigned long long last_ops = 0;
    while (keep_sampling(run)) {
        uint64_t now = rmb_now_ns();
        if (next > now) usleep((useconds_t)((next - now) / 1000));
        next += SAMPLE_NS;
        rmb_monitors_tick(run);
        pthread_mutex_lock(&run->lock);
        sample(run, s);
        report_down(run);
        now = rmb_now_ns();
        if (now - last_print >= 1000000000ull) {
            unsigned long long ops = run->ops_done;
            if (!run->o->quiet) progress(run, s, (double)(ops - last_ops) * 1e9 / (double)(now - last_print));
            last_ops = ops;
            last_print = now;
        }
        pthread_mutex_unlock(&run->lock);
    }
}

/* ---- the report ----------------------------------------------------------- */

static FILE *out_file(const rmb_opts *o, const char *name) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", o->out, name);
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "ringmaster-bench: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

static void write_files(const rmb_run *run, const rmb_samples *s) {
    char title[512];
    const rmb_opts *o = run->o;
    if (o->rate > 0)
        snprintf(title, sizeof(title), "Replication lag: master %s, %.0f ops/s open loop, %s, %d B values",
                 run->master.addr.name, o->rate, o->mixed ? "mixed GET/SET" : "SET", o->value_size);
    else
        snprintf(title, sizeof(title), "Replication lag: master %s, closed loop (%d clients, pipeline %d), %s",
                 run->master.addr.name, o->clients, o->pipeline, o->mixed ? "mixed GET/SET" : "SET");
    FILE *f = out_file(o, "samples.csv");
    if (f) rmb_csv_write(f, s), fclose(f);
    if ((f = out_file(o, "lag.svg"))) rmb_svg_write(f, s, title), fclose(f);
}

static double throughput(const rmb_run *run) {
    double secs = (double)(run->load_last_ns - run->start_ns) / 1e9;
    return secs > 0 ? (double)run->ops_done / secs : 0;
}

static void print_summary(FILE *f, const rmb_run *run) {
    const rmb_opts *o = run->o;
    const rmb_hist *h = &run->latency_ns;
    fprintf(f, "\nmaster %s, %s, %.1f s, %d clients, %d thread(s), workload %s, %d B values\n",
            run->master.addr.name, o->rate > 0 ? "open loop" : "closed loop", o->duration,
            o->clients, o->threads, o->mixed ? "mixed" : "set", o->value_size);
    if (o->rate > 0) fprintf(f, "asked rate        %.0f ops/s\n", o->rate);
    fprintf(f, "throughput        %.0f ops/s (%llu ops, %llu errors)\n", throughput(run),
            (unsigned long long)run->ops_done, (unsigned long long)run->ops_errors);
    fprintf(f, "latency (ms)      p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f%s\n",
            ms_of(rmb_hist_percentile(h, 50)), ms_of(rmb_hist_percentile(h, 99)),
            ms_of(rmb_hist_percentile(h, 99.9)), ms_of(h->max),
            o->rate > 0 ? "  (from the intended send time)" : "");
    fprintf(f, "probe             %llu PUBLISH every %d ms, %llu bytes (%.1f KB/s of stream)\n",
            (unsigned long long)run->probes_sent, o->probe_ms, (unsigned long long)run->probe_bytes,
            (double)run->probe_bytes / 1024.0 / fmax(o->duration, 0.1));
    fprintf(f, "\n%-24s %10s %10s %10s %9s %9s %9s  %s\n", "replica", "bytes p50", "bytes p99",
            "bytes max", "ms p50", "ms p99", "ms max", "status");
    for (int i = 0; i < run->nrep; i++) {
        const rmb_node *r = &run->replicas[i];
        char st[260];
        if (r->ever_down) snprintf(st, sizeof(st), "UNREACHABLE at %.1fs: %s", r->down_at, r->err);
        else snprintf(st, sizeof(st), "ok, %llu probes", (unsigned long long)r->lag_ns.count);
        fprintf(f, "%-24s %10llu %10llu %10llu %9.2f %9.2f %9.2f  %s\n", r->addr.name,
                (unsigned long long)rmb_hist_percentile(&r->lag_bytes, 50),
                (unsigned long long)rmb_hist_percentile(&r->lag_bytes, 99),
                (unsigned long long)r->lag_bytes.max, ms_of(rmb_hist_percentile(&r->lag_ns, 50)),
                ms_of(rmb_hist_percentile(&r->lag_ns, 99)), ms_of(r->lag_ns.max), st);
    }
    const rmb_fullsync *fs = &run->fs;
    if (!fs->asked) return;
    if (!fs->ok) {
        fprintf(f, "\nfull sync of %s: FAILED: %s\n", run->replicas[0].addr.name, fs->err);
        return;
    }
    fprintf(f, "\nfull sync of %s (%s): link up after %.3f s; master peak memory %s",
            run->replicas[0].addr.name, fs->happened ? "full resync" : "NO full resync seen",
            fs->seconds, fs->peak_kb < 0 ? "n/a (master not on this machine)" : "");
    if (fs->peak_kb >= 0)
        fprintf(f, "%.1f MB (RSS before %.1f MB)", fs->peak_kb / 1024.0, fs->rss_before_kb / 1024.0);
    fprintf(f, "; stream during the sync %lld bytes, peak replica output buffer %lld bytes\n",
            fs->stream_bytes, fs->peak_omem);
}

static void json_hist(FILE *f, const char *name, const rmb_hist *h, double scale) {
    fprintf(f, "\"%s\": {\"p50\": %.6g, \"p99\": %.6g, \"p999\": %.6g, \"max\": %.6g, \"count\": %llu}",
            name, (double)rmb_hist_percentile(h, 50) / scale, (double)rmb_hist_percentile(h, 99) / scale,
            (double)rmb_hist_percentile(h, 99.9) / scale, (double)h->max / scale,
            (unsigned long long)h->count);
}

/* summary.json: the summary for scripts (bench/lag_compare.py, the tests). */
static void write_json(const rmb_run *run, int status) {
    FILE *f = out_file(run->o, "summary.json");
    if (!f) return;
    fprintf(f, "{\"master\": \"%s\", \"rate\": %.0f, \"duration\": %.3f, \"exit_status\": %d,\n",
            run->master.addr.name, run->o->rate, run->o->duration, status);
    fprintf(f, " \"throughput\": %.1f, \"ops\": %llu, \"errors\": %llu, ", throughput(run),
            (unsigned long long)run->ops_done, (unsigned long long)run->ops_errors);
    json_hist(f, "latency_ms", &run->latency_ns, 1e6);
    fprintf(f, ",\n \"probes\": %llu, \"probe_bytes\": %llu, \"samples\": %zu,\n \"replicas\": [",
            (unsigned long long)run->probes_sent, (unsigned long long)run->probe_bytes,
            (size_t)run->replicas[0].lag_bytes.count);
    for (int i = 0; i < run->nrep; i++) {
        const rmb_node *r = &run->replicas[i];
        fprintf(f, "%s\n  {\"name\": \"%s\", \"unreachable\": %s, ", i ? "," : "", r->addr.name,
                r->ever_down ? "true" : "false");
        json_hist(f, "lag_bytes", &r->lag_bytes, 1);
        fputs(", ", f);
        json_hist(f, "lag_ms", &r->lag_ns, 1e6);
        fputc('}', f);
    }
    const rmb_fullsync *fs = &run->fs;
    fprintf(f, "],\n \"full_sync\": ");
    if (fs->asked)
        fprintf(f, "{\"ok\": %s, \"full\": %s, \"seconds\": %.3f, \"peak_kb\": %lld, "
                   "\"rss_before_kb\": %lld, \"stream_bytes\": %lld, \"peak_omem\": %lld}",
                fs->ok ? "true" : "false", fs->happened ? "true" : "false", fs->seconds, fs->peak_kb,
                fs->rss_before_kb, fs->stream_bytes, fs->peak_omem);
    else
        fputs("null", f);
    fputs("}\n", f);
    fclose(f);
}

/* ---- setup ---------------------------------------------------------------- */

static rmb_run run;

/* mkdir -p: --out may name a folder several levels down. */
static int make_dirs(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) < 0 && errno != EEXIST ? -1 : 0;
}

static int prepare(rmb_opts *o) {
    pthread_mutex_init(&run.lock, NULL);
    pthread_cond_init(&run.tick, NULL);
    pthread_cond_init(&run.answered, NULL);
    run.o = o;
    run.start_ns = rmb_now_ns();
    run.master.addr = o->master;
    run.master.is_master = 1;
    run.nrep = o->nrep;
    rmb_hist_init(&run.latency_ns);
    for (int i = 0; i < o->nrep; i++) {
        run.replicas[i].addr = o->replicas[i];
        rmb_hist_init(&run.replicas[i].lag_ns);
        rmb_hist_init(&run.replicas[i].lag_bytes);
    }
    if (make_dirs(o->out) < 0) {
        fprintf(stderr, "ringmaster-bench: cannot create %s: %s\n", o->out, strerror(errno));
        return 1;
    }
    char err[200];
    int which;
    if (rmb_probe_start(&run, &which, err, sizeof(err)) < 0) {
        const rmb_addr *a = which < 0 ? &o->master : &o->replicas[which];
        fprintf(stderr, "ringmaster-bench: cannot reach %s %s: %s\n",
                which < 0 ? "master" : "replica", a->name, err);
        return which < 0 ? EXIT_MASTER : EXIT_REPLICA;
    }
    return 0;
}

static int finish(rmb_samples *s) {
    rmb_load_join(&run);
    rmb_monitors_join(&run); /* sets stop for every other thread too */
    rmb_probe_join(&run);
    rmb_fullsync_join(&run);
    int status = 0;
    if (run.fatal) {
        fprintf(stderr, "ringmaster-bench: %s\n", run.fatal_msg);
        status = EXIT_MASTER;
    }
    for (int i = 0; i < run.nrep && !status; i++)
        if (run.replicas[i].ever_down) status = EXIT_REPLICA;
    write_files(&run, s);
    write_json(&run, status);
    print_summary(stdout, &run);
    return status;
}

int main(int argc, char **argv) {
    rmb_opts o;
    char err[512];
    int rc = rmb_parse_opts(&o, argc, argv, err, sizeof(err));
    if (rc) {
        if (rc < 0) fprintf(stderr, "ringmaster-bench: %s\n(--help for usage)\n", err);
        return rc < 0 ? 1 : 0;
    }
    signal(SIGPIPE, SIG_IGN);
    if (o.tls && !(run.tls = rmb_tls_context(&o, err, sizeof(err)))) {
        fprintf(stderr, "ringmaster-bench: %s\n", err);
        return 1;
    }
    if ((rc = prepare(&o))) {
        rmb_probe_join(&run);
        SSL_CTX_free(run.tls);
        return rc;
    }
    const char *names[RMB_MAX_REPLICAS];
    for (int i = 0; i < o.nrep; i++) names[i] = o.replicas[i].name;
    rmb_samples s;
    rmb_samples_init(&s, o.nrep, names);
    rmb_monitors_start(&run);
    run.start_ns = rmb_now_ns();
    run.load_end_ns = run.start_ns + (uint64_t)(o.duration * 1e9);
    if (rmb_load_start(&run) == 0) {
        if (o.full_sync) rmb_fullsync_start(&run);
        sample_loop(&run, &s);
    }
    rc = finish(&s);
    rmb_samples_free(&s);
    SSL_CTX_free(run.tls);
    return rc;
}
