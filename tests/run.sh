#!/bin/bash
# Install what is missing, build, and run the whole suite through CTest.
#   bash tests/run.sh            normal build (build/)
#   bash tests/run.sh asan       AddressSanitizer + UBSan build (build-asan/)
#   bash tests/run.sh tsan       ThreadSanitizer build of the threaded parts (build-tsan/)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh
mode="${1:-normal}"
case "$mode" in
  normal) dir=build; opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan)   dir=build-asan; opts=(-DCMAKE_BUILD_TYPE=Debug -DRM_SANITIZE=address) ;;
  tsan)   dir=build-tsan; opts=(-DCMAKE_BUILD_TYPE=Debug -DRM_SANITIZE=thread) ;;
  *) echo "usage: $0 [normal|asan|tsan]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" "${opts[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-second_deadlock_stack=1}"
if [ "$mode" = tsan ]; then
  # Under TSan: the unit tests of the threaded parts, and the replication
  # and lazyfree integration tests, which run the keyspace thread against
  # live I/O and lazyfree threads (the harness fails a test on any
  # ThreadSanitizer report).
  ctest --test-dir "$dir" --output-on-failure --no-tests=ignore \
    -R 'unit_test_(spsc|ring|io_thread|handover|backlog|repl_thread_link|replica_conn|lazyfree)|integration_test_(repl_|lazyfree)'
else
  ctest --test-dir "$dir" --output-on-failure
fi
