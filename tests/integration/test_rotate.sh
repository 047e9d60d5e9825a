#!/usr/bin/env bash
# parley id rotate / contact trust-rotation through the real CLI and relay:
# alice rotates her key; bob, who verified her old key, sees the change
# signed by that key, reads nothing under the new key until he trusts it,
# then messages flow both ways under the new key, including the note bob
# queued while alice's old mailbox was already closed; carol, who never
# verified alice, stays unverified and cannot trust the change; a revoked
# vault cannot rotate; and a revocation of the old key (the certificate kept
# apart) makes the rotation void at bob's.
. "$(dirname "$0")/lib.sh"

A="$T/alice" B="$T/bob" C="$T/carol" D="$T/dave" E="$T/erin" F="$T/frank"
p() { local v=$1; shift; "$PARLEY" --vault "$v" "$@"; }
key() { p "$1" --json id | jq -r .key; }
add() { p "$1" contact add "$3" "$(key "$2")" >/dev/null 2>&1; }
verify() { p "$1" contact verify "$2" "$(p "$1" --json contact show "$2" | jq -r .safety_number)" >/dev/null 2>&1; }
meet() { add "$1" "$2" "$3" && verify "$1" "$3"; }
one_line() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }
state() { p "$1" --json contact show "$2" | jq -r '"\(.verified) \(.key_changed) \(.rotation.state // "none")"'; }
texts() { p "$1" --json thread "$2" | jq -r '.[] | select(.kind == "note") | .text'; }

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$A:alice" "$B:bob" "$C:carol" "$D:dave" "$E:erin" "$F:frank"; do
	p "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
meet "$A" "$B" bob && meet "$B" "$A" alice && meet "$A" "$C" carol && add "$C" "$A" alice &&
	meet "$D" "$B" bob && meet "$B" "$D" dave && meet "$E" "$F" frank && meet "$F" "$E" erin
ok "six vaults meet (carol never verifies alice)"
p "$A" id revocation --out "$T/alice.rev" >/dev/null 2>&1
p "$A" send bob "before" >/dev/null 2>&1
check "bob reads a note under alice's old key" test "$(p "$B" --json sync 2>/dev/null | jq -r .received)" = 1
OLD=$(key "$A")

# The rotation.
p "$A" id rotate >"$T/rot.out" 2>"$T/rot.err"; rc=$?
check "id rotate succeeds" test $rc -eq 0
check "  tells bob and carol (verified by alice)" grep -q 'was queued for 2 contact(s)' "$T/rot.out"
check "  says what was done and what the contacts do next" bash -c "grep -q 'now uses a new identity key' '$T/rot.out' && grep -q 'old key.s mailbox was read a last time' '$T/rot.out' && grep -q 'trust-rotation \"alice\"' '$T/rot.out'"
check "  and warns of nothing (published, delivered)" test ! -s "$T/rot.err"
NEW=$(key "$A")
check "alice's vault now has a new key" bash -c "[ -n '$NEW' ] && [ '$NEW' != '$OLD' ]"
check "  her outbox is empty: the statements were delivered" test "$(p "$A" --json thread bob | jq -r '[.[] | select(.kind == "key rotation" and .state == "delivered")] | length')" = 1

# bob, before he syncs, writes to the old key: the old mailbox is closed,
# so the note stays queued instead of landing where nobody reads.
p "$B" send alice "written before bob knew" >/dev/null 2>"$T/err"
check "bob's note to the old key stays queued" test "$(p "$B" --json thread alice | jq -r '.[] | select(.text == "written before bob knew") | .state')" = queued

p "$B" --json sync >"$T/bsync.json" 2>"$T/bsync.err"
check "bob's sync applies the signed rotation" quiet jq -e '.rotated == 1 and .rotate_refused == 0 and .rotate_conflict == 0' "$T/bsync.json"
check "  and says a contact changed key" grep -q 'changed their identity key' "$T/bsync.err"
check "bob pins alice's new key" test "$(p "$B" --json contact show alice | jq -r .key)" = "$NEW"
check "  not verified, key changed, signed by the key he verified" test "$(state "$B" alice)" = "false true signed-by-verified"
check "contact show: key changed — the change is signed by the key you verified" bash -c "'$PARLEY' --vault '$B' contact show alice | grep -q 'key changed — the change is signed by the key you verified'"
check "contact list shows KEY CHANGED (SIGNED)" bash -c "'$PARLEY' --vault '$B' contact list | grep -q '^alice  *KEY CHANGED (SIGNED)'"
check "inbox shows the event" bash -c "'$PARLEY' --vault '$B' inbox | grep -q 'key rotation \[signed-by-verified\]'"
p "$B" send alice "too soon" >/dev/null 2>"$T/err"; rc=$?
check "bob cannot send to the new key before deciding (exit 5, one line)" bash -c "[ $rc -eq 5 ] && $(declare -f one_line); one_line '$T/err'"

p "$A" send bob "after, under the new key" >/dev/null 2>&1
p "$B" --json sync >"$T/bsync2.json" 2>/dev/null
check "what alice sends under the new key stays unread before bob decides" quiet jq -e '.received == 0 and .pending >= 1' "$T/bsync2.json"
check "  (not in the thread)" test -z "$(texts "$B" alice | grep 'after, under')"

# bob decides: the signed transition is enough.
check "bob trusts the rotation" quiet p "$B" contact trust-rotation alice
check "  alice is verified again, the change shown as accepted" test "$(state "$B" alice)" = "true false trusted"
check "  trusting again changes nothing" quiet p "$B" contact trust-rotation alice
p "$B" --json sync >"$T/bsync3.json" 2>/dev/null
check "bob's next sync reads the note under the new key" bash -c "texts() { '$PARLEY' --vault '$B' --json thread alice | jq -r '.[] | select(.kind == \"note\") | .text'; }; texts | grep -q 'after, under the new key'"
check "  and delivers the note he queued before he knew (sealed again for the new key)" test "$(p "$B" --json thread alice | jq -r '.[] | select(.text == "written before bob knew") | .state')" = delivered
p "$A" --json sync >"$T/async.json" 2>/dev/null
check "alice reads it under her new key" bash -c "'$PARLEY' --vault '$A' --json thread bob | jq -e '[.[] | select(.text == \"written before bob knew\")] | length == 1' >/dev/null"
p "$B" send alice "reply under the new key" >/dev/null 2>&1
p "$A" sync >/dev/null 2>&1
check "bob to alice under the new key" bash -c "'$PARLEY' --vault '$A' --json thread bob | jq -e '[.[] | select(.text == \"reply under the new key\")] | length == 1' >/dev/null"
p "$A" send bob "and back again" >/dev/null 2>&1
p "$B" sync >/dev/null 2>&1
check "alice to bob under the new key" bash -c "'$PARLEY' --vault '$B' --json thread alice | jq -e '[.[] | select(.text == \"and back again\")] | length == 1' >/dev/null"
check "alice's thread shows her key rotation" bash -c "'$PARLEY' --vault '$A' thread bob | grep -q 'key rotation'"
check "bob's thread shows the accepted change" bash -c "'$PARLEY' --vault '$B' thread alice | grep -q 'you accepted the change'"

# carol never verified alice: nothing alice sends is read, the key stays
# unverified, and there is no signed change for her to trust.
p "$C" --json sync >"$T/csync.json" 2>/dev/null
check "carol (unverified) keeps alice's envelopes unread" quiet jq -e '.rotated == 0 and .pending >= 1' "$T/csync.json"
check "  alice stays unverified at carol's" test "$(p "$C" --json contact show alice | jq -r .verified)" = false
p "$C" contact trust-rotation alice 2>"$T/err"; rc=$?
check "  and carol cannot trust a change (exit 5, one line)" bash -c "[ $rc -eq 5 ] && $(declare -f one_line); one_line '$T/err'"
check "  still unverified" test "$(p "$C" --json contact show alice | jq -r .verified)" = false

# A revoked vault cannot rotate: the key may be a thief's.
p "$D" id revoke >/dev/null 2>&1
p "$D" id rotate 2>"$T/err"; rc=$?
check "a revoked vault refuses to rotate (exit 5, one line)" bash -c "[ $rc -eq 5 ] && $(declare -f one_line); one_line '$T/err' && grep -q 'revoked' '$T/err'"
p "$B" sync >/dev/null 2>&1
check "  and bob has dave revoked" test "$(p "$B" --json contact show dave | jq -r '.revoked // "no"')" != no

# alice's old key is revoked with the certificate kept apart (she learns
# it was seized before the rotation): at bob's the rotation becomes void.
p "$B" contact revoke alice --statement "$T/alice.rev" >"$T/out" 2>"$T/err"
check "bob applies the old key's revocation by hand" test $? -eq 0
check "  and is told the key change is void" grep -q 'key change is void' "$T/out"
check "  the rotation is void: alice unverified, key changed" test "$(state "$B" alice)" = "false true void"
check "  contact show says VOID" bash -c "'$PARLEY' --vault '$B' contact show alice | grep -q 'VOID'"
fails "  trust-rotation is refused" quiet p "$B" contact trust-rotation alice
fails "  bob cannot send to alice" quiet p "$B" send alice "void?"

# Crashes in the middle: the vault always has a usable key, and running
# the command again (or a sync) finishes.
EOLD=$(key "$E")
PARLEY_FAULT=rotate-recorded p "$E" id rotate >/dev/null 2>&1; rc=$?
check "erin's rotation dies after recording the next key (fault point)" test $rc -eq 99
check "  erin still has her old key" test "$(key "$E")" = "$EOLD"
check "  and can still send under it" quiet p "$E" send frank "between two crashes"
PARLEY_FAULT=rotate-before-switch p "$E" id rotate >/dev/null 2>&1; rc=$?
check "a second run dies just before switching (fault point)" test $rc -eq 99
check "  erin still has her old key" test "$(key "$E")" = "$EOLD"
p "$E" id rotate >"$T/erot.out" 2>&1
check "a third run finishes the interrupted rotation" grep -q 'an interrupted rotation was finished' "$T/erot.out"
ENEW=$(key "$E")
check "  erin has a new key" bash -c "[ '$ENEW' != '$EOLD' ]"
p "$F" sync >/dev/null 2>&1
check "frank pins the key the statement named, signed by the key he verified" test "$(p "$F" --json contact show erin | jq -r '"\(.key) \(.rotation.state)"')" = "$ENEW signed-by-verified"
check "  and read the note erin sent between the crashes" bash -c "'$PARLEY' --vault '$F' --json thread erin | jq -e '[.[] | select(.text == \"between two crashes\")] | length == 1' >/dev/null"
check "frank trusts it" quiet p "$F" contact trust-rotation erin
PARLEY_FAULT=rotate-after-switch p "$E" id rotate >/dev/null 2>&1; rc=$?
check "erin's next rotation dies after the switch, before publishing (fault point)" test $rc -eq 99
ENEW2=$(key "$E")
check "  erin has the newer key" bash -c "[ '$ENEW2' != '$ENEW' ] && [ -n '$ENEW2' ]"
check "  parley sync publishes it" quiet p "$E" sync
p "$F" sync >/dev/null 2>&1
check "frank follows the second rotation (signed by the key he trusted)" test "$(p "$F" --json contact show erin | jq -r '"\(.key) \(.rotation.state)"')" = "$ENEW2 signed-by-verified"
p "$F" contact trust-rotation erin >/dev/null 2>&1
p "$F" send erin "after two rotations" >/dev/null 2>&1
p "$E" sync >/dev/null 2>&1
check "  and a note reaches erin's newest key" bash -c "'$PARLEY' --vault '$E' --json thread frank | jq -e '[.[] | select(.text == \"after two rotations\")] | length == 1' >/dev/null"

echo "1..$_n"
