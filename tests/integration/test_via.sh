#!/usr/bin/env bash
# Proximity talks through the real CLI and relay: Iran and the United States
# talk only through Switzerland. A proposal sent --via, waiting in the
# mediator's inbox with its full terms, forwarded with a note; the recipient
# sees it with its path and counters through the mediator; the counter is
# accepted through the mediator; a move held back and the author told; a
# note passed on; the agreement exported from both sides and verified
# offline with its chain of custody. (A forwarded object whose author
# signature the mediator altered is refused: tests/unit/test_via.c.)
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran" M="$T/ch"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
pm() { "$PARLEY" --vault "$M" "$@"; }

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$A:United States" "$B:Iran" "$M:Switzerland"; do
	"$PARLEY" --vault "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
	"$VAULTSQL" "${v%%:*}" "INSERT OR REPLACE INTO counters(k, v) VALUES('ack_delay_max', 0)"
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
NAMAZI=$(pa case add --name "Baquer Namazi" --held-by Iran --nationality US,Iran)
SHEIKH=$(pa case add --name "Ahmad Sheikhzadeh" --held-by "United States" --nationality Iran)
B_NAMAZI=$(pb case add --name "Baquer Namazi" --held-by Iran)
B_SHEIKH=$(pb case add --name "Ahmad Sheikhzadeh" --held-by "United States")

# --- a proposal through the mediator ------------------------------------------
P1=$(pa propose --yes Iran --we-release "$SHEIKH" --they-release "$NAMAZI" --mediator Switzerland \
	--via Switzerland --condition "medical check in Zurich")
check "propose --via prints the id" test ${#P1} -eq 16
check "  the author's thread keeps it with Iran, path via Switzerland, waiting" \
	jq -e --arg id "$P1" '.[] | select(.id == $id) | .to == "Iran" and .state == "delivered"
		and .path.route == "via" and .path.mediator == "Switzerland" and .path.state == "waiting"' \
	<(pa --json thread Iran)
check "  nothing reached Iran directly" jq -e '.received == 0' <(pb --json sync)
check "the mediator fetches it" jq -e '.received == 1 and .rejected == 0' <(pm --json sync)
check "  inbox: waiting to be passed on to Iran, with its full terms" \
	jq -e --arg id "$P1" '.[] | select(.id == $id) | .kind == "proposal" and .from == "United States"
		and .to == "Iran" and .state == "waiting" and .carried.to == "Iran"
		and .conditions == ["medical check in Zurich"]
		and (.they_release | map(.name)) == ["Ahmad Sheikhzadeh"]' <(pm --json inbox)
pm inbox >"$T/inbox.txt"
check "  the text view says it waits and that the mediator reads it" \
	grep -q "carried for Iran: waiting to be passed on (you read what you carry" "$T/inbox.txt"
check "forward --note" pm forward "$P1" --note "Switzerland supports this sequence"
fails "  a second forward is refused" pm forward "$P1" 2>"$T/err"
check "    with a clear message" grep -q "already forwarded; a carried move is forwarded or held once" "$T/err"
fails "  a hold after the forward is refused" pm hold "$P1" --reason late 2>/dev/null
check "Iran fetches the forwarded proposal" jq -e '.received == 1 and .rejected == 0' <(pb --json sync)
check "  inbox: from the United States, path via Switzerland with the note" \
	jq -e --arg id "$P1" '.[] | select(.id == $id) | .from == "United States" and .kind == "proposal"
		and .state == "received" and .path.route == "via" and .path.mediator == "Switzerland"
		and .path.note == "Switzerland supports this sequence" and .path.forwarded != null' \
	<(pb --json inbox)
pb thread "United States" >"$T/thread-b.txt"
check "  thread text shows the path" grep -q "path: via Switzerland (the mediator reads what it carries)" "$T/thread-b.txt"
pa sync >/dev/null 2>&1
check "the author is told it was forwarded" \
	jq -e --arg id "$P1" '.[] | select(.id == $id) | .path.state == "forwarded" and .path.note == "Switzerland supports this sequence"' \
	<(pa --json thread Iran)

# --- counter back through the mediator, accepted through it --------------------
C1=$(pb counter --yes "$P1" --via Switzerland --we-release "$B_NAMAZI" --they-release "$B_SHEIKH" \
	--mediator Switzerland --condition "simultaneous handover in Zurich")
check "Iran counters --via" test ${#C1} -eq 16
pm sync >/dev/null 2>&1
check "the mediator forwards the counter" pm forward "$C1"
pa sync >/dev/null 2>&1
check "  the US sees its proposal countered and the counter from Iran via Switzerland" \
	jq -e --arg p "$P1" --arg c "$C1" '(.[] | select(.id == $p) | .state == "countered")
		and (.[] | select(.id == $c) | .direction == "in" and .path.mediator == "Switzerland")' \
	<(pa --json thread Iran)
A1=$(pa accept --yes "$C1" --via Switzerland)
check "the US accepts --via" test ${#A1} -eq 16
pm sync >/dev/null 2>&1
check "the mediator forwards the acceptance" pm forward "$A1" --note "agreed in Bern"
check "Iran receives it: the counter is accepted" \
	jq -e --arg c "$C1" '.[] | select(.id == $c) | .state == "accepted"' <(pb sync >/dev/null 2>&1; pb --json thread "United States")
pa sync >/dev/null 2>&1

# --- exports: verify exactly like a direct agreement, with the custody chain ---
check "Iran (proposer) exports the agreement" pb export agreement "$C1" --out "$T/agr-b.json"
check "the US (accepter) exports it too" pa export agreement "$C1" --out "$T/agr-a.json"
check "  both files carry two custody records" jq -e '(.custody | length) == 2' "$T/agr-b.json" "$T/agr-a.json"
check "verify with nothing but the file" env -u PARLEY_PASSPHRASE "$PARLEY" --vault "$T/none" verify "$T/agr-b.json"
"$PARLEY" verify "$T/agr-a.json" >"$T/verify.txt" 2>&1
check "  verify shows the chain of custody" grep -q "the acceptance went through Switzerland (named as mediator in the proposal" "$T/verify.txt"
check "  and that the mediator reads what it carries" grep -q "a mediator reads what it carries" "$T/verify.txt"
check "  verify --json lists both custody records" \
	jq -e '.custody | length == 2 and .[0].object == "proposal" and .[1].object == "acceptance" and .[1].note == "agreed in Bern"' \
	<("$PARLEY" --json verify "$T/agr-b.json")
# The custody records are evidence beside the two signatures, not part of
# them: a file without one still verifies and says that path is not shown.
jq '.custody |= [.[0]]' "$T/agr-b.json" >"$T/cut.json"
check "  a record left out: still valid, and the acceptance's path is not shown" \
	grep -q "the acceptance: no custody record in the file" <("$PARLEY" verify "$T/cut.json")
python3 - "$T/agr-b.json" "$T/flip.json" <<'EOF'
import base64, json, sys
j = json.load(open(sys.argv[1]))
r = bytearray(base64.b64decode(j["custody"][1]))
r[-70] ^= 1  # inside the note or forwarded time, under the mediator's signature
j["custody"][1] = base64.b64encode(bytes(r)).decode()
open(sys.argv[2], "w").write(json.dumps(j, indent=2, ensure_ascii=False) + "\n")
EOF
fails "  a custody record changed after signing is refused" "$PARLEY" verify "$T/flip.json" 2>/dev/null

# --- a move held back, and a note passed on -----------------------------------
P2=$(pa propose --yes Iran --we-release "$SHEIKH" --via Switzerland)
pm sync >/dev/null 2>&1
check "hold --reason" pm hold "$P2" --reason "the wording of the release is not agreed yet"
fails "  a forward after the hold is refused" pm forward "$P2" 2>/dev/null
pa sync >/dev/null 2>&1
check "the author sees it held, with the reason" \
	jq -e --arg id "$P2" '.[] | select(.id == $id) | .path.state == "held" and .path.reason == "the wording of the release is not agreed yet"' \
	<(pa --json thread Iran)
pa thread Iran >"$T/thread-a.txt"
check "  thread text says HELD" grep -q "HELD by Switzerland on .*: the wording of the release is not agreed yet" "$T/thread-a.txt"
check "  and its state is held, not delivered (it never reached Iran)" \
	jq -e --arg id "$P2" '.[] | select(.id == $id) | .state == "held"' <(pa --json thread Iran)
check "  the thread text heads it [held]" grep -q "${P2}  United States -> Iran  proposal \\[held\\]" "$T/thread-a.txt"
check "  Iran never got it" jq -e --arg id "$P2" 'all(.[]; .id != $id)' <(pb sync >/dev/null 2>&1; pb --json inbox)
check "send --via a note" pa send Iran "Our delegation arrives Tuesday" --via Switzerland
pm sync >/dev/null 2>&1
N=$(pm --json inbox | jq -r '.[] | select(.kind == "note" and .state == "waiting") | .id')
check "forward the note" pm forward "$N"
check "Iran sees the note, vouched for only by the mediator" \
	jq -e '.[] | select(.kind == "note" and .from == "United States") | .text == "Our delegation arrives Tuesday"
		and .path.mediator == "Switzerland" and (.path.vouched_by | startswith("only the mediator"))' \
	<(pb sync >/dev/null 2>&1; pb --json inbox)
fails "--via the recipient itself is refused" pa send Iran "x" --via Iran 2>/dev/null

# --- the thread export carries the path -----------------------------------------
check "export thread (Iran's, with the United States)" pb export thread "United States" --out "$T/thread.json"
check "  entries that went through the mediator carry its custody record" \
	jq -e '[.entries[] | select(has("custody"))] | length == 4' "$T/thread.json"
"$PARLEY" verify "$T/thread.json" >"$T/tv.txt" 2>&1
check "  verify shows each path" grep -q "path: via the mediator with key .* (it read what it carried)" "$T/tv.txt"
check "  and that only the mediator vouches for the note" grep -q "only its custody signature vouches for this note" "$T/tv.txt"
jq '(.entries[] | select(has("custody"))) |= del(.custody)' "$T/thread.json" >"$T/thread-cut.json"
fails "  a custody record removed breaks the chain" "$PARLEY" verify "$T/thread-cut.json" 2>/dev/null
echo "1..$_n"
