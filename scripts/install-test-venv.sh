#!/usr/bin/env bash
# Creates the Python virtual environment the integration tests take TensorFlow and the real
# protocol clients from (tests/requirements-tf.txt, from the configured package index), at
# $GANTRY_TEST_VENV (default ~/.cache/gantry/test-venv, shared by checkouts). Does nothing
# when the venv already holds exactly those requirements. tests/conftest.py finds it the same
# way; a test that needs it fails, never skips, when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${GANTRY_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/gantry/test-venv}
requirements=tests/requirements-tf.txt
stamp="$venv/.gantry-requirements"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$requirements" "$stamp"; then
  echo "Test venv $venv is up to date."
  exit 0
fi
mkdir -p "$(dirname "$venv")"
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -r "$requirements"
cp "$requirements" "$stamp"
echo "Test venv $venv has: $(grep -v '^#' "$requirements" | tr '\n' ' ')"
