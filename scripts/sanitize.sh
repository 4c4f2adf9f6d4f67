#!/usr/bin/env bash
# Builds Gantry with AddressSanitizer and UndefinedBehaviorSanitizer (CMake option
# GANTRY_SANITIZE) into build-asan/, then runs the unit tests and the integration suites under
# them. Every gantry process the suites start (server, CLI, runner, model server) is the
# instrumented binary, and so is every unit test. The sanitizers stop a process at its first
# error (halt_on_error) and write the report under build-asan/sanitizer-logs/; the run fails
# when any test fails or any report was written (a report from a daemon whose test still
# passed counts too), and the reports are printed.
#
# Left out, and why:
#   - integration_slurm, integration_slurm_cluster, integration_slurm_multinode: they need
#     root and a Slurm installation and spend their time in slurmctld/slurmd (not ours); the
#     runner code they drive is the same the local suites run here.
#   - bench/: benchmarks measure the normal build (CMakeLists.txt skips them when sanitized).
# Everything else runs, the suites whose model servers load libtorch through the torchscript
# plugin included: the plugin is instrumented, libtorch (a prebuilt library) is not, so ASan
# checks our side of it only.
#
# Usage: scripts/sanitize.sh [extra ctest arguments]. GANTRY_BUILD_JOBS and GANTRY_TEST_JOBS
# set the parallelism (default: the core count, 2).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${GANTRY_BUILD_JOBS:-$(nproc)}
start=$(date +%s)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGANTRY_SANITIZE=ON >/dev/null
ninja -C build-asan -j "$jobs"
built=$(date +%s)

logs=$PWD/build-asan/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
# detect_leaks: leaks at a normal exit are errors too. Processes killed by a signal (servers
# at the end of a test) exit without a leak check, which is fine: they are not leaks.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"

cd build-asan
status=0
ctest --output-on-failure -j "${GANTRY_TEST_JOBS:-2}" -E '^integration_slurm.*$' \
  "$@" || status=1
cd ..

if compgen -G "$logs/*" >/dev/null; then
  echo "sanitizer reports:" >&2
  for f in "$logs"/*; do
    echo "==== $f" >&2
    cat "$f" >&2
  done
  status=1
fi
end=$(date +%s)
echo "sanitize.sh: build $((built - start)) s, tests $((end - built)) s, status $status"
exit $status
