#!/usr/bin/env bash
# Extra Debian packages the serving benchmark's baselines need (Flask, gunicorn, nginx).
# Kept out of install-deps.sh: the test suite does not need them.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q --no-install-recommends python3-flask gunicorn nginx-light
