#!/usr/bin/env bash
# kill -9 of the relay during a stream of sends from the real CLI. Every note
# the CLI reported delivered (relay receipt) must reach the recipient exactly
# once; notes caught by the crash stay queued and the next sync delivers
# them, also exactly once. Then the client itself dies inside a batch of
# deliveries (client/messenger.c: many items to one contact are sealed in
# one vault commit and their receipts recorded in another), at both crash
# points: nothing may be lost, doubled or encrypted twice.
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

N=30
: >"$T/delivered"
(
	for i in $(seq 1 $N); do
		out=$(pa --json send Bravo "n$i" 2>/dev/null)
		[ "$(echo "$out" | jq -r .state)" = delivered ] && echo "n$i" >>"$T/delivered"
	done
) &
sender=$!
for round in 1 2 3; do
	sleep 0.$((RANDOM % 5 + 2))
	kill9_relay
	sleep 0.2
	start_relay relay --listen "127.0.0.1:$RELAY_PORT" || notok "relay restarts (round $round)"
done
for i in $(seq 1 600); do kill -0 $sender 2>/dev/null || break; sleep 0.1; done
kill $sender 2>/dev/null
wait $sender 2>/dev/null
check "some sends were delivered before and between crashes" test -s "$T/delivered"
check "sync delivers whatever the crashes left queued" jq -e '.queued == 0' <(pa --json sync)
pb --json sync >/dev/null
pb --json thread Alpha >"$T/thread.json"
missing=0
while read -r t; do
	c=$(jq --arg t "$t" '[.[] | select(.text == $t)] | length' "$T/thread.json")
	[ "$c" -eq 1 ] || missing=$((missing + 1))
done <"$T/delivered"
check "every acknowledged note arrived exactly once ($(wc -l <"$T/delivered") acknowledged)" test $missing -eq 0
check "all $N notes arrived, none twice" jq -e --argjson n $N '([.[].text] | unique | length) == $n and length == $n' "$T/thread.json"

# --- the client dies inside a batch ----------------------------------------------
# 70 notes written while the relay is down: more than one batch of 64.
stop_relay
for i in $(seq 1 70); do pa send Bravo "b$i" >/dev/null 2>&1; done
queued() { pa --json thread Bravo | jq '[.[] | select((.text // "" | startswith("b")) and .state == "queued")] | length'; }
check "70 notes queued while the relay is down" test "$(queued)" -eq 70
start_relay relay --listen "127.0.0.1:$RELAY_PORT" || notok "relay restarts"
PARLEY_FAULT=batch-sealed pa sync >/dev/null 2>&1
check "a sync dies once a batch is sealed and committed (the batch path ran)" test $? -eq 99
check "  64 envelopes are kept sealed, nothing is marked delivered" eval \
	'[ "$("$VAULTSQL" "$A" "SELECT count(*) FROM outbox WHERE length(envelope) > 0")" = 64 ] && [ "$(queued)" -eq 70 ]'
"$VAULTSQL" "$A" "SELECT hex(envelope) FROM outbox WHERE length(envelope) > 0 ORDER BY n" >"$T/sealed1"
PARLEY_FAULT=batch-deposited pa sync >/dev/null 2>&1
check "a sync dies after a batch's deposits, before their receipts are recorded" test $? -eq 99
"$VAULTSQL" "$A" "SELECT hex(envelope) FROM outbox WHERE length(envelope) > 0 ORDER BY n" >"$T/sealed2"
check "  it deposited the envelopes sealed before, byte for byte (no second encryption)" cmp -s "$T/sealed1" "$T/sealed2"
check "  and they still read queued" test "$(queued)" -eq 70
pa --json sync >"$T/bsync.json" 2>/dev/null
check "the next sync delivers all 70" jq -e '.queued == 0 and .delivered == 70' "$T/bsync.json"
check "  and the sender's thread says delivered for each" test "$(pa --json thread Bravo | jq '[.[] | select((.text // "" | startswith("b")) and .state == "delivered")] | length')" -eq 70
pb --json sync >"$T/bsync-b.json" 2>/dev/null
check "the recipient opens every one, none rejected" jq -e '.rejected == 0 and .received >= 70' "$T/bsync-b.json"
check "  each of the 70 exactly once" jq -e '[.[] | select(.text // "" | startswith("b")) | .text] | (length == 70 and (unique | length) == 70)' <(pb --json thread Alpha)
echo "1..$_n"
