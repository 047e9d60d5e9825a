#!/usr/bin/env bash
# The transparency log through the real CLI and relay: every sync audits the relay's
# transparency log; a proof of outreach verifies offline against the relay's
# published key and fails on a flipped byte; a relay that rolls back or forks
# its log is refused with evidence kept; an envelope the relay logged but
# withheld is detected by its recipient.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran" M="$T/ch"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
pm() { "$PARLEY" --vault "$M" "$@"; }
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$A:United States" "$B:Iran" "$M:Switzerland"; do
	"$PARLEY" --vault "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
KA=$(pa --json id | jq -r .key) KB=$(pb --json id | jq -r .key)
pa contact add Iran "$KB" >/dev/null 2>&1 && pb contact add "United States" "$KA" >/dev/null 2>&1
SN=$(pa --json contact show Iran | jq -r .safety_number)
pa contact verify Iran "$SN" >/dev/null 2>&1 && pb contact verify "United States" "$SN" >/dev/null 2>&1

VKEY=$(timeout 10 "$RELAY" --print-key --data "$T/relay" 2>/dev/null | head -n 1)
check "parley-relay --print-key prints a C2SP verifier key" bash -c "[[ '$VKEY' =~ ^parley\.relay/[0-9a-f]{16}\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$ ]]"
check "GET /log/checkpoint serves a signed note" bash -c "curl -sf $RELAY_URL/log/checkpoint | grep -q '^— parley.relay/'"

for i in 1 2 3 4; do pa outreach Iran --topic "outreach $i" >/dev/null 2>&1; done
pb --json sync >"$T/sb.json"
check "the recipient's sync audits the log (log_size > 0)" jq -e '.received == 4 and .log_size > 0 and .withheld == 0' "$T/sb.json"
pa --json sync >"$T/sa.json"
# every delivery audits the log first, so receipts are proved as later
# sends go out and the rest at the sync: all four are proved by now
check "the sender's sync proves its receipts inside the log" quiet jq -e '.receipts_checked >= 1 and .log_size > 0' "$T/sa.json"
check "  all four receipts are proved in the vault" test "$("$VAULTSQL" "$A" 'SELECT count(*) FROM receipt_checks')" -ge 4
check "  no evidence against an honest relay" jq -e 'length == 0' <(pa --json relay evidence)

check "prove outreach writes a bundle" pa prove outreach Iran --out "$T/proof.json"
"$PARLEY" verify "$T/proof.json" --relay-key "$VKEY" >"$T/proof.txt" 2>"$T/err"
check "verify the bundle against the relay's published key" test $? -eq 0
check "  it says what the log proves: 4 deposits, all fetched by Iran's key" bash -c "grep -q '4' $T/proof.txt && grep -qi 'fetched' $T/proof.txt && grep -qi 'proved by the log' $T/proof.txt"
check "  and what is only stated: no reply" grep -qi 'stated by' "$T/proof.txt"
"$PARLEY" verify "$T/proof.json" >"$T/proof2.txt" 2>&1
check "without --relay-key it uses the key inside and prints it" bash -c "grep -q '$VKEY' $T/proof2.txt"
OTHER=$(mkdir -p "$T/other" && timeout 10 "$RELAY" --print-key --data "$T/other" 2>/dev/null | head -n 1)
fails "verify against another relay's key fails" "$PARLEY" verify "$T/proof.json" --relay-key "$OTHER" 2>"$T/err"
check "  with one error line" one_error "$T/err"
size=$(stat -c %s "$T/proof.json")
tamper_all "every one of $size flipped bytes fails verify, in one process (test_tamper)" "$T/proof.json" --relay-key "$VKEY"
# and a sample through the real CLI: the first byte, the checkpoint's
# signature, a deposit leaf, the statement's signature, the last byte
bad=0
for pos in 0 "$(value_offset "$T/proof.json" checkpoint)" "$(value_offset "$T/proof.json" leaf)" "$(value_offset "$T/proof.json" signature)" $((size - 1)); do
	flip "$T/proof.json" "$pos" "$T/flip.json"
	"$PARLEY" verify "$T/flip.json" --relay-key "$VKEY" >/dev/null 2>"$T/err"
	rc=$?
	if { [ $rc -ne 5 ] && [ $rc -ne 6 ]; } || ! one_error "$T/err"; then bad=$((bad + 1)); echo "# flip at $pos: exit $rc, $(head -c 200 "$T/err")"; fi
done
check "  and 5 of them through parley verify: exit 5 or 6, one error line" test $bad -eq 0

# Withheld: the relay logs a deposit for Iran, then drops the envelope.
pa send Iran "this one will be withheld" >/dev/null 2>&1
stop_relay
sqlite3 "$T/relay/relay.db" "DELETE FROM msg WHERE id = (SELECT max(id) FROM msg);"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"
pb --json sync >"$T/w.json" 2>"$T/w.err"
check "a withheld envelope is detected by its recipient (exit 5)" test $? -eq 5
check "  and reported" grep -q 'withheld' "$T/w.err"
check "  with the relay's signed log kept as evidence" jq -e 'any(.[]; .reason | test("withheld"))' <(pb --json relay evidence)

# Rollback: the relay restarts from an old copy of its data.
stop_relay
cp -a "$T/relay" "$T/relay.old"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"
for i in 5 6; do pa outreach Iran --topic "outreach $i" >/dev/null 2>&1; done
pa sync >/dev/null 2>&1
stop_relay
rm -rf "$T/relay" && cp -a "$T/relay.old" "$T/relay"
start_relay relay --listen "127.0.0.1:$RELAY_PORT"
pa sync >/dev/null 2>"$T/f.err"
check "a relay that rolled its log back is refused (exit 5)" test $? -eq 5
check "  loudly, in one line" one_error "$T/f.err"
check "  with both signed checkpoints kept" jq -e 'any(.[]; (.reason | test("smaller|extend")) and (.signed_a | length) > 0 and (.signed_b | length) > 0)' <(pa --json relay evidence)

# Fork: same size, different content (Iran, whose vault saw the old tree,
# deposits as many envelopes as the lost ones; the tree grows back to the
# size A saw, with another root).
for i in 1 2; do pb send "United States" "fork $i" >/dev/null 2>&1; done
pa sync >/dev/null 2>"$T/f2.err"
check "a relay that forked (same or larger size, other history) is refused (exit 5)" test $? -eq 5
check "  and the evidence grows" jq -e 'length >= 2' <(pa --json relay evidence)
check "parley relay evidence (plain) prints the signed notes" bash -c "\"$PARLEY\" --vault \"$A\" relay evidence | grep -q '^— parley.relay/'"

# A relay caught lying is refused for sending too, not only for syncing: the
# note stays queued (never "delivered" through a relay this vault no longer
# believes), send says why in one line and exits 5.
pa --json send Iran "through a relay caught lying" >"$T/s.json" 2>"$T/s.err"
check "send through a relay caught lying is refused (exit 5)" test $? -eq 5
check "  the note stays queued" quiet jq -e '.state == "queued"' "$T/s.json"
check "  one error line, not pointing to parley sync" bash -c "[ \$(wc -l <'$T/s.err') -eq 1 ] && grep -q '^parley: ' '$T/s.err' && ! grep -q 'parley sync' '$T/s.err'"
pa outreach Iran --topic "after the fork" >/dev/null 2>"$T/o.err"
check "a signed move through it is refused too (exit 5)" test $? -eq 5
echo "1..$_n"
