#!/usr/bin/env bash
# The main job: the seed walkthrough on a local Gantry workspace in this folder.
# Usage: examples/mnist/run.sh [--epochs N] [--limit N]
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
# `azureml` is Gantry's opt-in package; Debian's python3 has python3-torch.
PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" exec /usr/bin/python3 walkthrough.py "$@"
