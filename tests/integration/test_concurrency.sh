#!/usr/bin/env bash
# One vault used by several processes at once, through the real CLI: 8
# `parley send` and 3 `parley sync` started together on one vault. Each
# waits for the vault's lock (at most 30 s) instead of loading a ratchet
# state another process is about to advance, so every note reaches the
# recipient exactly once and opens, and no command fails. The figures
# (total time, how many waited) are printed as comments.
. "$(dirname "$0")/lib.sh"

A="$T/a" B="$T/b"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
start_relay relay || { notok "relay starts"; exit 1; }
pa init --name Alpha --relay "$RELAY_URL" >/dev/null 2>&1
pb init --name Bravo --relay "$RELAY_URL" >/dev/null 2>&1
KA=$(pa --json id | jq -r .key)
KB=$(pb --json id | jq -r .key)
pa contact add Bravo "$KB" >/dev/null && pb contact add Alpha "$KA" >/dev/null
SN=$(pa --json contact show Bravo | jq -r .safety_number)
pa contact verify Bravo "$SN" >/dev/null && pb contact verify Alpha "$SN" >/dev/null
pa sync >/dev/null 2>&1
pb sync >/dev/null 2>&1

# timed NAME command...: output in $T/NAME.out and .err, milliseconds in .ms
timed() {
	local name=$1 s rc
	shift
	s=$(date +%s%N)
	"$@" >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
	echo $((($(date +%s%N) - s) / 1000000)) >"$T/$name.ms"
	return $rc
}

SENDS=8 SYNCS=3
start=$(date +%s%N)
pids=""
for i in $(seq 1 $SENDS); do
	timed send$i timeout 60 "$PARLEY" --vault "$A" --json send Bravo "parallel note $i" &
	pids="$pids $!:send$i"
done
for i in $(seq 1 $SYNCS); do
	timed sync$i timeout 60 "$PARLEY" --vault "$A" --json sync &
	pids="$pids $!:sync$i"
done
failed=0 inuse=0
for p in $pids; do
	pid=${p%%:*} name=${p#*:}
	wait "$pid"
	rc=$?
	if [ $rc -ne 0 ]; then
		failed=$((failed + 1))
		grep -q "is in use by parley process" "$T/$name.err" && inuse=$((inuse + 1))
		echo "# $name exited $rc: $(head -c 300 "$T/$name.err")"
	fi
done
took=$((($(date +%s%N) - start) / 1000000))
for f in "$T"/send*.err "$T"/sync*.err; do
	grep -q "not in the outbox" "$f" && echo "# $(basename "$f"): $(head -c 300 "$f")"
done
longest=$(cat "$T"/send*.ms "$T"/sync*.ms | sort -n | tail -1)
echo "# $((SENDS + SYNCS)) commands on one vault took ${took} ms in all; the longest" \
	"single command (its wait for the vault included) ${longest} ms"
check "no command failed (waiting at most 30 s each)" test $failed -eq 0
check "any failure was the clear 'in use' message" test $failed -eq $inuse
check "no command lost track of a delivered note" \
	sh -c "! cat '$T'/send*.err '$T'/sync*.err | grep -q 'not in the outbox'"
delivered=0
for i in $(seq 1 $SENDS); do
	[ "$(jq -r .state "$T/send$i.out" 2>/dev/null)" = delivered ] && delivered=$((delivered + 1))
done
echo "# $delivered of $SENDS sends delivered at once (the rest by a sync)"
check "the sender's outbox is empty after one more sync" jq -e '.queued == 0' <(pa --json sync)

pb --json sync >"$T/bsync.json"
check "the recipient opened every envelope (none rejected)" jq -e '.rejected == 0' "$T/bsync.json"
pb --json thread Alpha >"$T/thread.json"
check "all $SENDS notes arrived, each exactly once" \
	jq -e --argjson n $SENDS '[.[].text | select(startswith("parallel note "))] as $t
		| ($t | length) == $n and ($t | unique | length) == $n' "$T/thread.json"

echo "1..$_n"
