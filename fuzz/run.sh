#!/usr/bin/env bash
# Fuzzes seer's parsers with libFuzzer (see fuzz/README.md).
#   bash fuzz/run.sh                    every target, 180 s each
#   bash fuzz/run.sh 60 sse env         these targets, 60 s each
#   FUZZ_FLAGS="-fork=1 -ignore_crashes=1" bash fuzz/run.sh 180 openai_stream
#                                       keep going past a known crash
# Builds $FUZZ_BUILD (default build-fuzz-lf) with CC=clang -Dfuzz=true if it
# does not exist.  New coverage goes to $FUZZ_BUILD/fuzz-work/<target>/corpus
# (the committed corpus fuzz/corpus/<target>/ is read, never written);
# crashes, leaks and timeouts to $FUZZ_BUILD/fuzz-work/<target>/crash-*,
# leak-*, timeout-*.  One fuzzing process at a time (in-process, the same
# as -jobs=1 but logging to $FUZZ_BUILD/fuzz-work/<target>/log); exits
# non-zero if any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-180}
[ $# -gt 0 ] && shift
B=${FUZZ_BUILD:-build-fuzz-lf}
if [ ! -d "$B" ]; then
  CC=clang meson setup "$B" -Dfuzz=true -Dtests=false >/dev/null
fi
ninja -C "$B" >/dev/null
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(ls fuzz/corpus)
fi
found=0
for t in "${targets[@]}"; do
  w="$B/fuzz-work/$t"
  mkdir -p "$w/corpus"
  echo "==== $t (${SECS}s)"
  if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
       "$B/fuzz/fuzz-$t" "$w/corpus" "fuzz/corpus/$t" \
       -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$w/" ${FUZZ_FLAGS:-} >"$w/log" 2>&1; then
    found=1
    echo "  FOUND: $(ls "$w" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | tr '\n' ' ')"
  fi
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' "$w/log" | sed 's/^/  /' || true
  grep -E '^#[0-9]+' "$w/log" | tail -1 | sed 's/^/  last: /' || true
done
exit $found
