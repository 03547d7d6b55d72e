/* hist: see hist.h. The layout is HdrHistogram's: index = shift * half +
 * (value >> shift), where shift is how many low bits a value has beyond the
 * SUB_BITS that are kept. That keeps the buckets contiguous with no
 * table, and makes both directions a few shifts. */
#include "hist.h"

#include <string.h>

#define SUB_COUNT (1u << RMB_HIST_SUB_BITS)
#define HALF (SUB_COUNT >> 1)
#define MAX_VALUE ((UINT64_C(1) << RMB_HIST_MAX_BITS) - 1)

void rmb_hist_init(rmb_hist *h) {
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

int rmb_hist_index(uint64_t value) {
    if (value > MAX_VALUE) value = MAX_VALUE;
    if (value < SUB_COUNT) return (int)value;
    int bits = 64 - __builtin_clzll(value);
    int shift = bits - RMB_HIST_SUB_BITS;
    return (int)((uint64_t)shift * HALF + (value >> shift));
}

uint64_t rmb_hist_bucket_high(int index) {
    if (index < (int)SUB_COUNT) return (uint64_t)index;
    int shift = index / (int)HALF - 1;
    uint64_t sub = (uint64_t)index - (uint64_t)shift * HALF;
    return ((sub + 1) << shift) - 1;
}

void rmb_hist_record(rmb_hist *h, uint64_t value) {
    h->buckets[rmb_hist_index(value)]++;
    h->count++;
    h->sum += (double)value;
    if (value < h->min) h->min = value;
    if (value > h->max) h->max = value;
}

void rmb_hist_merge(rmb_hist *dst, const rmb_hist *src) {
    if (!src->count) return;
    for (int i = 0; i < RMB_HIST_BUCKETS; i++) dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
}

uint64_t rmb_hist_percentile(const rmb_hist *h, double p) {
    if (!h->count) return 0;
    if (p >= 100.0) return h->max;
    /* The rank of the value asked for, 1-based, rounded up as HdrHistogram does. */
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->count + 0.999999);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < RMB_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t v = rmb_hist_bucket_high(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

double rmb_hist_mean(const rmb_hist *h) {
    return h->count ? h->sum / (double)h->count : 0.0;
}
