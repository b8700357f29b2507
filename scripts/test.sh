#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test: the Swift suites, then
# the Lua lint and the Lua tests of Skills/ and Examples/ (scripts/test-lua.sh), then the fuzz
# targets' reproducers and 30 s of each target (scripts/fuzz-ci.sh; LOOM_FUZZ=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build --build-tests
# Two runs: the command-line suites wait on real `loom` processes, synchronously, and would hold the
# threads of Swift's cooperative pool (two on a two-core machine) that the runtime suites' nodes
# need to answer within their timeouts.
swift test --skip-build --parallel --skip LoomCLITests
swift test --skip-build --parallel --filter LoomCLITests
scripts/test-lua.sh
scripts/fuzz-ci.sh
