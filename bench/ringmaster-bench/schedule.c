/* schedule: see schedule.h. Intended times are computed from the start each
 * time (start + k * period), never by adding periods, so rounding does not
 * drift the rate over a long run. */
#include "schedule.h"

#include <math.h>

void rmb_sched_init(rmb_sched *s, uint64_t start_ns, double rate, double seconds, int threads,
                    int index) {
    double overall = 1e9 / rate;
    s->period_ns = overall * threads;
    s->start_ns = start_ns + (uint64_t)(overall * index);
    s->issued = 0;
    /* The thread's share of rate * seconds; the first `extra` threads
     * take one more so the shares add up to the total exactly. */
    uint64_t total = (uint64_t)llround(rate * seconds);
    s->limit = total / (uint64_t)threads + ((uint64_t)index < total % (uint64_t)threads);
}

static uint64_t intended(const rmb_sched *s, uint64_t k) {
    return s->start_ns + (uint64_t)((double)k * s->period_ns);
}

uint64_t rmb_sched_due(const rmb_sched *s, uint64_t now_ns) {
    if (now_ns < s->start_ns) return 0;
    uint64_t upto = (uint64_t)((double)(now_ns - s->start_ns) / s->period_ns) + 1;
    /* The division may round either way at a boundary: trust intended(). */
    while (upto > 0 && intended(s, upto - 1) > now_ns) upto--;
    if (upto > s->limit) upto = s->limit;
    return upto > s->issued ? upto - s->issued : 0;
}

uint64_t rmb_sched_take(rmb_sched *s) {
    return intended(s, s->issued++);
}

uint64_t rmb_sched_next(const rmb_sched *s) {
    return rmb_sched_done(s) ? UINT64_MAX : intended(s, s->issued);
}

int rmb_sched_done(const rmb_sched *s) {
    return s->issued >= s->limit;
}
