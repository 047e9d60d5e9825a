#!/usr/bin/env bash
# parley relay set-url through the real CLI and relay: the same relay (same
# data, same key) moved to another port is followed after the new address
# proves it holds the pinned key; another relay at the new address (another
# key: another operator, or an impostor) is refused and nothing changes.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran"
p() { local v=$1; shift; "$PARLEY" --vault "$v" "$@"; }
key() { p "$1" --json id | jq -r .key; }
meet() {
	p "$1" contact add "$3" "$(key "$2")" >/dev/null &&
		p "$1" contact verify "$3" "$(p "$1" --json contact show "$3" | jq -r .safety_number)" >/dev/null
}

start_relay relay || { notok "relay starts"; exit 1; }
OLD=$RELAY_URL
p "$A" init --name "United States" --relay "$OLD" >/dev/null 2>&1
p "$B" init --name Iran --relay "$OLD" >/dev/null 2>&1
meet "$A" "$B" Iran && meet "$B" "$A" "United States"
ok "two vaults on the relay at $OLD"

# the operator moves the same relay (same data folder, same key) to a new port
stop_relay
start_relay relay || { notok "relay restarts"; exit 1; }
NEW=$RELAY_URL
# and an impostor with a key of its own listens elsewhere
start_relay impostor || { notok "impostor starts"; exit 1; }
IMPOSTOR=$RELAY_URL

p "$A" relay set-url "$IMPOSTOR" 2>"$T/err"; rc=$?
check "set-url to a relay with another key is refused (exit 5)" test $rc -eq 5
check "  in one line saying it is another relay" bash -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q 'another key' '$T/err'"
check "  and the vault keeps its address" test "$("$VAULTSQL" "$A" "SELECT v FROM meta WHERE k = 'relay_url'")" = "$OLD"
fails "set-url to an address where nothing listens is refused" p "$A" relay set-url "$OLD" 2>/dev/null
check "set-url to the same relay at its new address" quiet p "$A" relay set-url "$NEW"
check "  is recorded" test "$("$VAULTSQL" "$A" "SELECT v FROM meta WHERE k = 'relay_url'")" = "$NEW"
check "Iran follows too" quiet p "$B" relay set-url "$NEW"
p "$A" send Iran "at the new address" >/dev/null 2>&1
check "a note goes through the moved relay" test "$(p "$B" --json sync 2>/dev/null | jq -r .received)" = 1
