#!/bin/sh
# A short, bounded fuzzing run for CI: builds the harness, seeds it with the
# Redis-written corpus, fuzzes for $FUZZ_SECONDS (default 60) and fails on
# any crash, sanitizer report or leak. Findings land in <outdir>/artifacts.
#   tests/fuzz/run.sh [outdir]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build-fuzz}
SECONDS_BUDGET=${FUZZ_SECONDS:-60}
CORPUS_SRC=${RM_RDB_CORPUS:-$ROOT/../shared/rdb-corpus}
BIN=$("$ROOT/tests/fuzz/build.sh" "$OUT" | tail -n 1)
SEEDS="$OUT/seeds"
mkdir -p "$SEEDS" "$OUT/artifacts"
# Seeds: each corpus file behind a control byte (whole file, and 7-byte chunks).
for f in "$CORPUS_SRC"/*.rdb; do
    [ -f "$f" ] || continue
    b=$(basename "$f" .rdb)
    { printf '\000'; cat "$f"; } > "$SEEDS/$b-whole"
    { printf '\016'; cat "$f"; } > "$SEEDS/$b-chunked"
done
exec "$BIN" -max_total_time="$SECONDS_BUDGET" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="$OUT/artifacts/" "$SEEDS"
