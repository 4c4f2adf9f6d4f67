#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, then runs unit and integration tests
# through CTest. This is what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd build
ctest --output-on-failure -j "${GANTRY_TEST_JOBS:-2}" "$@"
