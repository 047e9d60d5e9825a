#!/usr/bin/env bash
# Execution plans through the real CLI and relay (docs/PLAN.md): the United
# States proposes to Iran naming Switzerland as mediator, Iran accepts, the
# mediator writes the plan, both accept it, steps are attested in order; a
# step out of order and one by the wrong party are refused; the three vaults
# show the same state, also after a delivery lost for good and sent again;
# the execution record verifies offline and every flipped byte of it is
# refused; no abort after the point of no return.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran" M="$T/ch"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
pm() { "$PARLEY" --vault "$M" "$@"; }
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }
# refused "desc" cmd...: non-zero, one error line, no vault changed
refused() {
	local d=$1
	shift
	local before after rc
	before=$(cat "$A/vault.pv" "$B/vault.pv" "$M/vault.pv" | sha256sum)
	"$@" >/dev/null 2>"$T/err"
	rc=$?
	after=$(cat "$A/vault.pv" "$B/vault.pv" "$M/vault.pv" | sha256sum)
	if [ $rc -ne 0 ] && one_error "$T/err" && [ "$before" = "$after" ]; then ok "$d"; else notok "$d (rc $rc, $(cat "$T/err"))"; fi
}
# the state without what differs by vault (relay log times of each one's copy)
state() { "$PARLEY" --vault "$1" --json plan show "$2" | jq -S 'del(.. | .logged_at?)'; }

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
for v in "$A" "$B" "$M"; do "$VAULTSQL" "$v" "INSERT OR REPLACE INTO counters(k, v) VALUES('ack_delay_max', 0)"; done

# --- the agreement, naming Switzerland --------------------------------------------
C1=$(pa case add --name "Siamak Namazi" --held-by Iran)
C2=$(pa case add --name "Mehrdad Ansari" --held-by "United States")
P=$(pa propose --yes Iran --we-release "$C2" --they-release "$C1" --mediator Switzerland 2>/dev/null)
pb sync >/dev/null 2>&1
check "Iran accepts the proposal naming Switzerland" quiet pb accept --yes "$P"
pa sync >/dev/null 2>&1
pa export agreement "$P" --out "$T/agreement.json" >/dev/null 2>&1

# --- the plan -------------------------------------------------------------------------
cat >"$T/plan.json" <<'JSON'
{
  "title": "Exchange of September 2023",
  "steps": [
    {"id": "escrow", "title": "Funds received in the escrow account",
     "performer": "United States", "confirmers": ["mediator"], "deadline": "2099-09-11T12:00:00Z"},
    {"id": "handover", "title": "Simultaneous handover", "performer": "mediator",
     "confirmers": ["a", "b"], "deadline": "2099-09-18T12:00:00Z", "waits_for": ["escrow"],
     "no_return": true},
    {"id": "home", "title": "Arrival home", "performer": "mediator", "confirmers": ["Iran"],
     "deadline": "2001-01-01T00:00:00Z", "waits_for": ["handover"]}
  ]
}
JSON
sed 's/"escrow"]/"home"]/' "$T/plan.json" >"$T/cycle.json"
refused "the mediator without the agreement is told to bring it" pm plan "$P" --file "$T/plan.json"
refused "a plan of an agreement not yet guaranteed is refused" pm plan "$P" --file "$T/plan.json" --agreement "$T/agreement.json"
grep -q 'not guaranteed' "$T/err" && ok "  the error says to guarantee it first" || notok "  the error says to guarantee it first ($(cat "$T/err"))"
pm sync >/dev/null 2>&1
AG=$(pm --json inbox | jq -r '[.[] | select(.kind=="agreement")][0].id')
check "the mediator guarantees the agreement" quiet pm guarantee --yes "$AG"
refused "a plan with a cycle is refused (one line naming the step)" pm plan "$P" --file "$T/cycle.json" --agreement "$T/agreement.json"
grep -q 'step 2 ("handover")' "$T/err" && ok "  the error names the step" || notok "  the error names the step ($(cat "$T/err"))"
PL=$(pm plan "${AG:0:8}" --file "$T/plan.json")
check "the mediator signs the plan and it is delivered" test ${#PL} -eq 16
pa sync >/dev/null 2>&1
pb sync >/dev/null 2>&1
check "Iran's inbox shows the plan" jq -e --arg id "$PL" 'any(.[]; .kind == "plan" and .id == $id)' <(pb --json inbox)
check "both parties hold it, proposed" jq -e '.status == "proposed" and (.steps | map(.state)) == ["waiting","waiting","late"]' <(pa --json plan show "${PL:0:6}")
refused "nothing starts before both parties accepted" pa step done "$PL" escrow
check "the United States accepts the plan" quiet pa plan accept "$PL"
check "Iran accepts the plan" quiet pb plan accept "$PL"
pa sync >/dev/null 2>&1
refused "a step by someone other than its performer is refused" pb step done "$PL" escrow
# the escrow's done is lost on its way to Iran: delivery fails (no relay
# through a dead proxy) and its outbox entry for Iran is dropped
check "the United States attests the escrow done" quiet pa --proxy socks5h://127.0.0.1:1 step done "$PL" escrow --text "transfer completed"
"$VAULTSQL" "$A" "DELETE FROM outbox WHERE contact = 'Iran'"
pa sync >/dev/null 2>&1
refused "a step out of order is refused (handover before escrow is confirmed)" pm step done "$PL" handover
pm sync >/dev/null 2>&1
check "the mediator confirms the escrow" quiet pm step confirm "$PL" escrow
check "the mediator attests the handover done (point of no return)" quiet pm step done "$PL" handover --text "both aircraft on the tarmac, ten people crossed"
refused "no abort after the point of no return" pm plan abort "$PL" --reason "too late"
for v in "$A" "$B"; do "$PARLEY" --vault "$v" sync >/dev/null 2>&1; done
check "Iran, missing the escrow's done, cannot count what rests on it" jq -e '(.steps | map(.state)) == ["ready","waiting","late"]' <(pb --json plan show "$PL")
check "the United States sends its plan objects again" jq -e '.queued == 4 and .delivered' <(pa --json plan resend "$PL")
pb sync >/dev/null 2>&1
pb sync >/dev/null 2>&1
check "Iran now holds the whole run" jq -e '(.steps | map(.state)) == ["confirmed","done","late"]' <(pb --json plan show "$PL")
refused "no abort by a party after the point of no return either" pb plan abort "$PL" --reason "changed our mind"
check "the United States confirms the handover" quiet pa step confirm "$PL" handover
check "Iran confirms the handover" quiet pb step confirm "$PL" handover
for v in "$A" "$B" "$M"; do "$PARLEY" --vault "$v" sync >/dev/null 2>&1; done

# --- the same state in the three vaults -------------------------------------------------
state "$A" "$PL" >"$T/sa.json"
state "$B" "$PL" >"$T/sb.json"
state "$M" "$PL" >"$T/sm.json"
check "the state: running, escrow and handover confirmed, home late" jq -e '.status == "running" and (.steps | map(.state)) == ["confirmed","confirmed","late"] and .no_return_passed and (.abort_possible | not) and (.steps[1].attestations | length) == 3' "$T/sa.json"
check "Iran's vault shows the same plan state" cmp -s <(jq 'del(.agreement.held)' "$T/sa.json") <(jq 'del(.agreement.held)' "$T/sb.json")
check "the mediator's vault shows the same plan state" cmp -s <(jq 'del(.agreement.held)' "$T/sa.json") <(jq 'del(.agreement.held)' "$T/sm.json")
check "signed and logged times are both shown" jq -e '.steps[0].attestations[0] | has("signed_at") and has("logged_at")' <(pa --json plan show "$PL")
pa plan show "$PL" >"$T/show.txt"
check "plan show (text) says which time is which" grep -q 'logged.*relay log' "$T/show.txt"

# --- the record, offline ------------------------------------------------------------------
# The mediator's overview by person: the agreement it guaranteed and the
# plan carrying it out, beside each person the agreement names.
pm --json people >"$T/people.json"
check "people (mediator): both persons, each with the guaranteed agreement and the plan" jq -e --arg p "$P" --arg pl "$PL" 'length == 2 and all(.[]; any(.moves[]; .id == $p and .state == "guaranteed" and (.where | test("mediator"))) and any(.plans[]; .plan == $pl and .status == "running" and .steps_confirmed == 2 and .next_step == "home"))' "$T/people.json"
pa people >"$T/people.txt"
check "people (party, text): who releases whom, and where the plan stands" bash -c "grep -q 'released by United States (you) to Iran' '$T/people.txt' && grep -q '2 of 3 steps confirmed; next: home (late)' '$T/people.txt'"
check "export execution" quiet pb export execution "$PL" --out "$T/exec.json"
check "verify checks it offline" jq -e '.status == "running" and (.steps | map(.state)) == ["confirmed","confirmed","late"]' <("$PARLEY" --json verify "$T/exec.json" --expect-key "$KM")
tamper_all "every flipped byte of the execution record is refused" "$T/exec.json"

# --- an abort before the point of no return ------------------------------------------------
PL2=$(pm plan "${AG:0:8}" --file "$T/plan.json")
pa sync >/dev/null 2>&1
pb sync >/dev/null 2>&1
check "a second plan: both parties accept it" bash -c "'$PARLEY' --vault '$A' plan accept $PL2 >/dev/null 2>&1 && '$PARLEY' --vault '$B' plan accept $PL2 >/dev/null 2>&1"
check "Iran aborts it before the point of no return" quiet pb plan abort "$PL2" --reason "the funds did not arrive"
for v in "$A" "$M" "$A" "$M"; do "$PARLEY" --vault "$v" sync >/dev/null 2>&1; done
check "  all three vaults show it aborted, with the reason" bash -c "for v in '$A' '$B' '$M'; do '$PARLEY' --vault \$v --json plan show $PL2 | jq -e '.status == \"aborted\"' >/dev/null || exit 1; done; '$PARLEY' --vault '$A' plan show $PL2 | grep -q 'the funds did not arrive'"
refused "  no step is attested after the abort" pa step done "$PL2" escrow

echo "1..$_n"
