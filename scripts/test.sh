#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test: the Swift suites, then
# the Lua lint and the Lua tests of Skills/ and Examples/ (scripts/test-lua.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build --build-tests
swift test --skip-build --parallel
scripts/test-lua.sh
