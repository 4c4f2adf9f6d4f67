#!/usr/bin/env bash
# Builds Gantry with AddressSanitizer and UndefinedBehaviorSanitizer (CMake option
# GANTRY_SANITIZE) into build-asan/, then runs the unit tests and the integration suites under
# them. Every gantry process the suites start (server, CLI, runner, model server) is the
# instrumented binary, and so is every unit test. The sanitizers stop a process at its first
# error (halt_on_error) and write the report under build-asan/sanitizer-logs/; the run fails
# when any test fails or any report was written (a report from a daemon whose test still
# passed counts too), and the reports are printed.
#
# Integration suites: by default those that drive the workspace server's HTTP layer (every
# REST route, blob uploads, long polls), the runner (jobs, cancel, timeout, daemonised
# processes), restart recovery, the SDK, every attack of the security suites (credentials,
# file roots and hostile trees, limits and slow clients, TLS) and the model server's HTTP
# layer and protocols: GANTRY_SANITIZE_SUITES="jobs security_auth security_files
# security_limits security_processes security_tls rest snapshot sdk restart serve".
# GANTRY_SANITIZE_SUITES=all runs every suite but Slurm's. The default leaves out, to keep
# its time in bounds (the sanitized build is a second, slower build of the whole tree): the
# other model-server suites (serve_python, serve_tensorflow, endpoints, sdk_endpoints), whose
# time goes to Python workers, TensorFlow and libtorch; distributed, distributed_mnist,
# tensorflow, notebook_compat and walkthrough, whose time goes to PyTorch and TensorFlow
# training; environments (pip and venv builds); models, datasets, computes, sdk_assets. Never run here: the Slurm suites (root, a Slurm
# installation, time in slurmctld/slurmd rather than in our code). The torchscript plugin is
# instrumented, libtorch (a prebuilt library) is not, so ASan checks only our side of it.
# bench/ is not built (benchmarks measure the normal build).
#
# GANTRY_SANITIZE_SCOPE=ci (what scripts/test.sh, and so CI, runs): only the unit tests of the
# layers that take untrusted bytes (common: JSON, UTF-8, names, files; http: both servers'
# parsing, timeouts and limits; artifacts: trees, downloads, snapshots; jobs: job YAML; store;
# serving: a SavedModel's SignatureDefs),
# built alone, so that the step fits CI's time: a whole second, instrumented build of the
# tree takes about an hour on CI's 2 cores. The default scope (full) is the whole tree and
# the suites above; run it before a release or after touching the server, runner or SDK.
#
# Usage: scripts/sanitize.sh [extra ctest arguments, given to both ctest runs].
# GANTRY_BUILD_JOBS and GANTRY_TEST_JOBS set the parallelism (default: the core count, 2).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${GANTRY_BUILD_JOBS:-$(nproc)}
start=$(date +%s)
# -O1 -g1: about what ASan needs for readable reports, and a quicker build than -O2 -g.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DGANTRY_SANITIZE=ON >/dev/null
scope=${GANTRY_SANITIZE_SCOPE:-full}
ci_tests="common_test http_test artifacts_test jobs_test store_test serving_tf_signature_test"
if [[ "$scope" == ci ]]; then
  ninja -C build-asan -j "$jobs" $ci_tests
else
  ninja -C build-asan -j "$jobs"
fi
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
suites=${GANTRY_SANITIZE_SUITES:-jobs security_auth security_files security_limits security_processes security_tls rest snapshot sdk restart serve}
if [[ "$suites" == all ]]; then
  integration='^integration_'
  exclude='^integration_slurm'
else
  integration="^integration_(${suites// /|})\$"
  exclude='^$'
fi
if [[ "$scope" == ci ]]; then
  ctest --output-on-failure -j "${GANTRY_TEST_JOBS:-2}" -R "^(${ci_tests// /|})\\." "$@" || status=1
else
  ctest --output-on-failure -j "${GANTRY_TEST_JOBS:-2}" -L unit "$@" || status=1
  ctest --output-on-failure -j "${GANTRY_TEST_JOBS:-2}" -R "$integration" -E "$exclude" "$@" ||
    status=1
fi
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
