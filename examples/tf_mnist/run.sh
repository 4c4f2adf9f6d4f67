#!/usr/bin/env bash
# The main job: the seed's TensorFlow walkthrough on a local Gantry workspace in this folder.
# The first run builds the curated TensorFlow environment (tensorflow-cpu from the package
# index); later runs reuse it.
# Usage: examples/tf_mnist/run.sh [--epochs N] [--limit N]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
gantry="$root/build/gantry"
cd "$here"
# Start (or reuse) this folder's workspace server; it writes .gantry/config.json, which
# Workspace.from_config() finds.
url=$(grep -o '"server": *"[^"]*"' .gantry/config.json 2>/dev/null | sed 's/.*"\(http[^"]*\)"/\1/' || true)
if [ -z "$url" ] || ! curl -sf "$url/api/v1/health" >/dev/null 2>&1; then
  "$gantry" server --background --workspace "$here/.gantry"
fi
# `azureml` is Gantry's SDK; the walkthrough itself needs only Debian's python3-numpy.
PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" exec /usr/bin/python3 walkthrough.py "$@"
