#!/usr/bin/env bash
# Negotiation through the real CLI and relay: the case file, every negotiation
# move, every illegal move (refused, nothing changed), exports that verify
# offline and fail on any flipped byte, two vaults that disagree about a
# person, a proposal that expires in flight, and client crashes between
# fetch and processing.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran" M="$T/ch"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
pm() { "$PARLEY" --vault "$M" "$@"; }
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }
# refused "desc" cmd...: exit 8, one error line, and A's and B's vault files unchanged
refused() {
	local d=$1
	shift
	local before after rc
	before=$(cat "$A/vault.pv" "$B/vault.pv" 2>/dev/null | sha256sum)
	"$@" >/dev/null 2>"$T/err"
	rc=$?
	after=$(cat "$A/vault.pv" "$B/vault.pv" 2>/dev/null | sha256sum)
	if [ $rc -ne 0 ] && one_error "$T/err" && [ "$before" = "$after" ]; then ok "$d"; else notok "$d (rc $rc, $(cat "$T/err"))"; fi
}

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$A:United States" "$B:Iran" "$M:Switzerland"; do
	"$PARLEY" --vault "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
KA=$(pa --json id | jq -r .key) KB=$(pb --json id | jq -r .key) KM=$(pm --json id | jq -r .key)
meet() { # vaultX nameY keyY vaultZ nameX keyX
	"$PARLEY" --vault "$1" contact add "$2" "$3" >/dev/null 2>&1
	"$PARLEY" --vault "$4" contact add "$5" "$6" >/dev/null 2>&1
	local sn
	sn=$("$PARLEY" --vault "$1" --json contact show "$2" | jq -r .safety_number)
	"$PARLEY" --vault "$1" contact verify "$2" "$sn" >/dev/null 2>&1
	"$PARLEY" --vault "$4" contact verify "$5" "$sn" >/dev/null 2>&1
}
meet "$A" Iran "$KB" "$B" "United States" "$KA"
meet "$A" Switzerland "$KM" "$M" "United States" "$KA"
meet "$B" Switzerland "$KM" "$M" Iran "$KB"
check "three parties verified" jq -e 'length == 2 and all(.verified)' <(pa --json contact list)

# --- case file ---------------------------------------------------------------
pa --json case add --name "Baquer Namazi" --held-by Iran --nationality US,Iran --born 1936-01-01 \
	--since 2016-02-22 --charges "cooperation with a hostile government" --sentence "10 years" \
	--humanitarian "81, emergency pacemaker" --priority 95 >"$T/c1.json"
check "case add prints the id (JSON id)" jq -e '.id >= 1 and .name == "Baquer Namazi" and .held_by == "Iran" and .nationality == ["US","Iran"]' "$T/c1.json"
NAMAZI=$(jq -r .id "$T/c1.json")
WANG=$(pa case add --name "Xiyue Wang" --held-by Iran --nationality US --sentence "10 years")
SIAMAK=$(pa case add --name "Siamak Namazi" --held-by Iran --nationality US,Iran)
SHEIKH=$(pa case add --name "Ahmad Sheikhzadeh" --held-by "United States" --nationality Iran,US --priority 40)
check "case add (plain) prints a number" test "$WANG" -gt 0
check "case list --json has every record" jq -e 'length == 4 and (map(.id) | unique | length) == 4 and all(has("id") and has("name") and has("held_by"))' <(pa --json case list)
check "case show" jq -e '.name == "Xiyue Wang"' <(pa --json case show "$WANG")
check "case edit changes a field" jq -e '.priority == 90' <(pa --json case edit "$WANG" --priority 90)
fails "case add without --held-by" pa case add --name X 2>"$T/err"
check "  one error line" one_error "$T/err"
fails "case add with priority 101" pa case add --name X --held-by Y --priority 101 2>/dev/null
fails "case show of an unknown id" pa case show 999 2>/dev/null
# Iran's own records
B_SHEIKH=$(pb case add --name "Ahmad Sheikhzadeh" --held-by "United States" --priority 100)
B_NAMAZI=$(pb case add --name "Mohammad Baquer Namazi" --held-by Iran --born 1936)

# --- outreach, unanswered, then answered ---------------------------------------
O1=$(pa outreach Iran --topic "Detainees: we propose a direct channel")
check "outreach prints an id" test ${#O1} -eq 16
check "  state delivered" jq -e --arg id "$O1" '.[] | select(.id == $id) | .state == "delivered" and .kind == "outreach"' <(pa --json thread Iran)
# acknowledgments wait a random delay (test_timing); here they are due at once
"$VAULTSQL" "$B" "INSERT OR REPLACE INTO counters(k, v) VALUES('ack_delay_max', 0)"
check "Iran fetches it" jq -e '.received == 1 and .acks_sent == 0 and .acks_waiting == 1' <(pb --json sync)
check "  inbox shows the outreach" jq -e --arg id "$O1" 'any(.[]; .id == $id and .kind == "outreach" and .text == "Detainees: we propose a direct channel")' <(pb --json inbox)
pa sync >/dev/null 2>&1
check "  not yet fetched for the sender: the ack waits for a later command" jq -e --arg id "$O1" '.[] | select(.id == $id) | .state == "delivered"' <(pa --json thread Iran)
check "  Iran's next sync deposits the acknowledgment" jq -e '.acks_sent == 1 and .acks_waiting == 0' <(pb --json sync)
pa sync >/dev/null 2>&1
check "  the sender sees it fetched" jq -e --arg id "$O1" '.[] | select(.id == $id) | .state == "fetched"' <(pa --json thread Iran)

# --- humanitarian request -------------------------------------------------------
R=$(pa request Iran --detainee "$NAMAZI" --kind medical-leave --urgency critical --text "three months of medical leave")
check "request prints an id" test ${#R} -eq 16
pb sync >/dev/null 2>&1
check "Iran sees the request with the person" jq -e --arg id "$R" '.[] | select(.id == $id) | .kind == "request" and .request == "medical-leave" and .urgency == "critical" and .detainee.name == "Baquer Namazi"' <(pb --json inbox)
refused "answering one's own request is refused" pa respond --yes "$R" --grant
fails "request with a bad kind" pa request Iran --detainee "$NAMAZI" --kind holiday --urgency routine 2>/dev/null
check "Iran grants it" pb respond --yes "$R" --grant --text "leave granted for medical care"
refused "answering it twice is refused" pb respond --yes "$R" --deny
pa sync >/dev/null 2>&1
check "the request shows granted on both sides" bash -c "\"$PARLEY\" --vault \"$A\" --json thread Iran | jq -e --arg id $R '.[] | select(.id == \$id) | .state == \"granted\"' >/dev/null && \"$PARLEY\" --vault \"$B\" --json inbox | jq -e --arg id $R '.[] | select(.id == \$id) | .state == \"granted\"' >/dev/null"

# --- illegal proposals -------------------------------------------------------------
refused "a person on both sides is refused" pa propose --yes Iran --we-release "$SHEIKH" --they-release "$SHEIKH"
refused "a proposal naming nobody is refused" pa propose --yes Iran --place Geneva
refused "a proposal naming an unknown record is refused" pa propose --yes Iran --we-release 999
refused "acting on an id that does not exist" pa accept --yes 0123456789abcdef
fails "a malformed id is a usage error" pa accept --yes xyz 2>/dev/null

# --- proposal, counter, acceptance ---------------------------------------------------
P1=$(pb propose --yes "United States" --we-release "$B_NAMAZI" --they-release "$B_SHEIKH" --place Vienna --sequencing simultaneous --expires 7d)
check "Iran proposes a swap with its top priority" test ${#P1} -eq 16
pa sync >/dev/null 2>&1
pa --json inbox >"$T/inbox.json"
check "the proposal shows we_release / they_release from the reader's side" jq -e --arg id "$P1" '.[] | select(.id == $id) | .kind == "proposal" and .state == "received" and .we_release[0].name == "Ahmad Sheikhzadeh" and .they_release[0].name == "Mohammad Baquer Namazi" and (.expires|type) == "string"' "$T/inbox.json"
check "  and flags Iran's records as unknown" jq -e --arg id "$P1" '.[] | select(.id == $id) | all(.we_release[], .they_release[]; .unknown == true)' "$T/inbox.json"
REF=$(jq -r --arg id "$P1" '.[] | select(.id == $id) | .they_release[0].ref' "$T/inbox.json")
check "case link ties Iran's record to ours" pa case link "$REF" "$NAMAZI"
pa --json thread Iran >"$T/t.json"
check "  now linked, and the two vaults' disagreement is shown" jq -e --arg id "$P1" '.[] | select(.id == $id) | .they_release[0].linked == '"$NAMAZI"' and .they_release[0].differs == true and .they_release[0].our_record.name == "Baquer Namazi"' "$T/t.json"
fails "case link of a reference nobody sent" pa case link 0000000000000000 "$NAMAZI" 2>/dev/null
refused "answering one's own proposal is refused" pb accept --yes "$P1"
refused "withdrawing someone else's proposal is refused" pa withdraw --yes "$P1"
P2=$(pa counter --yes "$P1" --we-release "$SHEIKH" --they-release "$NAMAZI,$WANG" --condition "medical check before transfer" --place Geneva --sequencing simultaneous --mediator Switzerland)
check "the US counters" test ${#P2} -eq 16
check "  the countered proposal shows countered" jq -e --arg id "$P1" '.[] | select(.id == $id) | .state == "countered"' <(pa --json thread Iran)
refused "accepting a countered (superseded) proposal is refused" pa accept --yes "$P1"
pb sync >/dev/null 2>&1
check "Iran sees its proposal countered" jq -e --arg id "$P1" '.[] | select(.id == $id) | .state == "countered"' <(pb --json thread "United States")
check "Iran sees the counter with its terms" jq -e --arg id "$P2" --arg s "$P1" '.[] | select(.id == $id) | .supersedes == $s and .mediator.name == "Switzerland" and .conditions == ["medical check before transfer"] and (.they_release | map(.name)) == ["Ahmad Sheikhzadeh"]' <(pb --json inbox)
check "Iran accepts the counter" pb accept --yes "$P2"
refused "accepting it twice is refused" pb accept --yes "$P2"
refused "rejecting an accepted proposal is refused" pb reject "$P2" --reason late
pa sync >/dev/null 2>&1
check "the US sees its proposal accepted" jq -e --arg id "$P2" '.[] | select(.id == $id) | .state == "accepted"' <(pa --json thread Iran)
refused "withdrawing an accepted proposal is refused" pa withdraw --yes "$P2"

# --- export and verify ------------------------------------------------------------
check "export agreement" pa export agreement "$P2" --out "$T/agreement.json"
check "export agreement from the other side too" pb export agreement "$P2" --out "$T/agreement-b.json"
check "verify with nothing but the file" env -u PARLEY_PASSPHRASE "$PARLEY" --vault "$T/none" verify "$T/agreement.json"
"$PARLEY" verify "$T/agreement.json" >"$T/summary.txt"
check "  the summary names who is released by whom and where" bash -c "grep -q 'Ahmad Sheikhzadeh' $T/summary.txt && grep -q 'Baquer Namazi' $T/summary.txt && grep -q 'Xiyue Wang' $T/summary.txt && grep -q Geneva $T/summary.txt"
FA=$(pa --json id | jq -r .fingerprint)
check "  and the signers' fingerprints" grep -q "$FA" "$T/summary.txt"
check "verify --expect-key with both keys" "$PARLEY" verify "$T/agreement.json" --expect-key "$KA" --expect-key "$KB"
"$PARLEY" verify "$T/agreement.json" --expect-key "$KM" 2>"$T/err"; rc=$?
check "verify --expect-key with a key that did not sign fails (exit 5)" test $rc -eq 5
check "  one error line" one_error "$T/err"
size=$(stat -c %s "$T/agreement.json")
tamper_all "every one of $size flipped bytes is refused, in one process (test_tamper)" "$T/agreement.json"
# and a sample through the real CLI: the first byte, a byte of each
# signature (at the end of each signed object), the last byte
bad=0
for pos in 0 "$(value_offset "$T/agreement.json" proposal)" "$(value_offset "$T/agreement.json" acceptance)" $((size - 1)); do
	flip "$T/agreement.json" "$pos" "$T/flip.json"
	"$PARLEY" verify "$T/flip.json" >/dev/null 2>"$T/err"
	rc=$?
	if { [ $rc -ne 5 ] && [ $rc -ne 6 ]; } || ! one_error "$T/err"; then bad=$((bad + 1)); echo "# flip at $pos: exit $rc, $(head -c 200 "$T/err")"; fi
done
check "  and 4 of them through parley verify: exit 5 or 6, one error line" test $bad -eq 0
check "export thread" pa export thread Iran --out "$T/thread.json"
check "verify the thread" "$PARLEY" verify "$T/thread.json"
python3 - "$T/thread.json" "$T/thread-edit.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["entries"] = t["entries"][:-1]
open(sys.argv[2], "w").write(json.dumps(t, indent=2) + "\n")
PY
fails "an edited thread (last entry dropped) fails verify" "$PARLEY" verify "$T/thread-edit.json" 2>/dev/null
fails "an agreement export of an unaccepted proposal" pa export agreement "$P1" --out "$T/x.json" 2>/dev/null

# --- reject and withdraw ------------------------------------------------------------
P3=$(pa propose --yes Iran --we-release "$SHEIKH" --they-release "$SIAMAK")
pb sync >/dev/null 2>&1
check "Iran rejects with a reason" pb reject "$P3" --reason "not now"
pa sync >/dev/null 2>&1
check "  the US sees rejected" jq -e --arg id "$P3" '.[] | select(.id == $id) | .state == "rejected"' <(pa --json thread Iran)
P4=$(pa propose --yes Iran --we-release "$SHEIKH" --they-release "$SIAMAK")
check "the US withdraws its open proposal" pa withdraw --yes "$P4"
pb sync >/dev/null 2>&1
check "  Iran sees it withdrawn" jq -e --arg id "$P4" '.[] | select(.id == $id) | .state == "withdrawn"' <(pb --json inbox)
refused "accepting a withdrawn proposal is refused" pb accept --yes "$P4"

# --- an acceptance and a withdrawal that cross in flight -------------------------------
P6=$(pa propose --yes Iran --we-release "$SHEIKH" --they-release "$WANG")
pb sync >/dev/null 2>&1
check "crossing: the US withdraws" pa withdraw --yes "$P6"
check "  while Iran, not yet synced, accepts" pb accept --yes "$P6"
pa sync >/dev/null 2>&1
pb sync >/dev/null 2>&1
check "  the US vault marks the proposal disputed" jq -e --arg id "$P6" '.[] | select(.id == $id) | .state == "disputed"' <(pa --json thread Iran)
check "  so does Iran's" jq -e --arg id "$P6" '.[] | select(.id == $id) | .state == "disputed"' <(pb --json inbox)
refused "  Iran cannot export it as an agreement" pb export agreement "$P6" --out "$T/disputed.json"
check "  and the error says the moves crossed" grep -q "crossed in flight" "$T/err"
refused "  nor can the US" pa export agreement "$P6" --out "$T/disputed.json"
check "  no file was written" test ! -e "$T/disputed.json"
refused "  a disputed proposal cannot be withdrawn again" pa withdraw --yes "$P6"

# --- expiry in flight ----------------------------------------------------------------
P5=$(pa propose --yes Iran --we-release "$SHEIKH" --they-release "$WANG" --expires 2s)
sleep 3
pb sync >/dev/null 2>&1
check "a proposal that expired in flight shows expired" jq -e --arg id "$P5" '.[] | select(.id == $id) | .state == "expired"' <(pb --json inbox)
refused "accepting an expired proposal is refused" pb accept --yes "$P5"
check "  and the sender sees it expired too" jq -e --arg id "$P5" '.[] | select(.id == $id) | .state == "expired"' <(pa --json thread Iran)

# --- client crashes between fetch and processing ---------------------------------------
for fault in after-fetch after-commit; do
	N1=$(pa outreach Iran --topic "crash test $fault one")
	N2=$(pa outreach Iran --topic "crash test $fault two")
	PARLEY_FAULT=$fault pb sync >/dev/null 2>&1
	check "sync dies at $fault" test $? -eq 99
	pb sync >/dev/null 2>&1
	check "  after a restart both items are there exactly once" jq -e --arg a "$N1" --arg b "$N2" '([.[] | select(.id == $a)] | length) == 1 and ([.[] | select(.id == $b)] | length) == 1' <(pb --json inbox)
done

# --- a mediator can verify the agreement -------------------------------------------------
check "the mediator verifies the agreement offline" "$PARLEY" verify "$T/agreement-b.json" --expect-key "$KA" --expect-key "$KB"
echo "1..$_n"
