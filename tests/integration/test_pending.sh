#!/usr/bin/env bash
# Envelopes from keys that are not verified contacts, through the real CLI
# and relay: a sync keeps them unread and says so; parley pending list shows
# each with the key it claims; parley pending drop forgets one, or all, and
# a later sync does not bring them back. (The bound on how many are kept is
# tested in test_vault, test_pending_bounded.)
. "$(dirname "$0")/lib.sh"

A="$T/us" S="$T/stranger"
p() { local v=$1; shift; "$PARLEY" --vault "$v" "$@"; }

start_relay relay || { notok "relay starts"; exit 1; }
p "$A" init --name "United States" --relay "$RELAY_URL" >/dev/null 2>&1
p "$S" init --name Stranger --relay "$RELAY_URL" >/dev/null 2>&1
KA=$(p "$A" --json id | jq -r .key)
KS=$(p "$S" --json id | jq -r .key)
# the United States has added the stranger's key (so the relay grant lets
# it deposit) but not verified it in person; the stranger trusts its side
p "$A" contact add Stranger "$KS" >/dev/null
p "$S" contact add "United States" "$KA" >/dev/null
p "$S" contact verify "United States" "$(p "$S" --json contact show "United States" | jq -r .safety_number)" >/dev/null
for i in 1 2 3; do p "$S" send "United States" "unsolicited $i" >/dev/null 2>&1; done

p "$A" --json sync >"$T/s.json" 2>"$T/s.err"
check "a sync keeps 3 envelopes from an unverified key unread" quiet jq -e '.pending == 3 and .received == 0' "$T/s.json"
check "  and says so" grep -q 'not verified contacts are kept unread' "$T/s.err"
p "$A" --json pending list >"$T/l.json"
check "pending list shows 3, each claiming the stranger's key" quiet jq -e 'length == 3 and all(.[]; .claimed_key == "'"$KS"'" and .contact == "Stranger" and .bytes > 1000 and (.id | length) == 16)' "$T/l.json"
check "  plain list names the key" bash -c "'$PARLEY' --vault '$A' pending list | grep -q '$KS'"
ID=$(jq -r '.[0].id' "$T/l.json")
fails "pending drop refuses a malformed id" p "$A" pending drop zz 2>/dev/null
fails "pending drop of an unknown id is refused" p "$A" pending drop 0000000000 2>/dev/null
check "pending drop ID forgets one" test "$(p "$A" --json pending drop "${ID:0:8}" | jq -r .dropped)" = 1
check "  two are left" test "$(p "$A" --json pending list | jq length)" = 2
check "pending drop --all forgets the rest" test "$(p "$A" --json pending drop --all | jq -r .dropped)" = 2
check "  and with nothing left, drop --all drops nothing" test "$(p "$A" --json pending drop --all | jq -r .dropped)" = 0
p "$A" --json sync >"$T/s2.json" 2>/dev/null
check "  and a later sync does not bring them back" quiet jq -e '.pending == 0 and .received == 0' "$T/s2.json"
check "  nor does the list" test "$(p "$A" --json pending list | jq length)" = 0
