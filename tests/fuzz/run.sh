#!/bin/sh
# Runs the libFuzzer harnesses that `make fuzz` built (issue 8), for `make fuzz`
# and `make fuzz-ci`. For each target it first replays the inputs that once
# broke it (tests/fuzz/regressions/TARGET/), then fuzzes for SECONDS from the
# committed seeds (tests/fuzz/corpus/TARGET/) plus what earlier runs found
# (BUILD/fuzz/corpus/TARGET/, where new inputs go, so the committed seeds stay
# as they are), with the dictionary tests/fuzz/TARGET.dict. A crash is saved
# under BUILD/fuzz/artifacts/ and fails the run.
# usage: tests/fuzz/run.sh BUILD SECONDS TARGET...
set -eu
build=$1 seconds=$2
shift 2
here=$(dirname "$0")
status=0
for target in "$@"; do
    bin=$build/fuzz/fuzz_$target
    log=$build/fuzz/$target.log
    mkdir -p "$build/fuzz/corpus/$target" "$build/fuzz/artifacts"
    regressions=$(find "$here/regressions/$target" -type f 2>/dev/null | sort)
    # shellcheck disable=SC2086 # one argument per file; the names hold no blanks
    if [ -n "$regressions" ] && ! "$bin" $regressions >"$log" 2>&1; then
        echo "fuzz $target: a regression input fails again (see $log):" >&2
        tail -n 30 "$log" >&2
        status=1
        continue
    fi
    if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="$here/$target.dict" -artifact_prefix="$build/fuzz/artifacts/$target-" \
        "$build/fuzz/corpus/$target" "$here/corpus/$target" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        found=$(sed -n 's/^stat::new_units_added: *//p' "$log")
        echo "fuzz $target: ${runs:-?} runs in ${seconds}s, no failure ($found new inputs kept in $build/fuzz/corpus/$target)"
    else
        echo "fuzz $target: FAILED (log: $log; input saved in $build/fuzz/artifacts/):" >&2
        grep -E 'ERROR|runtime error|SUMMARY|^Test unit written' "$log" >&2 || tail -n 30 "$log" >&2
        status=1
    fi
done
exit $status
