#!/usr/bin/env bash
# Builds the libFuzzer targets (every src/**/NAME_fuzz.cc) with clang, ASan and UBSan into
# build-fuzz/, then runs each from its seed corpus fuzz/corpus/NAME/ for a short time.
# Fails if any target crashes, leaks, times out or runs out of memory; the input that did it
# is kept as build-fuzz/artifacts/NAME-crash-... (rerun: build-fuzz/fuzz/NAME THAT_FILE).
#
#   scripts/fuzz.sh [SECONDS_EACH]   (default 15)
#   GANTRY_FUZZ_TARGETS="json_fuzz tree_fuzz" scripts/fuzz.sh 60   (some targets, longer)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
jobs=${GANTRY_BUILD_JOBS:-$(nproc)}
# clang 16: clang 14 (Debian's default) cannot compile libstdc++ 12's <expected>.
cxx=${GANTRY_FUZZ_CXX:-clang++-16}
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found; scripts/install-deps.sh installs it" >&2
  exit 1
fi
cmake -S . -B build-fuzz -G Ninja -DGANTRY_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
ninja -C build-fuzz -j "$jobs" fuzzers

targets=${GANTRY_FUZZ_TARGETS:-$(cd build-fuzz/fuzz && ls)}
mkdir -p build-fuzz/artifacts
failed=()
for t in $targets; do
  # New inputs go to a scratch corpus, so the seeds in the tree stay as they are.
  work=build-fuzz/corpus/$t
  mkdir -p "$work"
  echo "== $t (${seconds}s)"
  if ! build-fuzz/fuzz/"$t" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 \
      -timeout=10 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/"$t"- \
      "$work" fuzz/corpus/"$t" > build-fuzz/"$t".log 2>&1; then
    tail -n 40 build-fuzz/"$t".log >&2
    failed+=("$t")
  else
    grep -E '^stat::number_of_executed_units|^Done' build-fuzz/"$t".log || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]} (logs in build-fuzz/, inputs in build-fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: all targets ran ${seconds}s without a failure"
