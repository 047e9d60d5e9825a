#!/usr/bin/env bash
# One-time prekeys through the real CLI and relay: anyone may take them with
# GET /v1/bundle, so a drained relay is noticed at the owner's next sync
# (the mailbox listing carries the relay's count) and refilled, and a
# contact that starts a session afterwards gets one of the new prekeys.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
db() { sqlite3 "$T/relay/relay.db" "$@"; }
# opk_id of a bundle body (u8 1 ‖ IK 32 ‖ spk_id 4 ‖ spk 32 ‖ sig 64 ‖ opk_id 4 ‖ opk 32)
opk_id() { od -An -tu1 -j133 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }

start_relay relay || { notok "relay starts"; exit 1; }
pa init --name "United States" --relay "$RELAY_URL" >/dev/null 2>&1
MBX=$(db "SELECT lower(hex(mbx)) FROM bundle")
check "init publishes 20 one-time prekeys" test "$(db 'SELECT count(*) FROM opk')" = 20

for i in $(seq 1 21); do
	curl -s --max-time 5 -o "$T/bundle.bin" "$RELAY_URL/v1/bundle/$MBX"
done
check "21 anonymous bundle fetches drain them" test "$(db 'SELECT count(*) FROM opk')" = 0
check "  the last bundle had no one-time prekey" test "$(opk_id "$T/bundle.bin")" = 0

pa --json sync >"$T/s1.json" 2>"$T/s1.err"
check "the owner's next sync refills them (prekeys_added 20)" quiet jq -e '.prekeys_added == 20' "$T/s1.json"
check "  the relay holds 20 again" test "$(db 'SELECT count(*) FROM opk')" = 20
check "  ids continue after the drained ones (min id 21)" test "$(db 'SELECT min(id) FROM opk')" = 21
pa --json sync >"$T/s2.json" 2>&1
check "a second sync adds none" quiet jq -e '.prekeys_added == 0' "$T/s2.json"

# A contact's first message now uses one of the new prekeys.
pb init --name Iran --relay "$RELAY_URL" >/dev/null 2>&1
KA=$(pa --json id | jq -r .key) KB=$(pb --json id | jq -r .key)
pa contact add Iran "$KB" >/dev/null 2>&1 && pb contact add "United States" "$KA" >/dev/null 2>&1
SN=$(pa --json contact show Iran | jq -r .safety_number)
pa contact verify Iran "$SN" >/dev/null 2>&1 && pb contact verify "United States" "$SN" >/dev/null 2>&1
check "Iran sends a first message" quiet pb send "United States" "first contact after the drain"
check "  it took one of the refilled prekeys" test "$(db "SELECT count(*) FROM opk WHERE lower(hex(mbx)) = '$MBX'")" = 19
pa --json sync >"$T/s3.json" 2>&1
pa --json thread Iran >"$T/thread.json" 2>&1
check "  and the owner reads it" quiet jq -e '.received == 1' "$T/s3.json"
check "  in the thread" quiet jq -e 'map(select(.text == "first contact after the drain")) | length == 1' "$T/thread.json"
echo "1..$_n"
