#!/usr/bin/env bash
# What the serving benchmarks' baselines and peers need: Debian's Flask, gunicorn and nginx;
# TorchServe, MLServer and LitServe from PyPI.
# Kept out of install-deps.sh: the test suite does not need them.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q --no-install-recommends python3-flask gunicorn nginx-light
# The serving peers (bench/serve_peers.py) from PyPI, in a venv that sees Debian's
# python3-torch (1.13, built against NumPy 1.x: hence the NumPy and pandas pins) and uses
# Debian's Java 17 for TorchServe's front-end. uvloop 0.22 and later break MLServer 1.7's
# parallel workers ("There is no current event loop in thread 'MainThread'").
$SUDO apt-get install -y -q --no-install-recommends openjdk-17-jre-headless python3-venv
venv=${BENCH_PEERS_VENV:-$HOME/.cache/gantry/bench-peers-venv}
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install -q torchserve==0.12.0 torch-model-archiver==0.12.0 mlserver==1.7.1 \
  litserve==0.2.19 "numpy<2" "pandas<2.3" "uvloop<0.22"
# The sweep benchmark's peer (bench/sweep_turnover.py): Optuna from PyPI, in its own venv.
sweep_venv=${BENCH_SWEEP_VENV:-$HOME/.cache/gantry/bench-sweep-venv}
[ -x "$sweep_venv/bin/python" ] || /usr/bin/python3 -m venv "$sweep_venv"
"$sweep_venv/bin/pip" install -q optuna==5.1.0
