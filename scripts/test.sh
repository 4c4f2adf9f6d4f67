#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, then runs unit and integration tests
# through CTest, then each fuzz target for a short time (scripts/fuzz.sh). This is what .ci/run
# calls.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
(cd build && ctest --output-on-failure -j "${GANTRY_TEST_JOBS:-2}" "$@")
./scripts/fuzz.sh "${GANTRY_FUZZ_SECONDS:-15}"
