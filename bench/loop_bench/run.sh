#!/usr/bin/env bash
# loop_bench/run.sh: epoll vs io_uring for a Ringmaster-shaped client loop.
#
# Builds epoll_pong and uring_pong (gcc -O2), then for each pipeline depth
# runs `redis-benchmark -t ping_mbulk -n $N -c $C -P $P` against the
# servers, alternating them (the order rotates every round), $ROUNDS rounds
# each. For every run it records the requests/s redis-benchmark reports and
# the server's CPU time (utime+stime from /proc/<pid>/stat, all threads,
# clock ticks) spent during the run. Prints medians and uring/epoll ratios.
#
# Environment knobs (defaults in brackets):
#   N [1000000]  C [50]  PIPELINES ["1 16"]  ROUNDS [3]  PORT [7790]
#   SERVERS ["epoll uring"]   add "uring_defer" for a DEFER_TASKRUN variant
#   BUILD_DIR [/tmp/loop_bench.$USER]   binaries and the raw per-run log
#   RUN_TIMEOUT [120]   seconds allowed for one redis-benchmark run
#   WAIT_FILE []        if set, wait (poll 20 s) for this file before measuring,
#   WAIT_MAX [900]      giving up after WAIT_MAX seconds and measuring anyway
#   QUIET_MAX [60] QUIET_PCT [10]  before each run wait up to QUIET_MAX s for a
#                       2 s window with the machine < QUIET_PCT % busy
# The raw log also has bg_cpu_s: CPU used during a run by anything other
# than the server and the client; a large value means a contaminated run.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
N="${N:-1000000}"
C="${C:-50}"
PIPELINES="${PIPELINES:-1 16}"
ROUNDS="${ROUNDS:-3}"
PORT="${PORT:-7790}"
SERVERS="${SERVERS:-epoll uring}"
BUILD_DIR="${BUILD_DIR:-/tmp/loop_bench.${USER:-$(id -u)}}"
RUN_TIMEOUT="${RUN_TIMEOUT:-120}"
WAIT_FILE="${WAIT_FILE:-}"
WAIT_MAX="${WAIT_MAX:-900}"
QUIET_MAX="${QUIET_MAX:-60}"
QUIET_PCT="${QUIET_PCT:-10}"
HZ="$(getconf CLK_TCK)"

mkdir -p "$BUILD_DIR"
RAW="$BUILD_DIR/raw.tsv"

echo "== build ($BUILD_DIR)"
gcc -O2 -Wall -o "$BUILD_DIR/epoll_pong" "$HERE/epoll_pong.c"
gcc -O2 -Wall $(pkg-config --cflags liburing) -o "$BUILD_DIR/uring_pong" "$HERE/uring_pong.c" \
    $(pkg-config --libs liburing)

SRV_PID=""   # the timeout(1) wrapper
SRV_CHILD="" # the server itself
cleanup() {
    local p
    for p in $SRV_CHILD $SRV_PID; do
        kill -TERM "$p" 2>/dev/null || true
    done
    if [[ -n "$SRV_PID" ]]; then
        for _ in $(seq 20); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
        for p in $SRV_CHILD $SRV_PID; do kill -KILL "$p" 2>/dev/null || true; done
        wait "$SRV_PID" 2>/dev/null || true
    fi
    SRV_PID=""
    SRV_CHILD=""
}
trap cleanup EXIT INT TERM

server_cmd() {
    case "$1" in
    epoll) echo "$BUILD_DIR/epoll_pong $PORT" ;;
    uring) echo "$BUILD_DIR/uring_pong $PORT" ;;
    uring_defer) echo "$BUILD_DIR/uring_pong -d $PORT" ;;
    *) echo "unknown server $1" >&2; exit 2 ;;
    esac
}

cpu_ticks() { # utime+stime of the whole process (fields 14, 15 after the comm)
    local s
    s="$(cat "/proc/$1/stat")"
    s="${s##*) }" # drop "pid (comm) "; fields now start at 3 (state)
    set -- $s
    echo $(( ${12} + ${13} ))
}

sched_ns() { # cross-check: on-CPU ns of the live threads (/proc/<pid>/task/*/schedstat)
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'
}

busy_ticks() { # machine-wide non-idle ticks (user nice system irq softirq steal)
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# Wait (at most QUIET_MAX s) for a 2 s window in which the machine is < QUIET_PCT % busy,
# so a run does not start on top of somebody else's burst.
wait_quiet() {
    local waited=0 a b
    while (( waited < QUIET_MAX )); do
        a="$(busy_ticks)"; sleep 2; b="$(busy_ticks)"; waited=$((waited + 2))
        (( (b - a) * 100 < QUIET_PCT * 2 * HZ * $(nproc) )) && return 0
    done
    echo "(machine not quiet after ${QUIET_MAX}s, running anyway)" >&2
}

# one_run SERVER PIPELINE -> sets RUN_RPS and RUN_CPU (server CPU seconds),
# RUN_BG (CPU seconds used during the run by anything but server and client)
one_run() {
    local name="$1" p="$2" t0 t1 n0 n1 b0 b1 w0 w1 out cli
    # a hard upper bound on the server too, in case cleanup never runs
    timeout $((RUN_TIMEOUT + 30)) $(server_cmd "$name") 2>>"$BUILD_DIR/server.log" &
    SRV_PID=$!
    for _ in $(seq 50); do
        redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    SRV_CHILD="$(pgrep -P "$SRV_PID" | head -1 || true)"
    if [[ -z "$SRV_CHILD" ]]; then
        echo "server $name did not start" >&2
        cleanup
        RUN_RPS=NaN RUN_CPU=NaN RUN_SCHED=NaN RUN_THREADS=0 RUN_WALL=NaN RUN_CLI=NaN RUN_BG=NaN
        return
    fi
    wait_quiet
    w0="$(date +%s.%N)"; b0="$(busy_ticks)"
    t0="$(cpu_ticks "$SRV_CHILD")"; n0="$(sched_ns "$SRV_CHILD")"
    # bash's `time` gives the client's user+sys CPU (redis-benchmark via timeout)
    { TIMEFORMAT='%U %S'; time timeout "$RUN_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$PORT" \
        -t ping_mbulk -n "$N" -c "$C" -P "$p" --csv >"$BUILD_DIR/bench.csv" 2>/dev/null || true; } \
        2>"$BUILD_DIR/client_time.txt"
    t1="$(cpu_ticks "$SRV_CHILD")"; n1="$(sched_ns "$SRV_CHILD")"
    b1="$(busy_ticks)"; w1="$(date +%s.%N)"
    out="$(cat "$BUILD_DIR/bench.csv")"
    cli="$(awk '{ print $1 + $2; exit }' "$BUILD_DIR/client_time.txt")"
    RUN_THREADS="$(ls /proc/"$SRV_CHILD"/task | wc -l)"
    cleanup
    RUN_RPS="$(printf '%s\n' "$out" | awk -F'"' '/^"PING_MBULK"/ {print $4}')"
    [[ -n "$RUN_RPS" ]] || RUN_RPS="NaN"
    RUN_CPU="$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" 'BEGIN { printf "%.3f", (b - a) / hz }')"
    RUN_SCHED="$(awk -v a="$n0" -v b="$n1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
    RUN_WALL="$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.2f", b - a }')"
    RUN_CLI="$cli"
    RUN_BG="$(awk -v a="$b0" -v b="$b1" -v hz="$HZ" -v s="$RUN_CPU" -v c="$cli" \
        'BEGIN { v = (b - a) / hz - s - c; printf "%.2f", (v < 0 ? 0 : v) }')"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {
    if (NR == 0) { print "NaN"; exit }
    if (NR % 2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2] + v[NR/2+1]) / 2 }'; }

if [[ -n "$WAIT_FILE" ]]; then
    waited=0
    while [[ ! -e "$WAIT_FILE" && $waited -lt $WAIT_MAX ]]; do
        echo "waiting for $WAIT_FILE ($waited s)"
        sleep 20
        waited=$((waited + 20))
    done
    [[ -e "$WAIT_FILE" ]] && echo "$WAIT_FILE present, measuring" ||
        echo "gave up waiting for $WAIT_FILE after $waited s, measuring anyway"
fi

echo "== $(uname -r), $(nproc) CPUs, $(redis-benchmark --version), liburing $(pkg-config --modversion liburing)"
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'pipeline\tround\tserver\trps\tcpu_s\tcpu_s_per_Mreq\tschedstat_s\tthreads\twall_s\tclient_cpu_s\tbg_cpu_s\n' >"$RAW"
: >"$BUILD_DIR/server.log"

declare -A RPS CPU
read -r -a SRV <<<"$SERVERS"
for p in $PIPELINES; do
    for r in $(seq "$ROUNDS"); do
        # rotate the order each round so drift does not favour one loop
        k=$(( (r - 1) % ${#SRV[@]} ))
        order=("${SRV[@]:k}" "${SRV[@]:0:k}")
        for s in "${order[@]}"; do
            one_run "$s" "$p"
            rps="$RUN_RPS" cpu="$RUN_CPU"
            per="$(awk -v c="$cpu" -v n="$N" 'BEGIN { printf "%.3f", c * 1e6 / n }')"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$r" "$s" "$rps" "$cpu" \
                "$per" "$RUN_SCHED" "$RUN_THREADS" "$RUN_WALL" "$RUN_CLI" "$RUN_BG" | tee -a "$RAW"
            RPS[$p,$s]+="$rps "
            CPU[$p,$s]+="$per "
        done
    done
done

echo
echo "== medians of $ROUNDS rounds: redis-benchmark -t ping_mbulk -n $N -c $C (server CPU = utime+stime)"
for s in "${SRV[@]:1}"; do
    printf '%-4s | %12s | %17s | %6s | %14s | %19s | %6s\n' "-P" "epoll req/s" "$s req/s" "ratio" \
        "epoll CPUs/M" "$s CPUs/M" "ratio"
    for p in $PIPELINES; do
        er="$(median <<<"${RPS[$p,epoll]}")"; ur="$(median <<<"${RPS[$p,$s]}")"
        ec="$(median <<<"${CPU[$p,epoll]}")"; uc="$(median <<<"${CPU[$p,$s]}")"
        awk -v p="$p" -v er="$er" -v ur="$ur" -v ec="$ec" -v uc="$uc" 'BEGIN {
            printf "%-4s | %12.0f | %17.0f | %6.3f | %14.3f | %19.3f | %6.3f\n",
                   p, er, ur, (er > 0 ? ur / er : 0), ec, uc, (ec > 0 ? uc / ec : 0) }'
    done
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg); raw runs in $RAW"
