#!/bin/sh
# Build the RDB reader fuzzer with clang (libFuzzer + ASan + UBSan), outside
# CMake: every core/io/repl source but main.c, plus the harness.
#   tests/fuzz/build.sh [outdir]      -> <outdir>/fuzz_rdb_load (default build-fuzz)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build-fuzz}
mkdir -p "$OUT"
SRCS=$(ls "$ROOT"/core/*.c "$ROOT"/io/*.c "$ROOT"/repl/*.c 2>/dev/null | grep -v '/core/main\.c$')
# shellcheck disable=SC2086
clang -std=gnu11 -g -O1 -D_GNU_SOURCE -I"$ROOT" $(pkg-config --cflags liburing libcrypto) \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer -Wno-unused-command-line-argument \
    $SRCS "$ROOT/tests/fuzz/fuzz_rdb_load.c" \
    -o "$OUT/fuzz_rdb_load" \
    $(pkg-config --libs liburing libssl libcrypto) -lm -lpthread
echo "$OUT/fuzz_rdb_load"
