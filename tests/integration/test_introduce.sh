#!/usr/bin/env bash
# parley introduce through the real CLI and relay: Switzerland verified the
# United States and Iran in person; the two never met. Switzerland
# introduces them; each sees the other as introduced by Switzerland, they
# exchange a note, a proposal and its acceptance. An introduction from a
# party that is only introduced is refused; one from a verified mediator
# under a name already held by another key never replaces that key; and
# contact verify upgrades an introduced contact to verified in person.
. "$(dirname "$0")/lib.sh"

S="$T/ch" A="$T/us" B="$T/iran" M="$T/mallory"
p() { local v=$1; shift; "$PARLEY" --vault "$v" "$@"; }
key() { p "$1" --json id | jq -r .key; }
# meet VAULT KEY NAME: adds KEY as NAME and verifies its safety number
meet() {
	p "$1" contact add "$3" "$2" >/dev/null &&
		p "$1" contact verify "$3" "$(p "$1" --json contact show "$3" | jq -r .safety_number)" >/dev/null
}
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$S:Switzerland" "$A:United States" "$B:Iran" "$M:Mallory"; do
	p "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
KS=$(key "$S") KA=$(key "$A") KB=$(key "$B") KM=$(key "$M")
meet "$S" "$KA" "United States" && meet "$A" "$KS" Switzerland &&
	meet "$S" "$KB" Iran && meet "$B" "$KS" Switzerland
ok "Switzerland verified both sides; they never met"

# The mediator vouches only for keys it verified.
p "$S" contact add Mallory "$KM" >/dev/null 2>&1
p "$S" introduce "United States" Mallory 2>"$T/err"; rc=$?
check "introducing a contact not verified in person is refused (exit 5)" test $rc -eq 5
check "  with one line saying why and what to do" bash -c "$(declare -f one_error); one_error '$T/err' && grep -q 'verified in person.*parley contact verify' '$T/err'"

p "$S" --json introduce "United States" Iran >"$T/intro.json" 2>"$T/intro.err"
check "introduce queues and delivers both introductions" jq -e '.delivered == 2 and .queued == 0' "$T/intro.json"
p "$A" --json sync >"$T/sa.json" 2>"$T/sa.err"
p "$B" --json sync >"$T/sb.json" 2>"$T/sb.err"
check "each side's sync adds the other" jq -e -s 'all(.[]; .introduced == 1 and .intro_refused == 0)' "$T/sa.json" "$T/sb.json"
check "  and says so" grep -q 'introduced to you by a contact you verified' "$T/sa.err"
p "$A" --json contact show Iran >"$T/ai.json"
check "the United States sees Iran introduced by Switzerland, not verified" jq -e --arg k "$KS" '.verified == false and .assurance == "introduced" and .introduced_by == "Switzerland" and .introduction.name == "Switzerland" and .introduction.key == $k and (.introduction.time | test("^20"))' "$T/ai.json"
check "  and Iran's key is Iran's" jq -e --arg k "$KB" '.key == $k' "$T/ai.json"
check "Iran sees the United States introduced by Switzerland" jq -e '.introduced_by == "Switzerland" and .introduction.name == "Switzerland" and .assurance == "introduced"' <(p "$B" --json contact show "United States")
check "contact list says introduced by Switzerland" bash -c "'$PARLEY' --vault '$A' contact list | grep -q '^Iran .*introduced .*introduced by Switzerland'"
check "  and contact show says it in text" bash -c "'$PARLEY' --vault '$A' contact show Iran | grep -q '^introduced: *by Switzerland'"
check "Switzerland itself is not introduced (introduced_by null)" jq -e '.introduced_by == null and .introduction == null and .assurance == "verified"' <(p "$A" --json contact show Switzerland)

check "a replayed introduction changes nothing" bash -c "'$PARLEY' --vault '$S' introduce 'United States' Iran >/dev/null 2>&1 && '$PARLEY' --vault '$A' --json sync 2>/dev/null | jq -e '.introduced == 0 and .intro_replayed == 1' >/dev/null"

# They talk.
check "the United States sends Iran a note" quiet p "$A" send Iran "hello from Washington"
check "Iran reads it" jq -e '.received == 1' <(p "$B" --json sync 2>/dev/null)
check "  the text arrived" jq -e 'any(.[]; .text == "hello from Washington")' <(p "$B" --json thread "United States")
check "  each item says the key was introduced" jq -e 'all(.[]; .key_introduced_by == "Switzerland")' <(p "$B" --json inbox)
check "  and thread says whose word the key rests on" bash -c "'$PARLEY' --vault '$B' thread 'United States' | grep -q 'introduced by Switzerland, who vouches'"
check "Switzerland's thread shows the introduction it sent" jq -e 'any(.[]; .kind == "introduction" and (.text | test("^introduction of Iran ")))' <(p "$S" --json thread "United States")
W=$(p "$A" case add --name "Xiyue Wang" --held-by Iran)
X=$(p "$A" case add --name "Massoud Soleimani" --held-by "United States")
P=$(p "$A" propose --yes Iran --we-release "$X" --they-release "$W" --place Zurich 2>/dev/null)
check "the United States proposes to Iran" test ${#P} -eq 16
p "$B" sync >/dev/null 2>&1
# The confirmation before signing names the introduction (on a terminal;
# here its question on stderr, answered no).
echo no | script -qec "'$PARLEY' --vault '$B' accept $P" /dev/null >"$T/ask.err" 2>&1
check "the question before signing says the key was introduced by Switzerland" grep -q "Switzerland introduced it to you" "$T/ask.err"
check "Iran accepts the proposal" quiet p "$B" accept --yes "$P"
p "$A" sync >/dev/null 2>&1
check "  and the United States sees it accepted" jq -e --arg id "$P" 'any(.[]; .id == $id and .state == "accepted")' <(p "$A" --json thread Iran)

# Proximity talks between parties that only know each other through the
# mediator: a proposal sent --via Switzerland, passed on, and read by Iran
# against the key Switzerland introduced.
P2=$(p "$A" propose --yes Iran --we-release "$X" --they-release "$W" --place Geneva --via Switzerland 2>/dev/null)
p "$S" sync >/dev/null 2>&1
check "Switzerland passes on a move between the two it introduced" quiet p "$S" forward "$P2" --note "from the Americans, unchanged"
p "$B" --json sync >"$T/sv.json" 2>/dev/null
check "  Iran receives it from the introduced United States, with its path" jq -e --arg id "$P2" 'any(.[]; .id == $id and .state == "received" and (.path | tostring | test("Switzerland")))' <(p "$B" --json inbox)

# An introduction from a party that is only introduced: Iran (made to see
# the United States as verified in its own vault, as a modified client
# would) introduces Mallory. The United States refuses it.
"$VAULTSQL" "$B" "UPDATE contacts SET verified = 1 WHERE name = 'United States'"
meet "$B" "$KM" Mallory
check "Iran's client sends it (it believes both verified)" quiet p "$B" introduce "United States" Mallory
p "$A" --json sync >"$T/sr.json" 2>"$T/sr.err"
check "the United States refuses an introduction from a party it did not verify" jq -e '.intro_refused == 1 and .introduced == 0' "$T/sr.json"
check "  says so" grep -q 'introduction(s) were refused: .*not a contact you verified in person' "$T/sr.err"
check "  and adds no contact" jq -e 'length == 2' <(p "$A" --json contact list)

# A verified mediator introduces another key under the name "Iran": it is
# added under another name, flagged, and Iran's key is unchanged.
p "$S" contact verify Mallory "$(p "$S" --json contact show Mallory | jq -r .safety_number)" >/dev/null
p "$S" contact rename Iran "Iran (real)" >/dev/null
p "$S" contact rename Mallory Iran >/dev/null
check "Switzerland introduces Mallory's key as \"Iran\"" quiet p "$S" introduce "United States" Iran
p "$A" --json sync >"$T/sm.json" 2>"$T/sm.err"
check "the United States adds it under another name" jq -e '.introduced == 1 and .intro_renamed == 1' "$T/sm.json"
check "  warns" grep -q 'added as "Iran-2", and your contact is unchanged' "$T/sm.err"
check "  Iran keeps Iran's key" jq -e --arg k "$KB" '.key == $k' <(p "$A" --json contact show Iran)
check "  Iran-2 has Mallory's key, flagged" jq -e --arg k "$KM" '.key == $k and .introduction.name_clash == true and .introduction.name_given == "Iran"' <(p "$A" --json contact show Iran-2)

# contact verify upgrades; the introduction stays as history.
SN=$(p "$A" --json contact show Iran | jq -r .safety_number)
check "contact verify upgrades Iran to verified in person" quiet p "$A" contact verify Iran "$SN"
check "  introduced_by kept as history" jq -e '.verified == true and .assurance == "verified" and .introduced_by == "Switzerland" and .introduction.name == "Switzerland"' <(p "$A" --json contact show Iran)
echo "1..$_n"
