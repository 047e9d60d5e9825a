#!/usr/bin/env bash
# What the negotiator sees and signs (issue 14, "nothing binding is hidden,
# nothing is signed by accident"), through the real CLI and relay with three
# offices (the United States, Iran, Switzerland) and Persian names: the text
# views show every term and name the parties; the five signing commands ask
# on a terminal (a pseudo-terminal made by script(1)), refuse without one
# unless --yes; shortened ids; global options after the command; absolute
# --expires times and times in TZ; --help; --json failures as JSON.
. "$(dirname "$0")/lib.sh"

A="$T/us" B="$T/iran" M="$T/ch"
pa() { "$PARLEY" --vault "$A" "$@"; }
pb() { "$PARLEY" --vault "$B" "$@"; }
pm() { "$PARLEY" --vault "$M" "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
one_error() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^parley: ' "$1"; }
# on_tty INPUT VAULT ARGS...: runs parley under a pseudo-terminal, typing
# INPUT; the transcript goes to $T/tty.out, the exit code is parley's.
on_tty() {
	local input=$1 vault=$2
	shift 2
	local cmd
	cmd=$(printf '%q ' "$PARLEY" --vault "$vault" "$@")
	printf '%s\n' "$input" | timeout 30 script -qec "$cmd" /dev/null >"$T/tty.out" 2>&1
}
# Iran's vault calls the United States by its Persian name.
US_FA="ایالات متحده"
count_props() { "$PARLEY" --vault "$1" --json thread "$2" | jq '[.[] | select(.kind == "proposal")] | length'; }

start_relay relay || { notok "relay starts"; exit 1; }
for v in "$A:United States" "$B:Iran" "$M:Switzerland"; do
	"$PARLEY" --vault "${v%%:*}" init --name "${v#*:}" --relay "$RELAY_URL" >/dev/null 2>&1
done
KA=$(pa --json id | jq -r .key) KB=$(pb --json id | jq -r .key) KM=$(pm --json id | jq -r .key)
meet() { # vaultX nameY keyY vaultZ nameX keyX
	quiet "$PARLEY" --vault "$1" contact add "$2" "$3"
	quiet "$PARLEY" --vault "$4" contact add "$5" "$6"
	local sn
	sn=$("$PARLEY" --vault "$1" --json contact show "$2" | jq -r .safety_number)
	quiet "$PARLEY" --vault "$1" contact verify "$2" "$sn"
	quiet "$PARLEY" --vault "$4" contact verify "$5" "$sn"
}
meet "$A" Iran "$KB" "$B" "$US_FA" "$KA"
meet "$A" Switzerland "$KM" "$M" "United States" "$KA"
meet "$B" Switzerland "$KM" "$M" Iran "$KB"
check "three offices verified, one contact named in Persian" jq -e --arg n "$US_FA" 'any(.[]; .name == $n and .verified)' <(pb --json contact list)
# Columns count display width, not bytes: the fingerprints start in one
# column though "ایالات متحده" is 23 bytes and "Switzerland" 11.
check "contact list keeps its columns with a Persian name" python3 -c '
import sys
lines = [l for l in sys.stdin.read().splitlines() if l.strip()]
cols = {l.index(" verified ") for l in lines}
sys.exit(0 if len(lines) == 2 and len(cols) == 1 else 1)
' < <(pb contact list)
# One name, two keyboards: a name typed with a combining accent (NFD) is
# the same name as the precomposed one (NFC), and is stored in NFC.
NFD=$(printf 'Ira\xcc\x82n') NFC=$(printf 'Ir\xc3\xa2n')
check "contact rename takes a name typed with a combining accent" quiet pm contact rename Iran "$NFD"
check "  the precomposed spelling finds it" quiet pm contact show "$NFC"
check "  it is stored precomposed" jq -e --arg n "$NFC" 'any(.[]; .name == $n)' <(pm --json contact list)
check "  and renamed back with the other spelling" quiet pm contact rename "$NFD" Iran

# --- global options after the command ------------------------------------------
check "parley id --json (option after the command)" jq -e '.name == "United States"' <("$PARLEY" id --json --vault "$A")
check "parley --vault after the command" quiet "$PARLEY" contact list --vault "$B"
check "  the same as before it" test "$("$PARLEY" --vault "$A" --json id)" = "$("$PARLEY" --json id --vault "$A")"

# --- case file with Persian names ----------------------------------------------
NAMAZI=$(pa case add --name "باقر نمازی" --held-by Iran --nationality US,Iran --born 1936-01-01 \
	--since 2016-02-22 --charges "همکاری با دولت متخاصم" --sentence "10 years" --shared-summary "81, pacemaker")
SHEIKH=$(pa case add --name "احمد شیخ‌زاده" --held-by "United States" --nationality Iran --since 2017-06-01)
M_REZA=$(pm case add --name "رضا کاظمی" --held-by Iran --nationality CH)
check "case records with Persian names" test -n "$NAMAZI" -a -n "$SHEIKH" -a -n "$M_REZA"

# --- without a terminal, signing needs --yes -------------------------------------
pa propose Iran --we-release "$SHEIKH" --they-release "$NAMAZI" </dev/null >/dev/null 2>"$T/err"
rc=$?
check "propose without a terminal and without --yes is refused (usage)" test $rc -eq 2
check "  in one line that says why and names --yes" bash -c "grep -q 'not a terminal' '$T/err' && grep -q -- '--yes' '$T/err' && [ \$(wc -l <'$T/err') -eq 1 ]"
check "  and nothing was signed" test "$(count_props "$A" Iran)" -eq 0
for c in "accept 0123456789abcdef" "withdraw 0123456789abcdef" "respond 0123456789abcdef --grant" "counter 0123456789abcdef --we-release 1"; do
	# shellcheck disable=SC2086
	pa $c </dev/null >/dev/null 2>"$T/err"
	check "  ${c%% *} is refused the same way" bash -c "[ $? -eq 2 ] && grep -q -- '--yes' '$T/err'"
done

# --- on a terminal: the complete terms, then the question -------------------------
FAR="2099-06-01 12:00 Asia/Tehran"
TERMS=(Iran --we-release "$SHEIKH" --they-release "$NAMAZI" --condition "medical check before transfer"
	--condition "no press statement for 48 hours" --place "Geneva, Intercontinental" --sequencing staged
	--mediator Switzerland --expires "$FAR")
on_tty n "$A" propose "${TERMS[@]}"
rc=$?
check "answering n on the terminal: non-zero exit" test $rc -ne 0
check "  nothing was signed" test "$(count_props "$A" Iran)" -eq 0
check "  it said nothing was sent" grep -q "nothing was sent" "$T/tty.out"
for want in "United States releases:" "Iran releases:" "احمد شیخ‌زاده" "باقر نمازی" "born: 1936-01-01" \
	"81, pacemaker" "1. medical check before transfer" "2. no press statement for 48 hours" \
	"place: Geneva, Intercontinental" "sequencing: staged" "mediator: Switzerland (key $KM)" \
	"expires: 2099-06-01T08:30:00Z" "Sign and send this proposal?"; do
	check "  the terms shown include: $want" grep -qF -- "$want" "$T/tty.out"
done
on_tty yes "$A" propose "${TERMS[@]}"
check "answering yes signs it" test "$(count_props "$A" Iran)" -eq 1
P1=$(pa --json thread Iran | jq -r '[.[] | select(.kind == "proposal")][0].id')
check "  and prints its id" grep -q "$P1" "$T/tty.out"
check "  with the expiry given as a zone name" jq -e --arg id "$P1" '.[] | select(.id == $id) | .expires == "2099-06-01T08:30:00Z"' <(pa --json thread Iran)
on_tty "" "$A" propose Iran --we-release "$SHEIKH"
check "an empty answer signs nothing" test "$(count_props "$A" Iran)" -eq 1
on_tty y "$A" propose Iran --we-release "$SHEIKH"
check "y signs; the question warned that it never expires" bash -c "[ \$(\"$PARLEY\" --vault '$A' --json thread Iran | jq '[.[] | select(.kind == \"proposal\")] | length') -eq 2 ] && grep -q 'never expires' '$T/tty.out'"
P_OPEN=$(pa --json thread Iran | jq -r '[.[] | select(.kind == "proposal")][1].id')

# --- text views: every term, parties by name, times in TZ -------------------------
quiet pb sync
TZ=Asia/Tehran pb inbox >"$T/inbox.txt"
for want in "$US_FA -> Iran  proposal [received]" "$US_FA releases:" "Iran releases:" "احمد شیخ‌زاده" \
	"باقر نمازی" "held by: Iran" "humanitarian: 81, pacemaker" \
	"not in your case file" "1. medical check before transfer" "2. no press statement for 48 hours" \
	"place: Geneva, Intercontinental" "sequencing: staged" "mediator: Switzerland" \
	"expires: 2099-06-01T08:30:00Z (2099-06-01 12:00 +0330)" "expires: never"; do
	check "Iran's inbox shows: $want" grep -qF -- "$want" "$T/inbox.txt"
done
# since, charges and sentence are the office's own wording: never sent (test_office)
check "  and not the sender's internal fields" bash -c "! grep -qF -e 'since: 2016-02-22' -e 'همکاری' '$T/inbox.txt'"
check "  and no longer says we/they release" bash -c "! grep -qi 'we release\|they release' '$T/inbox.txt'"
check "  item times in TZ as well as UTC" grep -qE '^[0-9-]{10}T[0-9:]{8}Z \([0-9-]{10} [0-9:]{5} \+0330\)' "$T/inbox.txt"
TZ=UTC pb inbox >"$T/inbox-utc.txt"
check "  with TZ=UTC only once" bash -c "! grep -q '+0330\|(20' '$T/inbox-utc.txt'"
pa thread Iran >"$T/thread-us.txt"
check "the US thread names itself as releasing" grep -qF "United States releases:" "$T/thread-us.txt"

# --- ids: unique prefixes of 4+ hex digits -----------------------------------------
fails "a 3-digit id is refused" pb accept --yes "${P1:0:3}" 2>"$T/err"
check "  saying the minimum" grep -q "at least 4" "$T/err"
fails "a non-hex id is refused" pb accept --yes "zzzz" 2>"$T/err"
check "  in one line" one_error "$T/err"
fails "a prefix that matches nothing is not found" pb accept --yes ffffffffffff 2>/dev/null
on_tty n "$B" accept "${P1:0:4}"
check "accept shows the whole proposal before signing" bash -c "grep -qF 'Your acceptance of the proposal' '$T/tty.out' && grep -qF 'sequencing: staged' '$T/tty.out' && grep -qF 'cannot be taken back' '$T/tty.out'"
check "  n leaves it open" jq -e --arg id "$P1" '.[] | select(.id == $id) | .state == "received"' <(pb --json inbox)
check "Iran accepts by a 4-digit prefix (as the README shows)" quiet pb accept --yes "${P1:0:4}"
check "  the full id was accepted" jq -e --arg id "$P1" '.[] | select(.id == $id) | .state == "accepted"' <(pb --json inbox)
check "export agreement takes a prefix too" quiet pb export agreement "${P1:0:6}" --out "$T/agreement.json"
quiet pa sync

# --- withdraw, request, respond on the terminal -----------------------------------------
on_tty n "$A" withdraw "${P_OPEN:0:8}"
check "withdraw asks, showing the proposal; n keeps it open" bash -c "grep -qF 'Your withdrawal of the proposal' '$T/tty.out' && \"$PARLEY\" --vault '$A' --json thread Iran | jq -e --arg id '$P_OPEN' '.[] | select(.id == \$id) | .state != \"withdrawn\"' >/dev/null"
on_tty y "$A" withdraw "${P_OPEN:0:8}"
check "  y withdraws it" jq -e --arg id "$P_OPEN" '.[] | select(.id == $id) | .state == "withdrawn"' <(pa --json thread Iran)
R=$(pm request Iran --detainee "$M_REZA" --kind consular-access --urgency urgent --text "بازدید کنسولی
two visits a month")
quiet pb sync
TZ=Asia/Tehran pb inbox >"$T/inbox.txt"
check "a request's text is shown, every line" bash -c "grep -qF 'بازدید کنسولی' '$T/inbox.txt' && grep -qE '^ +two visits a month' '$T/inbox.txt' && grep -qF 'asks for consular-access (urgent)' '$T/inbox.txt' && grep -qF 'رضا کاظمی' '$T/inbox.txt'"
on_tty no "$B" respond "${R:0:5}" --grant --text "one visit a month"
check "respond asks, showing the request; no signs nothing" bash -c "grep -qF 'Your grant of the request' '$T/tty.out' && grep -qF 'two visits a month' '$T/tty.out' && \"$PARLEY\" --vault '$B' --json inbox | jq -e --arg id '$R' '.[] | select(.id == \$id) | .state == \"received\"' >/dev/null"
on_tty Y "$B" respond "${R:0:5}" --grant --text "one visit a month"
check "  Y signs the grant" jq -e --arg id "$R" '.[] | select(.id == $id) | .state == "granted"' <(pb --json inbox)
quiet pm sync
pm thread Iran >"$T/thread-ch.txt"
check "the answer is shown with its text" bash -c "grep -qF 'grants request $R' '$T/thread-ch.txt' && grep -qF 'text: one visit a month' '$T/thread-ch.txt'"

# --- counter on the terminal ---------------------------------------------------------------
P3=$(pa propose --yes Iran --we-release "$SHEIKH" --they-release "$NAMAZI" --expires 30d)
quiet pb sync
B_SHEIKH=$(pb case add --name "احمد شیخ‌زاده" --held-by "$US_FA")
on_tty y "$B" counter "${P3:0:6}" --they-release "$B_SHEIKH" --place "مسقط"
check "counter asks and signs; the US sees the counter" bash -c "grep -qF 'counters: proposal $P3' '$T/tty.out' && grep -qF 'place: مسقط' '$T/tty.out'"
quiet pa sync
check "  the counter arrives, superseding P3" jq -e --arg s "$P3" 'any(.[]; .supersedes == $s)' <(pa --json inbox)

# --- a response's reason ---------------------------------------------------------------
P5=$(pa propose --yes Iran --we-release "$SHEIKH")
quiet pb sync
check "reject does not ask (it commits to nothing)" quiet pb reject "${P5:0:6}" --reason "زمان مناسب نیست" </dev/null
quiet pa sync
pa thread Iran >"$T/thread-us.txt"
check "the rejection is shown with its reason" bash -c "grep -qF 'rejects proposal $P5' '$T/thread-us.txt' && grep -qF 'reason: زمان مناسب نیست' '$T/thread-us.txt'"

# --- --expires with absolute times -------------------------------------------------------
fails "--expires in the past is refused" pa propose --yes Iran --we-release "$SHEIKH" --expires 2020-01-01T00:00:00Z 2>"$T/err"
check "  saying it is past" grep -q "already past" "$T/err"
fails "--expires nonsense is refused" pa propose --yes Iran --we-release "$SHEIKH" --expires "next tuesday" 2>"$T/err"
check "  saying how to write it" bash -c "grep -q 'cannot read' '$T/err' && grep -q '2026-12-06T18:00:00Z' '$T/err' && [ \$(wc -l <'$T/err') -eq 1 ]"
fails "--expires without a zone is refused" pa propose --yes Iran --we-release "$SHEIKH" --expires "2099-01-01 10:00" 2>"$T/err"
check "  asking for the zone" grep -q "no time zone" "$T/err"
P4=$(pa propose --yes Iran --we-release "$SHEIKH" --expires 2099-01-01T03:30:00+03:30)
check "--expires RFC 3339 with an offset" jq -e --arg id "$P4" '.[] | select(.id == $id) | .expires == "2099-01-01T00:00:00Z"' <(pa --json thread Iran)

# --- --help explains the options -----------------------------------------------------------
check "propose --help explains staged and a proposal without --expires" bash -c "\"$PARLEY\" propose --help | grep -q 'staged' && \"$PARLEY\" propose --help | grep -q 'never expires'"
check "case --help says which fields the other side sees" bash -c "\"$PARLEY\" case --help | grep -qi 'other side'"
for c in accept counter respond withdraw; do
	check "$c --help mentions --yes" bash -c "\"$PARLEY\" $c --help | grep -q -- '--yes'"
done

# --- --json on failure ------------------------------------------------------------------
pa --json accept --yes 0123456789abcdef >"$T/out.json" 2>"$T/err"
rc=$?
check "--json failure: a JSON error object on stdout" jq -e --argjson rc $rc '.exit == $rc and .exit == 7 and (.error | test("no item"))' "$T/out.json"
check "  and the one line on stderr" one_error "$T/err"
"$PARLEY" --vault "$A" inbox --json --bogus >"$T/out.json" 2>"$T/err"
check "--json after the command: a usage failure as JSON too" jq -e '.exit == 2 and (.error | length) > 0' "$T/out.json"
"$PARLEY" --json --vault "$T/nowhere" inbox >"$T/out.json" 2>/dev/null
check "  and a missing vault" jq -e '.exit == 3 and (.error | test("no vault"))' "$T/out.json"
check "  a success prints only its own document" jq -e 'type == "array"' <(pa --json inbox)

echo "1..$_n"
