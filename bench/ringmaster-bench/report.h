/* report: the lag samples of a run and the files made from them,
 * samples.csv and lag.svg. Pure writers on a FILE, so the unit test
 * checks them without a server. */
#ifndef RMB_REPORT_H
#define RMB_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One row per 100 ms sample; per replica a lag in bytes and in ms, each
 * possibly unknown (the replica did not answer, or no probe yet). */
typedef struct rmb_samples {
    int nrep;
    char **names; /* "host:port" of each replica */
    size_t n, cap;
    double *t;      /* seconds since the start of the run */
    int64_t *bytes; /* n * nrep; RMB_UNKNOWN_BYTES when unknown */
    double *ms;     /* n * nrep; negative when unknown */
} rmb_samples;

#define RMB_UNKNOWN_BYTES INT64_MIN

void rmb_samples_init(rmb_samples *s, int nrep, const char *const *names);
void rmb_samples_free(rmb_samples *s);
/* Append a sample; bytes and ms hold nrep values each. */
void rmb_samples_add(rmb_samples *s, double t, const int64_t *bytes, const double *ms);

/* samples.csv: a header "time_s,<name>_lag_bytes,<name>_lag_ms,...", then
 * one row per sample, an unknown value as an empty field. */
int rmb_csv_write(FILE *f, const rmb_samples *s);

/* lag.svg: lag over time, one line per replica, in two charts (ms on top,
 * bytes below), with axes, ticks, units, a title and a legend. */
int rmb_svg_write(FILE *f, const rmb_samples *s, const char *title);

/* A tick step of 1, 2 or 5 times a power of ten giving at most `ticks`
 * steps over `range` (> 0). */
double rmb_nice_step(double range, int ticks);

/* Human-readable bytes into buf ("512 B", "1.5 KB", "3.0 MB"). */
const char *rmb_fmt_bytes(char *buf, size_t len, double bytes);

#endif
