#!/usr/bin/env bash
# Loom's main job. Until the node runtime lands, it runs the example script in the sandbox with
# `loom eval`, in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product loom
.build/release/loom eval Examples/scripts/word-frequencies.lua "$@"
