#!/usr/bin/env bash
# Coverage-guided fuzzing (issue 19): builds erx-fuzz with libFuzzer and AddressSanitizer (LeakSanitizer
# included) into .build-fuzz and runs each target for a bounded time, one after the other.
# Seeds are made at run time from fixtures/, profiles/ and ../shared/fixtures (when present) into
# .build-fuzz/seeds; the growing corpus stays in .build-fuzz/corpus between runs; crashes, leaks and
# timeouts land in .build-fuzz/artifacts/<target>/. Prints executions, exec/s and coverage per target
# and exits non-zero if any target crashed, leaked, timed out or ran out of memory.
# A finding is kept by minimizing it (-minimize_crash=1) into fuzz/regressions/<target>/, which
# `swift test --filter FuzzRegressionTests` replays in every plain test run.
# Usage: scripts/fuzz.sh [--seconds N] [--no-build] [TARGET...]   (targets: json xml fhirpath validator request vau)
# ERX_FUZZ_MAX_LEN=N caps the input length of every target (shorter inputs run faster).
# ERX_FUZZ_DETECT_LEAKS=0 skips the per-input leak check: the request path leaves caches and database
# pages behind on most inputs, and checking each costs it about 20x in executions per second.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60; build=1; targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    json|xml|fhirpath|validator|request|vau) targets+=("$1"); shift ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(json xml fhirpath validator request vau)

scratch=.build-fuzz
if [ $build = 1 ]; then
  start=$(date +%s)
  # -sanitize=fuzzer instruments every Swift module for coverage and links libFuzzer; erx-fuzz's own
  # main hands over to LLVMFuzzerRunDriver, so libFuzzer's main stays out of the link. The toolchain's
  # lld links it: gold (SwiftPM's default on Linux) stops with an internal error on this binary.
  mkdir -p $scratch
  printf '{"schemaVersion": "1.0", "linker": {"path": "%s"}}\n' \
    "$(dirname "$(readlink -f "$(command -v swift)")")/ld.lld" >$scratch/toolset.json
  swift build -c release --product erx-fuzz --scratch-path $scratch --toolset $scratch/toolset.json \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
  echo "fuzz build: $(( $(date +%s) - start )) s"
fi
binary=$scratch/release/erx-fuzz
shared=../shared/fixtures
sources=(fixtures Tests profiles)
[ -d $shared/conformance ] && sources+=($shared/conformance)

# Per target: longest input, seconds before an input counts as a hang, seed sources.
max_len() {
  [ -n "${ERX_FUZZ_MAX_LEN:-}" ] && { echo "$ERX_FUZZ_MAX_LEN"; return; }
  case $1 in fhirpath) echo 4096 ;; request) echo 65536 ;; *) echo 131072 ;; esac
}
timeout_for() {
  case $1 in validator|request) echo 20 ;; *) echo 10 ;; esac
}

# LeakSanitizer checks every input whose mallocs and frees do not balance (libFuzzer's -detect_leaks),
# which is where a leak per request shows. The check at exit is off: by then it reports the objects
# that lazily built caches hold (the validator's compiled profiles and their FHIRPath trees), which
# LeakSanitizer cannot see as reachable because Swift keeps enum tags in the spare bits of pointers;
# fuzz/lsan.supp names the caches of the request path that are reported for the same reason.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
# Swift's own backtracer would race ASan's report on a trap; libFuzzer prints the stack.
export SWIFT_BACKTRACE=enable=no
export LSAN_OPTIONS="${LSAN_OPTIONS:-leak_check_at_exit=0:suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}"

failed=()
summary=()
for target in "${targets[@]}"; do
  seeds=$scratch/seeds/$target corpus=$scratch/corpus/$target artifacts=$scratch/artifacts/$target
  rm -rf "$seeds"; mkdir -p "$corpus" "$artifacts"
  target_sources=("${sources[@]}")
  [ $target = fhirpath ] && [ -d $shared/definitions ] && target_sources+=($shared/definitions)
  "$binary" --seeds $target "$seeds" "$(max_len $target)" "${target_sources[@]}"
  case $target in xml|fhirpath|vau) dict=fuzz/dictionaries/$target.dict ;; *) dict=fuzz/dictionaries/json.dict ;; esac
  log=$scratch/fuzz-$target.log
  echo "== $target: ${seconds} s"
  status=0
  # The profile compiler's frame sits below a deep FHIRPath parser recursion: record deep stacks where
  # profiles compile, so that its suppression matches.
  asan=$ASAN_OPTIONS
  case $target in validator|request) asan+=":malloc_context_size=255" ;; esac
  # The saved regressions run first with the sanitizers (the plain test replays them without).
  regressions=(); [ -d fuzz/regressions/$target ] && regressions=(fuzz/regressions/$target)
  ASAN_OPTIONS=$asan ERX_FUZZ_TARGET=$target "$binary" "$corpus" "$seeds" "${regressions[@]}" -dict=$dict -detect_leaks="${ERX_FUZZ_DETECT_LEAKS:-1}" \
    -max_total_time="$seconds" -timeout="$(timeout_for $target)" -rss_limit_mb=4096 -max_len="$(max_len $target)" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last"); ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9A-Za-z]+).*/\1/p' <<<"$last"); rss=$(sed -nE 's/.* rss: ([0-9]+Mb).*/\1/p' <<<"$last")
  execs=$(sed -nE 's/^stat::number_of_executed_units:[[:space:]]+([0-9]+)/\1/p' "$log")
  speed=$(sed -nE 's/^stat::average_exec_per_sec:[[:space:]]+([0-9]+)/\1/p' "$log")
  peak=$(sed -nE 's/^stat::peak_rss_mb:[[:space:]]+([0-9]+)/\1/p' "$log")
  line="$target: execs ${execs:-?}, ${speed:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, peak rss ${peak:-?} MB"
  if [ $status -ne 0 ]; then
    line+=" -- FAILED (exit $status, see $log)"
    failed+=("$target")
    grep -E '^(==[0-9]+==ERROR|SUMMARY|Fatal error|.*fuzz property violated|artifact_prefix=|Test unit written)' "$log" | head -20 || true
    # A trap without a message (an overflow in an optimized build) shows only in its stack and input:
    # print both, so a CI log alone is enough to reproduce it.
    grep -E '^ +#[0-9]+ 0x' "$log" | head -12 || true
    for unit in "$artifacts"/*; do [ -f "$unit" ] && { echo "input $(basename "$unit") (base64):"; head -c 4096 "$unit" | base64; }; done

  fi
  echo "$line"
  summary+=("$line")
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}; inputs in $scratch/artifacts/" >&2
  exit 1
fi
