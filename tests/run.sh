#!/usr/bin/env bash
# Runs every test against each build directory given (plain and ASan+UBSan,
# side by side): the cmocka unit tests (TAP output) and the integration
# scripts, which start
# the real parley-relay on loopback and drive the real CLI. Before them, once,
# the layering check of src/ (scripts/check-layers.sh), counted as one test.
# Counts every TAP line and ends with the plain summary "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
pass=0
fail=0
logdir=$(mktemp -d)
export CMOCKA_MESSAGE_OUTPUT=TAP
# LeakSanitizer (ASan builds): leaks of libraries we cannot free safely
# (fontconfig's caches, see src/export/pdf.c) are suppressed by name.
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

tally() { # name logfile exitcode seconds
	local p f
	p=$(grep -c '^ok ' "$2" || true)
	f=$(grep -c '^not ok ' "$2" || true)
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $1 exited with status $3" >>"$2"
	fi
	if [ "$f" -ne 0 ]; then
		echo "FAIL $1: $p passed, $f failed (${4}s)"
		grep -E '^not ok|^#|parley:|ERROR|runtime error|Sanitizer' "$2" | head -n 40 | sed 's/^/    /'
	else
		echo "ok   $1: $p passed (${4}s)"
	fi
	pass=$((pass + p))
	fail=$((fail + f))
}

log="$logdir/layers.log"
t0=$SECONDS
sh scripts/check-layers.sh 2>&1 | sed 's/^/# /' >"$log"
if [ "${PIPESTATUS[0]}" -eq 0 ]; then
	echo "ok 1 - every #include in src/ and tools/ follows the layer order" >>"$log"
else
	echo "not ok 1 - wrong-way includes (scripts/check-layers.sh)" >>"$log"
fi
tally layers "$log" 0 $((SECONDS - t0))

# The suites of the build directories run side by side (the machine has at
# least two cores, and the tests spend much of their time waiting on fsync,
# sockets and timers); each keeps its own order and tally, and their
# reports are printed one after the other.
suite() { # build: runs its tests, leaves "pass fail" in $logdir/$build.tally
	local build=$1 bdir="$root/$1" t s name log t0
	pass=0
	fail=0
	for t in "$bdir"/tests/test_*; do
		[ -x "$t" ] || continue
		name="$build/$(basename "$t")"
		log="$logdir/$(echo "$name" | tr / _).log"
		t0=$SECONDS
		PARLEY_BUILD="$bdir" timeout 600 "$t" >"$log" 2>&1
		tally "$name" "$log" $? $((SECONDS - t0))
	done
	for s in tests/integration/test_*.sh; do
		[ -f "$s" ] || continue
		# The longest CLI scripts run in the plain build only, so that make
		# check stays under 10 minutes on two cores: their code runs under
		# ASan+UBSan in their unit tests (test_nego_log, test_office,
		# test_backup, test_rotate, test_views) and in the other scripts.
		case "$build:$(basename "$s" .sh)" in
		*asan*:test_negotiation | *asan*:test_office | *asan*:test_backup | \
			*asan*:test_rotate | *asan*:test_views)
			continue
			;;
		esac
		name="$build/$(basename "$s" .sh)"
		log="$logdir/$(echo "$name" | tr / _).log"
		t0=$SECONDS
		PARLEY_BUILD="$bdir" timeout 900 bash "$s" >"$log" 2>&1
		tally "$name" "$log" $? $((SECONDS - t0))
	done
	echo "$pass $fail" >"$logdir/$(echo "$build" | tr / _).tally"
}

pids=()
for build in "$@"; do
	suite "$build" >"$logdir/$(echo "$build" | tr / _).out" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p"
done
for build in "$@"; do
	b=$(echo "$build" | tr / _)
	cat "$logdir/$b.out"
	if read -r p f <"$logdir/$b.tally" 2>/dev/null; then
		pass=$((pass + p))
		fail=$((fail + f))
	else
		echo "FAIL $build: the suite did not finish"
		fail=$((fail + 1))
	fi
done
echo "logs: $logdir"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
