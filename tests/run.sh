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

# Every test of every build directory is one job in one list, and two
# workers take jobs from it in turn (the machine has at least two cores,
# and the tests spend much of their time waiting on fsync, sockets and
# timers), so neither core idles while the other has a long queue: the
# ASan+UBSan jobs take longer than the plain ones. Jobs are listed with
# the ASan integration scripts first (the longest), so the last jobs to
# start are short. Each job writes its report line and tally; they are
# printed in the order of the list, by build.
jobs=()
add_jobs() { # build
	local build=$1 bdir="$root/$1" t s
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
		jobs+=("$build script $s")
	done
	for t in "$bdir"/tests/test_*; do
		[ -x "$t" ] || continue
		jobs+=("$build unit $t")
	done
}
# ASan builds first: their jobs are the longest.
for build in "$@"; do case $build in *asan*) add_jobs "$build" ;; esac; done
for build in "$@"; do case $build in *asan*) ;; *) add_jobs "$build" ;; esac; done

run_job() { # index: runs jobs[index], leaves its report and "pass fail"
	local build kind path name log t0 rc
	read -r build kind path <<<"${jobs[$1]}"
	pass=0
	fail=0
	if [ "$kind" = unit ]; then
		name="$build/$(basename "$path")"
		log="$logdir/$(echo "$name" | tr / _).log"
		t0=$SECONDS
		PARLEY_BUILD="$root/$build" timeout 600 "$path" >"$log" 2>&1
	else
		name="$build/$(basename "$path" .sh)"
		log="$logdir/$(echo "$name" | tr / _).log"
		t0=$SECONDS
		PARLEY_BUILD="$root/$build" timeout 900 bash "$path" >"$log" 2>&1
	fi
	rc=$?
	tally "$name" "$log" $rc $((SECONDS - t0)) >"$logdir/job.$1.out"
	echo "$pass $fail" >"$logdir/job.$1.tally"
}

# worker: takes the next job index under a lock until none is left.
echo 0 >"$logdir/next"
worker() {
	local i
	while :; do
		i=$(flock "$logdir/next" sh -c 'read i <"$1"; echo $((i + 1)) >"$1"; echo "$i"' _ "$logdir/next")
		[ "$i" -lt "${#jobs[@]}" ] || break
		run_job "$i"
	done
}
worker &
w1=$!
worker &
w2=$!
wait "$w1" "$w2"
for build in "$@"; do
	for i in "${!jobs[@]}"; do
		read -r b _ _ <<<"${jobs[$i]}"
		[ "$b" = "$build" ] || continue
		cat "$logdir/job.$i.out" 2>/dev/null
		if read -r p f <"$logdir/job.$i.tally" 2>/dev/null; then
			pass=$((pass + p))
			fail=$((fail + f))
		else
			echo "FAIL ${jobs[$i]}: did not finish"
			fail=$((fail + 1))
		fi
	done
done
echo "logs: $logdir"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
