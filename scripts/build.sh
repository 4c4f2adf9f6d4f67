#!/usr/bin/env bash
# Configures and builds Gantry into build/ (warnings are errors). The binary is build/gantry.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${GANTRY_BUILD_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
ninja -C build -j "$jobs"
