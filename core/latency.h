/* latency: Redis 7.0's latency monitor (LATENCY LATEST, HISTORY, RESET,
 * GRAPH, DOCTOR) and per-command latency tracking (LATENCY HISTOGRAM,
 * INFO latencystats).
 *
 * The monitor: an event (a named kind of operation: "command",
 * "fast-command", "expire-cycle", "expire-del", "fork") that took at least
 * latency-monitor-threshold milliseconds is recorded in that event's time
 * series, one sample per second (the worst of that second) in a ring of
 * the last 160 seconds that had one, with the worst ever seen.
 *
 * Tracking: with latency-tracking on, every command's duration goes into
 * a histogram of that command that buckets like the HdrHistogram Redis
 * uses (nanoseconds from 1 to 10^9, two significant digits: exact below
 * 256 ns, then 128 sub-buckets per power of two), so that HISTOGRAM's
 * bucket bounds and INFO's percentiles are the numbers Redis prints for
 * the same durations. CONFIG RESETSTAT drops the histograms. */
#ifndef RM_LATENCY_H
#define RM_LATENCY_H

#include "core/server.h"

void latency_init(server *s);
void latency_free(server *s);
/* Record `ms` for `event` if it reaches latency-monitor-threshold. */
void latency_add_sample_if_needed(server *s, const char *event, long long ms);
/* Record a call of cmd that took duration_us (latency-tracking). */
void latency_track_command(server *s, command *cmd, long long duration_us);
/* Drop cmd's histogram (CONFIG RESETSTAT). */
void latency_reset_command(command *cmd);
/* INFO latencystats: one line per command that has a histogram. */
dstr latency_info_section(server *s, dstr out);

void cmd_latency_latest(client *c);
void cmd_latency_history(client *c);
void cmd_latency_reset(client *c);
void cmd_latency_graph(client *c);
void cmd_latency_doctor(client *c);
void cmd_latency_histogram(client *c);
void cmd_latency_help(client *c);

#endif
