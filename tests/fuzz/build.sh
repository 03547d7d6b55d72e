#!/bin/sh
# Build the libFuzzer harnesses with clang (libFuzzer + ASan + UBSan), outside
# CMake. Every core/io/repl source but main.c is compiled once, with coverage
# instrumentation, into a static library that each harness links against:
# a harness that defines a source's symbols itself (fuzz_replica_stream
# includes repl/replica.c) keeps the library's copy out of its link.
#   tests/fuzz/build.sh [outdir] [harness...]  -> <outdir>/fuzz_<harness>
# With no harness named, all of them (every tests/fuzz/fuzz_*.c) are built;
# the last lines printed are the binaries' paths. JOBS (default 2) bounds the
# parallel compiles.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build-fuzz}
[ $# -gt 0 ] && shift
NAMES=${*:-$(cd "$ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}
JOBS=${JOBS:-2}
mkdir -p "$OUT/obj"
CFLAGS="-std=gnu11 -g -O1 -D_GNU_SOURCE -I$ROOT $(pkg-config --cflags liburing libcrypto)
    -fsanitize=address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer -Wno-unused-command-line-argument"
LIBS="$(pkg-config --libs liburing libssl libcrypto) -lm -lpthread"
export CFLAGS OUT
# Objects are rebuilt when their source or any header is newer.
NEWEST_H=$(ls -t "$ROOT"/core/*.h "$ROOT"/io/*.h "$ROOT"/repl/*.h | head -n 1)
export NEWEST_H
ls "$ROOT"/core/*.c "$ROOT"/io/*.c "$ROOT"/repl/*.c | grep -v '/core/main\.c$' |
    xargs -P "$JOBS" -I{} sh -c '
        src={}; d=$(basename "$(dirname "$src")"); o="$OUT/obj/${d}_$(basename "$src" .c).o"
        if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ "$NEWEST_H" -nt "$o" ]; then
            # shellcheck disable=SC2086
            clang $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$o" || exit 255
        fi'
rm -f "$OUT/libringmaster_fuzz.a"
ar rcs "$OUT/libringmaster_fuzz.a" "$OUT"/obj/*.o
for n in $NAMES; do
    # shellcheck disable=SC2086
    clang $CFLAGS -fsanitize=fuzzer "$ROOT/tests/fuzz/fuzz_$n.c" \
        "$OUT/libringmaster_fuzz.a" -o "$OUT/fuzz_$n" $LIBS
done
for n in $NAMES; do echo "$OUT/fuzz_$n"; done
