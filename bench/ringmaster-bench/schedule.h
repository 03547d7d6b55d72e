/* schedule: the open-loop schedule. Operation k of a schedule is due at
 * start + k * period whatever happened before it: a sender that fell
 * behind (the server stalled, the thread was descheduled) sends what is
 * due at once, and each operation's latency is counted from its intended
 * time, so a stall shows in the latencies instead of silently lowering
 * the offered load (coordinated omission). */
#ifndef RMB_SCHED_H
#define RMB_SCHED_H

#include <stdint.h>

typedef struct rmb_sched {
    uint64_t start_ns;
    double period_ns;
    uint64_t issued; /* operations handed out so far */
    uint64_t limit;  /* operations in the whole run */
} rmb_sched;

/* A schedule of `rate` operations per second for `seconds`, for one of
 * `threads` senders (thread `index`): each gets rate/threads, and their
 * starts are staggered by one overall period so that the union is evenly
 * spaced at the full rate. */
void rmb_sched_init(rmb_sched *s, uint64_t start_ns, double rate, double seconds, int threads,
                    int index);
/* How many operations are due at `now_ns` and not yet issued. */
uint64_t rmb_sched_due(const rmb_sched *s, uint64_t now_ns);
/* Hand out the next operation: its intended send time. */
uint64_t rmb_sched_take(rmb_sched *s);
/* When the next operation is due (UINT64_MAX once the schedule is done). */
uint64_t rmb_sched_next(const rmb_sched *s);
int rmb_sched_done(const rmb_sched *s);

#endif
