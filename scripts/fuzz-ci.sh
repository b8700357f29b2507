#!/usr/bin/env bash
# CI's fuzzing: builds the fuzz targets (Fuzz/, libFuzzer + AddressSanitizer), runs every committed
# reproducer in Fuzz/crashes/TARGET/ once (each must now pass), then fuzzes each target for
# FUZZ_SECONDS (default 30) from its committed seeds. Exits non-zero on any finding; the log names
# the reproducer. LOOM_FUZZ=0 skips it all (scripts/test.sh calls this).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${LOOM_FUZZ:-1}" = 0 ]; then echo "fuzz: skipped (LOOM_FUZZ=0)" >&2; exit 0; fi
seconds=${FUZZ_SECONDS:-30}
Fuzz/run.sh build
export FUZZ_BUILD=0
export FUZZ_WORK=${FUZZ_WORK:-$(mktemp -d /tmp/loom-fuzz-ci.XXXXXX)}
status=0
Fuzz/run.sh regressions || status=1
Fuzz/run.sh all "$seconds" || status=1
exit $status
