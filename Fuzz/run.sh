#!/usr/bin/env bash
# Builds Loom's fuzz targets (libFuzzer + AddressSanitizer/LeakSanitizer) and runs one or all of
# them for a number of seconds each. docs/FUZZING.md says what each covers.
#
#   Fuzz/run.sh TARGET SECONDS      manifest, version-range, bundle, bundle-signed, state-codec, eval
#   Fuzz/run.sh all SECONDS         every target in turn, SECONDS each
#   Fuzz/run.sh build               build only
#   Fuzz/run.sh regressions         run every reproducer in Fuzz/crashes/TARGET/ once; each must pass
#
# Each run starts from the committed seeds in Fuzz/corpus/TARGET/ and a scratch corpus outside git
# ($FUZZ_WORK/TARGET/corpus, default /tmp/loom-fuzz), which grows from run to run. Exits 1 when a
# target finds a crash, a sanitizer report, a leak, a timeout (-timeout=10) or an out-of-memory
# (-rss_limit_mb=2048), and prints where the reproducer is and how to run it again.
#
# Environment: FUZZ_WORK (scratch folder), FUZZ_BUILD=0 (skip the build), FUZZ_JOBS (build jobs),
# FUZZ_KEEP_GOING=1 (fork mode: go on after a finding, collect them all), FUZZ_ARGS (more libFuzzer
# flags).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

targets=(manifest version-range bundle bundle-signed state-codec eval)
product() {
    case "$1" in
        manifest) echo FuzzManifest ;;
        version-range) echo FuzzVersionRange ;;
        bundle) echo FuzzBundle ;;
        bundle-signed) echo FuzzBundleSigned ;;
        state-codec) echo FuzzStateCodec ;;
        eval) echo FuzzEval ;;
        *) return 1 ;;
    esac
}

usage() { echo "usage: Fuzz/run.sh TARGET|all SECONDS, Fuzz/run.sh build, Fuzz/run.sh regressions (targets: ${targets[*]})" >&2; exit 2; }
[ $# -ge 1 ] || usage
what=$1
seconds=${2:-}
if [ "$what" != build ] && [ "$what" != regressions ]; then
    [[ "$seconds" =~ ^[0-9]+$ ]] || usage
    if [ "$what" != all ]; then product "$what" >/dev/null || usage; fi
fi

work=${FUZZ_WORK:-/tmp/loom-fuzz}
mkdir -p "$work"
build_args=(-c release --package-path Fuzz --scratch-path Fuzz/.build --sanitize fuzzer --sanitize address)
if [ -n "${FUZZ_JOBS:-}" ]; then build_args+=(-j "$FUZZ_JOBS"); fi
if [ "${FUZZ_BUILD:-1}" != 0 ]; then
    start=$(date +%s)
    swift build "${build_args[@]}"
    echo "fuzz build: $(( $(date +%s) - start )) s" >&2
fi
bin=$(swift build "${build_args[@]}" --show-bin-path)
[ "$what" = build ] && exit 0

# ASan: leaks are findings; the shim's own signal (SIGURG) is left alone.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:handle_abort=1}
# Swift's own backtracer reads the crashed process's memory from a thread of its own, which ASan
# reports as a heap overflow of its own; libFuzzer's handler prints the stack instead.
export SWIFT_BACKTRACE=enable=no
# Known leaks (each one reported, each line says where), so that a run finds what is new.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/Fuzz/lsan.supp:print_suppressions=0}

if [ "$what" = regressions ]; then
    bad=0
    for t in "${targets[@]}"; do
        for f in "$root/Fuzz/crashes/$t"/*; do
            [ -f "$f" ] || continue
            case "$f" in *.md|*.txt) continue ;; esac
            if "$bin/$(product "$t")" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=1 "$f" >"$work/regression.log" 2>&1; then
                echo "   fixed: $t/$(basename "$f")" >&2
            else
                bad=1
                echo "!! still fails: $t/$(basename "$f") ($bin/$(product "$t") $f)" >&2
                grep -E '^(==[0-9]+==ERROR|SUMMARY|.*Fatal error|ALARM)' "$work/regression.log" | head -3 >&2 || true
            fi
        done
    done
    exit $bad
fi

failed=()
summary=()
run_target() {
    local name=$1 exe dir corpus artifacts log rc=0
    exe="$bin/$(product "$name")"
    dir="$work/$name"
    corpus="$dir/corpus"
    artifacts="$dir/artifacts/$(date +%Y%m%d-%H%M%S)"
    log="$dir/last.log"
    mkdir -p "$corpus" "$artifacts" "$root/Fuzz/corpus/$name"
    # A fixed seed (FUZZ_SEED, 1 by default): a run from the committed seeds explores the same
    # inputs in the same order on every machine, so CI's 30 s is the start of the 10-minute run
    # recorded in docs/FUZZING.md, not a lottery. FUZZ_SEED=0 lets libFuzzer pick.
    local flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=1
                 -seed="${FUZZ_SEED:-1}" -artifact_prefix="$artifacts/")
    if [ -f "$root/Fuzz/dict/$name.dict" ]; then flags+=(-dict="$root/Fuzz/dict/$name.dict"); fi
    # TOMLKit leaks on every manifest read (Fuzz/lsan.supp), so each input of the targets that
    # parse manifests would trigger a full leak scan (ten times slower): leak checks are off there
    # unless FUZZ_LEAKS=1, until TOMLKit's leaks are gone.
    case "$name" in manifest|bundle-signed) [ "${FUZZ_LEAKS:-0}" = 1 ] || flags+=(-detect_leaks=0) ;; esac
    if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then flags+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1); fi
    # shellcheck disable=SC2206
    flags+=(${FUZZ_ARGS:-})
    echo "== $name: $seconds s ($exe)" >&2
    "$exe" "${flags[@]}" "$corpus" "$root/Fuzz/corpus/$name" >"$log" 2>&1 || rc=$?
    local execs rate cov findings
    # The figures: libFuzzer's final stats, or (fork mode) its last status line.
    execs=$({ grep -ao 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}'
              grep -aoE '^#[0-9]+' "$log" | tr -d '#'; } | sort -n | tail -1 || true)
    rate=$(grep -ao 'stat::average_exec_per_sec: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
    if [ -z "$rate" ] && [ -n "$execs" ]; then rate=$(( execs / (seconds > 0 ? seconds : 1) )); fi
    cov=$(grep -aoE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | awk '{print $2 " / " $4}' || true)
    findings=$(find "$artifacts" -type f | wc -l)
    summary+=("| $name | $seconds | ${execs:-?} | ${rate:-?} | ${cov:-?} | $findings |")
    if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
        failed+=("$name")
        echo "!! $name: a finding (libFuzzer exit $rc); the log is $log" >&2
        grep -E '^(==[0-9]+==ERROR|SUMMARY|Fatal error|.*Fatal error:|ALARM|    #[0-4] )' "$log" | head -20 >&2 || true
        local f
        for f in "$artifacts"/*; do
            [ -e "$f" ] || continue
            echo "   reproducer: $f" >&2
            echo "   run again:  $exe $f" >&2
            echo "   minimize:   $exe -minimize_crash=1 -runs=10000 -timeout=10 $f" >&2
        done
    else
        rmdir "$artifacts" 2>/dev/null || true
        echo "   clean: ${execs:-?} runs, ${rate:-?}/s, cov/ft ${cov:-?}" >&2
    fi
}

if [ "$what" = all ]; then
    for t in "${targets[@]}"; do run_target "$t"; done
else
    run_target "$what"
fi

echo "| target | seconds | execs | execs/s | cov / ft | findings |" >&2
echo "| --- | --- | --- | --- | --- | --- |" >&2
for line in "${summary[@]}"; do echo "$line" >&2; done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: findings in ${failed[*]}" >&2
    exit 1
fi
