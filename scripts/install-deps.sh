#!/usr/bin/env bash
# Installs the Debian 12 packages Gantry needs to build, test and run its examples.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config
  clang-16 libclang-rt-16-dev clang-format-16
  libboost-dev libboost-system-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libssl-dev libsqlite3-dev libsimdjson-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-pytest python3-yaml python3-torch python3-numpy libopenblas0-pthread python3-venv
  openmpi-bin python3-mpi4py
  dataset-fashion-mnist libtorch-dev
  wrk hyperfine sqlite3 procps curl openssl
  slurmd slurmctld slurm-client munge iproute2 util-linux
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "All build and test packages are installed."
# TensorFlow and the real protocol clients come from the package index, into a venv.
"$(dirname "$0")/install-test-venv.sh"
