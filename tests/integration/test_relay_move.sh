#!/usr/bin/env bash
# parley relay move through the real CLI and two real relays: alice moves
# her mailbox from relay A to relay B; bob (still on A) gets her signed
# notice on his next sync and follows; what bob sends then reaches alice on
# B, and alice still reaches bob on A. Then a vault that caught its relay
# rolling back its log (as test_log.sh plays it) is refused for sync and
# send, and relay move is its way out: the notice still goes through the
# caught relay, the contact follows, and the vault receives again. Last, a
# vault of the previous schema opens and is upgraded.
. "$(dirname "$0")/lib.sh"

A="$T/alice" B="$T/bob" C="$T/carol" D="$T/dave"
p() { local v=$1; shift; "$PARLEY" --vault "$v" "$@"; }
key() { p "$1" --json id | jq -r .key; }
meet() {
	p "$1" contact add "$3" "$(key "$2")" >/dev/null &&
		p "$1" contact verify "$3" "$(p "$1" --json contact show "$3" | jq -r .safety_number)" >/dev/null
}
vurl() { "$VAULTSQL" "$1" "SELECT v FROM meta WHERE k = 'relay_url'"; }
one_line() { [ "$(wc -l <"$1")" -eq 1 ]; }
# jqq FILTER FILE: jq -e, quiet
jqq() { jq -e "$@" >/dev/null; }
msgs() { sqlite3 "$T/$1/relay.db" 'SELECT count(*) FROM msg'; }

start_relay relayA || { notok "relay A starts"; exit 1; }
RA=$RELAY_URL PA=$RELAY_PID PORTA=$RELAY_PORT
start_relay relayB || { notok "relay B starts"; exit 1; }
RB=$RELAY_URL

p "$A" init --name alice --relay "$RA" >/dev/null 2>&1
p "$B" init --name bob --relay "$RA" >/dev/null 2>&1
meet "$A" "$B" bob && meet "$B" "$A" alice
p "$A" send bob "before the move" >/dev/null 2>&1
check "bob reads alice on relay A" test "$(p "$B" --json sync 2>/dev/null | jq -r .received)" = 1
p "$A" sync >/dev/null 2>&1

fails "relay move to a plain http:// relay on another computer is refused" \
	p "$A" relay move http://192.0.2.1:9 2>/dev/null
check "  and the vault keeps its relay" test "$(vurl "$A")" = "$RA"

p "$A" --json relay move "$RB" >"$T/move.json" 2>"$T/move.err"
check "alice moves to relay B" test $? -eq 0
check "  the new relay's key is pinned and its fingerprint shown" \
	jqq '(.relay_key | length) == 64 and (.fingerprint | length) > 30' "$T/move.json"
check "  one notice queued and delivered (to bob, through A)" jqq '.told == 1 and .delivered == 1 and .published' "$T/move.json"
check "  the vault's relay is B" test "$(vurl "$A")" = "$RB"
check "  bob's mailbox is recorded as still on A" bash -c "\"$PARLEY\" --vault '$A' contact list | grep -q 'mailbox at $RA'"
check "  the old relay's checkpoints are kept in the history" \
	test "$("$VAULTSQL" "$A" 'SELECT count(*) FROM relay_history')" -ge 1
fails "moving again to the same relay is refused" p "$A" relay move "$RB" 2>/dev/null

p "$B" --json sync >"$T/bsync.json" 2>"$T/bsync.err"
check "bob syncs and follows alice's signed notice" jqq '.relay_followed == 1 and .relay_refused == 0' "$T/bsync.json"
check "  contact show says where alice's mailbox lives now" \
	bash -c "\"$PARLEY\" --vault '$B' contact show alice | grep -q 'mailbox at: *$RB'"
check "  and the JSON names the relay and its key" \
	jqq --arg u "$RB" '.relay == $u and (.relay_key | length) == 64' <(p "$B" --json contact show alice)
check "  the notice is not shown as a message" test "$(p "$B" --json thread alice | jq 'length')" = 1

a0=$(msgs relayA) b0=$(msgs relayB)
p "$B" --json send alice "to you on B" >"$T/bsend.json" 2>/dev/null
check "bob's note to alice is delivered (to relay B)" jqq '.state == "delivered"' "$T/bsend.json"
# (bob's acknowledgment of alice's notice, not due yet, rides along with
# the note: it too goes to relay B)
check "  relay B holds it, relay A holds nothing new" \
	test "$(msgs relayB)" -ge $((b0 + 1)) -a "$(msgs relayB)" -le $((b0 + 2)) -a "$(msgs relayA)" -eq "$a0"
p "$A" --json sync >"$T/async.json" 2>/dev/null
check "alice receives it on B" jqq '.received == 1' "$T/async.json"
check "  alice's sync accepted relay B's log" jqq '.log_size > 0' "$T/async.json"
p "$A" send bob "from B to A" >/dev/null 2>&1
check "alice still reaches bob on A" test "$(p "$B" --json sync 2>/dev/null | jq -r .received)" = 1

# --- the way out of a relay caught lying ------------------------------------
start_relay relayF || { notok "relay F starts"; exit 1; }
RF=$RELAY_URL PORTF=$RELAY_PORT
p "$C" init --name carol --relay "$RF" >/dev/null 2>&1
p "$D" init --name dave --relay "$RF" >/dev/null 2>&1
meet "$C" "$D" dave && meet "$D" "$C" carol
p "$C" send dave "hello dave" >/dev/null 2>&1
p "$D" sync >/dev/null 2>&1
p "$C" sync >/dev/null 2>&1
# Rollback: the relay restarts from an old copy of its data.
stop_relay
cp -a "$T/relayF" "$T/relayF.old"
start_relay relayF --listen "127.0.0.1:$PORTF"
for i in 1 2; do p "$C" send dave "soon forgotten $i" >/dev/null 2>&1; done
p "$C" sync >/dev/null 2>&1
stop_relay
rm -rf "$T/relayF" && cp -a "$T/relayF.old" "$T/relayF"
start_relay relayF --listen "127.0.0.1:$PORTF"
p "$C" sync >/dev/null 2>"$T/f.err"
check "carol's vault catches relay F rolling back (exit 5)" test $? -eq 5
p "$C" send dave "through the liar" >/dev/null 2>&1
check "  and refuses to send through it (exit 5)" test $? -eq 5

p "$C" --json relay move "$RB" >"$T/cmove.json" 2>"$T/cmove.err"
check "relay move still works and is the way out" test $? -eq 0
check "  the notice went through the caught relay" jqq '.delivered == 1' "$T/cmove.json"
check "  the note refused before stays queued" jqq '.queued == 1' "$T/cmove.json"
p "$D" --json sync >"$T/dsync.json" 2>/dev/null
check "dave follows carol to relay B" jqq '.relay_followed == 1' "$T/dsync.json"
p "$D" send carol "reaching you on B" >/dev/null 2>&1
p "$C" --json sync >"$T/csync.json" 2>"$T/csync.err"
check "carol syncs again (relay B), and receives dave's note" jqq '.received == 1' "$T/csync.json"
check "  her evidence against relay F is kept" jqq 'length >= 1' <(p "$C" --json relay evidence)
FKEY=$("$PARLEY_BUILD/parley-relay" --data "$T/relayF" --print-key 2>/dev/null)
p "$C" --json relay evidence --out "$T/ev.json" >"$T/ev.out" 2>/dev/null
check "  written after the move, the evidence file is against relay F's key" \
	jqq --arg k "$FKEY" '.relay_key == $k' "$T/ev.json"
check "  (not the relay she moved to)" jqq --arg k "$FKEY" '.relay_key == $k' "$T/ev.out"
p "$C" send dave "held" >/dev/null 2>"$T/held.err"
check "a note to dave (still on the caught relay) is held, exit 5" test $? -eq 5
check "  in one line naming the caught relay" one_line "$T/held.err"
check "  which says why" grep -q 'caught lying' "$T/held.err"

# --- a vault of the previous schema ------------------------------------------
p "$T/old" init --name old --relay "$RA" >/dev/null 2>&1
"$VAULTSQL" "$T/old" "ALTER TABLE contacts DROP COLUMN relay_url; ALTER TABLE contacts DROP COLUMN relay_key;
ALTER TABLE contacts DROP COLUMN relay_ca; ALTER TABLE contacts DROP COLUMN relay_time;
ALTER TABLE evidence DROP COLUMN relay_key; DROP TABLE relay_history;
ALTER TABLE outbox DROP COLUMN not_before; ALTER TABLE pending DROP COLUMN sender;
PRAGMA user_version = 1;"
meet "$T/old" "$A" alice 2>/dev/null
check "a vault of schema 1 opens and is upgraded to 2" \
	test "$("$VAULTSQL" "$T/old" 'PRAGMA user_version')" = 2
check "  its contacts list" bash -c "\"$PARLEY\" --vault '$T/old' contact list | grep -q alice"
echo "1..$_n"
