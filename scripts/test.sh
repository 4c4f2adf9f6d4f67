#!/usr/bin/env bash
# The whole test suite: installs what it needs, checks the C++ formatting
# (scripts/check-format.sh), builds, then runs unit and integration tests
# through CTest, then each fuzz target for a short time (scripts/fuzz.sh), then the unit tests
# of the layers that parse untrusted input again under AddressSanitizer and
# UndefinedBehaviorSanitizer (scripts/sanitize.sh's ci scope, into build-asan/). This is what .ci/run calls. GANTRY_SKIP_SANITIZE=1 skips the sanitizer step
# for a quicker local run; CI does not set it. Arguments go to both ctest runs (e.g. -R http).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/check-format.sh
./scripts/build.sh
(cd build && ctest --output-on-failure -j "${GANTRY_TEST_JOBS:-2}" "$@")
./scripts/fuzz.sh "${GANTRY_FUZZ_SECONDS:-15}"
if [[ "${GANTRY_SKIP_SANITIZE:-0}" != 1 ]]; then
  GANTRY_SANITIZE_SCOPE=ci ./scripts/sanitize.sh "$@"
fi
