#!/usr/bin/env bash
# Runs every libFuzzer target in build-fuzz/ for SECONDS each (default 10),
# starting from fuzz/corpus/NAME when it exists (new inputs go to a temporary
# copy, so the tree is not changed), and prints executions and findings.
set -u
cd "$(dirname "$0")/.."
secs=${1:-10}
found=0
for f in build-fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	work=$(mktemp -d)
	[ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$work/"
	log="$work.log"
	"$f" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/crash-" \
		"$work" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ $rc -ne 0 ]; then
		found=$((found + 1))
		echo "$name: FINDING after ${execs:-?} executions (exit $rc); log $log, artifacts in $work"
		grep -E 'ERROR|SUMMARY' "$log" | head -n 5 | sed 's/^/    /'
	else
		echo "$name: ${execs:-?} executions in ${secs}s, no findings"
		rm -rf "$work" "$log"
	fi
done
echo "fuzz: $found target(s) with findings"
[ $found -eq 0 ]
