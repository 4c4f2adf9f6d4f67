#!/usr/bin/env bash
# Submits the hello job to the local workspace in this folder, follows it, and downloads
# its outputs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
gantry="$here/../../build/gantry"
cd "$here"
out=$("$gantry" job create --file job.yml --stream | tee /dev/stderr)
name=$(printf '%s\n' "$out" | sed -n 's/^Submitted run \([^ ]*\).*/\1/p')
"$gantry" job show -n "$name"
"$gantry" job download -n "$name" --download-path "$here/downloads/$name"
echo "Model: $here/downloads/$name/artifacts/outputs/model/model.txt"
