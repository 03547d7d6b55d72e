/* hist: an HDR-style histogram of non-negative integers (nanoseconds,
 * bytes). Values below 256 are counted exactly; above, each power of two
 * is split into 128 equal buckets, so a reported percentile is within
 * 1/128 (under 0.8%) of the true value, whatever its magnitude, in a fixed
 * 40 KB array that never allocates while recording. */
#ifndef RMB_HIST_H
#define RMB_HIST_H

#include <stdint.h>

#define RMB_HIST_SUB_BITS 8 /* 2^8 exact values, then 2^7 buckets per power of two */
#define RMB_HIST_MAX_BITS 42 /* values up to 2^42 (73 minutes in ns); larger are clamped */
#define RMB_HIST_BUCKETS ((RMB_HIST_MAX_BITS - RMB_HIST_SUB_BITS + 2) << (RMB_HIST_SUB_BITS - 1))

typedef struct rmb_hist {
    uint64_t count;
    uint64_t min, max;
    double sum;
    uint64_t buckets[RMB_HIST_BUCKETS];
} rmb_hist;

void rmb_hist_init(rmb_hist *h);
void rmb_hist_record(rmb_hist *h, uint64_t value);
/* Add every value of src to dst. */
void rmb_hist_merge(rmb_hist *dst, const rmb_hist *src);
/* The value at percentile p (0..100): the highest value equivalent to the
 * bucket holding it, never above the largest value recorded; 0 when empty. */
uint64_t rmb_hist_percentile(const rmb_hist *h, double p);
double rmb_hist_mean(const rmb_hist *h);

/* Bucket arithmetic, exposed for the unit test. */
int rmb_hist_index(uint64_t value);
uint64_t rmb_hist_bucket_high(int index);

#endif
