#!/bin/sh
# A short, bounded fuzzing run for CI: builds the harnesses, seeds each one
# and fuzzes it, failing on any crash, sanitizer report or leak. Findings
# land in <outdir>/artifacts/<harness>-*.
#   tests/fuzz/run.sh [outdir] [harness...]    (default: all of them)
# FUZZ_SECONDS (default 60) is the budget for the whole run. With several
# harnesses, rdb_load (the largest input surface) gets half of it and the
# others share the rest equally (at least 1 s each); a single harness gets
# all of it. Seeds: rdb_load takes the Redis-written RDB files of
# $RM_RDB_CORPUS (default ../shared/rdb-corpus) and of
# tests/fuzz/corpus/rdb_load/ (made by its make.sh), each behind a control byte;
# every other harness takes tests/fuzz/corpus/<harness>/, copied to a
# working corpus under <outdir> so that the committed seeds stay as they are.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build-fuzz}
[ $# -gt 0 ] && shift
NAMES=${*:-$(cd "$ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}
BUDGET=${FUZZ_SECONDS:-60}
CORPUS_SRC=${RM_RDB_CORPUS:-$ROOT/../shared/rdb-corpus}
mkdir -p "$OUT/artifacts"
# shellcheck disable=SC2086
"$ROOT/tests/fuzz/build.sh" "$OUT" $NAMES > "$OUT/build.log" 2>&1 || {
    cat "$OUT/build.log"
    exit 1
}

count=0
has_rdb=0
for n in $NAMES; do
    count=$((count + 1))
    [ "$n" = rdb_load ] && has_rdb=1
done
if [ "$count" -eq 1 ]; then
    rdb_secs=$BUDGET
    each=$BUDGET
elif [ "$has_rdb" -eq 1 ]; then
    rdb_secs=$((BUDGET / 2))
    each=$(((BUDGET - rdb_secs) / (count - 1)))
else
    rdb_secs=0
    each=$((BUDGET / count))
fi
[ "$each" -ge 1 ] || each=1

failed=""
for n in $NAMES; do
    SEEDS="$OUT/seeds-$n"
    mkdir -p "$SEEDS"
    if [ "$n" = rdb_load ]; then
        secs=$rdb_secs
        maxlen=65536
        # Each corpus file behind a control byte (whole file, and 7-byte chunks).
        for f in "$CORPUS_SRC"/*.rdb "$ROOT"/tests/fuzz/corpus/rdb_load/*.rdb; do
            [ -f "$f" ] || continue
            b=$(basename "$f" .rdb)
            { printf '\000'; cat "$f"; } > "$SEEDS/$b-whole"
            { printf '\016'; cat "$f"; } > "$SEEDS/$b-chunked"
        done
    else
        secs=$each
        maxlen=8192
        [ -d "$ROOT/tests/fuzz/corpus/$n" ] && cp "$ROOT/tests/fuzz/corpus/$n"/* "$SEEDS/"
    fi
    echo "fuzz_$n: ${secs}s"
    if "$OUT/fuzz_$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$maxlen" -artifact_prefix="$OUT/artifacts/$n-" "$SEEDS" \
        > "$OUT/fuzz_$n.log" 2>&1; then
        tail -n 1 "$OUT/fuzz_$n.log"
    else
        tail -n 40 "$OUT/fuzz_$n.log"
        echo "fuzz_$n: FAILED (see $OUT/fuzz_$n.log and $OUT/artifacts/)"
        failed="$failed $n"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzzers that found a problem:$failed" >&2
    exit 1
fi
echo "all fuzzers passed"
