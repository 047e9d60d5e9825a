#!/usr/bin/env bash
# parley contact remove through the real CLI and relay: a contact with a
# transcript is kept unless the user says to forget it; a removed contact is
# shut out at once (the vault's access token is replaced and granted again
# to everyone else), while the other contacts go on reaching the vault.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran" C="$T/oman"
p() { local v=$1; shift; "$PARLEY" --vault "$v" "$@"; }
key() { p "$1" --json id | jq -r .key; }
# meet X Y NAME_OF_Y_AT_X: X adds Y and verifies the safety number
meet() {
	p "$1" contact add "$3" "$(key "$2")" >/dev/null &&
		p "$1" contact verify "$3" "$(p "$1" --json contact show "$3" | jq -r .safety_number)" >/dev/null
}
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }
received() { p "$1" --json sync 2>/dev/null | jq -r .received; }

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$A:United States" "$B:Iran" "$C:Oman"; do
	p "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
meet "$A" "$B" Iran && meet "$B" "$A" "United States" && meet "$A" "$C" Oman &&
	meet "$C" "$A" "United States"
ok "three vaults meet (United States with Iran and with Oman)"

p "$C" send "United States" "from Oman" >/dev/null 2>&1
check "the United States reads Oman's note" test "$(received "$A")" = 1

p "$A" contact remove Oman 2>"$T/err"; rc=$?
check "remove refuses a contact with a transcript (exit 5)" test $rc -eq 5
check "  with one error line naming export and --forget-transcript" bash -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q 'parley export thread' '$T/err' && grep -q -- --forget-transcript '$T/err'"
check "  and Oman is still a contact" quiet jq -e 'length == 2' <(p "$A" --json contact list)
fails "remove of an unknown name is refused" p "$A" contact remove Nobody 2>/dev/null

p "$A" --json contact remove Oman --forget-transcript --yes >"$T/rm.json" 2>"$T/rm.err"
check "remove --forget-transcript removes Oman and its item" quiet jq -e '.removed == "Oman" and .items_forgotten == 1 and .new_token_published == true' "$T/rm.json"
check "  Oman is no longer a contact" quiet jq -e 'length == 1 and .[0].name == "Iran"' <(p "$A" --json contact list)
fails "  and has no thread" p "$A" thread Oman 2>/dev/null

p "$C" send "United States" "after removal" >/dev/null 2>&1
check "Oman, removed, can no longer deposit (its note stays queued)" test "$(p "$C" --json thread "United States" | jq -r '.[-1].state')" = queued
check "  and the United States receives nothing from it" test "$(received "$A")" = 0

p "$B" send "United States" "from Iran" >/dev/null 2>&1
check "Iran still reaches the United States (it fetches the new token)" test "$(p "$B" --json thread "United States" | jq -r '.[-1].state')" = delivered
check "  and the note is read" test "$(received "$A")" = 1
