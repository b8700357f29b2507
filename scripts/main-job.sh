#!/usr/bin/env bash
# Loom's main job: the Everything Audit. The weaver node's agents audit a code tree (by default
# this repository) in parallel, vote on the top ten priorities, and write AUDIT.md and audit.json.
# Run it twice: the second run reuses what each agent remembered about unchanged files.
#   scripts/main-job.sh [PATH] [--out DIR] [--fresh]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product loom
.build/release/loom audit "$@"
