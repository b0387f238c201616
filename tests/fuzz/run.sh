#!/bin/sh
# Run each wire fuzzer for SECONDS, one after another (never two at once), printing one line per
# target. Usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGETS]   (TARGETS default "dns http tls")
# New inputs go to BUILD_DIR/corpus/T (the seeds in tests/fuzz/corpus/T are only read); crash
# inputs to BUILD_DIR/artifacts/T/; the full log of target T is BUILD_DIR/T/fuzz-0.log.
set -u
BUILD=${1:-build-fuzz} SECONDS_EACH=${2:-60} TARGETS=${3:-dns http tls}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
max_len() { case $1 in dns) echo 4096;; http) echo 16384;; tls) echo 20000;; esac; }
failed=0
for t in $TARGETS; do
  work="$BUILD/$t" corpus="$ROOT/$BUILD/corpus/$t" art="$ROOT/$BUILD/artifacts/$t/"
  mkdir -p "$work" "$corpus" "$art"
  rm -f "$work/fuzz-0.log"
  # -jobs=1 runs the fuzzer in one child whose output goes to fuzz-0.log in the cwd.
  (cd "$work" && "$ROOT/$BUILD/fuzz_$t" -jobs=1 -workers=1 -max_len="$(max_len "$t")" \
      -max_total_time="$SECONDS_EACH" -print_final_stats=1 -artifact_prefix="$art" \
      "$corpus" "$ROOT/tests/fuzz/corpus/$t" >/dev/null 2>&1)
  log="$work/fuzz-0.log"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(printf '%s\n' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  units=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
  crashes=$(find "$art" -type f | wc -l)
  status=ok
  if [ "$crashes" -gt 0 ] || grep -qE 'ERROR: (libFuzzer|AddressSanitizer|UndefinedBehavior)|runtime error' "$log"; then
    status=CRASH failed=1
  fi
  line="fuzz $t: $status runs=${runs:-?} execs/s=${speed:-?} cov=${cov:-?} ft=${ft:-?} corpus=${units:-?} crashes=$crashes (${SECONDS_EACH}s)"
  echo "$line"
done
exit "$failed"
